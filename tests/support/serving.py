"""The life cycle the tests' local HTTP servers share: bind a free port on 127.0.0.1, serve
from a daemon thread, stop on ``stop()`` or at the end of a ``with`` block."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TypeVar

Self = TypeVar("Self", bound="LocalServer")


class LocalServer:
    """Base of :class:`LocalIndex` and :class:`FaultProxy`: subclasses name their server
    class and the request handler bound to them."""

    server_class: type[ThreadingHTTPServer] = ThreadingHTTPServer
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    def start(self: Self) -> Self:
        """Bind a free port on 127.0.0.1 and serve from a daemon thread (no-op if running)."""
        if self._server is not None:
            return self
        self._server = self.server_class(("127.0.0.1", 0), self.handler_class())
        self._thread = threading.Thread(
            # Short poll interval: shutdown() waits up to one interval, and every test
            # using a server pays that on teardown.
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port; safe to call twice."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self: Self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not running; call start() first")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The index URL to hand to a resolver: ``http://127.0.0.1:PORT/simple``."""
        return f"{self.base_url}/simple"
