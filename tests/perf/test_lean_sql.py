"""SQL like PostGraphile's: pages select only the columns a response can need (never a password hash for
``username``), with parameters bound on the server, and PostgreSQL plans each page's statements once per
connection (prepared statements, config/settings.py DB_PREPARE_THRESHOLD)."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from common.joins import deferred_paths
from feed.models import Post
from interactions.models import Comment
from users.models import Follow, User

from tests.perf.test_query_counts import FEED_PAGE, NEWEST_POSTS, feed_viewer  # noqa: F401 - the fixture
from tests.support.queries import assert_database_query_count

PRIVATE_COLUMNS = ('"users_user"."password"', '"users_user"."email"', '"users_user"."last_login"',
                   '"users_user"."is_staff"', '"users_user"."is_superuser"')


def test_joins_leave_out_the_columns_no_response_shows():
    assert deferred_paths(Comment, ["author", "post__author"]) == [
        "author__password", "author__email", "author__last_login", "author__is_superuser", "author__is_staff",
        "post__search_vector", "post__author__password", "post__author__email", "post__author__last_login",
        "post__author__is_superuser", "post__author__is_staff"]
    assert deferred_paths(Follow, ["follower"])[:2] == ["follower__password", "follower__email"]
    assert deferred_paths(Post, [None, "nonsense"]) == []


def test_the_standard_pages_read_no_password_hash_or_email(gql, feed_viewer):  # noqa: F811
    for query, user in ((NEWEST_POSTS, None), (NEWEST_POSTS, feed_viewer), (FEED_PAGE, feed_viewer)):
        with CaptureQueriesContext(connection) as ctx:
            r = gql(query, {"first": 20}, user=user)
        assert r.status == 200 and not r.errors, r.body
        page_sql = [q["sql"] for q in ctx.captured_queries if '"users_user"."id" = ' not in q["sql"]]
        assert page_sql and any('"users_user"."username"' in sql for sql in page_sql)
        for sql in page_sql:
            assert not any(column in sql for column in PRIVATE_COLUMNS), sql


def test_a_viewer_sees_the_own_email_on_own_posts_without_more_queries(gql, feed_viewer):  # noqa: F811
    query = "{ viewer { posts(first: 10) { edges { node { author { username email } } } } } }"
    gql(query, user=feed_viewer)
    with assert_database_query_count(2):  # the token's user, the posts with their author
        r = gql(query, user=feed_viewer)
    authors = [edge["node"]["author"] for edge in r.data["viewer"]["posts"]["edges"]]
    assert authors and all(a == {"username": "viewer", "email": feed_viewer.email} for a in authors), authors
    other = "{ posts(first: 30) { edges { node { author { username email } } } } }"
    emails = {(e["node"]["author"]["username"], e["node"]["author"]["email"])
              for e in gql(other, user=feed_viewer).data["posts"]["edges"]}
    assert all(email is None for name, email in emails if name != "viewer") and len(emails) > 1


def test_a_deferred_column_still_loads_when_read(db):
    author = User.objects.create_user("writer", "writer@example.com", "pw-long-enough-1")
    Post.objects.create(author=author, body="hello")
    post = Post.objects.select_related("author").get()
    assert post.author.get_deferred_fields() >= {"password", "email"}
    assert post.author.email == "writer@example.com"  # one more query, never a wrong value


def test_page_statements_are_prepared_once_per_connection(gql, feed_viewer):  # noqa: F811
    for _ in range(4):
        assert not gql(NEWEST_POSTS, {"first": 20}).errors
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans + custom_plans FROM pg_prepared_statements")
        prepared = cursor.fetchall()
    page = [(sql, runs) for sql, runs in prepared if 'FROM "feed_post" INNER JOIN "users_user"' in sql]
    assert page, prepared
    assert page[0][1] >= 2, page  # run as a prepared statement (psycopg prepares on the 2nd execution)
    # Parameters bound on the server ($1...): the first comments of any page of posts are one statement text.
    comments = [(sql, runs) for sql, runs in prepared if 'FROM "interactions_comment"' in sql]
    assert comments and "$1" in comments[0][0] and comments[0][1] >= 2, prepared


def test_the_home_feed_chooses_its_way_once_then_runs_a_prepared_statement_of_that_way(gql, feed_viewer):  # noqa: F811
    """The home feed's first page for a viewer runs the statement holding both ways of finding entries (per-author
    seeks, the global walk), never prepared: its best plan depends on the viewer's follows (a generic plan of it
    took 270 ms instead of 20 for a viewer following 2,000 accounts). It says which way it took; the next pages
    run the statement of that way alone, prepared (its plan does not depend on the viewer), with the same
    entries. The page's small statements are prepared and, after five runs, may keep PostgreSQL's generic plan
    (plan_cache_mode auto: no planning per request)."""
    from timeline import selectors

    selectors.forget_strategies()
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        assert cursor.fetchone()[0] == "auto"
    pages = []
    for _ in range(8):
        r = gql(FEED_PAGE, {"first": 20}, user=feed_viewer)
        assert r.status == 200 and not r.errors, r.body
        pages.append(r.data)
    assert all(page == pages[0] for page in pages)  # the same entries, whichever statement found them
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
        prepared = cursor.fetchall()
    feeds = [(sql, generic + custom) for sql, generic, custom in prepared if "WITH followees" in sql]
    assert len(feeds) == 1, prepared  # the one way's statement, not the choosing one
    assert "strategy" not in feeds[0][0] and feeds[0][1] >= 5, feeds  # 7 runs: psycopg prepares from the 2nd or 3rd
    # The page size is in its text (a generic plan that does not know it reckons on a tenth of all rows).
    assert "LIMIT 21" in feeds[0][0] and "LIMIT $" not in feeds[0][0], feeds
    comments = [(generic, custom) for sql, generic, custom in prepared if 'FROM "interactions_comment"' in sql]
    assert comments and sum(comments[0]) >= 6, prepared


def test_a_page_reads_the_optional_columns_its_selection_needs_and_no_other(gql, feed_viewer):  # noqa: F811
    """schema/core/columns.py: the newest-posts page (no post body, no author bio...) leaves those columns out;
    a page that selects them reads them in the same statements (never a deferred load per row)."""
    gql(NEWEST_POSTS, {"first": 20})
    with assert_database_query_count(2) as ctx:
        r = gql(NEWEST_POSTS, {"first": 20})
    assert not r.errors and r.data["posts"]["edges"]
    posts_sql, comments_sql = (q["sql"] for q in ctx.captured_queries)
    for column in ('"feed_post"."body"', '"feed_post"."hashtags"', '"feed_post"."edited_at"',
                   '"users_user"."bio"', '"users_user"."display_name"', '"users_user"."date_joined"'):
        assert column not in posts_sql, posts_sql
    assert '"interactions_comment"."body"' in comments_sql and '"interactions_comment"."edited_at"' not in comments_sql
    assert '"users_user"."username"' in posts_sql and '"users_user"."bio"' not in comments_sql

    full = """query { posts(first: 20) { edges { node { id body hashtags editedAt updatedAt
      author { username displayName bio avatarUrl dateJoined }
      comments(first: 3) { edges { node { body editedAt author { displayName bio } } } } } } } }"""
    gql(full)
    with assert_database_query_count(2) as ctx:
        r = gql(full)
    nodes = [edge["node"] for edge in r.data["posts"]["edges"]]
    assert nodes and all(node["body"] and node["author"]["dateJoined"] for node in nodes), nodes
    assert '"feed_post"."body"' in ctx.captured_queries[0]["sql"]
    assert '"users_user"."bio"' in ctx.captured_queries[1]["sql"]
    # The same page with and without them: the same posts.
    assert [n["id"] for n in nodes] == [e["node"]["id"] for e in gql(NEWEST_POSTS, {"first": 20}).data["posts"]["edges"]]
