"""Websocket fan-out and connection benchmark (a script, not a test). Figures go to docs/realtime.md.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/ws_fanout.py [--subscribers 100,1000] [--likes 20] [--idle 5000]

1. Fan-out: N graphql-transport-ws clients, each authenticated as its own user, subscribe to
   `postUpdated(postId) { id likeCount viewerHasLiked }` of one post; then `likePost` mutations go
   to the server over HTTP, one every 0.4 s (so coalescing does not merge them). Latency = from
   sending the mutation to each subscriber receiving the update with the new count; p50/p99 over
   all (like, subscriber) pairs. Run for authenticated subscribers (one execution per viewer: their
   own viewerHasLiked) and anonymous ones (identical selections share one execution).
2. Celebrity post: N followers subscribed to `feedUpdated`; the author posts; latency to all N.
3. Idle connections: M graphql-transport-ws connections (connection_init/ack, nothing else) held by
   one daphne process; its RSS before and after, memory per connection.

Everything runs on 127.0.0.1: one daphne process (port 8180-8199), the clients in this process.
The database is a separate one, `ws_bench` (BENCH_DATABASE), on the server DATABASE_URL names; it
is created and migrated if missing. Bounded: every wait has a timeout, counts are capped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from tests.support.live_server import start_daphne, wait_for_listeners  # noqa: E402 - the one launcher

MAX_SUBSCRIBERS = 5000
WARMUPS = 3
MAX_IDLE = 10000


def bench_database_url() -> str:
    import psycopg

    base = os.environ.get("DATABASE_URL")
    if not base:
        sys.exit("Set DATABASE_URL (any database on the PostgreSQL server to use) and REDIS_URL.")
    name = os.environ.get("BENCH_DATABASE", "ws_bench")
    parsed = urlparse(base)
    with psycopg.connect(urlunparse(parsed._replace(path="/postgres")), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    return urlunparse(parsed._replace(path=f"/{name}"))


def raise_fd_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(hard, max(soft, wanted))
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]



class Subscriber:
    """One graphql-transport-ws client: init, one subscription, answers pings, records arrival times."""

    def __init__(self, url, token, query, variables, on_data):
        self.url, self.token, self.query, self.variables, self.on_data = url, token, query, variables, on_data
        self.ws = None
        self.reader = None

    async def start(self):
        from websockets.asyncio.client import connect

        self.ws = await connect(self.url, subprotocols=["graphql-transport-ws"], compression=None,
                                open_timeout=30, max_queue=64)
        await self.ws.send(json.dumps({"type": "connection_init",
                                       "payload": {"authorization": f"Bearer {self.token}"} if self.token else {}}))
        ack = json.loads(await asyncio.wait_for(self.ws.recv(), 30))
        assert ack["type"] == "connection_ack", ack
        if self.query:
            await self.ws.send(json.dumps({"id": "1", "type": "subscribe",
                                           "payload": {"query": self.query, "variables": self.variables}}))
            self.reader = asyncio.ensure_future(self.read())

    async def read(self):
        async for raw in self.ws:
            message = json.loads(raw)
            if message["type"] == "ping":
                await self.ws.send(json.dumps({"type": "pong", "payload": message.get("payload")}))
            elif message["type"] == "next":
                self.on_data(message["payload"], time.monotonic())
            elif message["type"] == "error":
                raise RuntimeError(message)

    async def close(self):
        if self.reader:
            self.reader.cancel()
        if self.ws:
            await self.ws.close()


async def open_all(subscribers, concurrency=100):
    for index in range(0, len(subscribers), concurrency):
        await asyncio.gather(*(s.start() for s in subscribers[index:index + concurrency]))


async def post_json(session, url, query, variables, token):
    async with session.post(url, json={"query": query, "variables": variables},
                            headers={"Authorization": f"Bearer {token}"}) as response:
        body = await response.json()
        assert response.status == 200 and not body.get("errors"), body
        return body["data"]


LIKE = "mutation L($id: ID!) { likePost(input: {postId: $id}) { errors { code } } }"
POST_UPDATED = "subscription U($id: ID!) { postUpdated(postId: $id) { id likeCount viewerHasLiked } }"
FEED = "subscription { feedUpdated { cursor node { id body author { username } viewerHasLiked } } }"
CREATE_POST = "mutation P($body: String!) { createPost(input: {body: $body}) { errors { code } } }"


async def fanout(server, users, tokens, post, n, likes, anonymous, env):
    import aiohttp

    from common.events import post_updated_group
    from schema.core.node import global_id

    post_gid = global_id("Post", post.pk)
    arrivals: dict[int, list[float]] = {}

    def on_data(payload, at):
        count = payload["data"]["postUpdated"]["likeCount"]
        arrivals.setdefault(count, []).append(at)

    subs = [Subscriber(f"ws://127.0.0.1:{server.port}/graphql", None if anonymous else tokens[i],
                       POST_UPDATED, {"id": post_gid}, on_data) for i in range(n)]
    await open_all(subs)
    await wait_for_listeners(post_updated_group(post.pk), timeout=30)
    url = f"http://127.0.0.1:{server.port}/graphql"
    likers = tokens[n:n + likes + WARMUPS]
    latencies, mutations = [], []
    async with aiohttp.ClientSession() as session:
        from interactions.models import Like

        base = await asyncio.to_thread(lambda: Like.objects.filter(post=post).count())
        # Warm-up likes until all N saw one: then every subscription is registered.
        missing = n
        for warmup in range(WARMUPS):
            await post_json(session, url, LIKE, {"id": post_gid}, likers[warmup])
            deadline = time.monotonic() + 5
            while len(arrivals.get(base + warmup + 1, ())) < n and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            missing = n - len(arrivals.get(base + warmup + 1, ()))
            if not missing:
                break
            await asyncio.sleep(0.4)
        base += warmup + 1
        for index in range(1, likes + 1):
            await asyncio.sleep(0.4)  # > POST_UPDATED_INTERVAL: each like is its own update
            expected = base + index
            started = time.monotonic()
            await post_json(session, url, LIKE, {"id": post_gid}, likers[WARMUPS + index - 1])
            mutations.append(time.monotonic() - started)
            deadline = time.monotonic() + 15
            while len(arrivals.get(expected, ())) < n and time.monotonic() < deadline:
                await asyncio.sleep(0.002)
            latencies += [at - started for at in arrivals.get(expected, ())]
    for sub in subs:
        await sub.close()
    return latencies, missing, statistics.median(mutations)


async def celebrity(server, users, tokens, author, author_token, n, env):
    import aiohttp

    from common.events import POSTS_CREATED

    arrivals = []
    subs = [Subscriber(f"ws://127.0.0.1:{server.port}/graphql", tokens[i], FEED, {},
                       lambda payload, at: arrivals.append(at)) for i in range(n)]
    await open_all(subs)
    await wait_for_listeners(POSTS_CREATED, timeout=30)
    await asyncio.sleep(1)
    latencies = []
    async with aiohttp.ClientSession() as session:
        for round_ in range(5):
            arrivals.clear()
            started = time.monotonic()
            await post_json(session, f"http://127.0.0.1:{server.port}/graphql", CREATE_POST,
                            {"body": f"celebrity post {round_}"}, author_token)
            deadline = time.monotonic() + 15
            while len(arrivals) < n and time.monotonic() < deadline:
                await asyncio.sleep(0.002)
            latencies += [at - started for at in arrivals]
            await asyncio.sleep(0.3)
    for sub in subs:
        await sub.close()
    return latencies


async def idle(server, m):
    subs = [Subscriber(f"ws://127.0.0.1:{server.port}/graphql", None, None, None, None) for _ in range(m)]
    await asyncio.sleep(1)
    before = server.rss()
    started = time.monotonic()
    opened = 0
    try:
        for index in range(0, m, 200):
            await asyncio.gather(*(s.start() for s in subs[index:index + 200]))
            opened = index + len(subs[index:index + 200])
    except Exception as error:  # noqa: BLE001 - report how far it got
        print(f"  stopped at {opened} connections: {error!r}")
    took = time.monotonic() - started
    await asyncio.sleep(2)
    after = server.rss()
    # Are they all still open and served? A ping on each, answered by a pong.
    alive = 0
    for sub in subs[:opened]:
        try:
            await sub.ws.send('{"type":"ping"}')
        except Exception:  # noqa: BLE001
            continue
    for sub in subs[:opened]:
        try:
            if json.loads(await asyncio.wait_for(sub.ws.recv(), 10))["type"] == "pong":
                alive += 1
        except Exception:  # noqa: BLE001
            pass
    for index in range(0, opened, 500):
        await asyncio.gather(*(s.close() for s in subs[index:index + 500]), return_exceptions=True)
    return opened, alive, before, after, took


def summary(name, latencies, expected):
    if not latencies:
        return f"{name}: no deliveries"
    ms = [value * 1000 for value in latencies]
    return (f"{name}: {len(ms)}/{expected} deliveries, p50 {percentile(ms, 50):.1f} ms, "
            f"p99 {percentile(ms, 99):.1f} ms, max {max(ms):.1f} ms, mean {statistics.mean(ms):.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", default="100,1000", help="comma-separated N for the fan-out runs")
    parser.add_argument("--likes", type=int, default=20, help="measured likes per run")
    parser.add_argument("--idle", type=int, default=5000, help="idle connections to open (0: skip)")
    parser.add_argument("--port", type=int, default=8180)
    args = parser.parse_args()
    ns = [min(int(n), MAX_SUBSCRIBERS) for n in args.subscribers.split(",") if n.strip()]
    idle_count = min(args.idle, MAX_IDLE)
    raise_fd_limit(max(ns + [idle_count]) + 1000)

    url = bench_database_url()
    env = dict(os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="config.settings", DEBUG="0",
               REDIS_KEY_PREFIX=os.environ.get("BENCH_REDIS_PREFIX", "wsbench"), LOG_LEVEL="WARNING",
               JWT_ACCESS_MINUTES="240")
    env.pop("TEST_DATABASE_NAME", None)
    os.environ.update(env)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=BASE_DIR, env=env,
                   check=True)

    import django

    django.setup()
    from graphql_jwt.shortcuts import get_token

    from feed import services
    from users.models import Follow, User

    count = max(ns) + args.likes + WARMUPS + 1
    bench_users = User.objects.filter(username__regex=r"^wsb[0-9]+$")
    existing = bench_users.count()
    if existing < count:
        User.objects.bulk_create([User(username=f"wsb{i}", email=f"wsb{i}@bench.example", password="!")
                                  for i in range(existing, count)], ignore_conflicts=True)
    users = list(bench_users.order_by("id")[:count])
    tokens = [get_token(user) for user in users]
    author = User.objects.get_or_create(username="bench_author", defaults={"email": "author@bench.example"})[0]
    Follow.objects.bulk_create([Follow(follower=user, followee=author) for user in users], ignore_conflicts=True)
    connection_close()

    print(f"ws fan-out benchmark: 1 daphne process, clients in one process, {os.cpu_count()} cores")
    server = start_daphne(env, port=args.port)
    try:
        for n in ns:
            for anonymous in (False, True):
                post = services.post_create(author=users[-1], body=f"hot post for {n} subscribers")
                connection_close()
                latencies, missing, mutation = asyncio.run(
                    fanout(server, users, tokens, post, n, args.likes, anonymous, env))
                kind = "anonymous" if anonymous else "authenticated, one viewer each"
                print(summary(f"likePost -> postUpdated, N={n} ({kind})", latencies, n * args.likes)
                      + f"; the likePost round trip itself: p50 {mutation * 1000:.1f} ms"
                      + (f"; {missing} subscriptions never started" if missing else ""))
        n = max(ns)
        latencies = asyncio.run(celebrity(server, users, tokens, author, get_token(author), n, env))
        print(summary(f"createPost by an author followed by all -> feedUpdated, N={n}", latencies, n * 5))
    finally:
        server.stop()

    if idle_count:
        server = start_daphne(env, port=args.port)
        try:
            opened, alive, before, after, took = asyncio.run(idle(server, idle_count))
            per = (after - before) / max(opened, 1)
            print(f"idle graphql-transport-ws connections: {opened} opened in {took:.1f} s, {alive} answered a ping; "
                  f"daphne RSS {before / 2**20:.0f} MiB -> {after / 2**20:.0f} MiB, "
                  f"{per / 1024:.1f} KiB per connection")
        finally:
            server.stop()
    return 0


def connection_close():
    from django.db import connection

    connection.close()


if __name__ == "__main__":
    sys.exit(main())
