"""Deleting a post or an account: the mutation answers at once and hides it from every read and write; a
real worker (the broker the settings name, never eager mode) purges what hangs on it in batches, every
counter equal to COUNT(*) throughout; the task is idempotent, resumable, and the sweep catches up."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone
from graphql_jwt.shortcuts import get_token
from graphql_relay import to_global_id

from feed import services as feed_services
from feed.models import Post, PostHashtag
from feed.tasks import purge_post, sweep_deleted_posts
from interactions import services as interactions
from interactions.models import Bookmark, Comment, Like, Share
from notifications.models import Notification
from tests.conftest import PASSWORD, make_user
from tests.support.celery import dead_letters, wait_until
from tests.support.interactions import counter_mismatches
from users import services as user_services
from users.models import Follow, User
from users.tasks import purge_user

pytestmark = pytest.mark.slow

DELETE_POST = "mutation($id: ID!) { deletePost(input: {postId: $id}) { deletedPostId errors { field code } } }"
DELETE_ACCOUNT = ("mutation($p: String!) { deleteAccount(input: {password: $p}) { deletedUserId "
                  "errors { field code } } }")
WRITES = {
    "likePost": "mutation($id: ID!) { likePost(input: {postId: $id}) { errors { field code } } }",
    "unlikePost": "mutation($id: ID!) { unlikePost(input: {postId: $id}) { errors { field code } } }",
    "sharePost": "mutation($id: ID!) { sharePost(input: {postId: $id}) { errors { field code } } }",
    "bookmarkPost": "mutation($id: ID!) { bookmarkPost(input: {postId: $id}) { errors { field code } } }",
    "createComment": "mutation($id: ID!) { createComment(input: {postId: $id, body: \"hi\"}) { errors { field code } } }",
    "updatePost": "mutation($id: ID!) { updatePost(input: {postId: $id, body: \"x\"}) { errors { field code } } }",
}
READS = """query($id: ID!, $username: String!) {
  post(id: $id) { id } node(id: $id) { id }
  posts(first: 50) { edges { node { id } } }
  tagged: posts(first: 50, filter: {hashtag: "gone"}) { edges { node { id } } }
  byLikes: posts(first: 50, orderBy: {field: LIKE_COUNT, direction: DESC}) { edges { node { id } } }
  found: posts(first: 50, filter: {search: "purgeable"}) { edges { node { id } } }
  user(username: $username) { postCount posts(first: 50) { edges { node { id } } } }
  feed(first: 50) { edges { node { id } } }
  bookmarks(first: 50) { edges { node { id } } }
}"""


def gid(type_name: str, pk: int) -> str:
    return to_global_id(type_name, pk)


def visible_ids(data) -> set[str]:
    """Every post id a READS answer shows anywhere."""
    ids = set()
    for key in ("posts", "tagged", "byLikes", "found", "bookmarks"):
        ids |= {edge["node"]["id"] for edge in data[key]["edges"]}
    ids |= {edge["node"]["id"] for edge in data["user"]["posts"]["edges"]}
    ids |= {edge["node"]["id"] for edge in data["feed"]["edges"]}
    return ids | {data[k]["id"] for k in ("post", "node") if data[k]}


def make_users(prefix: str, n: int) -> list[int]:
    """``n`` users written in one statement (no password: they never log in)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO users_user (password, is_superuser, username, email, is_staff, is_active, date_joined, "
            "display_name, bio, avatar_url, follower_count, following_count, post_count) "
            "SELECT '!', false, %s || i, %s || i || '@example.com', false, true, now(), '', '', '', 0, 0, 0 "
            "FROM generate_series(1, %s) i RETURNING id", [prefix, prefix, n])
        return [row[0] for row in cursor.fetchall()]


def likes_from(user_ids: list[int], post_id: int) -> None:
    """Likes of the post by these users, the post's counter kept exact (the test's data, in one statement)."""
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO interactions_like (user_id, post_id, created_at) "
                       "SELECT u, %s, now() FROM unnest(%s::bigint[]) u", [post_id, user_ids])
        cursor.execute("UPDATE feed_post SET like_count = like_count + %s WHERE id = %s", [len(user_ids), post_id])


def comment_threads(post_id: int, author_ids: list[int], n: int, top: int) -> None:
    """``n`` comments on the post: ``top`` top-level ones, the rest replies to earlier comments (threads
    several levels deep), counters kept exact."""
    parents: list[int | None] = []
    for i in range(n):
        parent = None if i < top else parents[(i * 7919) % len(parents)]
        comment = Comment.objects.create(post_id=post_id, author_id=author_ids[i % len(author_ids)], body=f"c{i}",
                                         parent_id=parent)
        parents.append(comment.pk)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE interactions_comment c SET reply_count = (SELECT count(*) FROM interactions_comment r "
                       "WHERE r.parent_id = c.id) WHERE c.post_id = %s", [post_id])
        cursor.execute("UPDATE feed_post SET comment_count = comment_count + %s WHERE id = %s", [n, post_id])


def rows_of_post(post_id: int) -> dict[str, int]:
    return {"likes": Like.objects.filter(post_id=post_id).count(),
            "comments": Comment.objects.filter(post_id=post_id).count(),
            "shares": Share.objects.filter(post_id=post_id).count(),
            "bookmarks": Bookmark.objects.filter(post_id=post_id).count(),
            "notifications": Notification.objects.filter(post_id=post_id).count(),
            "post": Post.all_objects.filter(pk=post_id).count()}


def test_delete_post_answers_at_once_hides_everywhere_and_the_worker_purges_it(celery_worker, gql, alice, bob,
                                                                                 carol):
    user_services.follow_create(follower=bob, followee=alice)
    post = feed_services.post_create(author=alice, body="purgeable #gone @bob")
    keep = feed_services.post_create(author=alice, body="purgeable too, stays")
    for user in (bob, carol):
        interactions.like_create(user=user, post_id=post.pk)
        interactions.bookmark_create(user=user, post_id=post.pk)
    interactions.share_create(user=carol, post_id=post.pk)
    top = interactions.comment_create(author=bob, post_id=post.pk, body="top")
    interactions.comment_create(author=carol, post_id=post.pk, body="reply", parent_id=top.pk)
    post_gid, keep_gid = gid("Post", post.pk), gid("Post", keep.pk)
    before = gql(READS, {"id": post_gid, "username": "alice"}, user=bob).data
    assert post_gid in visible_ids(before) and keep_gid in visible_ids(before)

    started = time.monotonic()
    r = gql(DELETE_POST, {"id": post_gid}, user=alice)
    elapsed = time.monotonic() - started
    assert r.data["deletePost"] == {"deletedPostId": post_gid, "errors": []}
    assert elapsed < 2.0

    # At once: in no list, no lookup; the author's count drops; no write lands on it.
    after = gql(READS, {"id": post_gid, "username": "alice"}, user=bob).data
    assert post_gid not in visible_ids(after) and keep_gid in visible_ids(after)
    assert after["post"] is None and after["node"] is None and after["user"]["postCount"] == 1
    for name, mutation in WRITES.items():
        viewer = alice if name == "updatePost" else bob
        errors = gql(mutation, {"id": post_gid}, user=viewer).data[name]["errors"]
        assert errors == [{"field": "postId", "code": "NOT_FOUND"}], name
    comment_node = gql("query($id: ID!) { node(id: $id) { id } }", {"id": gid("Comment", top.pk)}, user=bob)
    assert comment_node.data == {"node": None}
    assert gql(DELETE_POST, {"id": post_gid}, user=alice).data["deletePost"]["errors"] == [
        {"field": "postId", "code": "NOT_FOUND"}]

    # The worker purges it; the counters of the rows that stay were exact all along.
    wait_until(lambda: not Post.all_objects.filter(pk=post.pk).exists(), timeout=30)
    assert rows_of_post(post.pk) == dict.fromkeys(("likes", "comments", "shares", "bookmarks", "notifications",
                                                   "post"), 0)
    assert not PostHashtag.objects.filter(post_id=post.pk).exists()
    assert counter_mismatches() == []
    assert Post.objects.filter(pk=keep.pk).exists()


def test_a_large_post_is_purged_in_many_batches_with_exact_counters_throughout(celery_worker, alice, settings):
    settings.PURGE_BATCH = 500
    settings.PURGE_TASK_SECONDS = 0.3  # the task queues its continuation: several runs, several messages
    post = feed_services.post_create(author=alice, body="a big one")
    users = make_users("fan", 5000)
    likes_from(users, post.pk)
    comment_threads(post.pk, users[:300], 2000, top=300)
    assert counter_mismatches() == []

    feed_services.post_delete(viewer=alice, post_id=post.pk)
    seen = set()

    def observe():
        # One statement, one snapshot: the stored counters and the rows they count.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT like_count, (SELECT count(*) FROM interactions_like WHERE post_id = p.id), comment_count, "
                "(SELECT count(*) FROM interactions_comment WHERE post_id = p.id) FROM feed_post p WHERE id = %s",
                [post.pk])
            row = cursor.fetchone()
        if row is None:
            return True
        assert row[0] == row[1] and row[2] == row[3], row
        seen.add((row[0], row[2]))
        return False

    wait_until(observe, timeout=120, interval=0.02)
    assert len(seen) >= 4, seen  # the counts went down in steps: one batch per transaction
    assert Like.objects.count() == 0 and Comment.objects.count() == 0
    assert counter_mismatches() == []
    assert dead_letters("feed.purge_post", timeout=0.5) == []


def test_delete_account_asks_the_password_answers_at_once_and_the_worker_purges_everything(celery_worker, gql,
                                                                                            alice, bob, carol):
    for a, b in ((alice, bob), (bob, alice), (carol, alice)):
        user_services.follow_create(follower=a, followee=b)
    alices = feed_services.post_create(author=alice, body="mine #gone")
    bobs = feed_services.post_create(author=bob, body="bob's")
    interactions.like_create(user=alice, post_id=bobs.pk)
    interactions.share_create(user=alice, post_id=bobs.pk)
    interactions.like_create(user=bob, post_id=alices.pk)
    top = interactions.comment_create(author=alice, post_id=bobs.pk, body="first")
    interactions.comment_create(author=carol, post_id=bobs.pk, body="re", parent_id=top.pk)
    carols = interactions.comment_create(author=carol, post_id=bobs.pk, body="mine")
    interactions.comment_create(author=alice, post_id=bobs.pk, body="re mine", parent_id=carols.pk)
    token = get_token(alice)

    wrong = gql(DELETE_ACCOUNT, {"p": "not it"}, token=token).data["deleteAccount"]
    assert wrong == {"deletedUserId": None, "errors": [{"field": "password", "code": "INVALID"}]}
    assert User.objects.get(pk=alice.pk).is_active

    r = gql(DELETE_ACCOUNT, {"p": PASSWORD}, token=token)
    assert r.data["deleteAccount"] == {"deletedUserId": gid("User", alice.pk), "errors": []}
    # At once: the token is refused, the profile and the posts are gone, the follow counts changed.
    refused = gql("{ viewer { username } }", token=token)
    assert refused.status == 401 and refused.error_codes() == ["UNAUTHENTICATED"]
    reads = gql("query($u: String!, $id: ID!) { user(username: $u) { id } node(id: $id) { id } "
                "posts(first: 10) { edges { node { id } } } }",
                {"u": "alice", "id": gid("User", alice.pk)}, user=bob).data
    assert reads["user"] is None and reads["node"] is None
    assert [e["node"]["id"] for e in reads["posts"]["edges"]] == [gid("Post", bobs.pk)]
    bob.refresh_from_db()
    carol.refresh_from_db()
    assert (bob.follower_count, bob.following_count, carol.following_count) == (0, 0, 0)
    assert counter_mismatches() == []

    wait_until(lambda: not User.objects.filter(pk=alice.pk).exists(), timeout=30)
    assert not Post.all_objects.filter(author_id=alice.pk).exists()
    assert not Like.objects.filter(user_id=alice.pk).exists() and not Share.objects.filter(user_id=alice.pk).exists()
    # Her comment went with the reply beneath it; carol's comment stays without alice's reply.
    assert list(Comment.objects.filter(post=bobs).values_list("body", "reply_count")) == [("mine", 0)]
    assert not Follow.objects.filter(follower_id=alice.pk).exists()
    assert not Notification.objects.filter(actor_id=alice.pk).exists()
    bobs.refresh_from_db()
    assert (bobs.like_count, bobs.share_count, bobs.comment_count) == (0, 0, 1)
    assert counter_mismatches() == []
    assert User.objects.filter(username__iexact="alice").count() == 0  # the name is free again


def test_the_purge_task_run_twice_or_for_a_visible_post_changes_nothing(celery_worker, alice, bob):
    post = feed_services.post_create(author=alice, body="to go")
    interactions.like_create(user=bob, post_id=post.pk)
    visible = feed_services.post_create(author=alice, body="stays")
    interactions.like_create(user=bob, post_id=visible.pk)
    feed_services.post_delete(viewer=alice, post_id=post.pk)
    wait_until(lambda: not Post.all_objects.filter(pk=post.pk).exists())
    # Again (a replayed message), and for a post never deleted (a wrong message): nothing happens.
    for _ in range(2):
        purge_post.delay(post.pk)
    purge_post.delay(visible.pk)
    purge_user.delay(bob.pk)  # an account that was not deleted is never purged
    marker = feed_services.post_create(author=alice, body="marker")
    feed_services.post_delete(viewer=alice, post_id=marker.pk)  # queued after them: done once they are
    wait_until(lambda: not Post.all_objects.filter(pk=marker.pk).exists())
    assert Post.objects.filter(pk=visible.pk).exists() and Like.objects.filter(post=visible).count() == 1
    assert User.objects.get(pk=bob.pk).is_active
    assert counter_mismatches() == []
    assert dead_letters("feed.purge_post", timeout=0.5) == []


def test_a_purge_interrupted_midway_resumes_and_the_sweep_requeues_a_lost_one(celery_worker, alice, settings):
    settings.PURGE_SWEEP_SECONDS = 60
    post = feed_services.post_create(author=alice, body="half gone")
    users = make_users("liker", 1200)
    likes_from(users, post.pk)
    # As if the deletion's message were lost and a worker had died after two committed batches.
    Post.objects.filter(pk=post.pk).update(deleted_at=timezone.now() - timedelta(minutes=5))
    User.objects.filter(pk=alice.pk).update(post_count=0)
    from feed import purge

    assert purge.purge_post_step(post.pk, 500) == 500 and purge.purge_post_step(post.pk, 500) == 500
    assert Like.objects.filter(post_id=post.pk).count() == 200 and counter_mismatches() == []
    sweep_deleted_posts.delay()
    wait_until(lambda: not Post.all_objects.filter(pk=post.pk).exists())
    assert Like.objects.count() == 0 and counter_mismatches() == []


def test_likes_and_unlikes_during_a_users_purge_keep_every_counter_exact(celery_worker, alice, settings):
    """Others like and unlike the same posts while the worker takes a deleted user's likes off them."""
    settings.PURGE_BATCH = 100
    posts = [feed_services.post_create(author=alice, body=f"hot {i}") for i in range(5)]
    doomed = make_users("doomed", 1)[0]
    fans = [User.objects.get(pk=pk) for pk in make_users("busy", 8)]
    others = make_users("crowd", 300)  # the doomed user's 5 likes, plus 300 others' on each post
    for post in posts:
        likes_from([doomed] + others, post.pk)
    assert counter_mismatches() == []
    stop = threading.Event()
    errors = []

    def churn(fan):
        try:
            i = 0
            while not stop.is_set():
                post = posts[i % len(posts)]
                interactions.like_create(user=fan, post_id=post.pk)
                interactions.like_delete(user=fan, post_id=post.pk)
                i += 1
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=churn, args=(fan,)) for fan in fans[:4]]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.2)
        user_services.user_delete(User.objects.get(pk=doomed))
        for other in others[:40]:  # more deleted accounts on the same hot posts, purged alongside
            user_services.user_delete(User(pk=other))
        wait_until(lambda: not User.objects.filter(pk__in=[doomed, *others[:40]]).exists(), timeout=120)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert errors == []
    assert counter_mismatches() == []
    for post in posts:
        post.refresh_from_db()
        assert post.like_count == 260 == Like.objects.filter(post=post).count()
