"""The seed's bulk loader: PostgreSQL COPY of the generated rows into every app's tables, in the caller's transaction.

The tables are truncated, their secondary indexes and constraints dropped, the rows copied with
FREEZE (no later vacuum needed, index-only scans at once), the indexes and constraints built again
and the id sequences moved past the rows. Run inside one transaction, an interruption leaves the
database as it was.
"""

from __future__ import annotations

import numpy as np
from django.contrib.auth.hashers import make_password
from django.db import connection

from feed.models import Post, PostHashtag
from interactions.models import Bookmark, Comment, Like, Share
from users.models import Follow, User

from .generator import PASSWORD
from .progress import Stages


def _table(model) -> str:
    return model._meta.db_table


LOADED = [User, Follow, Post, PostHashtag, Post.mentions.through, Like, Comment, Share, Bookmark]


class Loader:
    """COPYs the generated rows into freshly truncated tables and rebuilds their indexes."""

    def __init__(self, data: dict, stages: Stages):
        self.data = data
        self.stages = stages
        self.tables = LOADED

    def load(self) -> None:
        with connection.cursor() as cursor:
            self.cursor = cursor
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            cursor.execute("SET LOCAL synchronous_commit = off")
            names = ", ".join(_table(model) for model in self.tables)
            # Deferred foreign-key checks of rows written earlier in this transaction (a test's, say)
            # must run before TRUNCATE may touch their tables.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
            rebuild = self._drop_secondary_structures()
            self._copy_all()
            with self.stages("indexes", total=len(rebuild), unit="indexes") as bar:
                for statement in rebuild:
                    cursor.execute(statement)
                    bar.update()
            for model in self.tables:
                table = _table(model)
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 0) + 1, false) "
                    f"FROM {table}"
                )

    def analyze(self) -> None:
        """Planner statistics of the loaded tables (run after the load's transaction committed)."""
        with self.stages("analyze"), connection.cursor() as cursor:
            for model in self.tables:
                cursor.execute(f"ANALYZE {_table(model)}")

    def _drop_secondary_structures(self) -> list[str]:
        """Drops every index but the primary keys, and the unique and foreign-key constraints, of the
        tables loaded; returns the statements that build them again (indexes first, then FKs)."""
        cursor = self.cursor
        tables = [_table(model) for model in self.tables]
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), contype FROM pg_constraint "
            "WHERE conrelid = ANY(%s::regclass[]) AND contype IN ('u', 'f')", [tables]
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('u', 'p'))",
            [tables],
        )
        indexes = cursor.fetchall()
        for table, name, _, _ in constraints:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")
        uniques = [f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}' for t, n, d, kind in constraints if kind == "u"]
        foreign = [f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}' for t, n, d, kind in constraints if kind == "f"]
        return [definition for _, definition in indexes] + uniques + foreign

    def _copy(self, name: str, model, columns: list[str], rows, count: int) -> None:
        table = _table(model)
        sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FREEZE)"
        with self.stages(name, total=count) as bar, self.cursor.cursor.copy(sql) as copy:
            step = 0
            for row in rows:
                copy.write_row(row)
                step += 1
                if step == 50_000:
                    bar.update(step)
                    step = 0
            bar.update(step)

    def _copy_all(self) -> None:
        d = self.data
        ts = lambda values: np.datetime_as_string(np.asarray(values).astype("datetime64[us]"), unit="us",  # noqa: E731
                                                  timezone="UTC").tolist()
        password = make_password(PASSWORD)
        u = d["users"]
        n = len(u["id"])
        joined = ts(u["date_joined"])
        self._copy("users", User,
                   ["id", "password", "is_superuser", "is_staff", "is_active", "username", "email", "display_name",
                    "bio", "avatar_url", "date_joined", "follower_count", "following_count", "post_count"],
                   zip(u["id"].tolist(), [password] * n, [False] * n, [False] * n, [True] * n, u["username"].tolist(),
                       [f"{name}@example.com" for name in u["username"].tolist()], u["display_name"].tolist(),
                       [""] * n, [""] * n, joined, u["follower_count"].tolist(), u["following_count"].tolist(),
                       u["post_count"].tolist()), n)
        f = d["follows"]
        self._copy("follows", Follow, ["id", "follower_id", "followee_id", "created_at"],
                   zip(f["id"].tolist(), f["follower"].tolist(), f["followee"].tolist(), ts(f["created_at"])),
                   len(f["id"]))
        p = d["posts"]
        created = ts(p["created_at"])
        self._copy("posts", Post,
                   ["id", "author_id", "body", "created_at", "updated_at", "hashtags", "like_count", "comment_count",
                    "share_count", "view_count"],
                   zip(p["id"].tolist(), p["author"].tolist(), p["body"], created, created, p["hashtags"],
                       p["like_count"].tolist(), p["comment_count"].tolist(), p["share_count"].tolist(),
                       p["view_count"].tolist()), len(p["id"]))
        h = d["hashtags"]
        self._copy("hashtags", PostHashtag, ["id", "post_id", "tag", "created_at"],
                   zip(h["id"].tolist(), h["post"].tolist(), h["tag"], ts(h["created_at"])), len(h["id"]))
        m = d["mentions"]
        self._copy("mentions", Post.mentions.through, ["id", "post_id", "user_id"],
                   zip(m["id"].tolist(), m["post"].tolist(), m["user"].tolist()), len(m["id"]))
        lk = d["likes"]
        self._copy("likes", Like, ["id", "user_id", "post_id", "created_at"],
                   zip(lk["id"].tolist(), lk["user"].tolist(), lk["post"].tolist(), ts(lk["created_at"])),
                   len(lk["id"]))
        c = d["comments"]
        parents = [None if value == 0 else value for value in c["parent"].tolist()]
        self._copy("comments", Comment,
                   ["id", "post_id", "author_id", "parent_id", "body", "created_at", "reply_count"],
                   zip(c["id"].tolist(), c["post"].tolist(), c["author"].tolist(), parents, c["body"].tolist(),
                       ts(c["created_at"]), c["reply_count"].tolist()), len(c["id"]))
        s = d["shares"]
        self._copy("shares", Share, ["id", "user_id", "post_id", "comment", "created_at"],
                   zip(s["id"].tolist(), s["user"].tolist(), s["post"].tolist(), s["comment"].tolist(),
                       ts(s["created_at"])), len(s["id"]))
        b = d["bookmarks"]
        self._copy("bookmarks", Bookmark, ["id", "user_id", "post_id", "created_at"],
                   zip(b["id"].tolist(), b["user"].tolist(), b["post"].tolist(), ts(b["created_at"])), len(b["id"]))
