"""Log lines as JSON (one object a line), with the request id and, in a worker, the task's id and name.

settings.LOGGING uses :class:`JsonFormatter` (``LOG_FORMAT=json``, the default) or a plain text format
(``LOG_FORMAT=plain``, for reading in a terminal). Every line has ``time``, ``level``, ``logger``,
``message`` and ``request_id`` ("-" outside a request and a task queued by one), plus the ``extra``
fields of the call (the request line's status, duration_ms, sql_count, operation, user_id …).
"""

from __future__ import annotations

import logging
import sys
from datetime import datetime, timezone

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

# Attributes of a log record that never go into the JSON object (the rest, e.g. ``extra``, do).
_SKIPPED = {
    "args", "asctime", "created", "exc_info", "exc_text", "filename", "funcName", "levelno", "lineno",
    "module", "msecs", "msg", "pathname", "process", "processName", "relativeCreated", "stack_info",
    "thread", "threadName", "taskName", "levelname", "name", "message", "request", "server_time",
}


# A message or traceback longer than this is cut in the middle: a huge request parameter quoted in an error
# (a 2 MB search in a database error, say) never becomes a 2 MB log line.
FIELD_MAX = 16_000


def shorten(text: str, limit: int = FIELD_MAX) -> str:
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]} [... {len(text) - 2 * half} characters cut ...] {text[-half:]}"


class JsonFormatter(_JsonFormatter):
    def formatException(self, ei) -> str:  # noqa: N802 - logging's name
        return shorten(super().formatException(ei))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("reserved_attrs", tuple(_SKIPPED))
        kwargs.setdefault("json_default", str)
        kwargs.setdefault("json_ensure_ascii", False)
        super().__init__(*args, **kwargs)

    def add_fields(self, log_data, record, message_dict):
        moment = datetime.fromtimestamp(record.created, tz=timezone.utc)
        log_data["time"] = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        super().add_fields(log_data, record, message_dict)
        if isinstance(log_data.get("message"), str):
            log_data["message"] = shorten(log_data["message"])
        if log_data.get("request_id") in (None, "-"):
            log_data.pop("request_id", None)
            log_data["request_id"] = getattr(record, "request_id", None) or "-"


class TaskLogFilter(logging.Filter):
    """Adds ``task_id`` and ``task_name`` to the records written while a Celery task runs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "celery" in sys.modules and not hasattr(record, "task_id"):
            from celery._state import get_current_task

            task = get_current_task()
            request = getattr(task, "request", None) if task is not None else None
            if request is not None and getattr(request, "id", None):
                record.task_id = request.id
                record.task_name = task.name
        return True
