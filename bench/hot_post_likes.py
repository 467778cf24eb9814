"""The hot-post case: many processes liking and unliking ONE post at once, through the services.

Prints throughput and latency, then checks that like_count equals COUNT(*). Run it against a
database of its own (it creates users named hotbenchNNNN and one post, and removes them after):

    createdb -h 127.0.0.1 -U postgres bench_hot
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_hot .venv/bin/python manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_hot .venv/bin/python bench/hot_post_likes.py \
        --workers 8 --seconds 10
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from feed.models import Post  # noqa: E402
from interactions import services  # noqa: E402
from interactions.models import Like  # noqa: E402
from users.models import User  # noqa: E402


def worker(index: int, workers: int, liker_ids: list[int], post_id: int, seconds: float, out) -> None:
    """One process (one connection), alternating like/unlike over its own slice of users."""
    connection.close()  # never share the parent's socket
    mine = [User(pk=pk) for pk in liker_ids[index::workers]]
    liked: set[int] = set()
    latencies, errors, i = [], 0, 0
    stop = time.perf_counter() + seconds
    while time.perf_counter() < stop:
        user = mine[i % len(mine)]
        i += 1
        began = time.perf_counter()
        try:
            if user.pk in liked:
                services.like_delete(user=user, post_id=post_id)
                liked.discard(user.pk)
            else:
                services.like_create(user=user, post_id=post_id)
                liked.add(user.pk)
        except Exception:  # noqa: BLE001 - counted
            errors += 1
        latencies.append(time.perf_counter() - began)
    connection.close()
    out.put((latencies, errors))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=8, help="processes, one connection each")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--users", type=int, default=2000, help="distinct likers, split between the workers")
    parser.add_argument("--synchronous-commit", choices=["on", "off"], default="off",
                        help="settings.INTERACTIONS_SYNCHRONOUS_COMMIT for this run (default off, as served)")
    args = parser.parse_args()
    settings.INTERACTIONS_SYNCHRONOUS_COMMIT = args.synchronous_commit

    User.objects.filter(username__startswith="hotbench").delete()
    users = User.objects.bulk_create(
        [User(username=f"hotbench{i:04d}", email=f"hotbench{i:04d}@example.invalid") for i in range(args.users + 1)]
    )
    author, likers = users[0], users[1:]
    post = Post.objects.create(author=author, body="the hot post")
    connection.close()

    context = multiprocessing.get_context("fork")
    out = context.Queue()
    procs = [context.Process(target=worker, args=(n, args.workers, [u.pk for u in likers], post.pk, args.seconds, out))
             for n in range(args.workers)]
    began = time.perf_counter()
    for proc in procs:
        proc.start()
    results = [out.get() for _ in procs]
    for proc in procs:
        proc.join()
    elapsed = time.perf_counter() - began

    every = sorted(x for latencies, _ in results for x in latencies)
    errors = sum(e for _, e in results)
    post.refresh_from_db()
    actual = Like.objects.filter(post=post).count()
    print(f"hot post (synchronous_commit {args.synchronous_commit}): {args.workers} workers, {len(every)} likes/unlikes in {elapsed:.1f} s = "
          f"{len(every) / elapsed:.0f}/s; latency p50 {statistics.median(every) * 1000:.1f} ms, "
          f"p99 {every[int(len(every) * 0.99)] * 1000:.1f} ms; errors {errors}; "
          f"like_count {post.like_count} vs COUNT(*) {actual}: {'exact' if post.like_count == actual else 'WRONG'}")
    User.objects.filter(username__startswith="hotbench").delete()
    if errors or post.like_count != actual:
        sys.exit(1)


if __name__ == "__main__":
    main()
