"""The client side of `make docker-smoke` (tools/docker/smoke.sh), run against the balancer.

Runs a query, registers a user (a mutation), subscribes to postCreated over a websocket
(graphql-transport-ws), creates a post over HTTP and waits for the event on the websocket, then
records a view of that post (recordPostViews). Every request carries an X-Request-ID, so smoke.sh
can read from the balancer's log which replica served it. Prints one JSON object on stdout:
{"post_pk", "post_id", "query_rids", "mutation_rid", "ws_rid", "views_rid"}.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
import time
import urllib.request
import uuid

import websockets


def log(message: str) -> None:
    print(f"smoke-client: {message}", file=sys.stderr, flush=True)


class Client:
    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        self.token: str | None = None

    def graphql(self, query: str, variables: dict | None = None, rid: str | None = None) -> dict:
        headers = {"Content-Type": "application/json", "X-Request-ID": rid or f"smoke-{uuid.uuid4().hex[:12]}"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(f"{self.base}/graphql", data=body, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=20) as response:
            echoed = response.headers.get("X-Request-ID")
            answer = json.loads(response.read())
        if answer.get("errors"):
            raise SystemExit(f"smoke-client: GraphQL errors: {answer['errors']}")
        answer["_rid"] = echoed or headers["X-Request-ID"]
        return answer


def post_pk(global_id: str) -> int:
    kind, _, pk = base64.b64decode(global_id).decode().partition(":")
    assert kind == "Post", global_id
    return int(pk)


async def subscribe_and_create(client: Client, ws_url: str, ws_rid: str, timeout: float) -> tuple[dict, str]:
    """Subscribes to postCreated, then creates posts (one every 2 s, in case the subscription
    is not registered yet) until one arrives on the websocket. Returns (post, the mutation's rid)."""
    async with websockets.connect(
        ws_url, subprotocols=["graphql-transport-ws"], additional_headers={"X-Request-ID": ws_rid},
        open_timeout=20,
    ) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
        ack = json.loads(await asyncio.wait_for(socket.recv(), 10))
        assert ack["type"] == "connection_ack", ack
        await socket.send(json.dumps({
            "id": "1", "type": "subscribe",
            "payload": {"query": "subscription { postCreated { id body author { username } } }"},
        }))
        sent: dict[str, str] = {}  # body -> the mutation's request id
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body = f"smoke post {uuid.uuid4().hex[:8]} #dockersmoke"
            rid = f"smoke-mutation-{uuid.uuid4().hex[:12]}"
            created = await asyncio.to_thread(
                client.graphql,
                "mutation($body: String!) { createPost(input: {body: $body}) { errors { code message } post { id } } }",
                {"body": body}, rid,
            )
            payload = created["data"]["createPost"]
            assert not payload["errors"], payload
            sent[body] = created["_rid"]
            try:
                while True:
                    message = json.loads(await asyncio.wait_for(socket.recv(), 2))
                    if message.get("type") == "ping":
                        await socket.send(json.dumps({"type": "pong"}))
                        continue
                    assert message.get("type") == "next", message
                    post = message["payload"]["data"]["postCreated"]
                    if post["body"] in sent:
                        await socket.send(json.dumps({"id": "1", "type": "complete"}))
                        return post, sent[post["body"]]
            except asyncio.TimeoutError:
                log("no event yet; creating another post")
        raise SystemExit("smoke-client: FAIL: no postCreated event arrived over the websocket")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True, help="the balancer, e.g. http://127.0.0.1:8080")
    parser.add_argument("--timeout", type=float, default=30)
    args = parser.parse_args()
    client = Client(args.url)

    query_rids = []
    for _ in range(6):
        answer = client.graphql("{ users(first: 3) { edges { node { username } } } }")
        assert "users" in answer["data"], answer
        query_rids.append(answer["_rid"])
    log(f"query ok ({len(query_rids)} times)")

    name = f"smoke_{uuid.uuid4().hex[:10]}"
    registered = client.graphql(
        "mutation($u: String!, $e: String!, $p: String!) { register(input: {username: $u, email: $e, password: $p})"
        " { errors { code message } token user { username } } }",
        {"u": name, "e": f"{name}@example.com", "p": f"pw-{uuid.uuid4().hex}"},
    )["data"]["register"]
    assert not registered["errors"] and registered["token"], registered
    client.token = registered["token"]
    log(f"mutation ok (registered {name})")

    ws_url = args.url.replace("http://", "ws://", 1).replace("https://", "wss://", 1) + "/graphql"
    ws_rid = f"smoke-ws-{uuid.uuid4().hex[:12]}"
    post, mutation_rid = asyncio.run(subscribe_and_create(client, ws_url, ws_rid, args.timeout))
    assert post["author"]["username"] == name, post
    log(f"subscription ok (postCreated {post['id']} delivered)")

    client.token = None  # an author's views of their own post are not counted: an anonymous viewer reports it
    views = client.graphql(
        "mutation($ids: [ID!]!) { recordPostViews(input: {postIds: $ids}) { errors { code message } } }",
        {"ids": [post["id"]]}, f"smoke-views-{uuid.uuid4().hex[:12]}",
    )
    assert not views["data"]["recordPostViews"]["errors"], views
    log("recordPostViews ok")
    print(json.dumps({
        "post_pk": post_pk(post["id"]), "post_id": post["id"], "query_rids": query_rids,
        "mutation_rid": mutation_rid, "ws_rid": ws_rid, "views_rid": views["_rid"],
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
