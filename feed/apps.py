from django.apps import AppConfig


class FeedConfig(AppConfig):
    name = "feed"
    verbose_name = "Posts and feed"

    def ready(self) -> None:
        from . import receivers  # noqa: F401 - answers users' user_deleting and user_purging
