"""Loads demo data (placeholder until the posts issue's bulk seeder lands)."""

from django.core.management.base import BaseCommand

from users.models import User


class Command(BaseCommand):
    help = "Loads a data set: --size demo|standard."

    def add_arguments(self, parser):
        parser.add_argument("--size", default="demo")
        parser.add_argument("--if-empty", action="store_true")

    def handle(self, *args, size, if_empty, **options):
        if if_empty and User.objects.exists():
            self.stdout.write("Data present; not seeding.")
            return
        for name in ("ada", "grace", "linus"):
            user = User(username=name, email=f"{name}@example.com", display_name=name.title())
            user.set_password("demo-password-123")
            user.save()
        self.stdout.write("Seeded demo users.")
