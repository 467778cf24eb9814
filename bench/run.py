#!/usr/bin/env python
"""Benchmarks the read path against a live server: `make bench` or `bench/run.py [--url URL]`.

Runs the standard pages of ../shared/bench/ over real HTTP (keep-alive connections from a few
threads, on 127.0.0.1):
- NewestPosts (anonymous): the newest posts with authors, counts and three comments each;
- FeedPage as `demo`, who follows 2,000 accounts in the standard data set (the heavy feed);
- FeedPage as a typical user (following about the median number of accounts);
and prints p50 / p95 / p99 latency, requests per second and SQL queries per request (counted by
running the same request once in this process with Django's query capture).

Without --url it starts daphne (one process, like `make run`) on a free port against the
configured database (DATABASE_URL / REDIS_URL, or the embedded servers), loading the standard
data set first when the database has no users (`--seed` reloads it). Every run is bounded: at
most --requests requests and --duration seconds per scenario.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SHARED_BENCH = BASE_DIR.parent / "shared" / "bench"
sys.path.insert(0, str(BASE_DIR))

from tests.support.live_server import start_daphne  # noqa: E402 - the one launcher (tests use it too)

PASSWORD = "demo-password-123"  # every seeded account's (devdata/generator.py)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="Benchmark this server (e.g. http://127.0.0.1:8000) instead of starting one.")
    parser.add_argument("--port", type=int, default=0, help="Port for the server started here (default: any free one).")
    parser.add_argument("--duration", type=float, default=10.0, help="Seconds per scenario (default 10).")
    parser.add_argument("--requests", type=int, default=5000, help="At most this many requests per scenario.")
    parser.add_argument("--concurrency", type=int, default=4, help="Concurrent connections (default 4).")
    parser.add_argument("--first", type=int, default=20, help="Page size (default 20).")
    parser.add_argument("--seed", action="store_true", help="Reload the standard data set first.")
    return parser.parse_args()


# --- environment and data -----------------------------------------------------------------------
def prepare_environment() -> None:
    from config import embedded

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = embedded.postgres.acquire()
    if not os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"] = embedded.redis_server.acquire()
    import django

    django.setup()


def ensure_data(reseed: bool) -> None:
    from users.models import User

    if reseed or not User.objects.exists():
        print("Loading the standard data set (manage.py seed --size standard) ...", flush=True)
        subprocess.run([sys.executable, str(BASE_DIR / "manage.py"), "seed", "--size", "standard", "--flush"],
                       check=True, cwd=BASE_DIR)


def describe_data() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        parts = []
        for table, label in (("users_user", "users"), ("feed_post", "posts"), ("users_follow", "follows"),
                             ("interactions_like", "likes"), ("interactions_comment", "comments"),
                             ("interactions_share", "shares")):
            cursor.execute(f"SELECT reltuples::bigint FROM pg_class WHERE oid = '{table}'::regclass")
            parts.append(f"~{max(cursor.fetchone()[0], 0):,} {label}")
    return ", ".join(parts)


# --- requests -----------------------------------------------------------------------------------
class Target:
    def __init__(self, url: str):
        parsed = urllib.parse.urlsplit(url)
        if parsed.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit("The benchmark only talks to a server on this machine (127.0.0.1).")
        self.host, self.port = parsed.hostname, parsed.port or 80

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=30)


def post_graphql(connection, body: bytes, token: str | None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    connection.request("POST", "/graphql", body, headers)
    response = connection.getresponse()
    return response.status, response.read()


def login(target: Target, username: str) -> str:
    query = "mutation($u: String!, $p: String!) { tokenAuth(username: $u, password: $p) { token } }"
    body = json.dumps({"query": query, "variables": {"u": username, "p": PASSWORD}}).encode()
    status, raw = post_graphql(target.connect(), body, None)
    data = json.loads(raw)
    if status != 200 or not (data.get("data") or {}).get("tokenAuth"):
        raise SystemExit(f"Could not log in as {username}: {raw[:300]!r}")
    return data["data"]["tokenAuth"]["token"]


def count_queries(query: str, variables: dict, user) -> int:
    """SQL statements one request makes, run in this process through Django's full request handling."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from graphql_jwt.shortcuts import get_token

    headers = {"HTTP_AUTHORIZATION": f"Bearer {get_token(user)}"} if user is not None else {}
    client = Client()
    payload = json.dumps({"query": query, "variables": variables})
    client.post("/graphql", payload, content_type="application/json", **headers)  # warm caches
    with CaptureQueriesContext(connection) as captured:
        response = client.post("/graphql", payload, content_type="application/json", **headers)
    assert response.status_code == 200, response.content[:300]
    return len(captured.captured_queries)


def run_scenario(target: Target, query: str, variables: dict, token: str | None, *, duration: float,
                 max_requests: int, concurrency: int) -> dict:
    body = json.dumps({"query": query, "variables": variables}).encode()
    # Warm-up: plans, caches, connections.
    warm = target.connect()
    for _ in range(10):
        status, raw = post_graphql(warm, body, token)
        if status != 200 or b'"errors"' in raw:
            raise SystemExit(f"The warm-up request failed ({status}): {raw[:500]!r}")
    warm.close()

    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    issued = [0]
    deadline = time.monotonic() + duration

    def worker():
        connection = target.connect()
        mine = []
        while time.monotonic() < deadline:
            with lock:
                if issued[0] >= max_requests:
                    break
                issued[0] += 1
            started = time.perf_counter()
            try:
                status, raw = post_graphql(connection, body, token)
                ok = status == 200 and b'"errors"' not in raw
            except (OSError, http.client.HTTPException):
                ok = False
                connection.close()
                connection = target.connect()
            mine.append(time.perf_counter() - started)
            if not ok:
                with lock:
                    errors[0] += 1
        connection.close()
        with lock:
            latencies.extend(mine)

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    latencies.sort()

    def pct(p):
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000 if latencies else float("nan")

    return {
        "requests": len(latencies), "errors": errors[0], "rps": len(latencies) / elapsed if elapsed else 0.0,
        "p50": statistics.median(latencies) * 1000 if latencies else float("nan"), "p95": pct(95), "p99": pct(99),
    }


def main() -> int:
    args = parse_args()
    prepare_environment()
    from django.db.models import Q

    from users.models import User

    ensure_data(args.seed)
    print(f"Data: {describe_data()}")
    demo = User.objects.filter(username="demo").first()
    if demo is None:
        raise SystemExit("No `demo` user: load the data with `manage.py seed --size standard`.")
    median_following = sorted(User.objects.values_list("following_count", flat=True))[User.objects.count() // 2]
    typical = (User.objects.filter(~Q(pk=demo.pk), following_count=median_following).order_by("pk").first()
               or demo)

    server = None
    url = args.url
    if not url:
        print("Starting daphne on 127.0.0.1 ...", flush=True)
        server = start_daphne({"LOG_LEVEL": "WARNING"}, port=args.port or None)
        url = server.http
    target = Target(url)
    feed_page = (SHARED_BENCH / "feed_page.graphql").read_text()
    newest_posts = (SHARED_BENCH / "newest_posts.graphql").read_text()
    variables = {"first": args.first}
    scenarios = [
        (f"NewestPosts, anonymous, first {args.first}", newest_posts, None),
        (f"FeedPage, demo (follows {demo.following_count:,}), first {args.first}", feed_page, demo),
        (f"FeedPage, {typical.username} (follows {typical.following_count:,}), first {args.first}", feed_page, typical),
    ]
    print(f"Target {url}; {args.concurrency} connections; at most {args.requests} requests or "
          f"{args.duration:g} s per scenario.\n")
    header = f"{'scenario':<52} {'requests':>8} {'errors':>6} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'SQL/req':>7}"
    print(header)
    print("-" * len(header))
    try:
        for name, query, user in scenarios:
            token = login(target, user.username) if user is not None else None
            queries = count_queries(query, variables, user)
            result = run_scenario(target, query, variables, token, duration=args.duration,
                                  max_requests=args.requests, concurrency=args.concurrency)
            print(f"{name:<52} {result['requests']:>8} {result['errors']:>6} {result['rps']:>7.1f} "
                  f"{result['p50']:>7.1f} {result['p95']:>7.1f} {result['p99']:>7.1f} {queries:>7}", flush=True)
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
