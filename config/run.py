"""`make run`: embedded services (unless DATABASE_URL / REDIS_URL are set), migrations,
demo data on first start, then daphne serving HTTP and websockets.

Ctrl-C stops daphne, then the embedded PostgreSQL and Redis: nothing is left running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from config import embedded  # noqa: E402


def manage(*args: str, env: dict) -> None:
    subprocess.run([sys.executable, str(BASE_DIR / "manage.py"), *args], env=env, check=True, cwd=BASE_DIR)


def main() -> int:
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    env.setdefault("DEBUG", "1")
    if not env.get("DATABASE_URL"):
        print("Starting embedded PostgreSQL under .data/postgres ...", flush=True)
        env["DATABASE_URL"] = embedded.postgres.acquire()
    if not env.get("REDIS_URL"):
        print("Starting embedded Redis under .data/redis ...", flush=True)
        env["REDIS_URL"] = embedded.redis_server.acquire()

    daphne = None
    try:
        manage("migrate", "--noinput", env=env)
        manage("seed", "--size", "demo", "--if-empty", env=env)
        print(f"\nServing on http://{host}:{port}/graphql (GraphiQL in a browser; websockets at "
              f"ws://{host}:{port}/graphql). Ctrl-C stops everything.\n", flush=True)
        daphne = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", host, "-p", port, "--proxy-headers", "config.asgi:application"],
            env=env, cwd=BASE_DIR,
        )
        return daphne.wait()
    except KeyboardInterrupt:
        return 0
    except subprocess.CalledProcessError as error:
        return error.returncode or 1
    finally:
        if daphne is not None and daphne.poll() is None:
            daphne.terminate()
            try:
                daphne.wait(15)
            except subprocess.TimeoutExpired:
                daphne.kill()
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
