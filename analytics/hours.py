"""UTC hour arithmetic of the analytics buckets: epoch seconds <-> datetimes, the hour of a moment."""

from __future__ import annotations

import time
from datetime import datetime, timezone as dt_timezone

HOUR = 3600
DAY = 86400


def now_ts(now: datetime | float | None) -> float:
    """``now`` as epoch seconds (None: the current time; a naive datetime is UTC)."""
    if now is None:
        return time.time()
    if isinstance(now, datetime):
        if now.tzinfo is None:
            now = now.replace(tzinfo=dt_timezone.utc)
        return now.timestamp()
    return float(now)


def to_epoch(value: datetime) -> int:
    if value.tzinfo is None:  # naive datetimes are UTC, like the database's
        value = value.replace(tzinfo=dt_timezone.utc)
    return int(value.timestamp() // 1)


def from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=dt_timezone.utc)


def hour_of(now: datetime | float | None = None) -> int:
    """Epoch seconds of the UTC hour containing ``now``."""
    return int(now_ts(now) // HOUR * HOUR)
