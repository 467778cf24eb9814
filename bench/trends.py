"""Timings of trendingPosts / trendingHashtags, cold (nothing cached) and warm, on a large data set.

    createdb -h 127.0.0.1 -U postgres trends_bench
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/trends_bench REDIS_KEY_PREFIX=trends_bench
    .venv/bin/python manage.py migrate
    .venv/bin/python manage.py seed --size standard      # or: bench/trends.py --generate
    .venv/bin/python bench/trends.py --backfill          # --backfill once: buckets from the seeded rows

Prints, per window: the uncached SQL of each ranking, a cold GraphQL request (the cache emptied first,
so it computes), warm GraphQL requests (answered from the Redis cache), and requests finding the
entry stale (answered from it while a background thread recomputes), through the full HTTP handling
(Django's test client: middleware, view, execution, JSON).

``--generate`` fills an EMPTY database with a synthetic standard-size set straight in SQL (20k users,
1M posts over 90 days with heavy-tailed authors and hashtags, ~5M likes, 1M comments, 100k shares,
heavy-tailed over posts and mostly in the days after each post), for when the seed command is not at hand.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from analytics import jobs, keys, trends  # noqa: E402

GENERATE = [
    "SET session_replication_role = replica",  # no FK triggers while loading
    """INSERT INTO users_user (password, last_login, is_superuser, is_staff, is_active, username, email, display_name,
                               bio, avatar_url, date_joined, follower_count, following_count, post_count)
       SELECT '!', NULL, false, false, true, 'bench' || g, 'bench' || g || '@example.com', 'Bench ' || g, '', '',
              now() - interval '400 days', 0, 0, 0
       FROM generate_series(1, 20000) g""",
    """CREATE TEMP TABLE u AS SELECT row_number() OVER (ORDER BY id) AS n, id FROM users_user""",
    "CREATE UNIQUE INDEX ON u (n)",
    """INSERT INTO feed_post (body, created_at, updated_at, edited_at, hashtags, like_count, comment_count, share_count,
                              view_count, author_id)
       SELECT 'Post number ' || g || ' #tag' || t, c, c, NULL, ARRAY['tag' || t], 0, 0, 0, 0, u.id
       FROM (SELECT g, now() - random() * interval '90 days' AS c, floor(2000 * random() ^ 4)::int AS t,
                    1 + floor(20000 * random() ^ 2)::int AS an
             FROM generate_series(1, 1000000) g) s
       JOIN u ON u.n = s.an
       ORDER BY c""",
    """INSERT INTO feed_posthashtag (tag, created_at, post_id) SELECT hashtags[1], created_at, id FROM feed_post""",
    """CREATE TEMP TABLE p AS SELECT row_number() OVER (ORDER BY id) AS n, id, created_at FROM feed_post""",
    "CREATE UNIQUE INDEX ON p (n)",
    "ANALYZE p",
    """INSERT INTO interactions_like (created_at, post_id, user_id)
       SELECT least(now(), p.created_at + random() ^ 3 * interval '5 days'), p.id, u.id
       FROM (SELECT 1 + floor(1000000 * random() ^ 3)::int AS pn, 1 + floor(20000 * random())::int AS un
             FROM generate_series(1, 5300000)) g
       JOIN p ON p.n = g.pn JOIN u ON u.n = g.un
       ON CONFLICT DO NOTHING""",
    """INSERT INTO interactions_comment (body, created_at, edited_at, reply_count, author_id, parent_id, post_id)
       SELECT 'Nice', least(now(), p.created_at + random() ^ 3 * interval '5 days'), NULL, 0, u.id, NULL, p.id
       FROM (SELECT 1 + floor(1000000 * random() ^ 3)::int AS pn, 1 + floor(20000 * random())::int AS un
             FROM generate_series(1, 1000000)) g
       JOIN p ON p.n = g.pn JOIN u ON u.n = g.un""",
    """INSERT INTO interactions_share (comment, created_at, post_id, user_id)
       SELECT '', least(now(), p.created_at + random() ^ 3 * interval '5 days'), p.id, u.id
       FROM (SELECT 1 + floor(1000000 * random() ^ 3)::int AS pn, 1 + floor(20000 * random())::int AS un
             FROM generate_series(1, 105000)) g
       JOIN p ON p.n = g.pn JOIN u ON u.n = g.un
       ON CONFLICT DO NOTHING""",
    """UPDATE feed_post f SET like_count = c.n FROM (SELECT post_id, count(*) n FROM interactions_like GROUP BY 1) c
       WHERE f.id = c.post_id""",
    """UPDATE feed_post f SET comment_count = c.n FROM (SELECT post_id, count(*) n FROM interactions_comment
       GROUP BY 1) c WHERE f.id = c.post_id""",
    """UPDATE feed_post f SET share_count = c.n FROM (SELECT post_id, count(*) n FROM interactions_share GROUP BY 1) c
       WHERE f.id = c.post_id""",
    "SET session_replication_role = DEFAULT",
]

POSTS_QUERY = "query($w: TrendWindow) { trendingPosts(window: $w, first: 20) { id body likeCount author { username } } }"
TAGS_QUERY = "query($w: TrendWindow) { trendingHashtags(window: $w, first: 20) { tag postCount } }"


def generate() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM feed_post")
        if cursor.fetchone()[0]:
            sys.exit("--generate wants an empty database (this one has posts)")
        for sql in GENERATE:
            started = time.perf_counter()
            cursor.execute(sql)
            print(f"  {time.perf_counter() - started:6.1f} s  {' '.join(sql.split())[:80]}", flush=True)
        cursor.execute("VACUUM ANALYZE")


def sizes() -> dict:
    out = {}
    with connection.cursor() as cursor:
        for name, table in (("posts", "feed_post"), ("likes", "interactions_like"),
                            ("comments", "interactions_comment"), ("shares", "interactions_share"),
                            ("hashtag rows", "feed_posthashtag"), ("stat buckets", "interactions_poststatsbucket")):
            cursor.execute(f"SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [table])
            out[name] = cursor.fetchone()[0]
    return out


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def request(client: Client, query: str, window: str):
    response = client.post("/graphql", json.dumps({"query": query, "variables": {"w": window}}),
                           content_type="application/json")
    body = json.loads(response.content)
    assert response.status_code == 200 and "errors" not in body, body
    return body


def age_entry(key: str) -> None:
    entry = json.loads(keys.redis().get(key))
    entry["at"] -= trends.FRESH_SECONDS + 1
    keys.redis().set(key, json.dumps(entry))


def wait_for_refresh(key: str) -> None:
    for _ in range(1000):
        if trends._read(key)[1] and not keys.redis().exists(f"{key}:lock"):
            return
        time.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--generate", action="store_true", help="fill an empty database with a synthetic set")
    parser.add_argument("--backfill", action="store_true", help="rebuild the hourly buckets from the rows first")
    parser.add_argument("--runs", type=int, default=50, help="warm requests per case (default 50)")
    args = parser.parse_args()

    if args.generate:
        print("Generating the data set:")
        generate()
    if args.backfill:
        started = time.perf_counter()
        written = jobs.backfill_stats()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE interactions_poststatsbucket")
        print(f"Backfilled {written} hourly buckets in {time.perf_counter() - started:.1f} s")
    print("Data:", ", ".join(f"{k} {v:,}" for k, v in sizes().items()))

    client = Client()
    print(f"\n{'case':34} {'cold (computes)':>16} {'warm median':>12} {'warm p95':>10} {'stale':>10}   uncached SQL")
    for window in trends.WINDOWS:
        for label, query, compute in (("trendingPosts", POSTS_QUERY, trends.compute_post_scores),
                                      ("trendingHashtags", TAGS_QUERY, trends.compute_hashtag_counts)):
            sql = timed(lambda: compute(window), 3)
            cold = []
            for _ in range(3):
                trends.clear_trends()
                cold += timed(lambda: request(client, query, window), 1)
            request(client, query, window)
            warm = sorted(timed(lambda: request(client, query, window), args.runs))
            p95 = warm[min(len(warm) - 1, int(len(warm) * 0.95))]
            stale = []
            key = trends._key("posts" if label == "trendingPosts" else "tags", window)
            for _ in range(3):  # an entry past its minute: answered at once, refreshed in the background
                trends._store(key, trends._read(key)[0])
                age_entry(key)
                stale += timed(lambda: request(client, query, window), 1)
                wait_for_refresh(key)
            print(f"{label + '(window: ' + window + ')':34} {ms(statistics.median(cold)):>16} "
                  f"{ms(statistics.median(warm)):>12} {ms(p95):>10} {ms(statistics.median(stale)):>10}"
                  f"   {ms(statistics.median(sql))}")
    body = request(client, POSTS_QUERY, "DAY")["data"]["trendingPosts"][:3]
    print("\nTop of trendingPosts(DAY):", [(p["id"], p["likeCount"]) for p in body])
    print("Top of trendingHashtags(WEEK):", request(client, TAGS_QUERY, "WEEK")["data"]["trendingHashtags"][:3])


if __name__ == "__main__":
    main()
