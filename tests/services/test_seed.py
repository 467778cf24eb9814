"""The seed command: counters equal the rows they count, shapes, determinism, safety."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from feed.models import Post, PostHashtag
from feed.parsing import parse_hashtags, parse_mentions
from interactions.models import Bookmark, Comment, Like, Share
from users.models import Follow, User

from tests.conftest import make_user

SMALL = dict(size="demo", users=120, posts=1500, follows=1500, likes=6000, comments=2000, shares=300,
             bookmarks=400, views=10000, demo_follows=40, seed=3, no_progress=True)


def seed(**options) -> str:
    out = io.StringIO()
    call_command("seed", stdout=out, **{**SMALL, **options})
    return out.getvalue()


def scalar(sql: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_counters_equal_rows():
    out = seed()
    assert "Seeded 120 users, 1,500 follows, 1,500 posts, 6,000 likes, 2,000 comments, 300 shares, 400 bookmarks" in out
    assert (User.objects.count(), Post.objects.count(), Like.objects.count(), Comment.objects.count()) == (
        120, 1500, 6000, 2000)
    mismatches = {
        "follower_count": "SELECT count(*) FROM users_user u WHERE follower_count <> "
                          "(SELECT count(*) FROM users_follow f WHERE f.followee_id = u.id)",
        "following_count": "SELECT count(*) FROM users_user u WHERE following_count <> "
                           "(SELECT count(*) FROM users_follow f WHERE f.follower_id = u.id)",
        "post_count": "SELECT count(*) FROM users_user u WHERE post_count <> "
                      "(SELECT count(*) FROM feed_post p WHERE p.author_id = u.id)",
        "like_count": "SELECT count(*) FROM feed_post p WHERE like_count <> "
                      "(SELECT count(*) FROM interactions_like l WHERE l.post_id = p.id)",
        "comment_count": "SELECT count(*) FROM feed_post p WHERE comment_count <> "
                         "(SELECT count(*) FROM interactions_comment c WHERE c.post_id = p.id)",
        "share_count": "SELECT count(*) FROM feed_post p WHERE share_count <> "
                       "(SELECT count(*) FROM interactions_share s WHERE s.post_id = p.id)",
        "reply_count": "SELECT count(*) FROM interactions_comment c WHERE reply_count <> "
                       "(SELECT count(*) FROM interactions_comment r WHERE r.parent_id = c.id)",
    }
    assert {name: scalar(sql) for name, sql in mismatches.items()} == dict.fromkeys(mismatches, 0)
    # Nothing impossible: replies on their parent's post and after it, interactions after the post.
    assert scalar("SELECT count(*) FROM interactions_comment c JOIN interactions_comment p ON p.id = c.parent_id "
                  "WHERE p.post_id <> c.post_id OR c.created_at <= p.created_at") == 0
    for table in ("interactions_like", "interactions_share", "interactions_bookmark", "interactions_comment"):
        assert scalar(f"SELECT count(*) FROM {table} x JOIN feed_post p ON p.id = x.post_id "
                      f"WHERE x.created_at <= p.created_at OR x.created_at > now()") == 0, table
    assert scalar("SELECT count(*) FROM interactions_comment WHERE parent_id IS NOT NULL") > 0
    # New rows get fresh ids (the sequences were moved past the copied ids).
    post = Post.objects.create(author=User.objects.get(username="demo"), body="after the seed")
    assert post.pk == 1501


@pytest.mark.django_db
def test_bodies_carry_the_hashtags_and_mentions_stored():
    seed()
    names = dict(User.objects.values_list("pk", "username"))
    mentions = {}
    for post_id, user_id in Post.mentions.through.objects.values_list("post_id", "user_id"):
        mentions.setdefault(post_id, set()).add(names[user_id])
    tagged = 0
    for post in Post.objects.all():
        assert post.hashtags == parse_hashtags(post.body)
        assert set(parse_mentions(post.body)) == mentions.get(post.pk, set())
        tagged += bool(post.hashtags)
    assert tagged > 300
    assert PostHashtag.objects.count() == sum(len(tags) for tags in Post.objects.values_list("hashtags", flat=True))


@pytest.mark.django_db
def test_heavy_tails_and_the_demo_account(gql):
    seed()
    demo = User.objects.get(username="demo")
    assert demo.following_count == 40
    assert demo.check_password("demo-password-123")
    followers = sorted(User.objects.values_list("follower_count", flat=True), reverse=True)
    assert followers[0] > 10 * followers[len(followers) // 2]  # a few accounts have most followers
    likes = sorted(Post.objects.values_list("like_count", flat=True), reverse=True)
    assert likes[0] > 10 * max(likes[len(likes) // 2], 1)
    r = gql("mutation { tokenAuth(username: \"demo\", password: \"demo-password-123\") { token } }")
    assert r.data["tokenAuth"]["token"]


@pytest.mark.django_db
def test_same_seed_same_data():
    seed()
    first = list(Like.objects.order_by("id").values_list("user_id", "post_id")[:500])
    bodies = list(Post.objects.order_by("id").values_list("body", flat=True)[:50])
    seed(flush=True)
    assert list(Like.objects.order_by("id").values_list("user_id", "post_id")[:500]) == first
    assert list(Post.objects.order_by("id").values_list("body", flat=True)[:50]) == bodies


@pytest.mark.django_db
def test_refuses_to_mix_with_existing_data():
    make_user("someone")
    with pytest.raises(CommandError, match="--flush"):
        seed()
    assert "not seeding" in seed(if_empty=True)
    assert User.objects.count() == 1
    seed(flush=True)
    assert not User.objects.filter(username="someone").exists()
    assert Share.objects.count() == 300 and Bookmark.objects.count() == 400 and Follow.objects.count() == 1500
