"""Closing the open websockets of an ended session or a disabled account (4403), within seconds.

Two ways, both needed:

- **Events** (immediate): ending a session (logout, refresh-token replay) publishes
  ``session_revoked``; deactivating or deleting an account publishes ``user_deactivated``
  (users/sessions.py, users/receivers.py), both to the user's group ``user.<id>.sessions``
  (common/events.py). One guard per process (per event loop) joins, on a channel of its own, the
  groups of the users with an authenticated socket here, and closes the matching sockets: those
  of that session, or all of that user's.
- **A periodic re-check** (``AUTH_RECHECK_INTERVAL``, 10 s; one executor job for all the process's
  authenticated sockets: one query for the users still active, one Redis round trip for the
  sessions on the denylist) catches what sends no event: a bulk ``UPDATE`` of ``is_active``, an
  event lost while Redis was away, a session ended between a socket's authentication and its
  joining the group.

A socket is not closed when its access token expires: it authenticated once, at connection_init, and
stays as long as its session and account do.
"""

from __future__ import annotations

import asyncio
import logging

from channels.layers import get_channel_layer

from common.events import sessions_group

from .conf import conf
from .executor import run_sync
from .loop_local import loop_local

logger = logging.getLogger(__name__)


def _still_allowed(user_ids: list[int], session_ids: list[str]) -> tuple[set[int], set[str]]:
    """Executor job: (the users still active, the sessions that ended)."""
    from django.contrib.auth import get_user_model
    from users.sessions import sessions_ended

    active = set(get_user_model().objects.filter(pk__in=user_ids, is_active=True).values_list("pk", flat=True))
    return active, sessions_ended(session_ids)


class SessionGuard:
    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.layer = get_channel_layer()
        self.channel: str | None = None
        self.by_user: dict[int, set] = {}
        self.joined: set[int] = set()
        self._lock = asyncio.Lock()
        self._listener: asyncio.Task | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task] = set()

    # --- sockets ---------------------------------------------------------------------------
    async def watch(self, conn) -> None:
        """Watches an authenticated socket (``conn.viewer``); when this returns, its user's events reach it."""
        user_id = conn.viewer.pk
        self.by_user.setdefault(user_id, set()).add(conn)
        if self._timer is None:
            self._timer = self.loop.call_later(float(conf("AUTH_RECHECK_INTERVAL")), self._recheck)
        try:
            await self._sync(user_id)
        except Exception:  # noqa: BLE001 - the periodic re-check still covers this socket
            logger.warning("realtime: could not join the sessions group of user %s", user_id, exc_info=True)

    def unwatch(self, conn) -> None:
        viewer = getattr(conn, "viewer", None)
        conns = self.by_user.get(getattr(viewer, "pk", None))
        if conns is None or conn not in conns:
            return
        conns.discard(conn)
        if not conns:
            self.by_user.pop(viewer.pk, None)
            self._spawn(self._sync(viewer.pk))

    def watching(self, user_id: int) -> bool:
        """Whether events about ``user_id`` reach this process (its group is joined)."""
        return user_id in self.joined

    async def _sync(self, user_id: int) -> None:
        async with self._lock:
            if self.layer is None:
                return
            if self.channel is None:
                self.channel = await self.layer.new_channel("realtime.sessions.")
                self._listener = self.loop.create_task(self._listen())
            wanted = bool(self.by_user.get(user_id))
            if wanted and user_id not in self.joined:
                await self.layer.group_add(sessions_group(user_id), self.channel)
                self.joined.add(user_id)
            elif not wanted and user_id in self.joined:
                await self.layer.group_discard(sessions_group(user_id), self.channel)
                self.joined.discard(user_id)

    # --- events ----------------------------------------------------------------------------
    async def _listen(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep listening; channels-redis reconnects
                logger.exception("realtime: receiving session events failed")
                await asyncio.sleep(1)
                continue
            try:
                self.on_event(message.get("kind"), message.get("data") or {})
            except Exception:  # noqa: BLE001
                logger.exception("realtime: could not handle the session event %r", message)

    def on_event(self, kind: str, data: dict) -> None:
        conns = self.by_user.get(data.get("user_id"), ())
        if kind == "session_revoked":
            conns = [c for c in conns if getattr(c.viewer, "auth_session_id", None) == data.get("session_id")]
        elif kind != "user_deactivated":
            return
        for conn in list(conns):
            self._end(conn)

    def _end(self, conn) -> None:
        self.unwatch(conn)
        conn.access_ended()

    # --- the periodic re-check -------------------------------------------------------------
    def _recheck(self) -> None:
        self._timer = None
        if self.by_user:
            self._spawn(self._run_recheck())

    async def _run_recheck(self) -> None:
        try:
            conns = [conn for group in self.by_user.values() for conn in group]
            sessions = [s for s in {getattr(c.viewer, "auth_session_id", None) for c in conns} if s]
            active, ended = await run_sync(_still_allowed, list(self.by_user), sessions)
            for conn in conns:
                if conn.viewer.pk not in active or getattr(conn.viewer, "auth_session_id", None) in ended:
                    self._end(conn)
        except Exception:  # noqa: BLE001 - e.g. PostgreSQL away: try again next time
            logger.warning("realtime: re-checking sessions failed", exc_info=True)
        finally:
            if self.by_user and self._timer is None:
                self._timer = self.loop.call_later(float(conf("AUTH_RECHECK_INTERVAL")), self._recheck)

    def _spawn(self, coroutine) -> None:
        task = self.loop.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def get_guard() -> SessionGuard:
    """This event loop's guard (kept on the loop, so it goes away with it)."""
    return loop_local("session_guard", SessionGuard)
