"""Input formats. Each module turns one format into ``Post`` objects.

A source module exposes:

* ``NAME``: the name used by ``--format``;
* ``sniff(head: bytes) -> bool``: whether the first bytes look like this format;
* ``parse(stream: BinaryIO, source: str) -> Iterator[Post]``: the posts, read
  incrementally; malformed input raises ``SourceError``.

The format is detected from the content, never from the file name.
"""

from __future__ import annotations

from typing import BinaryIO, Iterator

from ..errors import SourceError, UnknownFormatError
from ..models import Post
from . import telegram_html, telegram_json, text, tme
from .text import lines_of

# Order matters: the most specific formats are sniffed first, plain text last.
SOURCES = {module.NAME: module for module in (telegram_json, tme, telegram_html, text)}
FORMAT_NAMES = tuple(SOURCES)

SNIFF_BYTES = 64 * 1024


def detect_format(head: bytes, source: str = "<input>") -> str:
    """The name of the format whose ``sniff`` accepts ``head``."""
    if not head.strip():
        raise UnknownFormatError(source, "empty input")
    for name, module in SOURCES.items():
        if module.sniff(head):
            return name
    raise UnknownFormatError(source, "unknown format (not a Telegram export, t.me page or text dump)")


def read_posts(stream: BinaryIO, source: str, format: str | None = None) -> Iterator[Post]:
    """Detect the format of ``stream`` (unless given) and yield its posts."""
    if format is None:
        stream = _Peekable(stream)
        format = detect_format(stream.peek_head(), source)
    elif format not in SOURCES:
        raise SourceError(source, f"unknown format {format!r}; choose from {', '.join(FORMAT_NAMES)}")
    return SOURCES[format].parse(stream, source)


class _Peekable:
    """A read-only binary stream whose first bytes can be looked at without consuming them.

    Works for pipes (stdin) as well as files, which ``seek`` would not.
    """

    def __init__(self, raw: BinaryIO):
        self._raw = raw
        self._head = raw.read(SNIFF_BYTES)
        self._pos = 0

    def peek_head(self) -> bytes:
        return self._head

    def read(self, size: int = -1) -> bytes:
        if self._pos < len(self._head):
            if size is None or size < 0:
                out = self._head[self._pos :] + self._raw.read()
                self._pos = len(self._head)
                return out
            out = self._head[self._pos : self._pos + size]
            self._pos += len(out)
            if len(out) < size:
                out += self._raw.read(size - len(out))
            return out
        return self._raw.read(size)

    def readable(self) -> bool:
        return True

    def __iter__(self):
        # Line iteration, for sources that read text line by line.
        return lines_of(iter(lambda: self.read(SNIFF_BYTES), b""))


__all__ = ["FORMAT_NAMES", "Post", "SOURCES", "SourceError", "UnknownFormatError", "detect_format", "read_posts"]
