"""The home feed: what is in it, in which order, each post once, and paging while entries arrive."""

from __future__ import annotations

import datetime
import random

import pytest
from django.db.models import F
from django.utils import timezone
from graphql_relay import to_global_id

from timeline import selectors
from feed.models import Post
from interactions.models import Share
from users.models import Follow, User

from tests.conftest import make_user

FEED = """query($first: Int, $after: String) { feed(first: $first, after: $after) {
  edges { cursor share { id comment user { username } createdAt } node { id body author { username } } }
  pageInfo { hasNextPage hasPreviousPage endCursor } } }"""


def follow(follower, *followees):
    for followee in followees:
        Follow.objects.create(follower=follower, followee=followee)
    User.objects.filter(pk=follower.pk).update(following_count=Follow.objects.filter(follower=follower).count())
    follower.refresh_from_db()


def post(author, body, minutes_ago):
    # The author's post count moves as the service moves it: the feed's choice of way reads it.
    User.objects.filter(pk=author.pk).update(post_count=F("post_count") + 1)
    return Post.objects.create(author=author, body=body, created_at=timezone.now() - datetime.timedelta(minutes=minutes_ago))


def share(user, post_, minutes_ago, comment=""):
    return Share.objects.create(user=user, post=post_, comment=comment,
                                created_at=timezone.now() - datetime.timedelta(minutes=minutes_ago))


def feed(gql, user, first=50, after=None):
    r = gql(FEED, {"first": first, "after": after}, user=user)
    assert not r.errors, r.errors
    return r.data["feed"]


@pytest.fixture(params=["seek", "scan"])
def strategy(request, monkeypatch):
    """Every test runs with both ways of finding post entries (per-author seek, global walk)."""
    monkeypatch.setattr(selectors, "FEED_SEEK_COST", 0 if request.param == "seek" else 10**12)
    selectors.forget_strategies()
    yield request.param
    selectors.forget_strategies()


def test_anonymous_is_unauthenticated(gql):
    r = gql(FEED, {"first": 5})
    assert r.error_codes() == ["UNAUTHENTICATED"]
    assert r.data is None


def test_each_setting_of_the_strategy_fixture_takes_its_way_first_and_then(gql, strategy, alice, bob):
    """The way the choosing statement took is the way the next pages take (its statement built anew after
    FEED_SEEK_COST changed): the fixture's two settings really run both ways."""
    follow(alice, bob)
    post(bob, "bob 1", 10)
    for _ in range(2):
        assert [e["node"]["body"] for e in feed(gql, alice)["edges"]] == ["bob 1"]
        assert selectors._known_strategy(alice.pk, 51) is (strategy == "scan")


def test_contents_order_and_shares(gql, strategy, alice, bob, carol):
    dave = make_user("dave")
    follow(alice, bob, carol)
    mine = post(alice, "alice 1", 50)
    b1 = post(bob, "bob 1", 40)
    post(dave, "dave 1 (not followed)", 30)
    d2 = post(dave, "dave 2 (shared by carol)", 20)
    c1 = post(carol, "carol 1", 10)
    share(carol, d2, 5, comment="look")
    share(dave, b1, 4)  # dave is not followed: his share does not count
    edges = feed(gql, alice)["edges"]
    assert [e["node"]["body"] for e in edges] == [
        "dave 2 (shared by carol)", "carol 1", "bob 1", "alice 1",
    ]
    assert edges[0]["share"]["user"]["username"] == "carol" and edges[0]["share"]["comment"] == "look"
    assert [e["share"] for e in edges[1:]] == [None, None, None]
    assert edges[1]["node"]["id"] == to_global_id("Post", c1.pk)
    assert edges[3]["node"]["id"] == to_global_id("Post", mine.pk)


def test_each_post_once_at_its_newest_entry(gql, strategy, alice, bob, carol):
    dave, erin = make_user("dave"), make_user("erin")
    follow(alice, bob, carol, erin)
    b1 = post(bob, "bob 1", 60)  # followed author, later shared by followed users
    own = post(alice, "alice 1", 55)  # the viewer's own post, shared by a followed user
    d1 = post(dave, "dave 1", 50)
    post(erin, "erin 1", 30)
    share(carol, b1, 40)
    share(erin, b1, 20)  # the newest entry of bob 1
    share(carol, own, 35)
    share(carol, d1, 45)
    share(bob, d1, 25)  # the newest entry of dave 1
    edges = feed(gql, alice)["edges"]
    entries = [(e["node"]["body"], e["share"] and e["share"]["user"]["username"]) for e in edges]
    assert entries == [
        ("bob 1", "erin"), ("dave 1", "bob"), ("erin 1", None), ("alice 1", "carol"),
    ]


def test_unfollowing_and_deleting_take_entries_out(gql, strategy, alice, bob, carol):
    follow(alice, bob, carol)
    b1 = post(bob, "bob 1", 10)
    post(carol, "carol 1", 5)
    share(carol, b1, 1)
    assert [e["node"]["body"] for e in feed(gql, alice)["edges"]] == ["bob 1", "carol 1"]
    Follow.objects.filter(follower=alice, followee=carol).delete()
    alice.refresh_from_db()
    assert [(e["node"]["body"], e["share"]) for e in feed(gql, alice)["edges"]] == [("bob 1", None)]
    b1.delete()
    assert feed(gql, alice)["edges"] == []


def test_paging_walks_the_whole_feed_once(gql, strategy, alice):
    rng = random.Random(7)
    people = [make_user(f"friend{i}") for i in range(6)]
    outsider = make_user("outsider")
    follow(alice, *people[:5])
    posts = [post(rng.choice(people + [alice, outsider]), f"p{i}", rng.randint(0, 500)) for i in range(80)]
    for i in range(30):
        sharer = rng.choice(people)
        target = rng.choice(posts)
        if not Share.objects.filter(user=sharer, post=target).exists():
            age = int((timezone.now() - target.created_at).total_seconds() // 60)
            share(sharer, target, rng.randint(0, max(age - 1, 0)))
    whole = feed(gql, alice, first=100)
    assert not whole["pageInfo"]["hasNextPage"]
    expected = [e["node"]["id"] for e in whole["edges"]]
    assert len(expected) == len(set(expected))
    walked, after = [], None
    while True:
        page = feed(gql, alice, first=7, after=after)
        assert page["pageInfo"]["hasPreviousPage"] == (after is not None)
        walked += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert walked == expected


def test_paging_is_stable_while_entries_arrive(gql, strategy, alice, bob, carol):
    follow(alice, bob, carol)
    old = [post(bob if i % 2 else carol, f"old {i}", 100 + i) for i in range(30)]
    seen, after, pages = [], None, 0
    while True:
        page = feed(gql, alice, first=4, after=after)
        seen += [e["node"]["body"] for e in page["edges"]]
        # Meanwhile: new posts at the top, and a share of a post already paged past moves it to the top.
        post(bob, f"new {pages}", 0)
        if pages == 2:
            share(carol, old[0], 0)
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    old_seen = [body for body in seen if body.startswith("old")]
    assert old_seen == [f"old {i}" for i in range(30)], "no gaps, no repeats, in order"
    assert not any(body.startswith("new") for body in seen[4:])


def test_bad_cursors_and_sizes(gql, alice):
    for after in ("nonsense", "W10", "WyJ4IiwxLDJd"):  # garbage, [], ["x",1,2]
        r = gql(FEED, {"first": 5, "after": after}, user=alice)
        assert r.error_codes() == ["BAD_USER_INPUT"], after
    assert gql(FEED, {"first": 101}, user=alice).error_codes() == ["BAD_USER_INPUT"]
    assert gql(FEED, {"first": -1}, user=alice).error_codes() == ["BAD_USER_INPUT"]
    assert feed(gql, alice, first=0) == {"edges": [], "pageInfo": {"hasNextPage": False, "hasPreviousPage": False,
                                                                   "endCursor": None}}


# --- backward: last/before ------------------------------------------------------------------------
FEED_BOTH = """query($first: Int, $after: String, $last: Int, $before: String) {
  feed(first: $first, after: $after, last: $last, before: $before) {
  edges { cursor share { id } node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""


def feed_page(gql, user, **args):
    r = gql(FEED_BOTH, args, user=user)
    assert not r.errors, r.errors
    return r.data["feed"]


@pytest.fixture
def busy_feed(alice):
    """Followed people's posts and shares with ties: several entries at each instant, a share at the
    same instant as a post, the viewer's own posts; some posts shared more than once."""
    rng = random.Random(11)
    now = timezone.now().replace(microsecond=0)
    people = [make_user(f"friend{i}") for i in range(5)]
    outsider = make_user("outsider")
    follow(alice, *people[:4])
    posts = [Post.objects.create(author=rng.choice(people + [alice, outsider]), body=f"p{i}",
                                 created_at=now - datetime.timedelta(minutes=rng.randint(0, 30)))
             for i in range(70)]
    for i in range(30):
        sharer, target = rng.choice(people), rng.choice(posts)
        if not Share.objects.filter(user=sharer, post=target).exists():
            age = int((now - target.created_at).total_seconds() // 60)
            Share.objects.create(user=sharer, post=target, created_at=now - datetime.timedelta(
                minutes=rng.randint(0, max(age - 1, 0))))
    return alice


def entries(page):
    return [(e["node"]["id"], (e["share"] or {}).get("id")) for e in page["edges"]]


def test_paging_backward_walks_the_whole_feed_once(gql, strategy, busy_feed):
    whole = feed_page(gql, busy_feed, first=100)
    assert not whole["pageInfo"]["hasNextPage"]
    expected = entries(whole)
    assert len(expected) > 40 and len({e[0] for e in expected}) == len(expected)
    pages, before = [], None
    while True:
        page = feed_page(gql, busy_feed, last=6, before=before)
        assert page["pageInfo"]["hasNextPage"] == (before is not None)
        pages.append(page)
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        assert len(page["edges"]) == 6
        before = page["pageInfo"]["startCursor"]
    assert [e for page in reversed(pages) for e in entries(page)] == expected
    assert [c["cursor"] for page in reversed(pages) for c in page["edges"]] == [e["cursor"] for e in whole["edges"]]
    assert entries(feed_page(gql, busy_feed, last=100)) == expected


def test_paging_the_feed_both_ways_mixed(gql, strategy, busy_feed):
    whole = feed_page(gql, busy_feed, first=100)
    expected, cursors = entries(whole), [e["cursor"] for e in whole["edges"]]
    n = len(expected)
    rng = random.Random(strategy)
    start = stop = 0
    for _ in range(25):
        size = rng.randint(1, 8)
        move = rng.choice(["forward", "backward", "window"])
        if move == "forward":
            after = cursors[stop - 1] if stop else None
            page = feed_page(gql, busy_feed, first=size, after=after)
            want, flags = (stop, min(n, stop + size)), {"hasNextPage": stop + size < n, "hasPreviousPage": bool(after)}
        elif move == "backward":
            before = cursors[start] if start < n else None
            end = start if before else n
            page = feed_page(gql, busy_feed, last=size, before=before)
            want, flags = (max(0, end - size), end), {"hasPreviousPage": end > size, "hasNextPage": bool(before)}
        else:
            lo, hi = sorted(rng.sample(range(n), 2))
            page = feed_page(gql, busy_feed, last=size, after=cursors[lo], before=cursors[hi])
            want, flags = (max(lo + 1, hi - size), hi), {"hasPreviousPage": hi - size > lo + 1, "hasNextPage": True}
        assert entries(page) == expected[want[0]:want[1]], (move, size, want)
        assert {k: page["pageInfo"][k] for k in flags} == flags, (move, size, want)
        start, stop = want


def test_bad_backward_cursors_and_sizes(gql, alice):
    for before in ("nonsense", "W10", "WyJ4IiwxLDJd", "W3sidCI6IjIwMjYtMDEtMDFUMDA6MDA6MDAifSwwLDFd"):
        r = gql(FEED_BOTH, {"last": 5, "before": before}, user=alice)  # garbage, [], ["x",1,2], a naive time
        assert r.error_codes() == ["BAD_USER_INPUT"], before
        assert r.errors[0]["extensions"]["argument"] == "before"
    for args in ({"last": 101}, {"last": -1}, {"first": 2, "last": 2}):
        r = gql(FEED_BOTH, args, user=alice)
        assert r.error_codes() == ["BAD_USER_INPUT"] and r.errors[0]["extensions"]["argument"] == "last", args
    assert feed_page(gql, alice, last=0)["pageInfo"] == {"hasNextPage": False, "hasPreviousPage": False,
                                                          "startCursor": None, "endCursor": None}
