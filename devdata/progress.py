"""The seed's progress report: a tqdm bar per stage (stderr) and a line with each stage's time (stdout)."""

from __future__ import annotations

import time
from contextlib import contextmanager

from tqdm import tqdm


class Stages:
    """A progress bar per stage (tqdm, on stderr) and a line with the stage's time (stdout)."""

    def __init__(self, out, *, progress: bool):
        self.out = out
        self.progress = progress

    @contextmanager
    def __call__(self, name: str, total: int | None = None, unit: str = "rows"):
        started = time.monotonic()
        bar = tqdm(total=total, desc=f"{name:>10}", unit=unit, unit_scale=True, leave=False,
                   disable=not self.progress, mininterval=0.5)
        try:
            yield bar
        finally:
            bar.close()
        detail = f" ({total:,} {unit})" if total is not None and unit == "rows" else ""
        self.out.write(f"  {name:<10} {time.monotonic() - started:6.1f} s{detail}")

