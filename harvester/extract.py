"""Fetched bytes -> readable content: kind, metadata, main text, reading time.

``extract()`` is the one entry point. It is pure (bytes in, a frozen dataclass
of plain values out), never touches the network, never raises, and is cheap to
call in a ``ProcessPoolExecutor`` worker: the heavy libraries (trafilatura,
pypdf, the language model) are imported on first use, once per process.

Per content kind:

- HTML goes through trafilatura (main text, title, author, date, site name,
  description). We parse the tree ourselves and hand trafilatura the tree, so
  neither it nor htmldate ever sees a string that could be mistaken for a URL
  to download. Authors come from the per-author meta tags of scholarly pages
  (``citation_author``, ``DC.creator``, ...) when the page has them, read one
  author per tag ("Vaswani, Ashish" -> "Ashish Vaswani"): trafilatura joins
  their values with "; ", after which "Last, First" can no longer be told from
  two people. Then the page's ``author`` / ``article:author`` tags, as written
  (trafilatura drops the periods of initials); otherwise trafilatura's author.
  Likewise the site name (``og:site_name``) and the publication date (the
  page's date tags, as precise as written) come from the page's own meta tags
  before trafilatura's guesses; a guessed date is kept only when no part of
  it is made up (``guessed_date``) and it is not only when the page was last
  modified (``unmodified_date``), and Russian bylines, which htmldate cannot
  read, come last (``byline_date``). A paper's page may declare its abstract
  (``citation_abstract``): kept apart (``meta_abstract``) as its summary.
- PDF goes through pypdf: the text of the first ``PDF_MAX_PAGES`` pages (capped
  at ``MAX_TEXT_CHARS``) and the document info (title, author, creation date).
- Plain text is read as it is; its title is the first non-empty line.
- Anything else (images, archives, video, ...) is ``content_kind='other'``.

Charset strategy (``decode_body``), in order:

1. a byte-order mark wins;
2. bytes that are valid UTF-8 are UTF-8, whatever the headers say (legacy
   single-byte text is practically never valid UTF-8, while servers that
   transcode to UTF-8 and keep the old ``<meta charset>`` are common);
3. the declared charsets (HTTP header, then ``<meta charset>`` /
   ``http-equiv`` / XML declaration) are tried in order: one that decodes
   strictly *and plausibly* is used. Plausible means charset-normalizer's mess
   ratio is near zero on the page's *text*: the non-ASCII words left once
   scripts, styles and tags are dropped (``text_sample``). windows-1251 bytes
   read as ISO-8859-1 decode "cleanly" into ``Ïðèâåò`` but score high. The
   markup is ASCII in every charset guessed here, so judged with it a page
   that is mostly script reads as anything (cp1125, mac-latin2);
4. otherwise the least messy of the declared charsets, the usual legacy ones
   (``USUAL_CHARSETS``: windows-1252, windows-1251, KOI8-R) and
   charset-normalizer's detection on that text, preferring them in that order
   on a tie (French reads as cleanly in windows-1250 as in windows-1252).
   When the least messy reading is Cyrillic, the Cyrillic readings about as
   clean are told apart by how common their letters are in Russian
   (``_likeliest_russian``): in short text KOI8-R read as windows-1251 looks
   as clean as the right reading;
5. last resort: UTF-8 with replacement characters.

Following the WHATWG Encoding Standard, ``iso-8859-1`` and ``us-ascii`` labels
mean windows-1252.

Reading time: words / reading speed of the text's language, rounded, at least
one minute. Speeds are the IReST standardized silent reading rates for adults
(Trauzettel-Klosinski & Dietz, "Standardized assessment of reading performance:
the new International Reading Speed Texts IReST", IOVS 2012): e.g. English 228,
Russian 184, German 179 words per minute; 200 for languages not in the table.
Chinese and Japanese characters are counted one "word" each (the Microsoft Word
convention for East Asian text) and read at 255 and 357 characters per minute,
the IReST figures for those languages.
"""

from __future__ import annotations

import codecs
import datetime
import html
import io
import logging
import math
import re
from collections import Counter
from dataclasses import dataclass

from harvester.authors import is_byline, last_first, normalize_authors
from harvester.dates import date_is_stated, normalize_date, russian_date
from harvester.language import detect_language, normalize_language_tag

logger = logging.getLogger(__name__)

#: HTML beyond this many bytes is not parsed (keeps one pathological page from
#: pinning a worker for minutes; real articles are far smaller).
MAX_HTML_BYTES = 3_000_000
#: Main text is cut to this many characters (the ``texts`` table stays sane).
MAX_TEXT_CHARS = 500_000
PDF_MAX_PAGES = 40
MAX_TITLE_CHARS = 300
MAX_DESCRIPTION_CHARS = 1000

#: Words per minute by language (IReST, see the module docstring).
WORDS_PER_MINUTE: dict[str, int] = {
    "en": 228, "ru": 184, "uk": 184, "be": 184, "de": 179, "fr": 195,
    "es": 218, "it": 188, "pt": 181, "nl": 202, "pl": 166, "tr": 166,
    "fi": 161, "sv": 199, "sl": 180, "he": 187, "ar": 138,
}  # fmt: skip
DEFAULT_WORDS_PER_MINUTE = 200
#: Characters per minute for text counted by character (IReST).
CHARS_PER_MINUTE: dict[str, int] = {"zh": 255, "ja": 357}
DEFAULT_CHARS_PER_MINUTE = 300

CONTENT_KINDS = ("html", "pdf", "text", "other")


@dataclass(frozen=True)
class Extracted:
    """What one fetched body says about itself. Plain values only (picklable).

    ``published`` is an ISO date as precise as known (``YYYY``, ``YYYY-MM`` or
    ``YYYY-MM-DD``). ``reading_minutes`` is None when there is no text.
    ``media_type`` is the content type that was acted on: the declared one,
    normalized (``text/html``), or the sniffed one when the declared type was
    missing, generic or contradicted by the bytes (a PDF served as text/html).
    ``charset`` is the encoding the text was decoded with (None for binary kinds).
    """

    content_kind: str
    media_type: str | None = None
    title: str | None = None
    authors: tuple[str, ...] = ()
    published: str | None = None
    site_name: str | None = None
    description: str | None = None
    language: str | None = None
    text: str = ""
    word_count: int = 0
    reading_minutes: int | None = None
    charset: str | None = None
    #: The text's heading lines (HTML ``<h1>``-``<h6>`` that made it into the text),
    #: so a summary does not quote one.
    headings: tuple[str, ...] = ()
    #: The abstract a paper's page declares in its meta tags (``meta_abstract``), on one line.
    abstract: str | None = None


# --------------------------------------------------------------------------- entry point


def extract(
    body: bytes,
    *,
    url: str,
    content_type: str | None,
    declared_charset: str | None = None,
) -> Extracted:
    """Extract the readable content of a fetched ``body``.

    ``content_type`` is the response's Content-Type header as received (its
    ``charset`` parameter is used when ``declared_charset`` is not given).
    Never raises: malformed input gives whatever could be read.

    >>> extract(b"Hello\\n\\nA short note.", url="https://example.org/a.txt",
    ...         content_type="text/plain").title
    'Hello'
    """
    media_type, header_charset = parse_content_type(content_type)
    declared_charset = declared_charset or header_charset
    if not isinstance(body, (bytes, bytearray, memoryview)):
        body = b""
    body = bytes(body)
    kind, media_type = classify_content(body, media_type)
    try:
        if kind == "html":
            return _extract_html(body, url=url, media_type=media_type, declared=declared_charset)
        if kind == "pdf":
            return _extract_pdf(body, media_type=media_type)
        if kind == "text":
            return _extract_text(body, media_type=media_type, declared=declared_charset)
    except Exception:  # a bug or a library choking on hostile input: keep going
        logger.warning("extraction failed for %s", url, exc_info=True)
        return Extracted(content_kind=kind, media_type=media_type)
    return Extracted(content_kind="other", media_type=media_type)


def warm_up() -> None:
    """Import the extraction libraries and load the language model now.

    Call it in a parent process before forking a worker pool (or as a pool
    initializer) so the first page of every worker is not a second slower."""
    import charset_normalizer  # noqa: F401
    import pypdf  # noqa: F401
    import razdel  # noqa: F401
    import trafilatura  # noqa: F401

    detect_language("warm up the language model with a sentence")


# --------------------------------------------------------------------------- content types

_HTML_TYPES = {"text/html", "application/xhtml+xml", "application/vnd.wap.xhtml+xml"}
_PDF_TYPES = {"application/pdf", "application/x-pdf", "application/acrobat"}
#: text/* types that are not prose for a reader.
_NON_PROSE_TEXT = {
    "text/css", "text/javascript", "text/ecmascript", "text/xml", "text/csv",
    "text/tab-separated-values", "text/calendar", "text/vcard", "text/event-stream",
    "text/x-component", "text/vtt",
}  # fmt: skip
#: Types too vague to trust: sniff the bytes instead.
_GENERIC_TYPES = {"application/octet-stream", "binary/octet-stream", "application/unknown", "unknown/unknown"}

_BINARY_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
    (b"PK\x03\x04", "application/zip"),
    (b"\x1f\x8b", "application/gzip"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (b"Rar!\x1a\x07", "application/vnd.rar"),
    (b"\x1a\x45\xdf\xa3", "video/webm"),
    (b"OggS", "audio/ogg"),
    (b"ID3", "audio/mpeg"),
    (b"\x00\x00\x01\x00", "image/x-icon"),
    (b"wOFF", "font/woff"),
    (b"wOF2", "font/woff2"),
)
_HTML_SNIFF = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|meta|title)\b", re.I | re.S)


def parse_content_type(content_type: str | None) -> tuple[str | None, str | None]:
    """``'Text/HTML; charset="UTF-8"'`` -> ``('text/html', 'UTF-8')``."""
    if not content_type or not isinstance(content_type, str):
        return None, None
    media_type, _, params = content_type.partition(";")
    media_type = media_type.strip().lower() or None
    if media_type and not re.fullmatch(r"[a-z0-9][\w.+-]*/[\w.+-]+", media_type):
        media_type = None
    match = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", params, re.I)
    return media_type, (match.group(1) if match else None)


def _sniff_binary(head: bytes) -> str | None:
    for magic, media_type in _BINARY_MAGIC:
        if head.startswith(magic):
            return media_type
    if head[4:12] in (b"ftypisom", b"ftypmp42", b"ftypMSNV", b"ftypqt  ", b"ftypM4V ") or head[4:8] == b"ftyp":
        return "video/mp4"
    if head.startswith(b"RIFF") and head[8:12] in (b"WEBP", b"AVI ", b"WAVE"):
        return {b"WEBP": "image/webp", b"AVI ": "video/x-msvideo", b"WAVE": "audio/wav"}[head[8:12]]
    return None


def _looks_like_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        sample = head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:  # not just a character cut at the edge
            return False
        sample = head[: error.start].decode("utf-8")
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in sample)
    return printable >= 0.95 * len(sample)


def classify_content(body: bytes, media_type: str | None) -> tuple[str, str | None]:
    """The content kind to extract as, and the media type acted on.

    The declared type is trusted, except that a PDF or a well-known binary
    signature in the bytes overrides it, and a missing or generic type is
    sniffed (PDF, HTML, UTF-8 text)."""
    head = body[:1024]
    if b"%PDF-" in head:
        return "pdf", "application/pdf"
    binary = _sniff_binary(head)
    if binary and media_type not in _PDF_TYPES:
        return "other", binary if (
            media_type is None or media_type in _GENERIC_TYPES or media_type.startswith("text/")
        ) else media_type
    if media_type in _HTML_TYPES:
        return "html", media_type
    if media_type in _PDF_TYPES:
        return "pdf", media_type  # no signature: pypdf will say what it can
    if media_type and media_type.startswith("text/") and media_type not in _NON_PROSE_TEXT:
        return "text", media_type
    if media_type is None or media_type in _GENERIC_TYPES:
        if _HTML_SNIFF.match(head):
            return "html", "text/html"
        if _looks_like_text(head):
            return "text", "text/plain"
    return "other", media_type


# --------------------------------------------------------------------------- charsets

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)"""  # <meta charset=...> and http-equiv content="...; charset=..."
    rb"""|<\?xml[^>]+encoding\s*=\s*["']([\w.:-]+)""",
    re.I,
)
#: WHATWG: these labels are decoded as windows-1252 by every browser.
_LABEL_ALIASES = {"latin1": "cp1252", "iso8859-1": "cp1252", "ascii": "cp1252"}
#: Markup that is not the page's text: scripts, styles, comments, tags. Each
#: alternative also ends at the end of the input, so an unclosed one costs one
#: scan, not one per later "<".
_NOT_TEXT = re.compile(
    rb"<(script|style|noscript|template)\b.*?(?:</\1\s*>|\Z)|<!--.*?(?:-->|\Z)|<[^>]*(?:>|\Z)", re.I | re.S
)
_NON_ASCII_BYTES_WORD = re.compile(rb"[^\s<>]*[\x80-\xff][^\s<>]*")
_NON_ASCII_WORD = re.compile(r"\S*[^\x00-\x7f]\S*")
#: How much of a body is searched for text to judge a charset by, and how much
#: text (bytes of non-ASCII words) is enough.
SAMPLE_SCAN_BYTES = 1_000_000
SAMPLE_BYTES = 32_768
#: Mess ratio at or below which a declared charset is accepted without detection.
PLAUSIBLE_MESS = 0.02
#: Tried when nothing declared is plausible, and preferred to charset-normalizer's
#: detection on a tie: the WHATWG default for legacy pages, and Russian's two.
#: (windows-1252 and windows-1250 read French equally cleanly: "thèse", "thčse".)
USUAL_CHARSETS = ("cp1252", "cp1251", "koi8-r")
#: How often each letter occurs in Russian text, in percent (case ignored; the
#: commonly tabulated corpus frequencies: "о" 11%, "ф" 0.3%).
RUSSIAN_LETTER_PERCENT = dict(
    zip(
        "оеаинтсрвлкмдпуяыьгзбчйхжшюцщэфъё",
        (10.97, 8.45, 8.01, 7.35, 6.70, 6.26, 5.47, 4.73, 4.54, 4.40, 3.49, 3.21, 2.98, 2.81, 2.62, 2.01, 1.90,
         1.74, 1.70, 1.65, 1.59, 1.44, 1.21, 0.97, 0.94, 0.73, 0.64, 0.48, 0.36, 0.32, 0.26, 0.04, 0.04),
    )
)  # fmt: skip
#: Other Cyrillic letters (Ukrainian "і", "є", ...) and any other non-ASCII character.
OTHER_CYRILLIC_PERCENT = 1.0
NOT_A_LETTER_PERCENT = 0.01
#: How much of the sample that is judged on (one byte, one character in these
#: charsets): a few thousand letters are plenty.
RUSSIAN_SAMPLE_BYTES = 4096
_CYRILLIC_LETTER = re.compile(r"[\u0400-\u04ff]")


def normalize_charset(label: str | None) -> str | None:
    """A charset label -> Python codec name, or None when unknown.
    ``"Windows-1251"`` -> ``"cp1251"``, ``"ISO-8859-1"`` -> ``"cp1252"``."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().strip("\"'").lower()).name
    except (LookupError, ValueError):
        return None
    return _LABEL_ALIASES.get(name.replace("_", "-"), name)


def meta_charsets(head: bytes) -> list[str]:
    """Charset labels declared inside the first bytes of a document."""
    return [(m.group(1) or m.group(2)).decode("ascii", "replace") for m in _META_CHARSET.finditer(head[:4096])]


def text_sample(body: bytes, *, markup: bool) -> bytes:
    """The words of ``body``'s text that hold a non-ASCII byte, space-separated,
    about ``SAMPLE_BYTES`` of them: what a charset is judged on. ``markup``
    drops scripts, styles and tags first: they are ASCII in any charset, so a
    detector fed the raw page judges a few words of prose lost in markup (the
    4pda page, 360 KB, mostly script, reads as cp1125 that way)."""
    head = body[:SAMPLE_SCAN_BYTES]
    if markup:
        head = _NOT_TEXT.sub(b" ", head)
    words: list[bytes] = []
    size = 0
    for match in _NON_ASCII_BYTES_WORD.finditer(head):
        words.append(match.group())
        size += len(words[-1]) + 1
        if size >= SAMPLE_BYTES:
            break
    return b" ".join(words)[:SAMPLE_BYTES]  # may cut a character: samples are decoded with errors="replace"


def _mess(sample: str) -> float:
    """How implausible decoded text looks (0 = clean), judged on the sample's
    non-ASCII words only."""
    from charset_normalizer.md import mess_ratio

    return mess_ratio(sample) if sample else 0.0


def _detect(sample: bytes) -> str | None:
    from charset_normalizer import from_bytes

    # preemptive_behaviour=False: judge the bytes, not the <meta> we already doubt
    best = from_bytes(sample, preemptive_behaviour=False).best() if sample else None
    return normalize_charset(best.encoding) if best is not None else None


def decode_body(body: bytes, declared: str | None = None, *, markup: bool = False) -> tuple[str, str]:
    """Bytes -> (text, codec used), by the strategy in the module docstring.
    ``markup`` also honours charsets declared inside the document, and judges
    them by the document's text rather than its markup."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return body.decode(codec, errors="replace"), codec
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as error:
        # A body cut mid-character (by the size cap) is still UTF-8, if the
        # rest shows multi-byte UTF-8 at all (b"caf\xe9" is Latin-1, not a cut).
        if error.reason == "unexpected end of data" and not body[: error.start].isascii():
            return body[: error.start].decode("utf-8"), "utf-8"
    sample = text_sample(body, markup=markup)
    labels = [declared] + (meta_charsets(body) if markup else [])
    declared_codecs = list(dict.fromkeys(filter(None, map(normalize_charset, labels))))

    def judged(codec: str, errors: str = "strict") -> tuple[float, str] | None:
        """(mess, text) when ``codec`` decodes the whole body (strictly, unless ``errors``); None otherwise."""
        if codec.startswith("utf-8"):
            return None  # already failed
        wide = codec.startswith(("utf-16", "utf-32"))
        if wide and b"\x00" not in body[:1024]:
            return None  # markup in UTF-16 is full of NULs; without them it is a wrong label
        try:
            text = body.decode(codec, errors)
            # A wide charset's sample is not the bytes' (they are all NUL-split).
            words = _NON_ASCII_WORD.findall(text, 0, 200_000)[:1500] if wide else [sample.decode(codec, "replace")]
        except (UnicodeDecodeError, LookupError):
            return None
        return _mess(" ".join(words)), text

    candidates: list[tuple[float, int, str, str]] = []  # (mess, preference, codec, text)
    for codec in declared_codecs:
        result = judged(codec)
        if result is None:
            continue
        if result[0] <= PLAUSIBLE_MESS:
            return result[1], codec
        candidates.append((result[0], len(candidates), codec, result[1]))
    detected = _detect(sample)
    for codec in dict.fromkeys(filter(None, [*USUAL_CHARSETS, detected])):
        if codec in declared_codecs:
            continue
        # The detector judged a sample: a stray byte elsewhere does not make it wrong.
        result = judged(codec, "replace" if codec == detected else "strict")
        if result is not None:
            candidates.append((result[0], len(candidates), codec, result[1]))
    if candidates:
        # The least messy (on a tie, declared first, then USUAL_CHARSETS' order), or a likelier Russian reading.
        _, _, codec, text = _likeliest_russian(candidates, sample) or min(candidates)
        return text, codec
    return body.decode("utf-8", errors="replace"), "utf-8"


def _russian_likelihood(reading: str) -> float:
    """Mean log frequency in Russian of ``reading``'s non-ASCII characters (case ignored)."""
    total = count = 0
    for character, times in Counter(reading.lower()).items():
        if character.isascii():
            continue
        percent = RUSSIAN_LETTER_PERCENT.get(character)
        if percent is None:
            percent = OTHER_CYRILLIC_PERCENT if _CYRILLIC_LETTER.match(character) else NOT_A_LETTER_PERCENT
        total += times * math.log(percent)
        count += times
    return total / count if count else -math.inf


def _likeliest_russian(candidates: list[tuple[float, int, str, str]], sample: bytes) -> tuple | None:
    """Of the (about) least messy candidates, the Cyrillic reading whose letters are likeliest in Russian,
    when the least messy one is Cyrillic; None otherwise.

    KOI8-R read as windows-1251 (and the reverse) gives Cyrillic letters too, only other ones, mostly
    in upper case ("лБЛ ПВХЮЙФШ НПДЕМШ" for "Как обучить модель"): in a paragraph or two both readings
    look equally clean to the mess ratio, whose case and sequence tests need more text. Common Russian
    letters ("о", "е", "а") tell them apart from a few words on, rare ones ("ф", "ш", "щ") stand out.
    """
    least = min(candidates)
    readings = []
    for candidate in sorted(candidates):
        mess, preference, codec, _ = candidate
        if mess > least[0] + PLAUSIBLE_MESS or codec.startswith(("utf-16", "utf-32")):
            continue
        reading = sample[:RUSSIAN_SAMPLE_BYTES].decode(codec, "replace")
        letters = sum(character.isalpha() for character in reading if not character.isascii())
        if len(_CYRILLIC_LETTER.findall(reading)) > letters / 2:
            readings.append((_russian_likelihood(reading), -preference, candidate))
        elif candidate is least:
            return None  # the best reading is not Cyrillic (windows-1252's French): leave it
    return max(readings)[2] if readings else None


# --------------------------------------------------------------------------- HTML

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Bidi embeddings, overrides, isolates and marks: in a title, an unterminated
# RIGHT-TO-LEFT OVERRIDE reverses whatever is shown after it on the line
# ("Paper \u202efdp.exe" reads "Paper exe.pdf").
BIDI_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# Control characters in a line of metadata: C0 (but tab, newline and CR, which lay text out), DEL
# and C1 (a terminal acts on some: ESC and CSI start sequences), and XML's non-characters.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")


def _parse_html(markup: str):
    from lxml import etree
    from lxml.html import HTMLParser, document_fromstring

    parser = HTMLParser(collect_ids=False, default_doctype=False, remove_comments=True, remove_pis=True)
    markup = _XML_INVALID.sub("", markup)
    markup = re.sub(r"^\s*<\?xml[^>]*>", "", markup)  # lxml refuses str input with an encoding declaration
    if not markup.strip():
        return None
    try:
        return document_fromstring(markup, parser=parser)
    except (etree.ParserError, ValueError, etree.XMLSyntaxError):
        return None


def _tree_language(tree) -> str | None:
    for value in (
        tree.get("lang"),
        tree.get("{http://www.w3.org/XML/1998/namespace}lang"),
        *tree.xpath("//meta[translate(@http-equiv,'CONTENT-LAGU','content-lagu')='content-language']/@content"),
        *tree.xpath("//meta[@property='og:locale']/@content"),
    ):
        language = normalize_language_tag(value)
        if language:
            return language
    return None


def _tree_title(tree) -> str | None:
    for node in tree.xpath("//title"):
        title = clean_line(node.text_content())
        if title:
            return title
    return None


#: What sites put between the headline and their name or section in <title>
#: ("Headline | Section | Site", "Headline — Site", "Site / Headline"): one of
#: trafilatura's separators or a slash, with a space on each side (so
#: "PyTorch 2.0: torch.compile" and "Fine-tuning" stay whole).
_TITLE_SEPARATOR = re.compile(r"(\s+[|–—·•/⁄*⋆~‹«<›»>:-]\s+)")
#: A <title> part that is a host name ("arXiv.org") names the site.
_HOST_NAME = re.compile(r"(?:[\w-]+\.)+[^\W\d_]{2,}")


def _spaced(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _folded(text: str) -> str:
    return _spaced(text).casefold()


def title_and_site_name(
    tree, metas: dict[str, list[str]], url: str, found_title: str | None, found_site_name: str | None
) -> tuple[str | None, str | None]:
    """The page's title and site name, from trafilatura's (``found_*``) and the page's own.

    Without an ``og:title`` or a single <h1>, trafilatura takes a <title>
    part without a "." as the title and one with a "." as the site name, so
    "Llama 3.1 on one GPU | Notes | Acme" gave the title "Acme" and the site
    name "Llama 3.1 on one GPU | Notes". So when its title is a part of the
    <title> that no heading of the page gives, or is the site name, the
    <title> is split on its separators here: the title is the longest run of
    parts that is a heading (``og:title``, ``twitter:title``, an <h1> or <h2>);
    without such a heading, it is the first part that is neither the site name
    nor a host name. Whichever it is loses a site's name at one end
    (``_headline``: og:title is often "Headline - Site") and is spelled as the
    page's headline spells it (``og:title``, <h1>, then the <title>: Wikipedia's
    JSON-LD capitalizes "t-distributed ...").

    The site name is the page's own meta tags' (``meta_site_name``), else the
    part at the other end of the <title> from a heading that starts or ends it
    (unless a byline: "Headline - by Simon Sarris"), else trafilatura's unless
    it is a <title> part (a publisher in the page's metadata: Wikipedia's
    "Wikimedia Foundation, Inc."), else trafilatura's <title> part unless it
    overlaps the title. None is a host the page is at (``page_hosts``)."""
    hosts = page_hosts(tree, metas, url)
    site_name = meta_site_name(metas, hosts)
    found_site_name = _site_name(found_site_name, hosts)
    full = _tree_title(tree) or ""
    tokens = _TITLE_SEPARATOR.split(full)
    parts = [part.strip() for part in tokens[0::2]]
    runs = {  # (first part, after the last part) -> the text of those parts, separators and all
        (first, end): "".join(tokens[2 * first : 2 * end - 1]).strip()
        for first in range(len(parts))
        for end in range(first + 1, len(parts) + 1)
    }
    spaced_runs = {_spaced(run) for run in runs.values()}
    # trafilatura's site name from the page's metadata, not from its <title>
    listed_site_name = found_site_name if found_site_name and _spaced(found_site_name) not in spaced_runs else None
    site = _folded(site_name or listed_site_name or "") or None
    h1_h2 = [(node.tag, node.text_content()) for node in tree.xpath("//h1 | //h2")]
    headlines = [
        *metas.get("og:title", ()),
        *metas.get("twitter:title", ()),
        *(text for tag, text in h1_h2 if tag == "h1"),
    ]
    headings = {_folded(heading) for heading in [*headlines, *(text for tag, text in h1_h2 if tag == "h2")]}
    if (
        found_title
        and _folded(found_title) != site
        and (_spaced(found_title) not in spaced_runs or _folded(found_title) in headings)
    ):
        title = found_title
    else:
        matched = [key for key, run in runs.items() if _folded(run) in headings and _folded(run) != site]
        if matched:
            title = runs[max(matched, key=lambda key: (len(runs[key]), -key[0]))]
        else:
            title = next(
                (part for part in parts if part and _folded(part) != site and not _HOST_NAME.fullmatch(part)),
                found_title or full or None,
            )
    if title:
        title = _headline(title, {_folded(headline) for headline in headlines}, headings, {site} - {None})
        spellings = {_folded(text): text for text in reversed([*headlines, *runs.values()]) if text.strip()}
        title = clean_line(spellings.get(_folded(title))) or title
    title_end = None
    if not site_name and title and _folded(title) in headings:
        # The heading is at one end of the <title>: the site's name is at the other.
        ends = [
            parts[-1] if first == 0 else parts[0]
            for (first, end), run in runs.items()
            if _folded(run) == _folded(title) and (first == 0) != (end == len(parts))
        ]
        title_end = _site_name(ends[0], hosts) if ends and not is_byline(ends[0]) else None
    return title, site_name or title_end or listed_site_name or _other_site_name(found_site_name, title)


def _headline(title: str, headlines: set[str], headings: set[str], site_names: set[str]) -> str:
    """``title`` without the site's (or a section's, a journal's) name at one
    end: og:title is often "Headline - Site" ("What is Rust and why is it so
    popular? - Stack Overflow Blog"). Cut at a separator, the part kept is the
    longest one that is a headline of the page (``headlines``, folded: its
    <h1>, og:title, twitter:title) and longer than the part cut off, which is
    no heading itself ("Headline / Blog Name" under an <h1> "Blog Name" and an
    <h2> "Headline" keeps the headline); else the rest when the part cut off
    is a site name (``site_names``, folded); else the whole ``title``."""
    tokens = _TITLE_SEPARATOR.split(title)
    cuts = []  # (kept, cut off)
    for end in range(1, len(tokens) // 2 + 1):  # the parts before and after separator tokens[2 * end - 1]
        before, after = "".join(tokens[: 2 * end - 1]).strip(), "".join(tokens[2 * end :]).strip()
        cuts += [(before, after), (after, before)]
    by_heading = [
        kept
        for kept, cut in cuts
        if _folded(kept) in headlines and _folded(cut) not in headings and len(kept) > len(cut)
    ]
    if by_heading:
        return max(by_heading, key=len)
    by_site = [kept for kept, cut in cuts if _folded(cut) in site_names and _folded(kept) not in site_names]
    return max(by_site, key=len) if by_site else title


def _other_site_name(site_name: str | None, title: str | None) -> str | None:
    """``site_name`` (trafilatura's, from a <title> part), unless it holds the title or is a part of it."""
    if site_name and title and (_folded(title) in _folded(site_name) or _folded(site_name) in _folded(title)):
        return None
    return site_name


#: Libraries that log every odd page at WARNING/ERROR ("discarding data",
#: "empty HTML tree", broken xref tables): odd pages are the norm when fetching
#: thousands of links, and our caller records what matters per item.
_NOISY_LOGGERS = ("trafilatura", "htmldate", "courlan", "justext", "readability", "pypdf")


def _quiet_libraries() -> None:
    for name in _NOISY_LOGGERS:
        library_logger = logging.getLogger(name)
        if library_logger.level == logging.NOTSET:  # leave a level someone chose alone
            library_logger.setLevel(logging.CRITICAL)


def page_hosts(tree, metas: dict[str, list[str]], url: str) -> frozenset[str]:
    """The hosts the page is at, lower-cased, without "www." or a port: the
    fetched URL's and those of the addresses it gives as its own (canonical
    link, ``og:url``; an AMP or mirror copy points to the original's)."""
    from urllib.parse import urlsplit

    # (iterated, not an XPath with translate(): that one costs a third of a millisecond on a big page)
    canonical = [
        link.get("href") for link in tree.iter("link") if "canonical" in (link.get("rel") or "").lower().split()
    ]
    hosts = set()
    for address in [url, *canonical, *metas.get("og:url", ())]:
        try:
            host = urlsplit(str(address or "").strip()).hostname or ""
        except (ValueError, TypeError):
            continue
        if host:
            hosts.add(host.lower().removeprefix("www."))
    return frozenset(hosts)


#: A host name, perhaps with "www." and a port, as trafilatura makes a site name of a URL ("example.com:8443").
_HOST_AND_PORT = re.compile(r"(?:www\.)?(.+?)(?::\d+)?")


def _site_name(value, hosts: frozenset[str]) -> str | None:
    """A site name, unless it is only one of the page's ``hosts`` echoed back
    (the ``domain`` column already says that)."""
    name = clean_line(value)
    if not name:
        return None
    if _HOST_AND_PORT.fullmatch(name.lower()).group(1) in hosts:
        return None
    return name


def page_metas(tree) -> dict[str, list[str]]:
    """The page's meta tags: lower-cased ``name`` and ``property`` (a tag may
    have both: bioRxiv's ``name="og-site-name" property="og:site_name"``) ->
    their non-empty contents, in page order."""
    metas: dict[str, list[str]] = {}
    for meta in tree.iter("meta"):
        content = (meta.get("content") or "").strip()
        if not content:
            continue
        for key in {(meta.get(attribute) or "").strip().lower() for attribute in ("name", "property")} - {""}:
            metas.setdefault(key, []).append(content)
    return metas


#: Meta tag names (lower-cased) that name authors, best group first:
#: Highwire Press / Google Scholar (with the bepress and EPrints spellings),
#: then Dublin Core, one author per tag, "First Last" or "Last, First"; then
#: the page-wide ``author``, then Open Graph's ``article:author`` (when a name:
#: it is often a profile URL or path, "/@timoreilly"). The page's own spelling
#: beats trafilatura's, which drops the periods of initials ("Sean T. Larkin").
AUTHOR_META: tuple[frozenset[str], ...] = (
    frozenset({"citation_author", "bepress_citation_author", "eprints.creator_name"}),
    frozenset({"dc.creator", "dcterms.creator", "dc:creator"}),
    frozenset({"author"}),
    frozenset({"article:author"}),
)


def _lone_tag_is_list(value: str) -> bool:
    """True when the only author tag on a page looks like two people
    ("David Lucca, Jonathan H. Wright") rather than one "Last, First"
    ("Vaswani, Ashish", "Le Scao, Teven", "van der Berg, Jan"): both sides are
    full names and the first does not start with a lower-case particle."""
    last, comma, first = value.partition(",")
    return bool(comma) and len(last.split()) >= 2 and len(first.split()) >= 2 and last.strip()[:1].isupper()


_URL_OR_PATH = ("/", "http://", "https://", "www.")


def meta_authors(metas: dict[str, list[str]]) -> tuple[str, ...]:
    """Authors from the page's author meta tags (``AUTHOR_META``; ``metas`` from
    ``page_metas``), one author per tag, "Last, First" turned into "First Last";
    () when no group names anyone."""
    for names in AUTHOR_META:
        values = [value for name in names for value in metas.get(name, ()) if not value.startswith(_URL_OR_PATH)]
        lone = len(values) == 1
        # A value that is a list after all ("A, B; C, D", or a lone "A B, C D")
        # goes to normalize_authors whole, which splits it; any other value is
        # one person, and a comma-free "First Last" is not split again there.
        authors = normalize_authors(
            [value if ";" in value or (lone and _lone_tag_is_list(value)) else last_first(value) for value in values]
        )
        if authors:
            return authors
    return ()


#: Meta tags that name the site, as the site writes its name (trafilatura
#: capitalizes it: "bioRxiv" -> "Biorxiv").
SITE_NAME_META = ("og:site_name", "application-name")


#: Meta tag names (lower-cased) that hold a paper's abstract: Highwire Press / Google Scholar
#: (arXiv, bioRxiv, PLOS, HAL, ...), Dublin Core terms.
ABSTRACT_META = ("citation_abstract", "dcterms.abstract")
MAX_ABSTRACT_CHARS = 10_000


def meta_abstract(metas: dict[str, list[str]]) -> str | None:
    """The abstract the page declares (``ABSTRACT_META``, from ``page_metas``) as plain text on one line, or None.
    Some hold markup (bioRxiv: ``<h3>ABSTRACT</h3><p>An outbreak…``): its text is taken, without the heading."""
    for name in ABSTRACT_META:
        for value in metas.get(name, ()):
            if "<" in value:
                value = _fragment_text(value)
            if abstract := clean_line(value, MAX_ABSTRACT_CHARS):
                return abstract
    return None


def _fragment_text(markup: str) -> str:
    """The text of an HTML fragment without its headings, a space after each block ("<p>…</p><p>…")."""
    from lxml import etree
    from lxml.html import fragment_fromstring

    try:
        fragment = fragment_fromstring(markup, create_parent="div")
    except (etree.ParserError, ValueError):
        return markup
    for heading in fragment.xpath(".//h1 | .//h2 | .//h3 | .//h4 | .//h5 | .//h6"):
        heading.drop_tree()
    for block in fragment.iter("p", "div", "li", "br", "section", "blockquote"):
        block.tail = " " + (block.tail or "")
    return fragment.text_content()


def meta_site_name(metas: dict[str, list[str]], hosts: frozenset[str]) -> str | None:
    """The site's name from its own meta tags (``SITE_NAME_META``), as written; None when they give none
    (or only one of the page's ``hosts``)."""
    for name in SITE_NAME_META:
        for value in metas.get(name, ()):
            site_name = _site_name(value, hosts)
            if site_name:
                return site_name
    return None


#: Meta tags (lower-cased names) that give the page's own publication date,
#: best first: Open Graph's, Dublin Core's, then Highwire Press's. A date in
#: them is kept as precise as it is written ("2021/6" is June 2021); htmldate,
#: through trafilatura, fills a missing day or month with today's or January 1st.
PUBLISHED_META = (
    "article:published_time", "dc.date.issued", "dcterms.issued", "dc.issued", "dc.date", "dcterms.date",
    "citation_publication_date", "citation_date", "prism.publicationdate",
)  # fmt: skip
#: A date meta value read whole: a date of 1 to 3 numeric parts, perhaps a time.
#: ("2012 Nov 26" is not: read as "2012" it would lose what trafilatura can read.)
_META_DATE = re.compile(r"\d{4}(?:[-/.]\d{1,2}){0,2}(?:[T ]\d\d?:\d\d(?::\d\d(?:\.\d+)?)?\s*(?:Z|[+-]\d\d:?\d\d)?)?")


def meta_published(metas: dict[str, list[str]]) -> str | None:
    """The publication date the page's own meta tags give (``PUBLISHED_META``;
    ``metas`` from ``page_metas``), as precise as written; None when they give
    none. The first tag in that order wins; another that says the same more
    precisely refines it."""
    dates = [
        date
        for name in PUBLISHED_META
        for value in metas.get(name, ())
        if _META_DATE.fullmatch(value) and (date := normalize_date(value))
    ]
    if not dates:
        return None
    return max((date for date in dates if date.startswith(dates[0])), key=len)


def guessed_date(date, markup: str, url: str) -> str | None:
    """trafilatura's date (htmldate's guess), unless part of it is made up.

    htmldate gives a date it read without a day or a month ("June 2021", a
    "© 2019" footer, a lone year) as a whole day, the gap filled with the 1st,
    January, or today's day and month (dateutil's default). A date on such a
    day is kept only when the page (``markup``, ``url``) writes it out in full."""
    date = normalize_date(date)
    if date is None or len(date) < len("YYYY-MM-DD"):
        return date
    if int(date[8:]) not in (1, datetime.date.today().day):
        return date
    return date if date_is_stated(date, f"{html.unescape(markup)} {url}") else None


#: Meta tags (``name``, ``property``, ``itemprop`` or ``http-equiv``, lower-cased) and itemprops that say when
#: the page was last modified, as htmldate reads them; htmldate takes one for the publication date when the
#: page gives no other.
MODIFIED_META = frozenset({
    "lastdate", "lastmod", "lastmodified", "last-modified", "modified", "utime", "article:modified",
    "article:modified_date", "article:modified_time", "article:post_modified", "bt:moddate", "datemodified",
    "dateupdate", "dateupdated", "dc.modified", "dcterms.modified", "modified_time", "modificationdate",
    "og:article:modified_time", "og:modified_time", "og:updated_time", "revision_date", "updated_time",
})  # fmt: skip
#: A class that marks an element as the modification date (WordPress's ``<time class="updated">``,
#: ``date-modified``, ``last-updated``), unless it marks it as the publication date as well.
_MODIFIED_CLASS = re.compile(r"(?:^|[-_])(?:updated|modified)(?:$|[-_])")
_PUBLISHED_CLASS = re.compile(r"publish|posted|created|entry-date")
#: "Updated: June 1, 2024", "Last modified on 2024-06-01", "Обновлено 1 июня 2024": the label and what follows
#: it, up to a separator or a publication date's own label.
_MODIFIED_SPAN = re.compile(
    r"(?<![^\W\d_])(?:(?:last\s+)?(?:updated|modified|edited|revised)(?:\s+(?:on|at))?|обновлен[оа]?|обновлён|изменено"
    r"|отредактировано|последнее\s+изменение|дата\s+изменения)(?![^\W\d_])(?!\s+by\b)"  # "Edited by" names an editor
    r"(?:(?!published|posted|created|accepted|received|опубликовано|создано)[^|·•;\n]){0,60}",
    re.I,
)
#: Cheap test that a page may say when it was modified at all.
_MODIFIED_CUE = re.compile(r"modif|updat|lastmod|lastdate|utime|edited|revised|обновл|изменен|отредакт", re.I)
#: Where ``_drop_modification_dates`` looks, found by lxml rather than by walking every element in Python.
_MODIFIED_NODES = "//meta | //*[@itemprop] | //*[contains(@class, 'pdated') or contains(@class, 'odified')]"


def _drop_modification_dates(tree) -> list[str]:
    """Take every place the page says when it was last modified (``MODIFIED_META`` tags, elements classed
    or itemprop'd so, "Updated: ..." in the text) out of ``tree``; what they said, one string each."""
    marked = []
    for node in tree.xpath(_MODIFIED_NODES):
        names = {(node.get(attribute) or "").strip().lower() for attribute in ("name", "property", "itemprop", "http-equiv")}
        classes = (node.get("class") or "").lower().split()
        if names & MODIFIED_META or (
            any(_MODIFIED_CLASS.search(name) for name in classes)
            and not any(_PUBLISHED_CLASS.search(name) for name in classes)
            and len(node.text_content()) <= MAX_BYLINE_CHARS
        ):
            marked.append(node)
    said = [" ".join(filter(None, (node.get("content"), node.get("datetime"), node.text_content()))) for node in marked]
    for node in marked:
        node.drop_tree()  # keeps the text after it
    for text in tree.xpath("//text()[not(parent::script or parent::style)]"):
        spans = [match.group() for match in _MODIFIED_SPAN.finditer(text)] if _MODIFIED_CUE.search(text) else []
        if spans:
            said.extend(spans)
            parent, attribute = text.getparent(), "tail" if text.is_tail else "text"
            setattr(parent, attribute, _MODIFIED_SPAN.sub(" ", getattr(parent, attribute)))
    return said


def unmodified_date(date, markup: str, url: str | None) -> str | None:
    """htmldate's date (``date``), unless it is only when the page was last modified.

    With no publication date to be found, htmldate takes the modification date, even asked for the original
    date as trafilatura asks: an ``article:modified_time`` tag, "Updated: June 1, 2024". When ``date`` is one
    the page gives as a modification date, htmldate reads the page again with all of those taken out, and its
    answer stands: the same date when the page was also published that day, another, or none."""
    date = normalize_date(date)
    if date is None or len(date) < len("YYYY-MM-DD") or not _MODIFIED_CUE.search(markup):
        return date
    tree = _parse_html(markup)
    if tree is None:
        return date
    said = _drop_modification_dates(tree)
    if not any(date_is_stated(date, text) for text in said):
        return date
    from htmldate import find_date
    from trafilatura.settings import set_date_params

    try:
        # The tree, not markup: htmldate downloads a string that looks like a URL.
        return normalize_date(find_date(tree, **{**set_date_params(True), "url": url}))
    except Exception:
        logger.debug("htmldate failed on %s", url, exc_info=True)
        return None


#: Where a page writes its date for readers: <time>, and elements whose class,
#: id or itemprop says date, time, byline, published, meta or info.
_DATE_PLACES = (
    "//time | //*[re:test(concat(@class, ' ', @id, ' ', @itemprop), 'date|time|byline|publish|posted|meta|info', 'i')]"
)
#: Longer than this, an element is a wrapper (the whole post), not a byline.
MAX_BYLINE_CHARS = 300


def byline_date(tree) -> str | None:
    """The first Russian date with a year ("Автор: Мария · 7 февраля 2024 г.")
    in the page's date places (``_DATE_PLACES``): htmldate reads no Russian
    month names."""
    for node in tree.xpath(_DATE_PLACES, namespaces={"re": "http://exslt.org/regular-expressions"}):
        text = node.text_content()
        # "Обновлено 1 июня 2024" is when it was modified
        if len(text) <= MAX_BYLINE_CHARS and (date := russian_date(_MODIFIED_SPAN.sub(" ", text))):
            return date
    return None


def _extract_html(body: bytes, *, url: str, media_type: str | None, declared: str | None) -> Extracted:
    markup, charset = decode_body(body[:MAX_HTML_BYTES], declared, markup=True)
    tree = _parse_html(markup)
    if tree is None:
        return Extracted(content_kind="html", media_type=media_type, charset=charset)
    metas = page_metas(tree)  # before trafilatura, which may prune the tree
    import trafilatura

    _quiet_libraries()
    try:
        # Handing over a parsed tree (not a string) keeps trafilatura and
        # htmldate from ever treating the input as a URL to download.
        document = trafilatura.bare_extraction(
            tree,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            include_images=False,
            include_links=False,
            deduplicate=False,
        )
    except Exception:
        logger.debug("trafilatura failed on %s", url, exc_info=True)
        document = None
    if document is None:  # too little text for an article: still take the metadata
        try:
            document = trafilatura.extract_metadata(tree, default_url=url)
        except Exception:
            logger.debug("trafilatura metadata failed on %s", url, exc_info=True)
            document = None
    text = clean_text(getattr(document, "text", None) or "")
    title, site_name = title_and_site_name(
        tree, metas, url, clean_line(getattr(document, "title", None)), getattr(document, "sitename", None)
    )
    description = clean_line(getattr(document, "description", None), MAX_DESCRIPTION_CHARS)
    language = (
        detect_language(text) or detect_language(" ".join(filter(None, [title, description]))) or _tree_language(tree)
    )
    return _finish(
        content_kind="html",
        media_type=media_type,
        charset=charset,
        title=title,
        authors=meta_authors(metas) or normalize_authors(getattr(document, "author", None)),
        published=(
            meta_published(metas)
            or guessed_date(
                unmodified_date(getattr(document, "date", None), markup, getattr(document, "url", None) or url),
                markup,
                url,
            )
            or byline_date(tree)
        ),
        site_name=site_name,
        description=description,
        language=language,
        text=text,
        headings=_headings(getattr(document, "body", None)),
        abstract=meta_abstract(metas),
    )


def _headings(body) -> tuple[str, ...]:
    """The heading lines of trafilatura's main text (its ``<head>`` elements)."""
    if body is None:
        return ()
    return tuple(filter(None, (clean_line(" ".join(node.itertext())) for node in body.iter("head"))))


# --------------------------------------------------------------------------- PDF

_JUNK_TITLE = re.compile(
    r"""^(?:untitled|no\s*title|title|document\d*|paper|main|slide\s*\d*|presentation\d*|microsoft\s+\w+\s*-.*|
        .*\.(?:pdf|docx?|odt|rtf|tex|dvi|ps|pptx?|indd|qxd|qxp|xlsx?)|[\w\-]+\.\w{1,4}|[a-z]:\\.*|/.*|[\d\W_]+)$""",
    re.I | re.X,
)
_ARXIV_STAMP = re.compile(r"^arxiv:\d{4}\.\d{4,5}", re.I)
_PDF_DATE = re.compile(r"(?:D:)?(\d{4})(\d{2})?(\d{2})?")


def is_junk_title(title: str | None) -> bool:
    """True for the placeholder titles PDF producers leave behind
    (``Microsoft Word - draft.docx``, ``untitled``, a file name, digits)."""
    if not title:
        return True
    title = title.strip()
    return len(title) < 3 or not re.search(r"[^\W\d_]{2}", title) or bool(_JUNK_TITLE.match(title))


def _first_line_title(text: str) -> str | None:
    for line in text.splitlines()[:40]:
        line = clean_line(line)
        if not line or _ARXIV_STAMP.match(line) or len(re.findall(r"[^\W\d_]", line)) < 4:
            continue
        return truncate_words(line, 200)
    return None


def _pdf_date(raw) -> str | None:
    match = _PDF_DATE.match(str(raw).strip()) if raw else None
    if not match:
        return None
    year, month, day = match.groups()
    return normalize_date("-".join(filter(None, [year, month, day])))


def _extract_pdf(body: bytes, *, media_type: str | None) -> Extracted:
    from pypdf import PdfReader

    _quiet_libraries()
    try:
        reader = PdfReader(io.BytesIO(body), strict=False)
        if reader.is_encrypted:
            reader.decrypt("")  # many "encrypted" PDFs only restrict printing
    except Exception:
        logger.debug("unreadable PDF", exc_info=True)
        return Extracted(content_kind="pdf", media_type=media_type)

    info_title = info_author = info_date = None
    try:
        info = reader.metadata
        if info is not None:
            info_title, info_author = info.title, info.author
            info_date = info.get("/CreationDate")
    except Exception:
        logger.debug("unreadable PDF metadata", exc_info=True)

    parts: list[str] = []
    size = 0
    try:
        for index, page in enumerate(reader.pages):
            if index >= PDF_MAX_PAGES or size >= MAX_TEXT_CHARS:
                break
            try:
                page_text = page.extract_text() or ""
            except Exception:
                logger.debug("unreadable PDF page %d", index, exc_info=True)
                continue
            parts.append(page_text)
            size += len(page_text)
    except Exception:
        logger.debug("unreadable PDF page tree", exc_info=True)
    text = clean_text("\n".join(parts))

    title = clean_line(str(info_title)) if info_title else None
    if is_junk_title(title):
        title = _first_line_title(text)
    return _finish(
        content_kind="pdf",
        media_type=media_type,
        charset=None,
        title=title,
        authors=normalize_authors(str(info_author) if info_author else None),
        published=_pdf_date(info_date),
        site_name=None,
        description=None,
        language=detect_language(text) or detect_language(title),
        text=text,
    )


# --------------------------------------------------------------------------- plain text


def _extract_text(body: bytes, *, media_type: str | None, declared: str | None) -> Extracted:
    decoded, charset = decode_body(body[: MAX_TEXT_CHARS * 4], declared)
    text = clean_text(decoded.replace("\r\n", "\n").replace("\r", "\n"))
    title = None
    for line in text.splitlines():
        line = clean_line(line.lstrip("#=*- \t"))
        if line:
            title = truncate_words(line, 200)
            break
    return _finish(
        content_kind="text",
        media_type=media_type,
        charset=charset,
        title=title,
        authors=(),
        published=None,
        site_name=None,
        description=None,
        language=detect_language(text),
        text=text,
    )


# --------------------------------------------------------------------------- shared helpers

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*")


def count_words(text: str) -> tuple[int, int]:
    """(words, CJK characters) in ``text``. CJK characters count as one word
    each in the total; the second figure lets reading time treat them apart."""
    cjk = len(_CJK.findall(text))
    words = len(_WORD.findall(_CJK.sub(" ", text))) if cjk else len(_WORD.findall(text))
    return words + cjk, cjk


def reading_minutes(text: str, language: str | None, counts: tuple[int, int] | None = None) -> int | None:
    """Minutes to read ``text`` at the speed of its language (module docstring);
    None when there is no text, otherwise at least 1. ``counts`` is
    ``count_words(text)`` when the caller already has it."""
    total, cjk = counts or count_words(text)
    if not total:
        return None
    words_per_minute = WORDS_PER_MINUTE.get(language or "", DEFAULT_WORDS_PER_MINUTE)
    chars_per_minute = CHARS_PER_MINUTE.get(language or "", DEFAULT_CHARS_PER_MINUTE)
    minutes = (total - cjk) / words_per_minute + cjk / chars_per_minute
    return max(1, round(minutes))


def clean_text(text: str) -> str:
    """Normalize extracted text: no control characters, no trailing spaces, at
    most one blank line in a row, bounded length."""
    text = _XML_INVALID.sub("", text.replace("\u00a0", " "))
    lines = [line.rstrip() for line in text[:MAX_TEXT_CHARS].split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def clean_line(value, limit: int = MAX_TITLE_CHARS) -> str | None:
    """One line of metadata: no control or bidi control characters, whitespace collapsed, bounded, None when empty."""
    if value is None:
        return None
    value = re.sub(r"\s+", " ", strip_controls(str(value))).strip()
    return truncate_words(value, limit) if value else None


def strip_controls(text: str) -> str:
    """``text`` without control characters (but tab and newline: a CR ends a line) or bidi controls."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return BIDI_CONTROLS.sub("", _CONTROLS.sub("", text))


def truncate_words(value: str, limit: int) -> str:
    """``value`` cut at a word boundary to at most ``limit`` characters (with ``…``)."""
    if len(value) <= limit:
        return value
    cut = value[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-") + "…"


def _finish(*, text: str, language: str | None, **fields) -> Extracted:
    counts = count_words(text) if text else (0, 0)
    return Extracted(
        text=text,
        language=language,
        word_count=counts[0],
        reading_minutes=reading_minutes(text, language, counts) if text else None,
        **fields,
    )
