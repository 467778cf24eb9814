#!/usr/bin/env python
"""Page 500 against page 1 of the newest posts (keyset pagination: a deep page costs what the first does).

Starts the project as production runs it (bench/compare's ``start_project``: granian, one process per core,
the response cache off) on the standard data set (``--database-url``; load it with ``make bench-compare`` or
``manage.py seed --size standard``), takes the cursor of the 10,000th newest post (the end of page 500 of 20),
then alternates autocannon rounds of ``../shared/bench/newest_posts.graphql``'s page with ``after: null``
(page 1) and ``after: <that cursor>`` (page 501's start: 500 pages deep), at 1 and 10 connections, and
prints req/s, p50, p99 and the ratio page 500 / page 1 (issue 12: within 10%).

    .venv/bin/python bench/deep_page.py --database-url postgres://postgres@127.0.0.1:5432/bench_standard \\
        --redis-url redis://127.0.0.1:6379/0 [--rounds 2] [--duration 8]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

PAGE = 20
DEPTH = 500


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", type=float, default=8)
    parser.add_argument("--connections", default="1,10")
    args = parser.parse_args()
    os.environ["DATABASE_URL"], os.environ["REDIS_URL"] = args.database_url, args.redis_url

    import django

    django.setup()
    from bench.compare.load import autocannon
    from bench.compare.servers import ensure_peer_packages, start_project, stop
    from feed.models import Post
    from schema.core.keyset import NEWEST_FIRST

    ensure_peer_packages()
    row = Post.objects.order_by("-created_at", "-id").values_list("created_at", "id")[PAGE * DEPTH - 1]
    cursor = NEWEST_FIRST.cursor_of(type("Row", (), {"created_at": row[0], "id": row[1]}))
    document = (BASE_DIR.parent / "shared" / "bench" / "newest_posts.graphql").read_text()
    document = document.replace("($first: Int!)", "($first: Int!, $after: String)").replace(
        "posts(first: $first)", "posts(first: $first, after: $after)")
    bodies = {page: json.dumps({"query": document, "variables": {"first": PAGE, "after": after}}).encode()
              for page, after in (("page 1", None), (f"page {DEPTH}", cursor))}
    server = start_project(args.database_url, args.redis_url, prefix="bench-deep")
    figures: dict = {}
    try:
        url = f"{server.http}/graphql"
        for body in bodies.values():  # warm-up: plans, prepared statements, caches
            autocannon(url, body, connections=2, duration=2, token=None, expect=None)
        connections = [int(c) for c in args.connections.split(",")]
        for round_ in range(args.rounds):
            for conns in connections:
                order = list(bodies.items()) if round_ % 2 == 0 else list(bodies.items())[::-1]
                for page, body in order:
                    result = autocannon(url, body, connections=conns, duration=args.duration, token=None, expect=None)
                    errors = result["errors"] + result["timeouts"] + result["non2xx"]
                    figures.setdefault((page, conns), []).append(
                        (result["requests"]["total"] / result["duration"],
                         result["latency"]["p50"], result["latency"]["p99"], errors))
                    print(f"  round {round_ + 1}, {conns:2d} conns, {page}: {figures[(page, conns)][-1][0]:.1f} req/s,"
                          f" p50 {result['latency']['p50']} ms, p99 {result['latency']['p99']} ms, {errors} errors",
                          flush=True)
    finally:
        stop(server)
    print(f"\n{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
          f"{platform.processor() or platform.machine()}; the cursor of post #{PAGE * DEPTH:,} (id {row[1]})")
    print(f"{'page':10s} {'conns':>5s} {'req/s (rounds)':>22s} {'p50 ms':>7s} {'p99 ms':>7s}  vs page 1")
    for conns in connections:
        first = statistics.median(r[0] for r in figures[("page 1", conns)])
        for page in bodies:
            rows = figures[(page, conns)]
            rate = statistics.median(r[0] for r in rows)
            print(f"{page:10s} {conns:5d} {' / '.join(f'{r[0]:,.0f}' for r in rows):>22s} "
                  f"{statistics.median(r[1] for r in rows):7.1f} {statistics.median(r[2] for r in rows):7.1f}"
                  f"  {rate / first:.2f}")


if __name__ == "__main__":
    main()
