"""``Content-Encoding`` undone as httpx 0.28 did (httpx/_decoders.py), in bounded pieces."""

from __future__ import annotations

import zlib
from collections.abc import Iterator


class DecodingError(Exception):
    """A body whose ``Content-Encoding`` does not decode (httpx.DecodingError): broken
    gzip is transient, as a cut-off connection is."""


#: what ftlock accepts (httpx sent br and zstd too where their modules were installed)
ACCEPT_ENCODING = "gzip, deflate"
#: the most one inflate step produces: a 1000:1 bomb is cut off at the size limit, never
#: inflated whole first (httpx inflated each network read at once, up to ~64 MiB)
PIECE = 64 * 1024


class _Inflate:
    """One ``gzip`` or ``deflate`` layer.  ``deflate`` is tried with the zlib header
    first and as raw deflate if that fails at once, as httpx does (servers send either)."""

    def __init__(self, gzip: bool) -> None:
        self._fallback = not gzip
        self._inflate = zlib.decompressobj(zlib.MAX_WBITS | 16 if gzip else zlib.MAX_WBITS)

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._inflate.eof:  # what follows the end of the stream is ignored (not kept)
            return
        while True:
            try:
                out = self._inflate.decompress(data, PIECE)
            except zlib.error as exc:
                if self._fallback:
                    self._fallback = False
                    self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise DecodingError(str(exc)) from exc
            self._fallback = False
            if out:
                yield out
            data = self._inflate.unconsumed_tail
            if (not data and len(out) < PIECE) or self._inflate.eof:
                return

    def flush(self) -> Iterator[bytes]:
        try:
            out = self._inflate.flush()
        except zlib.error as exc:  # pragma: no cover - zlib does not raise here
            raise DecodingError(str(exc)) from exc
        if out:
            yield out


class Decoder:
    """The layers a ``Content-Encoding`` header lists, undone last-applied first; unknown
    codings and ``identity`` pass the bytes through (httpx's ``MultiDecoder``)."""

    def __init__(self, layers: list[_Inflate]) -> None:
        self._layers = layers

    @classmethod
    def for_header(cls, value: str | None) -> Decoder | None:
        """None when there is nothing to undo."""
        if not value:
            return None
        codings = [item.strip().lower() for item in value.split(",")]
        layers = [_Inflate(coding == "gzip") for coding in reversed(codings) if coding in ("gzip", "deflate")]
        return cls(layers) if layers else None

    def feed(self, data: bytes) -> Iterator[bytes]:
        return self._through(0, data)

    def flush(self) -> Iterator[bytes]:
        for index, layer in enumerate(self._layers):
            for piece in layer.flush():
                yield from self._through(index + 1, piece)

    def _through(self, index: int, data: bytes) -> Iterator[bytes]:
        if index == len(self._layers):
            yield data
            return
        for piece in self._layers[index].feed(data):
            yield from self._through(index + 1, piece)
