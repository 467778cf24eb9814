"""Loads a realistic data set, fast: `python manage.py seed --size demo|standard`.

The rows come from :mod:`devdata.generator` (numpy), are loaded by :mod:`devdata.loader` (COPY, one
transaction: an interruption leaves the database as it was), then the analytics buckets and trend lists
are built from them (:func:`analytics.jobs.backfill_stats`, :func:`analytics.trends.refresh_trends`).
Every seeded account's password is ``demo-password-123`` (``demo`` included).
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from analytics.jobs import backfill_stats
from analytics.trends import refresh_trends
from devdata.generator import DEMO_USERNAME, PASSWORD, SIZES, Generator
from devdata.loader import Loader
from devdata.progress import Stages
from users.models import User


class Command(BaseCommand):
    help = "Loads a realistic data set with COPY: --size demo|standard, with per-kind overrides."

    def add_arguments(self, parser):
        parser.add_argument("--size", choices=sorted(SIZES), default="demo", help="A preset (default: demo).")
        for name in ("users", "posts", "follows", "likes", "comments", "shares", "bookmarks", "views"):
            parser.add_argument(f"--{name}", type=int, help=f"How many {name} (overrides the preset).")
        parser.add_argument("--demo-follows", type=int, help="How many accounts `demo` follows.")
        parser.add_argument("--seed", type=int, default=42, help="Random seed: the same seed, the same data.")
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when there are users already.")
        parser.add_argument("--flush", action="store_true", help="Delete all users, posts and interactions first.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bars.")

    def handle(self, *args, size, seed, if_empty, flush, no_progress, **options):
        params = dict(SIZES[size])
        for name in params:
            if options.get(name) is not None:
                params[name] = options[name]
        if min(params.values()) < 0:
            raise CommandError("Sizes cannot be negative.")
        if params["users"] < 2:
            raise CommandError("At least 2 users are needed.")
        if User.objects.exists():
            if if_empty:
                self.stdout.write("Data present; not seeding.")
                return
            if not flush:
                raise CommandError("The database has users already: pass --flush to replace everything, "
                                   "or --if-empty to keep it.")
        stages = Stages(self.stdout, progress=not no_progress)
        started = time.monotonic()
        data = Generator(params, seed, stages).generate()
        loader = Loader(data, stages)
        with transaction.atomic():
            loader.load()
        loader.analyze()
        # Hourly analytics buckets from the loaded rows, then the trend lists, so timelines and
        # trends answer from the first request.
        with stages("analytics"):
            backfill_stats()
            refresh_trends()
        total = time.monotonic() - started
        counts = ", ".join(f"{len(data[key]['id']):,} {key}" for key in
                           ("users", "follows", "posts", "likes", "comments", "shares", "bookmarks"))
        self.stdout.write(self.style.SUCCESS(f"Seeded {counts} in {total:.1f} s."))
        self.stdout.write(f"Log in as `{DEMO_USERNAME}` (or any seeded user) with the password `{PASSWORD}`; "
                          f"`{DEMO_USERNAME}` follows {data['demo_follows']:,} accounts.")
