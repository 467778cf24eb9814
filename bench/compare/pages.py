"""The documents, logging in, and the check that both servers return the same newest-posts page."""

from __future__ import annotations

import base64
import datetime
import json
import urllib.error
import urllib.request
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
SHARED_BENCH = BASE_DIR.parent / "shared" / "bench"
PEER_DIR = BASE_DIR / "bench" / "peer"
PASSWORD = "demo-password-123"  # every seeded account's (devdata/generator.py)


def documents() -> dict[str, str]:
    return {
        "newest_posts": (SHARED_BENCH / "newest_posts.graphql").read_text(),
        "feed_page": (SHARED_BENCH / "feed_page.graphql").read_text(),
        "peer_newest_posts": (PEER_DIR / "newest_posts.graphql").read_text(),
    }


def body(query: str, variables: dict) -> bytes:
    return json.dumps({"query": query, "variables": variables}, separators=(",", ":")).encode()


def post(url: str, payload: bytes, token: str | None = None) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"{url}/graphql", data=payload, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def checked(url: str, payload: bytes, token: str | None = None) -> bytes:
    """The raw response; exits when it is not a 200 with data and no errors."""
    status, raw = post(url, payload, token)
    data = json.loads(raw) if raw[:1] == b"{" else {}
    if status != 200 or data.get("errors") or not data.get("data"):
        raise SystemExit(f"{url}: HTTP {status}: {raw[:600]!r}")
    return raw


def login(url: str, username: str) -> str:
    query = "mutation($u: String!, $p: String!) { tokenAuth(username: $u, password: $p) { token } }"
    raw = checked(url, body(query, {"u": username, "p": PASSWORD}))
    return json.loads(raw)["data"]["tokenAuth"]["token"]


# --- the same page ------------------------------------------------------------------------------
def pk_of(global_id: str, expected: str) -> int:
    return _pk(global_id, expected)


def _pk(global_id: str, expected: str) -> int:
    type_name, _, pk = base64.b64decode(global_id).decode().partition(":")
    if type_name != expected:
        raise ValueError(f"{global_id!r} is a {type_name} id, not a {expected}")
    return int(pk)


def _instant(value: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


def project_page(raw: bytes) -> list[dict]:
    """The project's NewestPosts page as plain rows (database ids, datetimes)."""
    return [{
        "id": _pk(node["id"], "Post"), "created_at": _instant(node["createdAt"]), "like_count": node["likeCount"],
        "author": node["author"]["username"],
        "comments": [{"id": _pk(c["node"]["id"], "Comment"), "body": c["node"]["body"],
                      "author": c["node"]["author"]["username"]} for c in node["comments"]["edges"]],
    } for node in (edge["node"] for edge in json.loads(raw)["data"]["posts"]["edges"])]


def peer_page(raw: bytes) -> list[dict]:
    """PostGraphile's page (bench/peer/newest_posts.graphql) as the same rows."""
    return [{
        "id": int(node["rowId"]), "created_at": _instant(node["createdAt"]), "like_count": node["likeCount"],
        "author": node["usersUserByAuthorId"]["username"],
        "comments": [{"id": int(c["node"]["rowId"]), "body": c["node"]["body"],
                      "author": c["node"]["usersUserByAuthorId"]["username"]}
                     for c in node["interactionsCommentsByPostId"]["edges"]],
    } for node in (edge["node"] for edge in json.loads(raw)["data"]["allFeedPosts"]["edges"])]


def differences(ours: list[dict], theirs: list[dict]) -> list[str]:
    """What differs between the two pages (empty: the same posts, comments, counts and bodies)."""
    found = []
    if len(ours) != len(theirs):
        found.append(f"{len(ours)} posts against {len(theirs)}")
    for index, (a, b) in enumerate(zip(ours, theirs)):
        for key in a:
            if a[key] != b[key]:
                found.append(f"post #{index + 1} (id {a['id']}/{b['id']}): {key}: {a[key]!r} != {b[key]!r}")
    return found


def summary(page: list[dict]) -> str:
    comments = sum(len(post["comments"]) for post in page)
    return (f"{len(page)} posts (ids {page[0]['id']}..{page[-1]['id']}), {comments} comments, "
            f"{sum(post['like_count'] for post in page):,} likes in all" if page else "an empty page")
