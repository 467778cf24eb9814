"""The running execution's deadline (common/deadlines.py's Deadline), where loaders and the executor check it.

Its own module so that the loaders (schema/core/loaders.py) can check it without importing the executor
(schema/core/execution.py), which imports what imports them.
"""

from __future__ import annotations

from contextvars import ContextVar

from common.deadlines import Deadline

current_deadline: ContextVar[Deadline | None] = ContextVar("graphql_deadline", default=None)


class DeadlineExceeded(BaseException):
    """Stops an execution past its deadline. A BaseException so that no resolver's or the DataLoader library's
    ``except Exception`` turns it into one field error among thousands: it leaves graphql-core at once."""

    def __init__(self, deadline: Deadline, path: list | None = None):
        super().__init__(deadline.reason())
        self.deadline = deadline
        last = deadline.last_path
        self.path = path if path is not None else last.as_list() if last is not None else None


def check_deadline() -> None:
    """Raises DeadlineExceeded when the running execution's deadline has passed (loaders call it per batch)."""
    deadline = current_deadline.get()
    if deadline is not None and deadline.expired():
        raise DeadlineExceeded(deadline)
