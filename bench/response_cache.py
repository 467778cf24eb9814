"""In-process cost of an anonymous public page with the response cache off and on (schema/core/response_cache.py).

Runs /work/shared/bench/newest_posts.graphql (or --document) anonymously through Django's test Client (the
whole middleware stack, the view, the budget, Redis) and prints ms/request and SQL statements/request for
each mode. With the cache on, the first request fills it; the rest are hits (the staleness is set above the
run's length, so no refresh happens: ``--staleness`` to see refreshes). Against a seeded database of its own:

    createdb -h 127.0.0.1 -U postgres bench_rcache
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_rcache .venv/bin/python manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_rcache .venv/bin/python manage.py seed --size demo
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_rcache .venv/bin/python bench/response_cache.py
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")  # no request line per request in the timings

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from schema.core import response_cache  # noqa: E402

DOCUMENT = Path("/work/shared/bench/newest_posts.graphql")


def run(client: Client, payload: str, requests: int) -> tuple[list[float], float]:
    timings, statements = [], 0
    for _ in range(requests):
        with CaptureQueriesContext(connection) as ctx:
            began = time.perf_counter()
            response = client.post("/graphql", payload, content_type="application/json")
            timings.append(time.perf_counter() - began)
        statements += len(ctx.captured_queries)
        if response.status_code != 200 or b'"errors"' in response.content:
            raise SystemExit(f"request failed: {response.status_code} {response.content[:300]!r}")
    return timings, statements / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--document", type=Path, default=DOCUMENT)
    parser.add_argument("--first", type=int, default=20)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--staleness", type=float, default=3600.0)
    args = parser.parse_args()

    settings.GRAPHQL_RATE_LIMIT_ANONYMOUS_POINTS = 10**9  # the benchmark is one client address
    settings.RESPONSE_CACHE_MAX_STALENESS = args.staleness
    settings.RESPONSE_CACHE_REFRESH_SECONDS = 5.0
    payload = json.dumps({"query": args.document.read_text(), "variables": {"first": args.first}})
    client = Client()
    results = {}
    for mode in (False, True):
        settings.RESPONSE_CACHE = mode
        response_cache.memory.clear()
        run(client, payload, 20)  # warm: connections, parse cache, the schema's SDL hash, the entry
        timings, sql = run(client, payload, args.requests)
        ms = [t * 1000 for t in timings]
        results[mode] = statistics.mean(ms)
        print(f"cache {'on ' if mode else 'off'}: {args.requests} requests, mean {statistics.mean(ms):.2f} ms, "
              f"median {statistics.median(ms):.2f} ms, p95 {sorted(ms)[int(len(ms) * 0.95)]:.2f} ms, "
              f"{sql:.1f} SQL statements/request")
    print(f"speed-up (mean): {results[False] / results[True]:.1f}x")


if __name__ == "__main__":
    main()
