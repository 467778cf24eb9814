"""The database both servers read, its data set, the benchmark's users, and the machine."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parents[2]


@dataclass
class Database:
    url: str  # postgres://user[:password]@host[:port]/name
    host: str  # a name, an address, or a Unix socket directory
    port: int
    name: str

    @classmethod
    def parse(cls, url: str) -> "Database":
        parts = urlsplit(url)
        host = unquote(parts.hostname or "") or "127.0.0.1"
        if "%2F" in (parts.netloc or "").upper():  # a socket directory, percent-encoded
            host = unquote(parts.netloc.rsplit("@", 1)[-1].split(":")[0])
        return cls(url=url, host=host, port=parts.port or 5432, name=unquote(parts.path.lstrip("/")))

    def with_host(self, host: str, port: int, **query) -> str:
        """This database's URL through another host and port (the counting proxy)."""
        parts = urlsplit(self.url)
        auth = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        extra = "&".join(f"{key}={value}" for key, value in query.items())
        joined = "&".join(item for item in (parts.query, extra) if item)
        return urlunsplit((parts.scheme, f"{auth}{host}:{port}", parts.path, joined, ""))


def resolve_urls(database_url: str | None, redis_url: str | None) -> tuple[str, str]:
    """--database-url, else BENCH_DATABASE_URL, else DATABASE_URL, else the embedded server; the
    same for Redis (--redis-url, REDIS_URL, embedded)."""
    from config import embedded

    database_url = database_url or os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if not database_url:
        database_url = embedded.postgres.acquire()
    redis_url = redis_url or os.environ.get("REDIS_URL") or embedded.redis_server.acquire()
    return database_url, redis_url


def create_database_if_missing(db: Database) -> None:
    import psycopg

    maintenance = Database.parse(db.url).url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(maintenance, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db.name]).fetchone()
        if not exists:
            print(f"Creating the database {db.name} ...", flush=True)
            connection.execute(f'CREATE DATABASE "{db.name}"')


def manage(*args: str, env: dict) -> None:
    subprocess.run([sys.executable, str(BASE_DIR / "manage.py"), *args], env=env, cwd=BASE_DIR, check=True)


def prepare(db: Database, env: dict, *, size: str, reseed: bool) -> None:
    """Migrations, then the data set: loaded when the database has no users (or --seed), else reused."""
    create_database_if_missing(db)
    manage("migrate", "--noinput", "-v", "0", env=env)
    import django

    os.environ.update({key: env[key] for key in ("DATABASE_URL", "REDIS_URL", "REDIS_KEY_PREFIX")})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from users.models import User

    if reseed or not User.objects.exists():
        print(f"Loading the {size} data set (manage.py seed --size {size} --flush) ...", flush=True)
        manage("seed", "--size", size, "--flush", "--no-progress", env=env)
    else:
        print("Reusing the data in the database (--seed reloads it).", flush=True)


def data_counts() -> dict[str, int]:
    """Exact row counts of the tables the pages read (count(*): a few seconds at the standard size)."""
    from django.db import connection

    counts = {}
    with connection.cursor() as cursor:
        for table, label in (("users_user", "users"), ("feed_post", "posts"), ("users_follow", "follows"),
                             ("interactions_like", "likes"), ("interactions_comment", "comments"),
                             ("interactions_share", "shares")):
            cursor.execute(f"SELECT count(*) FROM {table}")
            counts[label] = cursor.fetchone()[0]
    return counts


@dataclass
class BenchUser:
    username: str
    following: int


def bench_users() -> dict[str, BenchUser]:
    """`demo` (the heavy feed: 2,000 followed accounts at the standard size) and a user following
    the median number of accounts, picked as bench/run.py picks it."""
    from django.db.models import Q

    from users.models import User

    demo = User.objects.filter(username="demo").first()
    if demo is None:
        raise SystemExit("No `demo` user: load the data with `manage.py seed` (or pass --seed).")
    counts = sorted(User.objects.values_list("following_count", flat=True))
    median = counts[len(counts) // 2]
    typical = User.objects.filter(~Q(pk=demo.pk), following_count=median).order_by("pk").first() or demo
    return {"median": BenchUser(typical.username, typical.following_count),
            "demo": BenchUser(demo.username, demo.following_count)}


def postgres_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return cursor.fetchone()[0]


def machine() -> dict:
    """Cores, CPU model (/proc/cpuinfo), memory (/proc/meminfo), kernel, Python."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) * 1024
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu_model": model or platform.processor(),
            "memory_gib": round(memory / 2**30, 1), "kernel": platform.release(),
            "python": platform.python_version()}


def git_commit() -> str:
    try:
        return subprocess.run(["git", "describe", "--always", "--dirty"], cwd=BASE_DIR, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


WRITER = "demo"  # the account the mixed rounds write as
BENCH_COMMENT = "bench comment "


def writer_likes(post_ids: list[int]) -> set[int]:
    """Which of ``post_ids`` the mixed rounds' writer likes now (restored afterwards)."""
    from interactions.models import Like

    return set(Like.objects.filter(user__username=WRITER, post_id__in=post_ids).values_list("post_id", flat=True))


def undo_writes(post_ids: list[int], liked_before: set[int]) -> dict[str, int]:
    """Puts the data set back after mixed rounds, through the services (counters stay exact): the writer's
    likes on ``post_ids`` as they were, its bench comments deleted."""
    from interactions.models import Comment
    from interactions.services import comments, reactions
    from users.models import User

    writer = User.objects.get(username=WRITER)
    changed = {"likes": 0, "comments": 0}
    for post_id in post_ids:
        likes_now = post_id in writer_likes([post_id])
        if likes_now and post_id not in liked_before:
            changed["likes"] += reactions.like_delete(user=writer, post_id=post_id)
        elif not likes_now and post_id in liked_before:
            reactions.like_create(user=writer, post_id=post_id)
            changed["likes"] += 1
    for comment_id in Comment.objects.filter(author=writer, body__startswith=BENCH_COMMENT).values_list("id", flat=True):
        comments.comment_delete(user=writer, comment_id=comment_id)
        changed["comments"] += 1
    return changed
