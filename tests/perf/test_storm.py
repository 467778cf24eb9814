"""A real concurrency storm against PostgreSQL: many connections liking, commenting, sharing and
following at once, half of them through the GraphQL endpoint. Afterwards every denormalized counter
must equal COUNT(*) of its rows, and no request may have failed (no IntegrityError, no deadlock, no 500).

Sized for 2 cores: THREADS threads x OPS operations each (a few tens of seconds at most).
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections import Counter

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models import F
from django.test import Client
from graphql_jwt.shortcuts import get_token
from graphql_relay import from_global_id

from feed import services as post_services
from feed.models import Post
from interactions import services
from interactions.models import Comment, Like
from notifications.models import Notification
from users import services as user_services
from users.models import User

from tests.support.interactions import counter_mismatches, gid, make_post

THREADS = int(os.environ.get("STORM_THREADS", "16"))
OPS = int(os.environ.get("STORM_OPS", "200"))
GRAPHQL_SHARE = os.environ.get("STORM_GRAPHQL", "1") == "1"
USERS = 12  # fewer users than threads: the same (user, post) pair is hit from several connections at once

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

M = {
    "like": "mutation($id: ID!) { likePost(input: {postId: $id}) { post { id likeCount } like { id } "
            "errors { code message } } }",
    "unlike": "mutation($id: ID!) { unlikePost(input: {postId: $id}) { post { likeCount } errors { code message } } }",
    "comment": "mutation($id: ID!, $body: String!, $parent: ID) { createComment(input: {postId: $id, body: $body, "
               "parentId: $parent}) { comment { id } post { commentCount } errors { code message } } }",
    "delete_comment": "mutation($id: ID!) { deleteComment(input: {commentId: $id}) { deletedCommentId "
                      "errors { code message } } }",
    "share": "mutation($id: ID!) { sharePost(input: {postId: $id, comment: \"look\"}) { share { id } "
             "post { shareCount } errors { code message } } }",
    "unshare": "mutation($id: ID!) { unsharePost(input: {postId: $id}) { post { shareCount } errors { code message } } }",
    "bookmark": "mutation($id: ID!) { bookmarkPost(input: {postId: $id}) { errors { code message } } }",
    "unbookmark": "mutation($id: ID!) { unbookmarkPost(input: {postId: $id}) { errors { code message } } }",
    "post": "mutation($body: String!) { createPost(input: {body: $body}) { post { id } errors { code message } } }",
    "delete_post": "mutation($id: ID!) { deletePost(input: {postId: $id}) { deletedPostId errors { code message } } }",
    "follow": "mutation($id: ID!) { followUser(input: {userId: $id}) { errors { code message } } }",
    "unfollow": "mutation($id: ID!) { unfollowUser(input: {userId: $id}) { errors { code message } } }",
}

WEIGHTS = {"like": 26, "unlike": 18, "comment": 10, "reply": 12, "delete_comment": 5, "share": 8, "unshare": 6,
           "bookmark": 4, "unbookmark": 3, "follow": 5, "unfollow": 3, "post": 3, "delete_post": 1}


class Storm:
    def __init__(self, users, posts):
        self.users = users
        self.tokens = {user.pk: get_token(user) for user in users}
        self.posts = list(posts)
        self.hot = posts[0]
        self.new_posts: list[tuple[int, int]] = []  # (post id, author id) made during the storm
        self.comments: list[tuple[int, int]] = []  # (comment id, author id) made during the storm
        self.lock = threading.Lock()
        self.requests = Counter()
        self.expected = Counter()  # refusals the storm provokes on purpose (replying to a deleted comment)
        self.errors: list[str] = []

    # -- one operation -------------------------------------------------------------------------
    def pick_post(self, rng):
        with self.lock:
            return self.hot if rng.random() < 0.8 else rng.choice(self.posts)

    def pick_new_post(self, rng):
        with self.lock:
            return rng.choice(self.new_posts) if self.new_posts else None

    def remember_post(self, post_id, author_id):
        with self.lock:
            self.new_posts.append((post_id, author_id))
            self.posts.append(Post(pk=post_id, author_id=author_id))

    def refused(self, label):
        with self.lock:
            self.expected[label] += 1

    def author(self, user_id):
        return next(u for u in self.users if u.pk == user_id)

    def pick_comment(self, rng):
        with self.lock:
            return rng.choice(self.comments) if self.comments else None

    def remember(self, comment_id, author_id):
        with self.lock:
            self.comments.append((comment_id, author_id))

    def run_service(self, op, rng, user):
        post = self.pick_post(rng)
        if op == "like":
            services.like_create(user=user, post_id=post.pk)
        elif op == "unlike":
            services.like_delete(user=user, post_id=post.pk)
        elif op in ("comment", "reply"):
            parent = self.pick_comment(rng) if op == "reply" else None
            post_id = Comment.objects.filter(pk=parent[0]).values_list("post_id", flat=True).first() \
                if parent else post.pk
            if parent and post_id is None:
                self.refused("reply: parent already deleted")
                return
            comment = services.comment_create(author=user, post_id=post_id, body=f"hi @{rng.choice(self.users).username}",
                                              parent_id=parent[0] if parent else None)
            self.remember(comment.pk, user.pk)
        elif op == "delete_comment":
            target = self.pick_comment(rng)
            if target:
                services.comment_delete(user=self.author(target[1]), comment_id=target[0])
        elif op == "share":
            services.share_create(user=user, post_id=post.pk, comment="look")
        elif op == "unshare":
            services.share_delete(user=user, post_id=post.pk)
        elif op == "bookmark":
            services.bookmark_create(user=user, post_id=post.pk)
        elif op == "unbookmark":
            services.bookmark_delete(user=user, post_id=post.pk)
        elif op == "post":
            post = post_services.post_create(author=user, body=f"storm post by @{user.username} #storm")
            self.remember_post(post.pk, user.pk)
        elif op == "delete_post":
            target = self.pick_new_post(rng)
            if target:
                post_services.post_delete(viewer=self.author(target[1]), post_id=target[0])
        elif op in ("follow", "unfollow"):
            other = rng.choice([u for u in self.users if u.pk != user.pk])
            call = user_services.follow_create if op == "follow" else user_services.follow_delete
            call(follower=user, followee=other)

    def run_graphql(self, client, op, rng, user):
        post = self.pick_post(rng)
        variables = {"id": gid("Post", post.pk)}
        acting = user
        if op in ("comment", "reply"):
            parent = self.pick_comment(rng) if op == "reply" else None
            variables["body"] = f"hello @{rng.choice(self.users).username}"
            if parent:
                post_id = Comment.objects.filter(pk=parent[0]).values_list("post_id", flat=True).first()
                if post_id is None:
                    self.refused("reply: parent already deleted")
                    return
                variables.update(id=gid("Post", post_id), parent=gid("Comment", parent[0]))
            op = "comment"
        elif op == "delete_comment":
            target = self.pick_comment(rng)
            if not target:
                return
            variables = {"id": gid("Comment", target[0])}
            acting = self.author(target[1])
        elif op == "post":
            variables = {"body": f"storm post by @{user.username} #storm"}
        elif op == "delete_post":
            target = self.pick_new_post(rng)
            if not target:
                return
            variables = {"id": gid("Post", target[0])}
            acting = self.author(target[1])
        elif op in ("follow", "unfollow"):
            other = rng.choice([u for u in self.users if u.pk != user.pk])
            variables = {"id": gid("User", other.pk)}
        response = client.post("/graphql", json.dumps({"query": M[op], "variables": variables}),
                               content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {self.tokens[acting.pk]}")
        body = json.loads(response.content)
        if response.status_code != 200 or body.get("errors"):
            raise AssertionError(f"HTTP {response.status_code}: {body}")
        (payload,) = body["data"].values()
        codes = [error["code"] for error in payload["errors"]]
        if codes == ["NOT_FOUND"]:  # the comment (or the one replied to) was deleted by another thread
            self.refused(f"{op}: NOT_FOUND")
        elif codes:
            raise AssertionError(f"{op}: {payload['errors']}")
        elif op == "comment":
            self.remember(int(from_global_id(payload["comment"]["id"])[1]), acting.pk)
        elif op == "post":
            self.remember_post(int(from_global_id(payload["post"]["id"])[1]), acting.pk)

    # -- a thread ------------------------------------------------------------------------------
    def worker(self, index: int, via_graphql: bool, start: threading.Barrier):
        rng = random.Random(index)
        client = Client() if via_graphql else None
        ops, weights = list(WEIGHTS), list(WEIGHTS.values())
        start.wait()
        try:
            for _ in range(OPS):
                op = rng.choices(ops, weights)[0]
                user = rng.choice(self.users)
                with self.lock:
                    self.requests["graphql" if via_graphql else "service"] += 1
                try:
                    if via_graphql:
                        self.run_graphql(client, op, rng, user)
                    else:
                        self.run_service(op, rng, user)
                except ValidationError as error:
                    codes = [e.code for errors in error.error_dict.values() for e in errors] \
                        if hasattr(error, "error_dict") else [error.code]
                    if set(codes) == {"not_found"}:
                        self.refused(f"{op}: not_found")
                    else:
                        with self.lock:
                            self.errors.append(f"{op}: {error!r}")
                except (PermissionDenied, Exception) as error:  # noqa: BLE001 - every failure is counted
                    with self.lock:
                        self.errors.append(f"{op} via {'graphql' if via_graphql else 'service'}: "
                                           f"{type(error).__name__}: {error}")
        finally:
            connection.close()


def test_storm_keeps_every_counter_exact():
    users = User.objects.bulk_create(
        [User(username=f"storm{i:02d}", email=f"storm{i:02d}@example.com", display_name=f"Storm {i}")
         for i in range(USERS)]
    )
    posts = [make_post(users[0], "the hot post"), make_post(users[1], "a quiet post"), make_post(users[2], "another")]
    storm = Storm(users, posts)

    barrier = threading.Barrier(THREADS)
    threads = [threading.Thread(target=storm.worker, args=(i, GRAPHQL_SHARE and i % 2 == 0, barrier)) for i in range(THREADS)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    duration = time.perf_counter() - began

    mismatches = counter_mismatches()
    # like/comment/share counts per post, reply_count per comment, follower/following/post counts per user.
    counters_checked = 3 * Post.objects.count() + Comment.objects.count() + 3 * len(users)
    hot = Post.objects.get(pk=posts[0].pk)
    total = sum(storm.requests.values())
    print(
        f"\nSTORM: {THREADS} threads x {OPS} ops = {total} requests "
        f"({storm.requests['graphql']} over GraphQL/HTTP, {storm.requests['service']} direct) in {duration:.1f} s "
        f"({total / duration:.0f}/s); errors {len(storm.errors)}; expected refusals {sum(storm.expected.values())} "
        f"{dict(storm.expected)}; counters checked {counters_checked}, mismatched {len(mismatches)}; "
        f"hot post: {hot.like_count} likes, {hot.comment_count} comments, {hot.share_count} shares; "
        f"posts made {len(storm.new_posts)}, left {Post.objects.count()}; comments left {Comment.objects.count()}"
    )
    assert storm.errors == [], storm.errors[:10]
    assert mismatches == [], mismatches[:20]
    # Each current liker of a post (not its author) has exactly one LIKE notification for it.
    for post in Post.objects.all():
        likers = set(Like.objects.filter(post=post).exclude(user=post.author_id).values_list("user_id", flat=True))
        notified = Counter(Notification.objects.filter(kind="LIKE", post=post).values_list("actor_id", flat=True))
        assert likers <= set(notified) and all(n == 1 for n in notified.values())
    assert not Notification.objects.filter(recipient_id=F("actor_id")).exists()
