"""``python manage.py flush_stats``: folds pending view/interaction counts from Redis into PostgreSQL."""

from django.core.management.base import BaseCommand

from analytics.jobs import backfill_stats, flush_stats
from analytics.trends import refresh_trends


class Command(BaseCommand):
    help = (
        "Folds the view and interaction counts pending in Redis into the hourly PostStatsBucket rows and "
        "Post.view_count, then recomputes the cached trends. Safe to run concurrently and repeatedly "
        "(run it every minute)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500, help="Posts per transaction (default 500).")
        parser.add_argument("--no-trends", action="store_true", help="Don't recompute the cached trends.")
        parser.add_argument(
            "--backfill", action="store_true",
            help="First rebuild the buckets' likes/comments/shares from the Like/Comment/Share rows "
                 "(for data loaded without the services, e.g. imports).",
        )

    def handle(self, *args, batch_size, no_trends, backfill, **options):
        if backfill:
            written = backfill_stats()
            self.stdout.write(f"Backfilled {written} buckets from likes, comments and shares.")
        result = flush_stats(batch_size=batch_size)
        if result.skipped:
            self.stdout.write("Another flush is running; nothing done.")
        else:
            extra = " (finished a batch an interrupted flush left)" if result.recovered else ""
            self.stdout.write(
                f"Flushed {result.posts} posts: {result.buckets} buckets, {result.views} views "
                f"in {result.batches} batches{extra}."
            )
        if not no_trends:
            timings = refresh_trends()
            self.stdout.write("Trends refreshed: " + ", ".join(
                f"{name} {seconds * 1000:.0f} ms" for name, seconds in timings.items()))
