"""What daphne's command line cannot set, applied when config/asgi.py is imported (daphne imports the
application before it builds its protocol factories, so this reaches every connection).

1. **Oversized websocket messages close cleanly.** daphne's ``--websocket-max-message-size`` and
   ``--websocket-max-frame-size`` (1 MiB each by default) are enforced by autobahn, which by default
   *drops* the TCP connection (``failByDrop``): the client sees no close frame. With ``failByDrop``
   off autobahn sends a close frame **1009** (*message too big*) and then closes. Messages under
   that but over ``REALTIME["MAX_MESSAGE_BYTES"]`` (64 KiB) reach the application, which closes 4400.
2. **Oversized HTTP heads get an answer.** Twisted refuses a request line or header line over
   16 KiB by closing the connection without a word, and a head over 16 KiB in total with a bare
   400 that the client usually never reads (the close resets the connection under it). Here a too
   long request line is answered **414** *URI Too Long*, too large headers **431** *Request Header
   Fields Too Large* (``Connection: close``), and the connection is half-closed and drained (a
   "lingering close", at most 2 s) so that the client reads the answer. The same applies to
   websocket handshakes, which are HTTP requests until upgraded.
"""

from __future__ import annotations

_applied = False

def _answer(status: int, reason: bytes, body: bytes) -> bytes:
    return (b"HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n"
            b"Connection: close\r\n\r\n%s") % (status, reason, len(body), body)


URI_TOO_LONG = _answer(414, b"URI Too Long", b"The request line is too long (at most 16 KiB).\n")
HEADERS_TOO_LARGE = _answer(431, b"Request Header Fields Too Large",
                            b"The request headers are too large (at most 16 KiB in all).\n")
LINGER_SECONDS = 2.0


def _refuse(channel, response: bytes) -> None:
    """Writes ``response``, stops parsing, half-closes and discards what the client still sends."""
    from twisted.internet import reactor

    if getattr(channel, "_refused", False):
        return
    channel._refused = True
    channel.setTimeout(None)
    channel.dataReceived = lambda data: None
    channel.lineReceived = lambda line: None
    transport = channel.transport
    transport.write(response)
    try:
        transport.loseWriteConnection()
    except AttributeError:  # not a TCP transport
        transport.loseConnection()
        return
    reactor.callLater(LINGER_SECONDS, transport.abortConnection)


def apply() -> None:
    global _applied
    if _applied:
        return
    _applied = True
    try:
        from daphne.ws_protocol import WebSocketFactory
        from twisted.web import http
    except ImportError:  # not served by daphne
        return

    factory_init = WebSocketFactory.__init__

    def init(self, *args, **kwargs):
        factory_init(self, *args, **kwargs)
        self.setProtocolOptions(failByDrop=False)

    WebSocketFactory.__init__ = init

    def line_length_exceeded(self, line):
        # Still reading the request line (Twisted's private flag): 414; else a header line: 431.
        _refuse(self, URI_TOO_LONG if getattr(self, "_HTTPChannel__first_line", 0) else HEADERS_TOO_LARGE)

    def bad_request(self):
        if self._receivedHeaderSize > self.totalHeadersSize:
            return _refuse(self, HEADERS_TOO_LARGE)
        return original_bad_request(self)

    original_bad_request = http.HTTPChannel._respondToBadRequestAndDisconnect
    http.HTTPChannel.lineLengthExceeded = line_length_exceeded
    http.HTTPChannel._respondToBadRequestAndDisconnect = bad_request
