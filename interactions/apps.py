from django.apps import AppConfig


class InteractionsConfig(AppConfig):
    name = "interactions"
    verbose_name = "Interactions"

    def ready(self) -> None:
        from . import receivers  # noqa: F401 - answers feed's post_purging and users' user_purging
