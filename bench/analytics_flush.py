"""Cost of recording views and interactions, and of the flush that folds them into PostgreSQL.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/<a seeded database> REDIS_KEY_PREFIX=<yours>
    .venv/bin/python bench/analytics_flush.py [--posts 20000] [--calls 2000]

Records ``--calls`` recordPostViews-sized batches (50 posts each, from ``--posts`` posts, distinct
viewers), then a burst of likes on one hot post through ``record_interaction``, then times
``flush_stats``. It adds views to the database it runs on.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import transaction  # noqa: E402

from analytics import jobs, keys, writes  # noqa: E402
from feed.models import Post  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=20000)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--likes", type=int, default=20000)
    args = parser.parse_args()

    ids = list(Post.objects.order_by("-id").values_list("id", flat=True)[: args.posts])
    if not ids:
        sys.exit("no posts: seed the database first")
    rng = random.Random(1)
    jobs.flush_stats()  # start from nothing pending

    times, counted = [], 0
    for call in range(args.calls):
        batch = rng.sample(ids, 50)
        started = time.perf_counter()
        counted += writes.record_views(None, batch, fingerprint=f"bench-{call}")
        times.append(time.perf_counter() - started)
    times.sort()
    print(f"record_views, 50 posts per call: median {statistics.median(times) * 1000:.2f} ms, "
          f"p95 {times[int(len(times) * 0.95)] * 1000:.2f} ms ({counted:,} views counted)")

    hot = Post.objects.only("id", "author_id").get(pk=ids[0])
    started = time.perf_counter()
    with transaction.atomic():  # each like's hook runs at this commit, as in a service
        for _ in range(args.likes):
            writes.record_interaction(post_id=hot.pk, author_id=hot.author_id, kind="likes")
    elapsed = time.perf_counter() - started
    print(f"record_interaction on one hot post: {args.likes:,} in {elapsed:.2f} s "
          f"({elapsed / args.likes * 1e6:.0f} µs each, one Redis round trip)")

    dirty = keys.redis().scard(keys.dirty_key())
    started = time.perf_counter()
    result = jobs.flush_stats()
    elapsed = time.perf_counter() - started
    print(f"flush_stats: {dirty:,} posts, {result.buckets:,} buckets, {result.views:,} views in {elapsed:.2f} s "
          f"({result.batches} batches of 500)")


if __name__ == "__main__":
    main()
