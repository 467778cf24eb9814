"""What crosses the wire: decoding an incoming frame safely, and how much output daphne has not yet written.

``decode`` never recurses without bound: a frame nested deeper than ``MAX_JSON_DEPTH`` is refused
before ``json.loads`` sees it (a 40 KB ``[[[[…`` frame is a bad message, 4400, not a RecursionError).

``unsent_chars`` is the back-pressure daphne does not give the application: daphne's ``send``
returns at once and Twisted buffers whatever the client does not read. The ASGI ``send`` daphne
hands the application is ``functools.partial(Server.handle_reply, protocol)``; the protocol's Twisted
transport knows how many bytes are still waiting to be written. Any other server (the test
communicator, uvicorn) gives None: then only the bounded outbox and, on graphql-transport-ws, the
ping/pong lag measure apply.
"""

from __future__ import annotations

import functools
import json
import re

# A JSON string (escapes included): its brackets do not count towards nesting.
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = str.maketrans({c: None for c in map(chr, range(128)) if c not in "[]{}"})


class BadFrame(ValueError):
    """A frame that is not a JSON message this server accepts."""


class TooDeep(BadFrame):
    """A frame nested deeper than allowed: closed 4400 on both protocols (legacy too)."""


def nesting_depth(text: str) -> int:
    """The deepest bracket nesting of a JSON text (brackets inside strings ignored); linear, no recursion."""
    depth = deepest = 0
    for char in _STRING.sub("", text).translate(_BRACKETS):
        if char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
        elif char in "]}":
            depth -= 1
    return deepest


def decode(text: str, max_depth: int):
    """The frame's JSON value; BadFrame if it is not JSON or nests deeper than ``max_depth``."""
    if text.count("[") + text.count("{") > max_depth and nesting_depth(text) > max_depth:
        raise TooDeep(f"The message is nested too deeply (at most {max_depth} levels).")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        raise BadFrame("The message is not valid JSON.") from error


def unsent_chars(send) -> int | None:
    """Bytes daphne's transport still holds for this connection (not yet written to the socket), or None
    when the server is not daphne (nothing to measure). Wrappers of ``send`` (middleware) are followed
    through their ``__wrapped__``."""
    for _ in range(10):
        if isinstance(send, functools.partial) or not hasattr(send, "__wrapped__"):
            break
        send = send.__wrapped__
    if not isinstance(send, functools.partial) or not send.args:
        return None
    transport = getattr(send.args[0], "transport", None)
    try:
        return len(transport.dataBuffer) - transport.offset + transport._tempDataLen
    except (AttributeError, TypeError):
        return None
