#!/usr/bin/env python
"""In-process CPU per request with the compiled execution path on and off: `bench/compiled.py`.

Runs ../shared/bench/newest_posts.graphql (and feed_page.graphql as `demo`) against the configured database
(load it first: `manage.py seed --size demo`), in this process, in alternating rounds (off/on, then on/off, ...)
so that drift (caches, other load on the machine) falls on both. Two measures, CPU time of this process
(time.process_time: PostgreSQL's own work is not in it) per request:

- ``request``: through Django's test Client (middleware, view, parse cache, cost, execution, JSON);
- ``execute``: schema.core.execution.execute() alone on the parsed document (a fresh request context each time).

    DATABASE_URL=... REDIS_URL=... bench/compiled.py [--rounds 6] [--requests 40] [--first 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SHARED_BENCH = BASE_DIR.parent / "shared" / "bench"
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# A benchmark is not a client to budget.
os.environ.setdefault("GRAPHQL_RATE_LIMIT_POINTS", str(10**9))
os.environ.setdefault("GRAPHQL_RATE_LIMIT_ANONYMOUS_POINTS", str(10**9))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--requests", type=int, default=40, help="Requests per mode per round.")
    parser.add_argument("--first", type=int, default=20)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import AnonymousUser
    from django.test import Client, RequestFactory
    from graphql_jwt.shortcuts import get_token

    from schema.api import schema
    from schema.core.execution import execute, parse_and_validate
    from users.models import User

    demo = User.objects.filter(username="demo").first()
    scenarios = [("NewestPosts", (SHARED_BENCH / "newest_posts.graphql").read_text(), None)]
    if demo is not None:
        scenarios.append(("FeedPage (demo)", (SHARED_BENCH / "feed_page.graphql").read_text(), demo))
    client = Client()
    factory = RequestFactory()

    def via_client(query, user, n):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {get_token(user)}"} if user else {}
        body = json.dumps({"query": query, "variables": {"first": args.first}})
        for _ in range(n):
            response = client.post("/graphql", body, content_type="application/json", **headers)
            assert response.status_code == 200 and b'"errors"' not in response.content, response.content[:500]

    def via_execute(query, user, n):
        document = parse_and_validate(schema, query)
        for _ in range(n):
            request = factory.post("/graphql")
            request.user = user or AnonymousUser()
            request.request_id = "bench"
            result = execute(schema, document, context=request, variables={"first": args.first})
            assert not result.errors, result.errors

    ratios = []
    for name, query, user in scenarios:
        for label, run in (("request", via_client), ("execute", via_execute)):
            times = {False: [], True: []}
            for mode in (False, True):  # warm-up: plans, caches, connections
                settings.GRAPHQL_COMPILED_EXECUTION = mode
                run(query, user, 3)
            for round_ in range(args.rounds):
                for mode in ((False, True) if round_ % 2 == 0 else (True, False)):
                    settings.GRAPHQL_COMPILED_EXECUTION = mode
                    started = time.process_time()
                    run(query, user, args.requests)
                    times[mode].append((time.process_time() - started) * 1000 / args.requests)
            off, on = statistics.median(times[False]), statistics.median(times[True])
            best_off, best_on = min(times[False]), min(times[True])  # the least disturbed rounds
            ratios.append((name, label, off, on))
            print(f"{name:16} {label:8} median off {off:6.2f} on {on:6.2f} ms/req ({off / on:4.2f}x)   "
                  f"best round off {best_off:6.2f} on {best_on:6.2f} ms/req ({best_off / best_on:4.2f}x)   "
                  f"[{args.rounds} rounds of {args.requests}]", flush=True)

if __name__ == "__main__":
    main()
