"""Posts: create, edit, delete (validation, permissions, hashtags, mentions, counters) and reads."""

from __future__ import annotations

import pytest
from graphql_relay import to_global_id

from feed import purge
from feed.models import Post, PostHashtag
from feed.signals import post_mentions_changed
from interactions.models import Comment, Like, Share
from notifications.models import Notification
from users.models import User


CREATE = """mutation($body: String!) { createPost(input: {body: $body}) {
  post { id body hashtags mentions { username } author { username postCount } editedAt viewerCanUpdate }
  errors { field code message } } }"""
UPDATE = """mutation($id: ID!, $body: String!) { updatePost(input: {postId: $id, body: $body}) {
  post { id body hashtags mentions { username } editedAt } errors { field code } } }"""
DELETE = """mutation($id: ID!) { deletePost(input: {postId: $id}) { deletedPostId errors { field code } } }"""


def gid(post) -> str:
    return to_global_id("Post", post.pk)


def create(gql, user, body):
    r = gql(CREATE, {"body": body}, user=user)
    assert r.status == 200, r.body
    return r.data["createPost"]


def test_create_parses_hashtags_and_mentions(gql, alice, bob, carol):
    payload = create(gql, alice, "  Hello #Django and #django #Python3 @Bob @nobody_here @carol x@bob.com  ")
    assert payload["errors"] == []
    post = payload["post"]
    assert post["body"] == "Hello #Django and #django #Python3 @Bob @nobody_here @carol x@bob.com"
    assert post["hashtags"] == ["django", "python3"]
    assert sorted(m["username"] for m in post["mentions"]) == ["bob", "carol"]
    assert post["author"] == {"username": "alice", "postCount": 1}
    assert post["editedAt"] is None and post["viewerCanUpdate"] is True
    row = Post.objects.get()
    assert sorted(PostHashtag.objects.filter(post=row).values_list("tag", flat=True)) == ["django", "python3"]
    assert User.objects.get(pk=alice.pk).post_count == 1


@pytest.mark.parametrize("body, code", [("", "REQUIRED"), ("   \n\t ", "REQUIRED"), ("x" * 2001, "TOO_LONG")])
def test_create_validation(gql, alice, body, code):
    payload = create(gql, alice, body)
    assert payload["post"] is None
    assert payload["errors"] == [{"field": "body", "code": code, "message": payload["errors"][0]["message"]}]
    assert not Post.objects.exists()
    assert User.objects.get(pk=alice.pk).post_count == 0


def test_limit_counts_after_trimming(gql, alice):
    assert create(gql, alice, "  " + "x" * 2000 + "  ")["errors"] == []


def test_anonymous_cannot_post(gql):
    r = gql(CREATE, {"body": "hi"})
    assert r.error_codes() == ["UNAUTHENTICATED"]


def test_update_reparses_and_sets_edited_at(gql, alice, bob, carol):
    received = []

    def receiver(sender, post, added_user_ids, **kwargs):
        received.append(added_user_ids)

    post_mentions_changed.connect(receiver)
    try:
        post = create(gql, alice, "#one #two @bob")["post"]
        r = gql(UPDATE, {"id": post["id"], "body": "#two #three @bob @carol"}, user=alice)
    finally:
        post_mentions_changed.disconnect(receiver)
    data = r.data["updatePost"]
    assert data["errors"] == []
    assert data["post"]["hashtags"] == ["two", "three"]
    assert sorted(m["username"] for m in data["post"]["mentions"]) == ["bob", "carol"]
    assert data["post"]["editedAt"] is not None
    assert sorted(PostHashtag.objects.values_list("tag", flat=True)) == ["three", "two"]
    # Only newly mentioned users are announced (bob was mentioned before).
    assert received == [[bob.pk], [carol.pk]]


def test_update_errors(gql, alice, bob):
    post = create(gql, alice, "mine")["post"]
    r = gql(UPDATE, {"id": post["id"], "body": "yours now"}, user=bob)
    assert r.data["updatePost"] == {"post": None, "errors": [{"field": None, "code": "FORBIDDEN"}]}
    r = gql(UPDATE, {"id": post["id"], "body": " "}, user=alice)
    assert r.data["updatePost"]["errors"] == [{"field": "body", "code": "REQUIRED"}]
    missing = to_global_id("Post", 999999)
    r = gql(UPDATE, {"id": missing, "body": "x"}, user=alice)
    assert r.data["updatePost"]["errors"] == [{"field": "postId", "code": "NOT_FOUND"}]
    r = gql(UPDATE, {"id": to_global_id("User", alice.pk), "body": "x"}, user=alice)
    assert r.data["updatePost"]["errors"] == [{"field": "postId", "code": "NOT_FOUND"}]
    assert Post.objects.get().body == "mine"


def test_delete_cascades_and_keeps_counters(gql, alice, bob, carol):
    post_id = create(gql, alice, "to go #bye @bob")["post"]["id"]
    keep_id = create(gql, alice, "stays")["post"]["id"]
    post = Post.objects.get(body__startswith="to go")
    top = Comment.objects.create(post=post, author=bob, body="top", reply_count=1)
    reply = Comment.objects.create(post=post, author=carol, body="reply", parent=top)
    Like.objects.create(post=post, user=bob)
    Share.objects.create(post=post, user=carol)
    Post.objects.filter(pk=post.pk).update(like_count=1, share_count=1, comment_count=2)  # exact, as the services keep them
    Notification.objects.create(recipient=bob, actor=carol, kind="REPLY", post=post, comment=reply)
    Notification.objects.create(recipient=alice, actor=bob, kind="LIKE", post=post)

    r = gql(DELETE, {"id": post_id}, user=bob)
    assert r.data["deletePost"] == {"deletedPostId": None, "errors": [{"field": None, "code": "FORBIDDEN"}]}

    r = gql(DELETE, {"id": post_id}, user=alice)
    assert r.data["deletePost"] == {"deletedPostId": post_id, "errors": []}
    # Hidden at once (its hashtags gone with it); what hangs on it waits for the purge (the task).
    assert list(Post.objects.values_list("body", flat=True)) == ["stays"]
    assert Post.all_objects.get(pk=post.pk).deleted_at is not None
    assert not PostHashtag.objects.exists() and Like.objects.exists() and Comment.objects.count() == 2
    assert User.objects.get(pk=alice.pk).post_count == 1 == Post.objects.filter(author=alice).count()

    # The purge the task runs (tests/services/test_purge.py runs it through a real worker).
    # like, share, 2 comments, 3 notifications (REPLY, LIKE and the MENTION of @bob), the mention, the post
    assert purge.purge_post(post.pk) == (True, 9)
    assert not Post.all_objects.filter(pk=post.pk).exists()
    assert not Comment.objects.exists() and not Like.objects.exists() and not Share.objects.exists()
    assert not Notification.objects.exists() and not Post.mentions.through.objects.exists()

    r = gql(DELETE, {"id": post_id}, user=alice)
    assert r.data["deletePost"]["errors"] == [{"field": "postId", "code": "NOT_FOUND"}]
    r = gql("query($id: ID!) { post(id: $id) { id } node(id: $id) { id } }", {"id": post_id})
    assert r.data == {"post": None, "node": None}
    r = gql("query($id: ID!) { post(id: $id) { body } }", {"id": keep_id})
    assert r.data == {"post": {"body": "stays"}}


# --- reads ------------------------------------------------------------------------------------
POSTS = """query($filter: PostFilter, $order: PostOrder, $first: Int, $after: String) {
  posts(filter: $filter, orderBy: $order, first: $first, after: $after) {
    edges { node { body likeCount } } pageInfo { hasNextPage endCursor } } }"""


def bodies(r):
    assert not r.errors, r.errors
    return [edge["node"]["body"] for edge in r.data["posts"]["edges"]]


@pytest.fixture
def timeline(db, alice, bob):
    import datetime

    from django.utils import timezone

    now = timezone.now()
    rows = [
        (alice, "Running in the park #Morning #fitness", 50, 3),
        (bob, "Database indexes make queries fast #postgres", 40, 9),
        (alice, "Coffee first, then code #morning", 30, 1),
        (bob, "Why is my query slow? #postgres #help", 20, 5),
        (alice, "Ran a half marathon today!", 10, 7),
    ]
    from feed import services

    posts = []
    for author, body, minutes, likes in rows:
        post = services.post_create(author=author, body=body)
        Post.objects.filter(pk=post.pk).update(created_at=now - datetime.timedelta(minutes=minutes), like_count=likes)
        PostHashtag.objects.filter(post=post).update(created_at=now - datetime.timedelta(minutes=minutes))
        posts.append(post)
    return now, posts


def test_posts_default_newest_first_and_orderings(gql, timeline):
    assert bodies(gql(POSTS, {}))[0] == "Ran a half marathon today!"
    r = gql(POSTS, {"order": {"field": "LIKE_COUNT", "direction": "DESC"}})
    assert [e["node"]["likeCount"] for e in r.data["posts"]["edges"]] == [9, 7, 5, 3, 1]
    r = gql(POSTS, {"order": {"field": "LIKE_COUNT", "direction": "ASC"}, "first": 2})
    assert [e["node"]["likeCount"] for e in r.data["posts"]["edges"]] == [1, 3]
    r2 = gql(POSTS, {"order": {"field": "LIKE_COUNT", "direction": "ASC"}, "first": 2,
                     "after": r.data["posts"]["pageInfo"]["endCursor"]})
    assert [e["node"]["likeCount"] for e in r2.data["posts"]["edges"]] == [5, 7]
    r = gql(POSTS, {"order": {"field": "CREATED_AT", "direction": "ASC"}, "first": 1})
    assert bodies(r) == ["Running in the park #Morning #fitness"]


def test_posts_filters(gql, timeline, alice):
    now, posts = timeline
    import datetime

    assert bodies(gql(POSTS, {"filter": {"authorUsername": "ALICE"}})) == [
        "Ran a half marathon today!", "Coffee first, then code #morning", "Running in the park #Morning #fitness"]
    assert bodies(gql(POSTS, {"filter": {"author": to_global_id("User", alice.pk)}, "first": 1})) == [
        "Ran a half marathon today!"]
    assert bodies(gql(POSTS, {"filter": {"authorUsername": "nobody"}})) == []
    assert bodies(gql(POSTS, {"filter": {"hashtag": "#MORNING"}})) == [
        "Coffee first, then code #morning", "Running in the park #Morning #fitness"]
    r = gql(POSTS, {"filter": {"hashtag": "postgres"}, "order": {"field": "LIKE_COUNT", "direction": "ASC"}})
    assert bodies(r) == ["Why is my query slow? #postgres #help", "Database indexes make queries fast #postgres"]
    # Full-text search with English stemming ("queries" finds "query") and web-search syntax.
    assert bodies(gql(POSTS, {"filter": {"search": "running"}})) == ["Running in the park #Morning #fitness"]
    assert bodies(gql(POSTS, {"filter": {"search": "query -slow"}})) == ["Database indexes make queries fast #postgres"]
    assert bodies(gql(POSTS, {"filter": {"search": '"half marathon"'}})) == ["Ran a half marathon today!"]
    assert bodies(gql(POSTS, {"filter": {"search": "queries"}})) == [
        "Why is my query slow? #postgres #help", "Database indexes make queries fast #postgres"]
    after = (now - datetime.timedelta(minutes=35)).isoformat()
    before = (now - datetime.timedelta(minutes=15)).isoformat()
    assert bodies(gql(POSTS, {"filter": {"createdAfter": after, "createdBefore": before}})) == [
        "Why is my query slow? #postgres #help", "Coffee first, then code #morning"]
    assert bodies(gql(POSTS, {"filter": {"hashtag": "postgres", "createdAfter": after, "authorUsername": "bob"}})) == [
        "Why is my query slow? #postgres #help"]
    r = gql(POSTS, {"filter": {"author": "not-an-id"}})
    assert r.error_codes() == ["BAD_USER_INPUT"]
    assert gql(POSTS, {"after": "garbage"}).error_codes() == ["BAD_USER_INPUT"]


def test_user_posts_and_node(gql, timeline, alice, bob):
    query = """{ users(first: 10) { edges { node { username posts(first: 2) {
      edges { node { body author { username } } } pageInfo { hasNextPage endCursor } } } } } }"""
    r = gql(query)
    by_name = {e["node"]["username"]: e["node"]["posts"] for e in r.data["users"]["edges"]}
    assert [e["node"]["body"] for e in by_name["alice"]["edges"]] == [
        "Ran a half marathon today!", "Coffee first, then code #morning"]
    assert by_name["alice"]["pageInfo"]["hasNextPage"] is True
    assert by_name["bob"]["pageInfo"]["hasNextPage"] is False
    r = gql("""query($after: String) { user(username: "alice") { posts(first: 5, after: $after) {
      edges { node { body } } } } }""", {"after": by_name["alice"]["pageInfo"]["endCursor"]})
    assert [e["node"]["body"] for e in r.data["user"]["posts"]["edges"]] == ["Running in the park #Morning #fitness"]
    post = timeline[1][0]
    r = gql("query($id: ID!) { node(id: $id) { ... on Post { body author { username } } } }",
            {"id": to_global_id("Post", post.pk)})
    assert r.data["node"] == {"body": post.body, "author": {"username": "alice"}}


def test_interactions_on_a_post(gql, alice, bob, carol):
    from interactions.models import Bookmark

    from feed import services

    post = services.post_create(author=alice, body="hello @bob")
    tops = [Comment.objects.create(post=post, author=bob, body=f"top {i}") for i in range(4)]
    replies = [Comment.objects.create(post=post, author=carol, body=f"reply {i}", parent=tops[0]) for i in range(3)]
    Like.objects.create(post=post, user=bob)
    Like.objects.create(post=post, user=carol)
    Share.objects.create(post=post, user=carol, comment="nice")
    Bookmark.objects.create(post=post, user=bob)
    query = """query($id: ID!, $after: String) { post(id: $id) {
      mentions { username } viewerHasLiked viewerHasShared viewerHasBookmarked viewerCanUpdate viewerCanDelete
      comments(first: 2, after: $after) { edges { node { body parent { id } post { body } viewerCanUpdate viewerCanDelete
        replies(first: 2) { edges { node { body parent { body } author { username } } } pageInfo { hasNextPage } } } }
        pageInfo { hasNextPage endCursor } }
      likes(first: 1) { edges { node { user { username } post { body } } } pageInfo { hasNextPage } }
      shares { edges { node { user { username } comment } } } } }"""
    r = gql(query, {"id": to_global_id("Post", post.pk)}, user=bob)
    assert not r.errors, r.errors
    data = r.data["post"]
    assert data["mentions"] == [{"username": "bob"}]
    assert (data["viewerHasLiked"], data["viewerHasShared"], data["viewerHasBookmarked"]) == (True, False, True)
    assert (data["viewerCanUpdate"], data["viewerCanDelete"]) == (False, False)
    comments = data["comments"]
    assert [e["node"]["body"] for e in comments["edges"]] == ["top 0", "top 1"]
    first = comments["edges"][0]["node"]
    assert first["parent"] is None and first["post"]["body"] == "hello @bob"
    assert (first["viewerCanUpdate"], first["viewerCanDelete"]) == (True, True)
    assert [e["node"]["body"] for e in first["replies"]["edges"]] == ["reply 0", "reply 1"]
    assert first["replies"]["edges"][0]["node"]["parent"]["body"] == "top 0"
    assert first["replies"]["pageInfo"]["hasNextPage"] is True
    assert comments["pageInfo"]["hasNextPage"] is True
    assert data["likes"]["edges"][0]["node"]["user"]["username"] == "carol"  # most recent first
    assert data["likes"]["pageInfo"]["hasNextPage"] is True
    assert data["shares"]["edges"] == [{"node": {"user": {"username": "carol"}, "comment": "nice"}}]
    r = gql(query, {"id": to_global_id("Post", post.pk), "after": comments["pageInfo"]["endCursor"]}, user=alice)
    data = r.data["post"]
    assert [e["node"]["body"] for e in data["comments"]["edges"]] == ["top 2", "top 3"]
    assert data["comments"]["edges"][0]["node"]["viewerCanDelete"] is True  # the post's author
    assert data["comments"]["edges"][0]["node"]["viewerCanUpdate"] is False
    assert (data["viewerCanUpdate"], data["viewerHasLiked"]) == (True, False)
    anonymous = gql(query, {"id": to_global_id("Post", post.pk)}).data["post"]
    assert (anonymous["viewerHasLiked"], anonymous["viewerCanDelete"]) == (False, False)


# --- who may edit and delete -----------------------------------------------------------------
def test_others_cannot_edit_or_delete_but_the_post_author_may_delete_a_comment(gql, alices_post, bobs_comment,
                                                                              alice, carol):
    post, comment = alices_post, bobs_comment
    pid, cid = to_global_id("Post", post.pk), to_global_id("Comment", comment.pk)
    for query, variables in [
        ("mutation($i: UpdatePostInput!) { updatePost(input: $i) { errors { code } post { id } } }",
         {"i": {"postId": pid, "body": "pwned"}}),
        ("mutation($i: DeletePostInput!) { deletePost(input: $i) { errors { code } deletedPostId } }",
         {"i": {"postId": pid}}),
        ("mutation($i: UpdateCommentInput!) { updateComment(input: $i) { errors { code } comment { id } } }",
         {"i": {"commentId": cid, "body": "pwned"}}),
        ("mutation($i: DeleteCommentInput!) { deleteComment(input: $i) { errors { code } deletedCommentId } }",
         {"i": {"commentId": cid}}),
    ]:
        r = gql(query, variables, user=carol)
        payload = next(iter(r.data.values()))
        assert [e["code"] for e in payload["errors"]] == ["FORBIDDEN"], r.body
    post.refresh_from_db()
    comment.refresh_from_db()
    assert post.body == "hello #tag @bob" and comment.body == "hi @alice"
    r = gql("mutation($i: DeleteCommentInput!) { deleteComment(input: $i) { errors { code } deletedCommentId } }",
            {"i": {"commentId": cid}}, user=alice)
    assert r.data["deleteComment"] == {"errors": [], "deletedCommentId": cid}


def test_the_edit_and_delete_rules_are_the_permission_modules(alices_post, bobs_comment, alice, bob, carol):
    """feed.permissions and interactions.permissions: the rules the services enforce and viewerCan* show."""
    from django.contrib.auth.models import AnonymousUser

    from feed.permissions import post_can_delete, post_can_edit
    from interactions.permissions import comment_can_delete, comment_can_edit

    post, comment = alices_post, bobs_comment
    for rule in (post_can_edit, post_can_delete):
        assert [rule(user, post) for user in (alice, bob, None, AnonymousUser())] == [True, False, False, False]
    assert [comment_can_edit(user, comment) for user in (bob, alice, carol, None)] == [True, False, False, False]
    assert [comment_can_delete(user, comment) for user in (bob, alice, carol, AnonymousUser())] == [
        True, True, False, False]
    assert comment_can_delete(alice, comment, post) and not comment_can_delete(carol, comment, post)


def test_no_query_reads_the_search_vector(gql, alices_post, bob):
    """Post.objects and every select_related() of a post (feed.models.PostLinkedQuerySet) leave the search
    vector (as big as the body) out; searching still filters on it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from interactions.models import Bookmark, Comment
    from notifications.models import Notification

    query = """query { posts(first: 5) { edges { node { body author { username } comments(first: 2) {
        edges { node { body } } } } } } bookmarks(first: 5) { edges { node { body } } }
        notifications(first: 5) { edges { node { kind post { body } comment { body } } } } }"""
    with CaptureQueriesContext(connection) as captured:
        r = gql(query, user=bob)
        assert not r.errors, r.errors
        assert list(Comment.objects.select_related("post__author").filter(post=alices_post))
        assert list(Bookmark.objects.select_related("post").all()) and list(
            Notification.objects.select_related("post", "comment").all())
        assert Post.objects.get(pk=alices_post.pk).body == "hello #tag @bob"
    selects = [q["sql"] for q in captured.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")]
    assert selects and not [sql for sql in selects if "search_vector" in sql], selects
    r = gql('query { posts(first: 5, filter: {search: "hello"}) { edges { node { body } } } }', user=bob)
    assert [e["node"]["body"] for e in r.data["posts"]["edges"]] == ["hello #tag @bob"]
