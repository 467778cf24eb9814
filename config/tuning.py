"""Process tuning for server processes: the garbage collector.

A GraphQL request allocates tens of thousands of short-lived containers (dicts, lists, model instances,
AST-free result trees): with CPython's default thresholds (700, 10, 10) the cyclic collector runs every
few hundred allocations and, every 100 young collections, walks every object of the process — the loaded
Django project, graphene's schema and the document caches included (20% of a request's CPU in the
profile of issue 12). Two changes, applied once the application is loaded (config/wsgi.py, config/asgi.py):

- ``gc.freeze()``: everything alive after start-up (modules, the schema, settings) moves to a permanent
  generation the collector never scans again (and, after a fork, stays in shared copy-on-write pages).
- Higher thresholds (``GC_THRESHOLDS``, default ``50000,20,100``): young collections every 50,000 net
  allocations instead of 700; a request's garbage is mostly freed by reference counting anyway, the
  collector only has cycles to find. ``GC_THRESHOLDS=default`` keeps CPython's.

bench/compare measures the effect (README, "Performance").
"""

from __future__ import annotations

import gc
import os

DEFAULT_THRESHOLDS = (50_000, 20, 100)


def thresholds() -> tuple[int, ...] | None:
    """The thresholds to set (None: CPython's defaults), from ``GC_THRESHOLDS``."""
    raw = os.environ.get("GC_THRESHOLDS", "").strip()
    if raw.lower() == "default":
        return None
    if not raw:
        return DEFAULT_THRESHOLDS
    try:
        values = tuple(int(part) for part in raw.split(","))
    except ValueError:
        raise SystemExit(f"GC_THRESHOLDS must be three integers or 'default', not {raw!r}") from None
    if len(values) != 3 or min(values) < 0:
        raise SystemExit(f"GC_THRESHOLDS must be three non-negative integers, not {raw!r}")
    return values


def tune_gc() -> None:
    """Collect once, freeze what survived start-up, then set the thresholds."""
    chosen = thresholds()
    gc.collect()
    if os.environ.get("GC_FREEZE", "1") != "0":
        gc.freeze()
    if chosen is not None:
        gc.set_threshold(*chosen)
