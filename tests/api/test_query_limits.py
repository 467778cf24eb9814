"""The safety net against hostile documents: depth, field and alias limits (QUERY_TOO_COMPLEX)."""

from pathlib import Path

import pytest
from graphql import get_introspection_query
from graphql_relay import to_global_id

from schema.core import limits

BENCH = Path(__file__).resolve().parents[3] / "shared" / "bench"


# --- hostile documents ---------------------------------------------------------------------------
def _nested(field: str, levels: int, leaf: str = "id") -> str:
    inner = leaf
    for _ in range(levels):
        inner = field.replace("%s", inner)
    return inner


def test_deep_queries_are_refused_before_running(gql, alices_post, bobs_comment, django_assert_num_queries):
    post, comment = alices_post, bobs_comment
    pid = to_global_id("Post", post.pk)
    replies = _nested("replies(first: 100) { edges { node { id %s } } }", 55)
    deep = [
        ('query($p: ID!) { node(id: $p) { ... on Post { comments { edges { node { %s } } } } } }' % replies,
         {"p": pid}),
        ('{ user(username: "alice") { %s } }' % _nested("posts { edges { node { author { %s } } } }", 40), None),
        ("{ viewer { ...A } } fragment A on User { followers { edges { node { ...B } } } } "
         "fragment B on User { following { edges { node { followers { edges { node { following { edges { node "
         "{ followers { edges { node { id } } } } } } } } } } } } }", None),
    ]
    for query, variables in deep:
        with django_assert_num_queries(0):
            r = gql(query, variables)
        assert r.status == 400 and r.error_codes() == ["QUERY_TOO_COMPLEX"], r.body
        assert "deeper than 15" in r.errors[0]["message"]


def test_depth_fifteen_is_allowed(gql, alices_post):
    # viewer(1) followers(2) edges(3) node(4) ... posts(11) edges(12) node(13) author(14) id(15)
    # (Small pages: with the default 20 this would pass the node limit, 168,420 nodes.)
    query = "{ viewer { %s } }" % _nested("followers(first: 2) { edges { node { %s } } }", 3,
                                          "posts(first: 2) { edges { node { author { id } } } }")
    r = gql(query, user=alices_post.author)
    assert r.status == 200 and not r.errors, r.body
    too_deep = "{ viewer { %s } }" % _nested("followers { edges { node { %s } } }", 3,
                                               "posts { edges { node { author { posts { pageInfo { hasNextPage } } } } } }")
    assert gql(too_deep, user=alices_post.author).error_codes() == ["QUERY_TOO_COMPLEX"]


def test_aliases_and_field_counts_are_limited(gql, alices_post):
    aliased = " ".join(f"a{i}: posts(first: 100, filter: {{search: \"hello\"}}) {{ edges {{ node {{ id }} }} }}"
                       for i in range(limits.MAX_ALIASES + 1))
    r = gql("{ %s }" % aliased)
    assert r.status == 400 and r.error_codes() == ["QUERY_TOO_COMPLEX"] and "aliases" in r.errors[0]["message"]
    # Fragments count where they are spread: 11 fields x 100 spreads > 1000.
    fields = " ".join(["id username bio postCount followerCount followingCount displayName avatarUrl",
                       "dateJoined viewerIsFollowing isFollowingViewer"])
    spreads = " ".join(["...U"] * 100)
    r = gql("{ users { edges { node { ...W } } } } fragment W on User { %s } fragment U on User { %s }"
            % (spreads, fields))
    assert r.status == 400 and r.error_codes() == ["QUERY_TOO_COMPLEX"] and "fields" in r.errors[0]["message"]
    r = gql("{ %s }" % " ".join(f"a{i}: viewer {{ id }}" for i in range(limits.MAX_ALIASES)))
    assert r.status == 200 and not r.errors


@pytest.mark.parametrize("page", sorted(p.name for p in BENCH.glob("*.graphql")))
def test_standard_pages_and_introspection_pass_the_limits(gql, alice, page):
    r = gql((BENCH / page).read_text(), {"first": 20}, user=alice)
    assert r.status == 200 and not r.errors, r.body
    r = gql(get_introspection_query(descriptions=True, specified_by_url=True, directive_is_repeatable=True,
                                    schema_description=True, input_value_deprecation=True))
    assert r.status == 200 and not r.errors and r.data["__schema"]["queryType"]["name"] == "Query"


def test_limits_apply_to_subscriptions_too():
    from schema.api import schema
    from schema.core.execution import RequestError, parse_and_validate

    with pytest.raises(RequestError) as caught:
        parse_and_validate(schema, "subscription { commentAdded(postId: \"x\") { %s } }"
                           % _nested("replies { edges { node { %s } } }", 6))
    assert caught.value.errors[0].extensions["code"] == "QUERY_TOO_COMPLEX"
