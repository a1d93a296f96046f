"""The anchors of a PEP 503 HTML page (and its ``<base href>``), for :mod:`ftlock.index.pages`.

A module of its own so that ``html.parser`` is imported only when an index answers in
HTML: the JSON pages most indexes send do not need it.
"""

from __future__ import annotations

from html.parser import HTMLParser


class AnchorParser(HTMLParser):
    """Collects ``(text, attributes)`` of every ``<a>`` and the first ``<base href>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[tuple[str, dict[str, str | None]]] = []
        self.base: str | None = None
        self._text: list[str] | None = None
        self._attrs: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "base" and self.base is None:
            self.base = dict(attrs).get("href")
        elif tag == "a":
            self._attrs = dict(attrs)
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._text is not None:
            self.anchors.append(("".join(self._text).strip(), self._attrs))
            self._text = None
