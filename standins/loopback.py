"""What the stand-ins of outside systems share: an HTTP server on loopback that can end its
keep-alive connections on stop and close a connection with a reset, as a failing peer does."""

from __future__ import annotations

import logging
import socket
import struct
import threading
from contextlib import suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger(__name__)


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        standin: Any,
        name: str,
    ) -> None:
        self.standin = standin  # the handlers' way to their stand-in
        self.name = name
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._to_reset: set[socket.socket] = set()
        super().__init__(address, handler)

    def track(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.add(sock)

    def mark_reset(self, sock: socket.socket) -> None:
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with self._lock:
            self._to_reset.add(sock)

    def shutdown_request(self, request: Any) -> None:
        with self._lock:
            self._open.discard(request)
            reset = request in self._to_reset
            self._to_reset.discard(request)
        if reset:
            request.close()  # no shutdown(SHUT_WR) first: that would send a FIN
        else:
            super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._lock:
            sockets = list(self._open)
        for sock in sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up (timeouts in tests) are normal here.
        log.debug("%s: connection error from %s", self.name, client_address, exc_info=True)


class LoopbackHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a requests.Session expects
    sys_version = ""
    server: LoopbackServer

    def setup(self) -> None:
        super().setup()
        # headers and body are two writes: without NODELAY, Nagle plus the client's delayed
        # ACK add ~40 ms to every keep-alive response
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # each stand-in keeps its own request log

    def _serve(self) -> None:
        raise NotImplementedError  # each stand-in answers every method in one place

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET
