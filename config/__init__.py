# The Celery app is created with Django's settings so that @shared_task / common.tasks.task bind to it.
from .celery import app as celery_app

__all__ = ("celery_app",)
