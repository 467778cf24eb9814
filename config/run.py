"""`make run`: embedded services (unless DATABASE_URL / REDIS_URL are set), migrations,
demo data on first start, then daphne (HTTP and websockets), one Celery worker and Celery beat.
The embedded servers are watched: one that dies is started again within a few seconds (the app
degrades meanwhile and reconnects by itself: README "Outages").

The broker is CELERY_BROKER_URL when set (RabbitMQ), else the same Redis (kombu's Redis transport).
Metrics of all these processes meet in PROMETHEUS_MULTIPROC_DIR (.data/prometheus unless set),
emptied at each start. Ctrl-C stops daphne, the worker and beat, then the embedded PostgreSQL and
Redis: nothing is left running.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
# Run as a script, Python puts config/ first on the path, where config/celery.py would shadow Celery.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BASE_DIR / "config"]
sys.path.insert(0, str(BASE_DIR))

from config import embedded  # noqa: E402


def manage(*args: str, env: dict) -> None:
    subprocess.run([sys.executable, str(BASE_DIR / "manage.py"), *args], env=env, check=True, cwd=BASE_DIR)


def commands(host: str, port: str, env: dict) -> dict[str, list[str]]:
    """The three long-running processes (the same commands the containers run; docs/operations.md)."""
    schedule = Path(env.get("CELERY_BEAT_SCHEDULE_FILE") or embedded.DATA_DIR / "celerybeat-schedule")
    return {
        "web": [sys.executable, "-m", "daphne", "-b", host, "-p", port, "--proxy-headers",
                "--access-log", os.devnull, "config.asgi:application"],
        "worker": [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO",
                   "--concurrency", env.get("CELERY_WORKER_CONCURRENCY", "2"), "--hostname", "worker@%h",
                   "--without-mingle", "--without-gossip"],
        "beat": [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO",
                 "--schedule", str(schedule)],
    }


def stop(processes: dict[str, subprocess.Popen]) -> None:
    """SIGTERM to each (the worker finishes its running tasks: a warm shutdown), SIGKILL after 30 s."""
    for process in processes.values():
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 30
    for process in processes.values():
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        try:  # the process group: a worker's pool children too
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()


WATCH_SECONDS = 2.0


def watch(servers) -> None:
    """Starts again any embedded server that died (the app degrades meanwhile, then reconnects)."""
    for server in servers:
        try:
            if server.restart_if_down():
                print(f"embedded {server.name} had stopped; started it again.", flush=True)
        except Exception as error:  # noqa: BLE001 - keep serving; try again at the next check
            print(f"embedded {server.name} is down and could not be started: {error}", flush=True)


def main() -> int:
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    env.setdefault("DEBUG", "1")
    watched: list[embedded.EmbeddedServer] = []
    if not env.get("DATABASE_URL"):
        print("Starting embedded PostgreSQL under .data/postgres ...", flush=True)
        env["DATABASE_URL"] = embedded.postgres.acquire()
        watched.append(embedded.postgres)
    if not env.get("REDIS_URL"):
        print("Starting embedded Redis under .data/redis ...", flush=True)
        env["REDIS_URL"] = embedded.redis_server.acquire()
        watched.append(embedded.redis_server)
    if not env.get("PROMETHEUS_MULTIPROC_DIR"):
        env["PROMETHEUS_MULTIPROC_DIR"] = str(embedded.DATA_DIR / "prometheus")
    shutil.rmtree(env["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
    Path(env["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

    processes: dict[str, subprocess.Popen] = {}
    try:
        manage("migrate", "--noinput", env=env)
        manage("seed", "--size", "demo", "--if-empty", env=env)
        broker = "RabbitMQ (CELERY_BROKER_URL)" if env.get("CELERY_BROKER_URL") else "Redis"
        print(f"\nServing on http://{host}:{port}/graphql (GraphiQL in a browser; websockets at "
              f"ws://{host}:{port}/graphql), with a Celery worker and beat on {broker}. "
              f"Ctrl-C stops everything.\n", flush=True)
        for name, command in commands(host, port, env).items():
            # Each in its own process group: Ctrl-C reaches this script, which stops them in order.
            processes[name] = subprocess.Popen(command, env=env, cwd=BASE_DIR, start_new_session=True)
        next_check = time.monotonic()
        while True:
            for name, process in processes.items():
                code = process.poll()
                if code is not None:
                    print(f"{name} exited with status {code}; stopping the others.", flush=True)
                    return code or 1
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + WATCH_SECONDS
                watch(watched)
            time.sleep(0.5)
    except KeyboardInterrupt:
        return 0
    except subprocess.CalledProcessError as error:
        return error.returncode or 1
    finally:
        # A second Ctrl-C (or make's SIGTERM) must not cut the shutdown short and leave processes behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop(processes)
        embedded.redis_server.release()
        embedded.postgres.release()
        print("Stopped.", flush=True)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    # Explicit: a process started in the background inherits SIGINT ignored.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    sys.exit(main())
