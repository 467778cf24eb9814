"""One timed round: wait for a quiet machine, autocannon (-j) against a server, CPU of the server and
of its PostgreSQL backends."""

from __future__ import annotations

import json
import os
import subprocess
import time

from .servers import AUTOCANNON, NODE, PEER_DIR, process_cpu_seconds

# autocannon takes the expected body on its command line, where one argument may hold 128 KiB (Linux):
# a larger answer (a page of --first 100, say) is not compared.
MAX_EXPECT_BYTES = 100_000


def wait_quiet(threshold: float, max_wait: float) -> dict:
    """Sleeps until the 1-minute load average is below ``threshold`` (at most ``max_wait`` seconds);
    says when it gave up. Returns the load at the start of the round and whether it was quiet."""
    started = time.monotonic()
    last_note = None
    while True:
        load = os.getloadavg()[0]
        if load < threshold:
            return {"load_1m": round(load, 2), "quiet": True, "waited_s": round(time.monotonic() - started)}
        waited = time.monotonic() - started
        if waited >= max_wait:
            print(f"    (gave up waiting for a quiet machine after {waited:.0f} s: 1-minute load {load:.2f} "
                  f">= {threshold:g}; measuring anyway)", flush=True)
            return {"load_1m": round(load, 2), "quiet": False, "waited_s": round(waited)}
        if last_note is None or time.monotonic() - last_note >= 30:
            print(f"    waiting for a quiet machine: 1-minute load {load:.2f} >= {threshold:g} "
                  f"({waited:.0f} s of at most {max_wait:.0f})", flush=True)
            last_note = time.monotonic()
        time.sleep(max(0.5, min(5.0, max_wait - waited)))


def backend_pids(database: str) -> list[int]:
    """PostgreSQL backends connected to ``database`` (other than this process's own)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                       [database])
        return [row[0] for row in cursor.fetchall()]


def backend_cpu(pids: list[int]) -> dict[int, float] | None:
    """CPU seconds of each backend; None when PostgreSQL is not on this machine (not visible)."""
    import psutil

    seen: dict[int, float] = {}
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
            seen[pid] = times.user + times.system
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return seen if seen or not pids else None


def autocannon(url: str, body: bytes, *, connections: int, duration: float, token: str | None,
               expect: bytes | None) -> dict:
    command = [str(NODE), str(AUTOCANNON), "-j", "-c", str(connections), "-d", str(duration), "-m", "POST",
               "-H", "content-type=application/json", "-b", body.decode()]
    if token:
        command += ["-H", f"authorization=Bearer {token}"]
    if expect is not None and len(expect) <= MAX_EXPECT_BYTES:
        command += ["-E", expect.decode()]
    completed = subprocess.run(command + [url], capture_output=True, text=True, timeout=duration + 120)
    if completed.returncode != 0 or not completed.stdout.strip():
        raise SystemExit(f"autocannon failed ({completed.returncode}):\n{completed.stderr[-2000:]}")
    return json.loads(completed.stdout)


def autocannon_mixed(url: str, body: bytes, *, connections: int, duration: float, writes: dict) -> dict:
    """bench/peer/mixed.mjs: the page, and one request in ``writes["every"]`` a like toggled or a comment
    on its posts, as ``writes["token"]``'s user."""
    import tempfile

    with tempfile.NamedTemporaryFile("wb", suffix=".json") as read_body:
        read_body.write(body)
        read_body.flush()
        command = [str(NODE), str(PEER_DIR / "mixed.mjs"), url, str(connections), str(duration), read_body.name,
                   writes["token"], ",".join(writes["post_ids"]), str(writes["every"])]
        completed = subprocess.run(command, capture_output=True, text=True, timeout=duration + 120, cwd=PEER_DIR)
    if completed.returncode != 0 or not completed.stdout.strip():
        raise SystemExit(f"mixed.mjs failed ({completed.returncode}):\n{completed.stderr[-2000:]}")
    return json.loads(completed.stdout)


def run_round(*, server, database: str, url: str, body: bytes, token: str | None, expect: bytes | None,
              connections: int, duration: float, quiet: dict, writes: dict | None = None) -> dict:
    """One autocannon run; the figures kept from it. ``writes``: a mixed round (autocannon_mixed)."""
    pids = backend_pids(database)
    db_before = backend_cpu(pids)
    cpu_before = process_cpu_seconds(server.process.pid)
    if writes:
        result = autocannon_mixed(url, body, connections=connections, duration=duration, writes=writes)
    else:
        result = autocannon(url, body, connections=connections, duration=duration, token=token, expect=expect)
    cpu = process_cpu_seconds(server.process.pid) - cpu_before
    db_cpu = None
    if db_before is not None:
        db_after = backend_cpu(backend_pids(database)) or {}
        db_cpu = sum(max(0.0, seconds - db_before.get(pid, 0.0)) for pid, seconds in db_after.items())
    requests = result["requests"]["total"]
    errors = result["errors"] + result["timeouts"] + result["non2xx"] + result.get("mismatches", 0)
    latency = result["latency"]
    return {
        "connections": connections, "duration_s": result["duration"], "requests": requests, "errors": errors,
        "mismatches": result.get("mismatches", 0), "non2xx": result["non2xx"], "writes": result.get("writes"),
        "status_codes": {code: stats["count"] for code, stats in (result.get("statusCodeStats") or {}).items()},
        "rps": round(requests / result["duration"], 1) if result["duration"] else 0.0,
        "p50_ms": latency["p50"], "p99_ms": latency["p99"], "mean_ms": latency["mean"], "max_ms": latency["max"],
        "server_cpu_ms_per_req": round(cpu * 1000 / requests, 3) if requests else None,
        "db_cpu_ms_per_req": round(db_cpu * 1000 / requests, 3) if requests and db_cpu is not None else None,
        **quiet,
    }
