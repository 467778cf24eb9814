"""Production serving: ``python -m config.serve http|ws`` (the Dockerfile's CMD, compose.yaml, bench/compare).

- ``http``: GraphQL over HTTP (and GraphiQL, health, metrics, static files) on granian's WSGI server,
  ``WEB_WORKERS`` processes (default: one per CPU core) on one port, each running Django synchronously in
  ``WEB_THREADS`` threads (default 1: a request never waits for the GIL held by another; granian's Rust
  side keeps accepting and queueing connections meanwhile). No ``sync_to_async`` hop, no Twisted.
- ``ws``: GraphQL subscriptions over websockets on daphne (config/asgi.py; graphql-transport-ws and the
  legacy graphql-ws), one process: scale it by replicas behind the load balancer (compose.yaml's nginx
  routes ``Upgrade: websocket`` there; docs/operations.md). daphne serves HTTP too, so a single ``ws``
  process is a whole server (``make run`` runs exactly that).

Both listen on ``$PORT`` (8000) on all interfaces unless ``--host``/``--port`` say otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys


HEAD_LIMIT_BYTES = 16 * 1024


def workers() -> int:
    value = os.environ.get("WEB_WORKERS", "").strip()
    return int(value) if value else (os.cpu_count() or 1)


def http_command(host: str, port: str, processes: int | None = None) -> list[str]:
    threads = os.environ.get("WEB_THREADS", "1").strip() or "1"
    return [sys.executable, "-m", "granian", "--interface", "wsgi", "--host", host, "--port", str(port),
            "--workers", str(processes or workers()), "--blocking-threads", threads, "--no-ws",
            "--respawn-failed-workers", "--no-access-log", "--log-level", "warning",
            # A request head (request line and headers) over 16 KiB: 431, as daphne's limits (config/daphne_options.py).
            "--http1-buffer-size", str(HEAD_LIMIT_BYTES),
            # A graceful stop waits at most this long for running requests.
            "--workers-kill-timeout", os.environ.get("WEB_KILL_TIMEOUT", "15"),
            "config.wsgi:application"]


def ws_command(host: str, port: str) -> list[str]:
    # The app logs one JSON line per request itself: daphne's access log would repeat each.
    return [sys.executable, "-m", "daphne", "-b", host, "-p", str(port), "--proxy-headers",
            "--access-log", os.devnull, "config.asgi:application"]


COMMANDS = {"http": http_command, "ws": ws_command}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m config.serve", description=__doc__.splitlines()[0])
    parser.add_argument("tier", choices=sorted(COMMANDS))
    parser.add_argument("--host", default=os.environ.get("HOST", "0.0.0.0"))
    parser.add_argument("--port", default=os.environ.get("PORT", "8000"))
    args = parser.parse_args(argv)
    command = COMMANDS[args.tier](args.host, args.port)
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
