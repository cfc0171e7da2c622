"""waitress, hardened for a service that strangers can reach: idle, slow and oversized clients.

waitress already bounds the work (a fixed thread pool; a request reaches a
thread only once its headers and whole body have arrived, so a slow upload
never holds a thread) and refuses a Content-Length over the limit before
reading the body. Four of its behaviours are wrong for ``recogenre serve``
and are adjusted here, in waitress' own extension points (the server, channel,
parser and error-task classes), rather than by putting a proxy in front:

1. Connections. waitress stops accepting once ``connection_limit`` sockets are
   open and only closes a socket after ``channel_timeout`` seconds *without
   any byte*: 100 idle sockets, or sockets trickling a header one byte at a
   time, kept ``/healthz`` unreachable for as long as the attacker liked.
   Here a request's line and headers must be complete ``timeout`` seconds
   after its first byte (trickling does not extend that), an idle connection
   and a stalled body are closed after ``timeout`` seconds of silence, a body
   must average ``MIN_BODY_BYTES_PER_S`` after its first ``timeout`` seconds, and
   when every slot is taken and a new client is waiting, the longest-waiting
   connection that is not being served is closed to make room. Only requests
   that are complete and being classified (at most ``threads`` at a time,
   plus those queued for a thread) are never evicted.
2. ``Expect: 100-continue`` on a refused request (body over the limit):
   waitress sent ``100 Continue`` and then waited for a body that could never
   complete the refused request, so the client hung. Here the error answers
   instead of ``100 Continue``.
3. Closing after an error with the client still sending (a 413 sent before
   the body was read, a 400 for garbage followed by more bytes): waitress
   closed the socket with unread data in it, the kernel answered with a
   reset, and ``urllib``/``requests`` saw "connection reset" instead of the
   answer. Here the server sends the answer, half-closes, and reads and
   discards what the client still sends, until the client closes or
   ``LINGER_SECONDS`` pass (the "lingering close" of Apache and nginx).
4. Its own error answers are plain text; here they are the service's JSON.

Sockets are watched with ``poll()`` instead of ``select()``, which cannot
watch file descriptors above 1023 and so would cap the connection limit.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import TcpWSGIServer
from waitress.task import ErrorTask

log = logging.getLogger("recogenre.service")

DEFAULT_CONNECTION_LIMIT = 500
DEFAULT_TIMEOUT_S = 10.0
MIN_CONNECTION_LIMIT = 8
# How long a connection closed after an error keeps reading what the client still sends.
LINGER_SECONDS = 10.0
# A body must average at least this after its first ``timeout`` seconds (a 32 kbit/s link), so that
# one byte every few seconds cannot hold a connection for the hours a large Content-Length allows.
MIN_BODY_BYTES_PER_S = 4096
MAX_HEADER_BYTES = 64 * 1024  # request line and headers; waitress' default of 256 KiB is far more than needed


@dataclass(frozen=True)
class ConnectionLimits:
    connection_limit: int = DEFAULT_CONNECTION_LIMIT
    timeout_s: float = DEFAULT_TIMEOUT_S


class _GuardedParser(HTTPRequestParser):
    """waitress' request parser that remembers when the request began and never 100-continues an error."""

    def __init__(self, adj):
        super().__init__(adj)
        self.started = time.monotonic()  # the header deadline counts from the first byte of the request
        self.body_started: float | None = None

    def received(self, data: bytes) -> int:
        consumed = super().received(data)
        if self.body_started is None and self.headers_finished:
            self.body_started = time.monotonic()
        if self.error is not None:
            # waitress checks ``expect_continue`` after parsing the headers even when it has already
            # refused the request (413), sends "100 Continue", and marks the refused request incomplete:
            # the client sends its body and never gets an answer. A refused request is answered instead.
            self.expect_continue = False
        return consumed


class _GuardedChannel(HTTPChannel):
    """One client connection: waitress' channel plus the lingering close after an error answer."""

    parser_class = _GuardedParser
    linger_on_close = False  # set by the error task: the client may still be sending
    linger_until: float | None = None  # monotonic deadline while lingering

    def readable(self) -> bool:
        return True if self.linger_until is not None else super().readable()

    def writable(self) -> bool:
        if self.linger_until is not None:
            return time.monotonic() >= self.linger_until  # handle_write then closes
        return super().writable()

    def handle_read(self) -> None:
        if self.linger_until is None:
            return super().handle_read()
        try:
            data = self.socket.recv(1 << 16)  # read and discarded: the answer has already been sent
        except OSError:
            data = b""
        if not data:
            self._close_now()

    def handle_write(self) -> None:
        if self.linger_until is not None:
            return self._close_now()
        return super().handle_write()

    def handle_close(self) -> None:
        flushed = not self.total_outbufs_len
        if self.linger_on_close and self.linger_until is None and self.connected and flushed:
            try:
                self.socket.shutdown(socket.SHUT_WR)  # the answer is complete: FIN, then keep reading
            except OSError:
                return self._close_now()
            self.linger_until = time.monotonic() + LINGER_SECONDS
            self.will_close = self.close_when_flushed = False
            return None
        return self._close_now()

    def _close_now(self) -> None:
        self.linger_until = None
        HTTPChannel.handle_close(self)

    def waiting_since(self) -> float | None:
        """When this connection began waiting on its client, or None while a request is being served."""
        if self.requests:
            return None
        if self.linger_until is not None:
            return float("-inf")  # done with: the first to go
        request = self.request
        if request is not None and not request.headers_finished:
            return request.started
        return self.last_activity_monotonic()

    def last_activity_monotonic(self) -> float:
        # waitress keeps last_activity as time.time(); compare like with like
        return time.monotonic() - (time.time() - self.last_activity)


def _json_error_task(error_body: Callable[[int, str], bytes], too_large: Callable[[int], str]):
    class JsonErrorTask(ErrorTask):
        """waitress' own error answers (413, 400, 431, 501...) in the service's JSON format."""

        def execute(self) -> None:
            e = self.request.error
            message = f"{e.reason.lower()}: {e.body}" if e.body else e.reason.lower()
            if e.code == 413:
                message = too_large(self.channel.server.adj.max_request_body_size - 1)
            body = error_body(e.code, message)
            self.status = f"{e.code} {e.reason}"
            self.response_headers.append(("Content-Type", "application/json"))
            self.set_close_on_finish()
            self.channel.linger_on_close = True  # unread body or garbage may follow: see point 3
            self.content_length = len(body)
            self.write(body)
            # a request line that could not be parsed leaves no command or path on the parser (the
            # AttributeError killed the task and left the connection open forever)
            method = getattr(self.request, "command", None) or "-"
            path = getattr(self.request, "path", None) or "-"
            log.info("%s %s %d 0.00s %s", method, path, e.code, message)

    return JsonErrorTask


class GuardedServer(TcpWSGIServer):
    """waitress' TCP server with the connection rules of the module docstring."""

    timeout_s = DEFAULT_TIMEOUT_S
    last_full_warning = float("-inf")

    def maintenance(self, now: float) -> None:
        # Replaces waitress' rule (close after channel_timeout seconds without a byte), which
        # a client trickling one byte at a time never meets.
        timeout = self.timeout_s
        mono = time.monotonic()
        for channel in list(self.active_channels.values()):
            if not isinstance(channel, _GuardedChannel) or channel.requests or channel.linger_until:
                continue  # being served (waitress' rule too), or lingering (closed by its own deadline)
            request = channel.request
            if request is not None and not request.headers_finished:
                expired = mono - request.started > timeout  # header deadline
            else:
                expired = mono - channel.last_activity_monotonic() > timeout  # idle or stalled body
            if not expired and request is not None and request.body_started is not None:
                late = mono - request.body_started - timeout
                expired = late > 0 and request.body_bytes_received < late * MIN_BODY_BYTES_PER_S
            if expired:
                channel.will_close = True

    def readable(self) -> bool:
        # waitress' own readable(), but with room made when full, and one warning a minute instead of
        # two lines each time a connection is closed to make room
        now = time.time()
        if now >= self.next_channel_cleanup:
            self.next_channel_cleanup = now + self.adj.cleanup_interval
            self.maintenance(now)
        if not self.accepting:
            return False
        if len(self._map) < self.adj.connection_limit:
            return True
        self._make_room()
        return False

    def _make_room(self) -> None:
        """Full and a client is waiting to connect: close the connection that has waited longest."""
        if any(c.will_close for c in self.active_channels.values()):
            return  # room is being made already
        if not _connection_waiting(self.socket):
            return  # nobody is waiting: keep every connection
        if time.monotonic() - self.last_full_warning > 60:
            self.last_full_warning = time.monotonic()
            log.warning(
                "%d connections open (--connection-limit): closing the longest-waiting idle or slow ones "
                "to let new clients in",
                len(self.active_channels),
            )
        candidates = [
            (since, channel)
            for channel in self.active_channels.values()
            if isinstance(channel, _GuardedChannel)
            and not channel.will_close
            and (since := channel.waiting_since()) is not None
        ]
        if candidates:
            channel = min(candidates, key=lambda c: c[0])[1]
            if channel.linger_until is not None:
                channel.linger_until = time.monotonic()  # writable() now closes it
            else:
                channel.will_close = True


def _connection_waiting(listener: socket.socket) -> bool:
    poller = select.poll()  # not select(): it fails on descriptors above 1023
    try:
        poller.register(listener, select.POLLIN)
        return bool(poller.poll(0))
    except OSError:
        return True
    finally:
        with contextlib.suppress(Exception):
            poller.unregister(listener)


def create_server(
    app,
    host: str,
    port: int,
    threads: int,
    max_body_bytes: int,
    limits: ConnectionLimits,
    error_body: Callable[[int, str], bytes],
    too_large: Callable[[int], str],
) -> GuardedServer:
    """The waitress server the service runs on (binds the first address ``host`` resolves to)."""
    timeout = max(1, round(limits.timeout_s))
    adj = Adjustments(
        host=host,
        port=port,
        threads=threads,
        # waitress refuses a Content-Length >= this before reading the body
        max_request_body_size=max_body_bytes + 1,
        max_request_header_size=MAX_HEADER_BYTES,
        connection_limit=limits.connection_limit,
        channel_timeout=timeout,  # header deadline, idle and stalled-body timeout (see maintenance)
        cleanup_interval=1,  # how often the timeouts are checked
        asyncore_use_poll=True,
        ident="recogenre",
        expose_tracebacks=False,
        clear_untrusted_proxy_headers=True,
    )
    server = GuardedServer(app, adj=adj)
    server.timeout_s = limits.timeout_s
    error_task = _json_error_task(error_body, too_large)
    server.channel_class = type("JsonGuardedChannel", (_GuardedChannel,), {"error_task_class": error_task})
    return server
