"""Cursors of another ordering or connection are BAD_USER_INPUT (argument "after"), never a 500."""

import base64
import json

import pytest



def _cursor(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


# --- cursors of another ordering or connection --------------------------------------------------
def test_cursors_from_elsewhere_are_bad_user_input(gql, alices_post, alice):
    r = gql("""{ feed(first: 1) { edges { cursor } }
                 created: posts(first: 1) { edges { cursor } }
                 liked: posts(first: 1, orderBy: {field: LIKE_COUNT, direction: DESC}) { edges { cursor } } }""",
            user=alice)
    created, liked = (r.data[k]["edges"][0]["cursor"] for k in ("created", "liked"))
    feed = r.data["feed"]["edges"][0]["cursor"]
    now = {"t": "2026-01-01T00:00:00+00:00"}
    cases = [
        ('{ posts(after: "%s") { edges { node { id } } } }', liked),
        ('{ posts(after: "%s") { edges { node { id } } } }', feed),
        ('{ posts(after: "%s", orderBy: {field: LIKE_COUNT, direction: ASC}) { edges { node { id } } } }', created),
        ('{ feed(after: "%s") { edges { node { id } } } }', created),
        ('{ notifications(after: "%s") { edges { node { id } } } }', liked),
        ('{ bookmarks(after: "%s") { edges { node { id } } } }', liked),
        ('{ users(after: "%s") { edges { node { id } } } }', liked),
        ('{ posts(after: "%s") { edges { node { id } } } }', _cursor([now, 10**30])),
        ('{ posts(after: "%s") { edges { node { id } } } }', _cursor([now, True])),
        ('{ posts(after: "%s") { edges { node { id } } } }', _cursor([{"t": "2026-01-01T00:00:00"}, 1])),
        ('{ posts(after: "%s") { edges { node { id } } } }', _cursor(["2026-01-01", 1])),
        ('{ posts { edges { node { comments(after: "%s") { edges { node { id } } } } } } }', liked),
        ('{ posts { edges { node { likes(after: "%s") { edges { node { id } } } } } } }', liked),
    ]
    for query, cursor in cases:
        r = gql(query % cursor, user=alice)
        assert r.error_codes() == ["BAD_USER_INPUT"], (query, r.body)
        assert r.errors[0]["extensions"]["argument"] == "after"


