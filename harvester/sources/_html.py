"""Helpers shared by the HTML sources (Telegram Desktop exports, t.me pages).

Everything here is pure: strings and selectolax nodes in, plain data out.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser, LexborNode

TME = "https://t.me/"

# Tags whose content is never visible text.
_SKIP_TAGS = frozenset({"script", "style", "template", "noscript", "head", "title", "svg", "-comment"})
# Block-level tags: their content starts and ends on a line of its own.
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "dd", "details", "div", "dl", "dt",
        "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
        "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary",
        "table", "tr", "ul",
    }
)
_WHITESPACE_RE = re.compile(r"[ \t\r\n\f\v\xa0]+")
_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_HOST_RE = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+(?P<tld>[A-Za-z]{2,24})(?::\d{1,5})?$")
# Extensions of files an export links to; a bare "sticker.webp" is a file, not a host.
_FILE_EXTENSIONS = frozenset(
    {"webp", "webm", "tgs", "jpg", "jpeg", "png", "gif", "mp4", "mov", "ogg", "oga", "opus", "mp3",
     "html", "htm", "json", "txt", "pdf", "css", "js", "zip", "vcf", "wav", "heic"}
)
# A hashtag: '#' not glued to a word, then word characters with at least one non-digit.
_HASHTAG_RE = re.compile(r"(?<![\w#&/])#(\w{1,256})")
_URLISH_RE = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.-]*://|www\.)\S+")


def decode(data: bytes) -> str:
    """UTF-8 text of a page; a BOM is dropped and bad bytes become U+FFFD."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return data.decode("utf-8", errors="replace")


def looks_binary(text: str) -> bool:
    """Whether decoded content is clearly not a text document (NULs or mostly U+FFFD)."""
    sample = text[:65536]
    if not sample:
        return False
    if "\x00" in sample:
        return True
    return sample.count("\ufffd") > max(16, len(sample) // 20)


def parse_document(html: str) -> LexborHTMLParser:
    return LexborHTMLParser(html)


def classes(node: LexborNode) -> set[str]:
    value = node.attributes.get("class") or ""
    return set(value.split())


def collapse(text: str | None) -> str:
    """Whitespace runs as single spaces, trimmed: how a browser shows inline text."""
    if not text:
        return ""
    return _WHITESPACE_RE.sub(" ", text).strip()


def node_text(node: LexborNode | None) -> str:
    """The visible text of ``node``: entities decoded, ``<br>`` as newlines.

    Source whitespace collapses as in a browser; block elements (``div``, ``p``,
    ``blockquote``...) sit on lines of their own; ``<pre>`` keeps its whitespace.
    """
    if node is None:
        return ""
    out = _TextBuilder()
    # Iterative walk: a deeply nested (or hostile) page must not hit the recursion limit.
    stack: list[tuple[LexborNode, bool, int]] = [(node, False, 0)]
    while stack:
        current, leaving, pre = stack.pop()
        tag = current.tag
        if leaving:
            if tag in _BLOCK_TAGS:
                out.block_break()
            continue
        if tag == "-text":
            out.text(current.text_content or "", pre=pre > 0)
            continue
        if tag is None or tag in _SKIP_TAGS or (tag.startswith("-") and current is not node):
            continue
        if tag == "br":
            out.newline()
            continue
        if tag in _BLOCK_TAGS and current is not node:
            out.block_break()
        inner_pre = pre + (1 if tag == "pre" else 0)
        stack.append((current, True, pre))
        children = list(current.iter(include_text=True))
        for child in reversed(children):
            stack.append((child, False, inner_pre))
    return out.result()


class _TextBuilder:
    def __init__(self) -> None:
        self._parts: list[str] = []

    def _tail(self) -> str:
        return self._parts[-1][-1:] if self._parts else ""

    def _at_line_start(self) -> bool:
        return not self._parts or self._tail() == "\n"

    def text(self, value: str, pre: bool = False) -> None:
        if not value:
            return
        if pre:
            self._parts.append(value.replace("\r\n", "\n").replace("\xa0", " "))
            return
        value = _WHITESPACE_RE.sub(" ", value)
        if value.startswith(" ") and (self._at_line_start() or self._tail() == " "):
            value = value[1:]
        if value:
            self._parts.append(value)

    def _trim_trailing_spaces(self) -> None:
        while self._parts:
            last = self._parts[-1].rstrip(" ")
            if last:
                self._parts[-1] = last
                return
            self._parts.pop()

    def newline(self) -> None:
        self._trim_trailing_spaces()
        self._parts.append("\n")

    def block_break(self) -> None:
        self._trim_trailing_spaces()
        if self._parts and self._tail() != "\n":
            self._parts.append("\n")

    def result(self) -> str:
        return "".join(self._parts).strip(" \n")


def resolve_href(href: str | None, base: str = TME) -> str | None:
    """An absolute URL for an ``<a href>``, or None when it leads nowhere useful.

    * empty, fragment-only (``#go_to_message12``) and ``javascript:`` links: None;
    * absolute URLs (any scheme): unchanged; ``//host/path``: https;
    * site-relative (``/channel/+abc``, ``/s/name/123``, ``?q=...``): against ``base``;
    * a bare host (``example.com/page``, as Telegram writes schemeless URL
      entities): ``http://`` is prepended, as Telegram does when opening it;
    * any other relative path (``stickers/sticker.webp``): a file of a local
      export, None.
    """
    if href is None:
        return None
    href = href.strip()
    if not href or href.startswith("#"):
        return None
    if _SCHEME_RE.match(href):
        if href[:11].lower() == "javascript:":
            return None
        return href
    if href.startswith("//"):
        return "https:" + href
    if href.startswith(("/", "?")):
        return urljoin(base, href)
    first = re.split(r"[/?#]", href, maxsplit=1)[0]
    match = _HOST_RE.match(first)
    if match and match.group("tld").lower() not in _FILE_EXTENSIONS:
        return "http://" + href
    return None


def hashtags_in(text: str) -> list[str]:
    """Hashtags written in ``text`` (without '#', lowercased, first occurrence order).

    URL fragments (``page#section``) are not hashtags, nor are all-digit tags (``#1``).
    """
    text = _URLISH_RE.sub(" ", text)
    found: list[str] = []
    for match in _HASHTAG_RE.finditer(text):
        add_hashtag(found, match.group(1))
    return found


def add_hashtag(tags: list[str], tag: str | None) -> None:
    """Append ``tag`` (with or without '#') to ``tags`` lowercased, once."""
    if not tag:
        return
    tag = tag.strip().lstrip("#").strip().lower()
    if tag.strip("_").isdigit() or not tag.strip("_"):
        return
    if tag not in tags:
        tags.append(tag)
