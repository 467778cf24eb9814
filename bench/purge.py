"""Timings of deleting: the request (hide) and the purge, for a big post and a big account.

    createdb -h 127.0.0.1 -U postgres purge_bench
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/purge_bench REDIS_KEY_PREFIX=purge_bench
    .venv/bin/python manage.py migrate
    .venv/bin/python bench/purge.py            # EMPTIES the database first (refuses one not named *bench*)

Builds 10,000 users and 200,000 posts in SQL, then times: post_delete of a post with 5,000 likes and 2,000
comments and its purge (feed.purge.purge_post, in this process, batches of PURGE_BATCH); user_delete of
an account with 10,000 posts, 10,000 followers, 2,000 follows, 5,000 likes and 2,000 comments on others'
posts, and its purge (users.purge.purge_user). Checks every counter against COUNT(*) at the end. The
tasks are not queued (the purge runs here, so the figures do not include a worker's queueing).
"""
import os
import sys
import time
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

if "bench" not in settings.DATABASES["default"]["NAME"]:
    sys.exit("bench/purge.py empties the database: point DATABASE_URL at one whose name contains 'bench'")

import feed.services  # noqa: E402
import users.services  # noqa: E402
from common import tasks as common_tasks  # noqa: E402

common_tasks.enqueue_on_commit = lambda *a, **k: None  # time the request only; the purge runs below
feed.services.enqueue_on_commit = common_tasks.enqueue_on_commit

from feed import purge as fpurge  # noqa: E402
from feed import services as fs  # noqa: E402
from feed.models import Post  # noqa: E402
from users import purge as upurge  # noqa: E402
from users import services as us  # noqa: E402
from users.models import User  # noqa: E402


def sql(q, p=None):
    with connection.cursor() as c:
        c.execute(q, p or [])
        return c.fetchall() if c.description else None

sql("TRUNCATE users_user, feed_post RESTART IDENTITY CASCADE")
def users(prefix, n):
    return [r[0] for r in sql("INSERT INTO users_user (password, is_superuser, username, email, is_staff, is_active, date_joined, display_name, bio, avatar_url, follower_count, following_count, post_count) SELECT '!', false, %s || i, %s || i || '@x.org', false, true, now(), '', '', '', 0, 0, 0 FROM generate_series(1, %s) i RETURNING id", [prefix, prefix, n])]
crowd = users("u", 10000)
big = users("big", 1)[0]
# 10k posts by big, 2 hashtags each; 10k followers; 1M-ish background posts by others
sql("INSERT INTO feed_post (author_id, body, created_at, updated_at, hashtags, like_count, comment_count, share_count, view_count) SELECT %s, 'post ' || i, now() - i * interval '1 minute', now(), ARRAY['a','b'], 0, 0, 0, 0 FROM generate_series(1, 10000) i", [big])
sql("INSERT INTO feed_post (author_id, body, created_at, updated_at, hashtags, like_count, comment_count, share_count, view_count) SELECT u, 'other ' || i, now() - i * interval '1 second', now(), '{}', 0, 0, 0, 0 FROM generate_series(1, 200000) i, LATERAL (SELECT %s::bigint[] AS a) x, LATERAL (SELECT x.a[1 + i %% 10000] AS u) y", [crowd])
sql("INSERT INTO feed_posthashtag (post_id, tag, created_at) SELECT id, t, created_at FROM feed_post, unnest(hashtags) t")
sql("UPDATE users_user u SET post_count = (SELECT count(*) FROM feed_post p WHERE p.author_id = u.id)")
sql("INSERT INTO users_follow (follower_id, followee_id, created_at) SELECT u, %s, now() FROM unnest(%s::bigint[]) u", [big, crowd])
sql("INSERT INTO users_follow (follower_id, followee_id, created_at) SELECT %s, u, now() FROM unnest(%s::bigint[]) u", [big, crowd[:2000]])
sql("UPDATE users_user u SET follower_count = (SELECT count(*) FROM users_follow f WHERE f.followee_id = u.id), following_count = (SELECT count(*) FROM users_follow f WHERE f.follower_id = u.id)")
# a big post by crowd[0]: 5000 likes, 2000 comments
post = Post.objects.filter(author_id=crowd[0]).first()
sql("INSERT INTO interactions_like (user_id, post_id, created_at) SELECT u, %s, now() FROM unnest(%s::bigint[]) u", [post.pk, crowd[1:5001]])
sql("UPDATE feed_post SET like_count = 5000 WHERE id = %s", [post.pk])
sql("INSERT INTO interactions_comment (post_id, author_id, body, created_at, reply_count) SELECT %s, u, 'c', now(), 0 FROM unnest(%s::bigint[]) u", [post.pk, crowd[:2000]])
sql("UPDATE feed_post SET comment_count = 2000 WHERE id = %s", [post.pk])
# big's likes on 5000 others' posts, comments on 2000
sql("INSERT INTO interactions_like (user_id, post_id, created_at) SELECT %s, id, now() FROM feed_post WHERE author_id <> %s ORDER BY id LIMIT 5000", [big, big])
sql("UPDATE feed_post SET like_count = like_count + 1 WHERE id IN (SELECT post_id FROM interactions_like WHERE user_id = %s)", [big])
sql("INSERT INTO interactions_comment (post_id, author_id, body, created_at, reply_count) SELECT id, %s, 'b', now(), 0 FROM feed_post WHERE author_id <> %s ORDER BY id DESC LIMIT 2000", [big, big])
sql("UPDATE feed_post SET comment_count = comment_count + 1 WHERE id IN (SELECT post_id FROM interactions_comment WHERE author_id = %s)", [big])
sql("VACUUM ANALYZE")
print("data ready")

author = User.objects.get(pk=crowd[0])
t = time.perf_counter(); fs.post_delete(viewer=author, post_id=post.pk); print(f"post_delete (5000 likes, 2000 comments): {1000*(time.perf_counter()-t):.1f} ms")
t = time.perf_counter(); done, n = fpurge.purge_post(post.pk, seconds=600); dt = time.perf_counter()-t
print(f"purge_post: {n} rows in {dt:.2f} s ({n/dt:.0f} rows/s), batch {settings.PURGE_BATCH}")

t = time.perf_counter(); us.user_delete(User.objects.get(pk=big)); print(f"user_delete (10k posts, 10k followers, 2k following): {1000*(time.perf_counter()-t):.1f} ms")
t = time.perf_counter(); done, n = upurge.purge_user(big, seconds=3600); dt = time.perf_counter()-t
print(f"purge_user: {n} rows in {dt:.2f} s ({n/dt:.0f} rows/s)")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.interactions import counter_mismatches  # noqa: E402
print("mismatches:", counter_mismatches()[:5])
