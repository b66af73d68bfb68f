"""Plain-text and Markdown dumps of channels, like the bundled seeds.

These are text renderings of public ``t.me/s/<channel>`` pages. They carry no
post ids, so post boundaries are inferred. The heuristic, in order:

1. **Header.** If ``Download Telegram`` appears in the first lines, everything
   up to it is the channel header (title, counters, description, links); the
   first line is the channel title. Otherwise a first line that reads like a
   channel "about" line (``Label: https://t.me/...`` or ``Label: @handle`` pairs,
   with no other link) is the header, and the channel is the first t.me
   username in it. Header links describe the channel: they are not mentions.
2. **Hard boundaries.** ``Forwarded from X`` starts a post; a reactions line
   (``👍1🔥1``) ends one; ``Читать полностью…`` ("read more") ends one and any
   text glued after it starts the next.
3. **Post endings.** A media placeholder (``Please open Telegram to view this
   post`` / ``VIEW IN TELEGRAM``), a link-preview card, or a hashtag-only line
   after some content puts the post in a *closing* state: more hashtags, cards
   and placeholders still belong to it, and the next line of ordinary text
   starts a new post.
4. **Markdown headers.** A ``# Title`` line starts a post.
5. **Preview cards.** A card is three lines: site name, title, description. A
   line is read as a site name when it is a well-known one (``GitHub``,
   ``Хабр``, ``YouTube``, ...), or when it is short, has no sentence punctuation
   and directly follows a line that is only a URL, hashtags or a placeholder.
   A line that holds a link (a URL, a bare link, an id) is never a card's title
   or description: ``Код:`` / ``GitHub`` / ``https://github.com/...`` are the
   post's label lines and link, and after a card with no description the next
   post's first line may follow directly.
   A card's URL is the last link in the post on the card's site, if any, as
   ``harvester.links`` finds and trims it (not cut short). HTML entities the
   dump kept in a card's title and description (``&mdash;``) are decoded once.

Posts that run together with none of these signs stay merged: that only
affects how many posts count as mentioning a link, never which links are found.
"""

from __future__ import annotations

import codecs
import html
import itertools
import json
import re
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator
from urllib.parse import urlsplit

from ..errors import SourceError
from ..extract import decode_body
from ..links import find_links
from ..models import Anchor, Post, Preview

NAME = "text"

HEADER_SCAN_LINES = 40
DOWNLOAD_TELEGRAM = "Download Telegram"
FORWARDED_RE = re.compile(r"^Forwarded from\s+(?P<name>.+?)\s*$")
READ_MORE_RE = re.compile(r"^(?:Читать полностью|Show more|Read more)(?:…|\.\.\.)\s*(?P<rest>.*)$")
PLACEHOLDERS = frozenset({"Please open Telegram to view this post", "VIEW IN TELEGRAM"})
# One or more "<emoji><count>" pairs, e.g. "👍1🔥1" or "❤ 12 👏 3".
REACTIONS_RE = re.compile(r"^(?:[^\w\s]{1,3}\ufe0f?\s*\d+(?:[.,]\d+)?[KkMm]?\s*)+$")
HASHTAG_LINE_RE = re.compile(r"^(?:#\w[^\s#]*\s*)+$")
MARKDOWN_HEADER_RE = re.compile(r"^#{1,6}\s+\S")
# What may follow where a JSON document's head was cut: part of a number or of true/false/null.
JSON_TOKEN_START_RE = re.compile(r"[\s\d.eE+-]*|t(?:r(?:ue?)?)?|f(?:a(?:l(?:se?)?)?)?|n(?:u(?:ll?)?)?")
# A stylesheet or a script (an HTML export's css/style.css and js/script.js) is not a dump: it starts, after
# comments, with a CSS rule or a JavaScript statement, and most of its lines end like code.
CODE_COMMENTS_RE = re.compile(rb"(?:\s+|/\*.*?\*/|//[^\n]*)*", re.DOTALL)
STYLESHEET_START_RE = re.compile(
    rb"@(?:charset|import|media|font-face|keyframes|supports|namespace|layer)\b"
    rb"|[-\w.#:,>+~*\[\]=\"'\s()]{1,200}\{\s*(?:[-a-z]+\s*:|\})",
    re.IGNORECASE,
)
SCRIPT_START_RE = re.compile(
    rb"[\"']use strict[\"']|function\s*[\w$]*\s*\(|\(function\b|(?:var|let|const)\s+[\w$]+\s*="
    rb"|(?:window|document)\.[\w$]|import\s[^\n]*\bfrom\s|export\s+(?:default|function|const|class)\b"
)
CODE_LINE_ENDS = (b"{", b"}", b";", b",", b"*/", b"(", b")")
CODE_LINE_STARTS = (b"//", b"/*", b"*", b"}")
CODE_SCAN_LINES = 200
URL_ONLY_RE = re.compile(r"^\S+://\S+$")
URL_RE = re.compile(r"https?://[^\s<>\"'«»]+")
# The URL may hold balanced parentheses: [Transformer](https://en.wikipedia.org/wiki/Transformer_(model)).
MARKDOWN_LINK_RE = re.compile(r"\[(?P<text>[^\]\n]{1,500})\]\((?P<href>https?://(?:[^\s()]|\([^\s()]*\))+)\)")
ABOUT_PAIR_RE = re.compile(r"(?:^|\s)[\w.-]{1,20}:\s+(?:https?://t\.me/\S+|@\w{3,})")
TME_USERNAME_RE = re.compile(r"https?://t\.me/(?:s/)?(?P<name>[A-Za-z][\w]{3,})")
COUNTER_RE = re.compile(r"^[\d.,]+[KkMm]?\s+(?:subscribers?|members?|photos?|videos?|files?|links?)$")

# Site names that Telegram prints on preview cards, with the host they stand for.
KNOWN_SITES = {
    "GitHub": "github.com",
    "Хабр": "habr.com",
    "Habr": "habr.com",
    "YouTube": "youtube.com",
    "arXiv.org": "arxiv.org",
    "arXiv": "arxiv.org",
    "Hugging Face": "huggingface.co",
    "huggingface.co": "huggingface.co",
    "Medium": "medium.com",
    "Telegram": "t.me",
    "Telegraph": "telegra.ph",
    "X (formerly Twitter)": "x.com",
    "Twitter": "twitter.com",
    "Google Docs": "docs.google.com",
    "Wikipedia": "wikipedia.org",
    "Kaggle": "kaggle.com",
    "LinkedIn": "linkedin.com",
    "Substack": "substack.com",
    "vc.ru": "vc.ru",
    "Teletype": "teletype.in",
}
SITE_NAME_MAX = 40
CLOSING_HASHTAG_AFTER = 3

# How much is read before deciding how the dump is encoded (what sniffing looks at too).
HEAD_BYTES = 64 * 1024
# A Unicode encoding other than UTF-8 is told by its BOM (Windows Notepad's "Unicode" is UTF-16).
UNICODE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16-LE, whose BOM it starts with
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Bibliographic records and tables (_looks_like_records): a BibTeX entry (after % comments),
# a header row of short column names.
BIBTEX_START_RE = re.compile(rb"(?:\s|%[^\n]*\n)*@[A-Za-z]+\s*[{(]")
TABLE_HEADER_RE = re.compile(rb'"?[A-Za-z_][\w .-]{0,39}"?')
TABLE_MIN_COLUMNS = 4
TABLE_SCAN_LINES = 20
# Share of letters among the non-ASCII characters of a dump in a legacy encoding.
LEGACY_LETTERS = 0.8
# Share of a dump's non-ASCII bytes that form UTF-8 characters from which it is UTF-8 (with a few bad bytes).
UTF8_SHARE = 0.5
ASCII_BYTES = bytes(range(0x80))
# Control characters no text holds (tab, line breaks, form feed and escape are text).
BINARY_BYTES = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]")


def sniff(head: bytes) -> bool:
    """Text is the fallback: anything that is text (UTF-8, UTF-16/32 with a BOM, or a legacy
    encoding such as cp1251) and is not JSON, HTML, a stylesheet or a script."""
    codec = _unicode_codec(head)
    if codec:
        # The head may end mid-character: that one becomes U+FFFD.
        head = head.decode(codec, errors="replace").encode("utf-8")
    if b"\x00" in head:
        return False
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped or _looks_like_json(stripped):
        return False
    lowered = stripped[:200].lower()
    if lowered.startswith((b"<!doctype", b"<html", b"<?xml")) or _looks_like_code(stripped):
        return False
    if _looks_like_records(stripped):
        return False
    if _looks_binary(head):
        return False
    # The head may end mid-character: ignore the last few bytes.
    sample = head[:-4] if len(head) > 4 else head
    decoded = sample.decode("utf-8", errors="replace")
    return decoded.count("\ufffd") <= max(2, len(decoded) // 200) or _legacy_codec(sample) is not None


def _unicode_codec(head: bytes) -> str | None:
    """UTF-16 or UTF-32, when ``head`` starts with its BOM."""
    return next((codec for bom, codec in UNICODE_BOMS if head.startswith(bom)), None)


def _looks_binary(head: bytes) -> bool:
    """Whether ``head`` holds more control characters than any text (random bytes hold one in 10)."""
    return len(BINARY_BYTES.findall(head, 0, HEAD_BYTES)) > len(head[:HEAD_BYTES]) // 1000


def _legacy_codec(data: bytes) -> str | None:
    """The legacy encoding (cp1251, koi8-r, cp1252, ...) ``data``, which is not UTF-8, is in; None if there is none.

    Text whose non-ASCII bytes are mostly UTF-8 characters is UTF-8 with a
    few bad bytes, not another encoding: None. A single UTF-8 character does
    not make it so: legacy letters form one by chance (KOI8-R's "сё" of
    "всё", cp1251's "С»" of "«ТАСС»").
    """
    non_ascii_bytes = len(data.translate(None, ASCII_BYTES))
    bad_bytes = len(data) - len(data.decode("utf-8", errors="ignore").encode("utf-8"))
    if non_ascii_bytes - bad_bytes >= UTF8_SHARE * non_ascii_bytes:
        return None
    text, codec = decode_body(data)
    if codec.startswith("utf-8"):
        return None
    # decode_body picks the least garbled reading, however garbled: bytes of no encoding read as
    # KOI8-R's box-drawing characters. A dump's non-ASCII characters are mostly letters.
    non_ascii = [character for character in text if not character.isascii()]
    return codec if sum(character.isalpha() for character in non_ascii) >= LEGACY_LETTERS * len(non_ascii) else None


def _looks_like_json(head: bytes) -> bool:
    """Whether ``head``, the start of a file cut anywhere, is JSON: it parses, or stops parsing only where it was cut.

    ``[1] Attention… https://...``, ``[12.05.2024 10:00] Борис: ...`` and
    ``{Пост}`` start like JSON but are text: the JSON stops making sense
    before the head ends.
    """
    if head[:1] not in (b"{", b"["):
        return False
    text = head.decode("utf-8", errors="replace")
    try:
        _, end = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError as error:
        # Cut inside a string, or at (or inside) the next token.
        return error.msg.startswith("Unterminated string") or bool(JSON_TOKEN_START_RE.fullmatch(text, error.pos))
    except (RecursionError, ValueError):
        return True  # nested deeper than Python's stack, or a number too long for int(): JSON, not prose
    return not text[end:].strip()


def _looks_like_records(head: bytes) -> bool:
    """Whether ``head`` is bibliographic records or a table (BibTeX, RIS, CSV/TSV with a header row),
    as our own exports write them: no posts, and a dump read from them makes every record a mention."""
    if BIBTEX_START_RE.match(head) or head.startswith(b"TY  - "):
        return True
    lines = [line for line in head.splitlines()[:TABLE_SCAN_LINES] if line.strip()]
    if len(lines) < 2:
        return False
    for separator in (b",", b"\t"):
        header = lines[0].rstrip(b"\r").split(separator)
        if len(header) >= TABLE_MIN_COLUMNS and all(TABLE_HEADER_RE.fullmatch(name.strip()) for name in header):
            return all(line.count(separator) >= len(header) - 1 for line in lines[1:-1] or lines[1:])
    return False


def _looks_like_code(head: bytes) -> bool:
    """Whether ``head`` is a stylesheet or a script rather than a dump (see ``CODE_COMMENTS_RE``)."""
    start = CODE_COMMENTS_RE.match(head).end()
    if not (STYLESHEET_START_RE.match(head, start) or SCRIPT_START_RE.match(head, start)):
        return False
    lines = [line.strip() for line in head.splitlines()[:CODE_SCAN_LINES]]
    lines = [line for line in lines if line]
    code = sum(1 for line in lines if line.endswith(CODE_LINE_ENDS) or line.startswith(CODE_LINE_STARTS))
    return code * 3 >= len(lines) * 2


def parse(stream: BinaryIO, source: str) -> Iterator[Post]:
    """The posts of a dump; a dump that is not text (binary data, bytes of no encoding) raises ``SourceError``."""
    return parse_lines(_decoded_lines(stream, source), source)


def _decoded_lines(stream: BinaryIO, source: str) -> Iterator[str]:
    """The lines of a dump, decoded: UTF-8, else the encoding a BOM declares, else a legacy one detected.

    A wrong guess is no option: a byte decoded wrongly cut a URL short
    (``https://example.com/caf`` for ``café``), which was stored silently.
    UTF-8 is read line by line; the encoding is decided on the first
    ``HEAD_BYTES``, so a UTF-8 dump with a bad byte further on is an error.
    """
    head = stream.read(HEAD_BYTES)
    codec = _unicode_codec(head)
    if codec:
        data = head + stream.read()
        try:
            text = data.decode(codec)
        except UnicodeDecodeError as error:
            raise SourceError(source, f"not {codec.upper()} text ({_bad_byte(data, error.start)})") from None
        yield from _split_lines(text)
        return
    if _looks_binary(head):
        raise SourceError(source, "binary data, not a text dump")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        if not (error.reason == "unexpected end of data" and len(head) == HEAD_BYTES):  # not cut mid-character
            data = head + stream.read()
            codec = _legacy_codec(data)
            if codec is None:
                raise SourceError(source, f"not UTF-8 text ({_bad_byte(data, error.start)})") from None
            yield from _split_lines(data.decode(codec, errors="replace"))
            return
    offset = 0
    for raw in _raw_lines(head, stream):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise SourceError(source, f"not UTF-8 text ({_bad_byte(raw, error.start, offset)})") from None
        offset += len(raw)
        yield line.rstrip("\r\n")


def _split_lines(text: str) -> Iterator[str]:
    """Lines as a UTF-8 dump is split: at "\\n" only (str.splitlines also splits at U+2028, U+0085, ...)."""
    return (line.rstrip("\r") for line in text.split("\n"))


def _bad_byte(data: bytes, index: int, offset: int = 0) -> str:
    return f"byte 0x{data[index]:02x} at offset {offset + index}"


def _raw_lines(head: bytes, stream: BinaryIO) -> Iterator[bytes]:
    """The lines of ``head`` and the rest of ``stream``, each with its line break."""
    return lines_of(itertools.chain([head], iter(lambda: stream.read(HEAD_BYTES), b"")))


def lines_of(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The lines, each with its b"\\n", of bytes read in ``chunks``.

    A line that spans chunks is joined once, at its end: re-splitting a
    growing buffer made a 50 MB line cost time quadratic in its length.
    """
    pending: list[bytes] = []
    for chunk in chunks:
        *lines, rest = chunk.split(b"\n")
        if lines:
            if pending:
                lines[0] = b"".join([*pending, lines[0]])
                pending = []
            for line in lines:
                yield line + b"\n"
        if rest:
            pending.append(rest)
    if pending:
        yield b"".join(pending)


def parse_text(text: str, source: str = "<text>") -> list[Post]:
    """All posts in a text dump. Pure: for tests and callers holding a string."""
    return list(parse_lines(text.splitlines(), source))


def parse_lines(lines: Iterable[str], source: str) -> Iterator[Post]:
    lines = iter(lines)
    head: list[str] = []
    for line in lines:
        head.append(line.lstrip("\ufeff") if not head else line)
        if len(head) >= HEADER_SCAN_LINES:
            break
    header_length, channel = _read_header(head)
    if channel is None and source not in ("-", "<stdin>", "<text>"):
        channel = Path(source).stem
    body = _chain(head[header_length:], lines)
    for chunk in _chunks(body):
        yield from _posts_in_chunk(chunk, source, channel)


def _chain(first: list[str], rest: Iterator[str]) -> Iterator[str]:
    yield from first
    yield from rest


def _read_header(head: list[str]) -> tuple[int, str | None]:
    """How many leading lines are channel header, and the channel name they give."""
    for index, line in enumerate(head):
        if line.strip() == DOWNLOAD_TELEGRAM:
            title = next((candidate.strip() for candidate in head[:index] if candidate.strip()), None)
            return index + 1, title
    first = next((i for i, line in enumerate(head) if line.strip()), None)
    if first is None:
        return 0, None
    line = head[first]
    if _looks_like_about_line(line):
        match = TME_USERNAME_RE.search(line)
        return first + 1, match.group("name") if match else None
    # A title followed by counters ("517 subscribers") without the footer line.
    counters = [i for i, candidate in enumerate(head[: first + 8]) if COUNTER_RE.match(candidate.strip())]
    if counters and counters[0] == first + 1:
        end = counters[-1] + 1
        return end, head[first].strip()
    return 0, None


def _looks_like_about_line(line: str) -> bool:
    pairs = ABOUT_PAIR_RE.findall(line)
    if not pairs:
        return False
    other_urls = [url for url in URL_RE.findall(line) if not url.startswith("https://t.me/")]
    return not other_urls and len(line) < 400


def _chunks(lines: Iterable[str]) -> Iterator[tuple[str | None, list[str]]]:
    """Split at hard boundaries. Yields (forwarded_from, lines)."""
    forwarded: str | None = None
    chunk: list[str] = []
    for line in lines:
        stripped = line.strip()
        forward = FORWARDED_RE.match(stripped)
        if forward:
            if chunk:
                yield forwarded, chunk
            forwarded, chunk = forward.group("name"), []
            continue
        read_more = READ_MORE_RE.match(stripped)
        if read_more:
            if chunk:
                yield forwarded, chunk
            forwarded, chunk = None, []
            if read_more.group("rest"):
                chunk.append(read_more.group("rest"))
            continue
        if stripped and REACTIONS_RE.match(stripped) and any(ch.isdigit() for ch in stripped):
            if chunk:
                yield forwarded, chunk
            forwarded, chunk = None, []
            continue
        chunk.append(line)
    if chunk:
        yield forwarded, chunk


class _PostBuilder:
    def __init__(self, forwarded_from: str | None):
        self.forwarded_from = forwarded_from
        self.lines: list[str] = []
        self.previews: list[Preview] = []
        self.closing = False

    @property
    def has_content(self) -> bool:
        return any(line.strip() for line in self.lines)


def _posts_in_chunk(chunk: tuple[str | None, list[str]], source: str, channel: str | None) -> Iterator[Post]:
    forwarded_from, lines = chunk
    builders = [_PostBuilder(forwarded_from)]
    previous_kind = "start"  # what the last non-blank line was: text, url, hashtags, placeholder
    index = 0
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        current = builders[-1]
        index += 1
        if not stripped:
            current.lines.append("")
            continue
        if stripped in PLACEHOLDERS:
            current.closing = current.closing or current.has_content
            previous_kind = "placeholder"
            continue
        site = _site_name(stripped, previous_kind)
        if site and index < len(lines) and _card_line(lines[index].strip()):
            title = _entities_decoded(lines[index].strip())
            description = None
            index += 1
            if index < len(lines) and _card_line(lines[index].strip()) and not _is_boundary_line(lines[index].strip()):
                description = _entities_decoded(lines[index].strip())
                index += 1
            current.previews.append(Preview(site_name=site, title=title, description=description))
            current.closing = True
            previous_kind = "card"
            continue
        if MARKDOWN_HEADER_RE.match(stripped) and not HASHTAG_LINE_RE.match(stripped):
            if current.has_content or current.previews:
                builders.append(_PostBuilder(None))
            builders[-1].lines.append(line)
            previous_kind = "text"
            continue
        if HASHTAG_LINE_RE.match(stripped):
            current.lines.append(line)
            # A hashtag line under a title is part of the header; after a body it signs off.
            body_lines = sum(1 for candidate in current.lines if candidate.strip())
            current.closing = current.closing or body_lines >= CLOSING_HASHTAG_AFTER
            previous_kind = "hashtags"
            continue
        if current.closing:
            builders.append(_PostBuilder(None))
            current = builders[-1]
        current.lines.append(line)
        previous_kind = "url" if URL_ONLY_RE.match(stripped) else "text"
    for builder in builders:
        post = _build(builder, source, channel)
        if post is not None:
            yield post


# A complete character reference: "&mdash;", "&#8212;", "&#x2014;". Not "AT&T" or HTML's legacy "&copy" without ';'.
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def _entities_decoded(line: str) -> str:
    """A card line with the HTML entities the dump kept from the page decoded, once ("&amp;lt;" is "&lt;")."""
    return _ENTITY.sub(lambda match: html.unescape(match.group()), line)


def _card_line(stripped: str) -> bool:
    """Whether a line can be a card's title or description: some text that holds no link.

    A line that holds one is the post's own ("Код:" / "GitHub" / the repo's URL, or the next
    post's first line after a card with no description): read as the card's, its link was lost.
    """
    return bool(stripped) and not URL_ONLY_RE.match(stripped) and not find_links(stripped)


def _is_boundary_line(stripped: str) -> bool:
    return stripped in PLACEHOLDERS or bool(FORWARDED_RE.match(stripped) or HASHTAG_LINE_RE.match(stripped))


def _site_name(stripped: str, previous_kind: str) -> str | None:
    if stripped in KNOWN_SITES:
        return stripped
    if previous_kind not in ("url", "hashtags", "placeholder"):
        return None
    if len(stripped) > SITE_NAME_MAX or "://" in stripped or stripped.startswith(("#", "@", "-", "*")):
        return None
    if stripped[-1] in ".!?:;,…)»\"" or len(stripped.split()) > 4:
        return None
    if sum(ch.isalpha() for ch in stripped) < 2:
        return None
    return stripped


def _build(builder: _PostBuilder, source: str, channel: str | None) -> Post | None:
    text = "\n".join(builder.lines).strip()
    if not text and not builder.previews:
        return None
    previews = builder.previews
    if previews:
        # The links as the link finder trims them, so a card joins the item its URL is; cut ones are not the card's.
        urls = [link.url for link in find_links(text) if not link.truncated]
        previews = [_with_url(preview, urls) for preview in previews]
    anchors = [Anchor(match.group("href"), match.group("text")) for match in MARKDOWN_LINK_RE.finditer(text)]
    return Post(
        source=source,
        text=text,
        channel=channel,
        forwarded_from=builder.forwarded_from,
        anchors=anchors,
        previews=previews,
    )


def _with_url(preview: Preview, urls: list[str]) -> Preview:
    """Give a card the URL it describes: the last of the post's complete ``urls`` on the card's site."""
    site = preview.site_name or ""
    host_hint = KNOWN_SITES.get(site)
    site_word = re.sub(r"[^a-zа-я0-9]", "", site.split()[0].lower()) if site.split() else ""
    for url in reversed(urls):
        host = (urlsplit(url).hostname or "").removeprefix("www.")
        if (host_hint and (host == host_hint or host.endswith("." + host_hint))) or (
            not host_hint and len(site_word) >= 3 and site_word in host
        ):
            return Preview(preview.site_name, preview.title, preview.description, url)
    return preview
