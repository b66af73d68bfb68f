"""Find the links in a post: written URLs, scheme-less links, bare ids, anchors, cards.

Pure: no I/O, no network. ``find_links`` scans text with a few precompiled
regexes whose patterns start with a literal or a small character set, so the
regex engine skips most of the text in C; the Python code only runs per
candidate.

What counts as a link in text, in priority order (a later kind never overlaps
an earlier one, so e.g. a DOI inside a written URL is not returned twice):

1. **Written URLs** (``via="text"``): ``http://`` / ``https://`` (any case),
   and ``www.`` hosts (``via="bare"``, ``https://`` added).
2. **Scheme-less links on known hosts** (``via="bare"``): ``github.com/x/y``,
   ``arxiv.org/abs/...``, ``t.me/...``, ... (see ``KNOWN_HOSTS``; subdomains
   such as ``gist.github.com`` or ``karpathy.github.io`` included). A path is
   required: a bare ``kaggle.com`` names a site, not something to read. Never
   inside an e-mail address, a longer URL or a longer name (the character
   before the host must not be a letter, digit, ``_ @ / % + \\``, except a
   ``_`` that opens Markdown emphasis, as in ``_github.com/x/y_``; leading dots
   and dashes as in ``...github.com/x`` are not part of the host). Also a
   t.me invite link a text dump left site-relative: ``/channel/+AbC...`` or
   ``/joinchat/AbC...`` standing as a word -> ``https://t.me/+AbC...``.
3. **arXiv ids** (``via="id"``): ``arXiv:2401.12345``, ``arxiv 2401.12345v2``,
   ``arXiv:hep-th/9901001``, ``arXiv:math.GT/0309136``; an old-style id without
   the prefix when its archive is one of arXiv's (``hep-th/9901001``,
   ``cs/0112017``; not ``foo/9901001``) and ``YYMM`` is 9108..0703; a new-style
   id without the prefix only when its line also says arxiv / paper / стать(я|и|ю|е).
   New-style ids are ``YYMM.NNNN`` (0704..1412) or ``YYMM.NNNNN`` (1501..),
   month 01-12, year 07..50; anything else (``3.14159``, ``2023.12345``) is a
   number. The version is kept in the URL.
4. **DOIs** (``via="id"``): ``10.NNNN/suffix``, optionally written after
   ``doi:`` / ``DOI:``.

``written`` is the exact span of the text; for ids it includes a prefix glued
with a colon (``arXiv:2401.12345``, ``doi:10.1/x``) but not one separated by
whitespace (then ``written`` is the id alone), so ``written`` never holds
whitespace.

Where a written URL ends:

* at whitespace, ``<>"«»{}|\\^`[]``, emoji and other non-word symbols;
* trailing ``.,;:!?'*`` are dropped, and a closing ``)`` only when unbalanced
  (``.../Foo_(bar)`` keeps it, ``(see https://x.com/a)`` drops it);
* Markdown emphasis around a URL is not part of it: trailing ``_`` / ``~`` are
  dropped when the same markers open right before the URL (``_url_``,
  ``__url__``, ``~~url~~``, also ``_github.com/x/y_``); otherwise they are the
  URL's (``.../snake_case_``);
* **Cyrillic glued to the URL**: a Cyrillic letter directly after an ASCII
  letter, digit or punctuation other than ``/ _ - = + ~ # & (`` ends the URL
  (``https://github.com/x/yСмотрите`` -> ``.../x/y``), while one after a
  delimiter starts a Cyrillic path segment (``ru.wikipedia.org/wiki/Трансформер``
  is kept whole). If the host itself is Cyrillic (``https://пример.рф/путь``) the
  rule is off and the whole path is kept. Percent-encoded text is ASCII: kept;
* a second ``http(s)://`` glued inside a URL starts a new URL unless it follows
  ``=``, ``/`` or ``?`` (``?url=https://...`` and ``web.archive.org/web/2020/https://...``
  stay one URL);
* an ellipsis (``...`` at the end or ``…`` anywhere) means Telegram cut the URL:
  ``truncated=True``, ``written`` keeps the dots, ``url`` is the part before them.

The host of a written URL must have a letter TLD (``localhost`` and bare IP
addresses are not reading material).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

from .models import Anchor, Post

__all__ = ["CALL_TO_ACTION", "FoundLink", "find_links", "links_in_post", "find_hashtags", "snippet", "KNOWN_HOSTS"]

CONTEXT_LIMIT = 160

#: A link text that only asks to follow the link names the link, not the page (nor, as a byline, a
#: person): it opens with a call to action ("Читать полностью на Хабре", "ссылка на оригинал статьи",
#: "read the full post here").
CALL_TO_ACTION = re.compile(
    r"""\W*(?:
        (?:читать|читайте|прочитать|прочтите)\s+(?:полностью|далее|дальше|ещ[её]|тут|здесь|по\s+ссылке)
      | ссылк[аиуе]\s+(?:на|в|к)\b | по\s+ссылке | подробнее | источник\b | оригинал\b
      | read\s+(?:more|the\s+(?:full|rest|whole)|full|it\s+here|on)\b | continue\s+reading
      | (?:the\s+)?full\s+(?:post|article|text|story|thread|version)\b | (?:click|tap)\s+here
      | link\s+(?:to|in|on)\b | source\s*:
    )""",
    re.IGNORECASE | re.VERBOSE,
)


@dataclass(frozen=True)
class FoundLink:
    url: str
    written: str
    start: int
    end: int
    via: str  # "text" | "bare" | "id" | "anchor" | "preview"
    anchor_text: str | None = None
    title: str | None = None
    truncated: bool = False
    context: str = ""


# Hosts whose links are recognised without a scheme (any subdomain too).
KNOWN_HOSTS = (
    "github.com",
    "github.io",
    "arxiv.org",
    "habr.com",
    "huggingface.co",
    "hf.co",
    "t.me",
    "telegra.ph",
    "youtu.be",
    "youtube.com",
    "doi.org",
    "paperswithcode.com",
    "openreview.net",
    "kaggle.com",
    "colab.research.google.com",
    "medium.com",
    "x.com",
    "twitter.com",
    "aclanthology.org",
)

# Characters a URL may contain: word characters (any script; emoji are not
# word characters) and the ASCII punctuation that URLs use. "…" is taken so a
# cut URL can be recognised, then everything from it on is dropped.
_BODY = r"[\w!#$%&'()*+,\-./:;=?@~…]"

# Every pattern starts with a literal, so the regex engine skips text quickly;
# what a lookbehind would check is checked in Python, per candidate.
_AFTER_SCHEME = re.compile("://" + _BODY + "+")
_WWW = re.compile(r"www\." + _BODY + "+")
_WWW_ANY_CASE = re.compile(r"www\." + _BODY + "+", re.IGNORECASE)
_BODY_RUN = re.compile(_BODY + "*")
# The end of a scheme-less host on a known site: ".com/", ".co/", ".io/", ...
_BARE_HINT = re.compile(r"\.(?:[Cc][Oo][Mm]?|[Ii][Oo]|[Oo][Rr][Gg]|[Nn][Ee][Tt]|[Mm][Ee]|[Bb][Ee]|[Pp][Hh])/")
_KNOWN = frozenset(KNOWN_HOSTS)
_KNOWN_LABELS = max(h.count(".") + 1 for h in KNOWN_HOSTS)
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")
# "/channel/+AbC..." or "/joinchat/AbC...": an invite link whose t.me host a
# text dump of a t.me/s page dropped.
_TME_RELATIVE = re.compile(r"/(?:channel/\+|joinchat/)(?P<invite>[A-Za-z0-9_\-]{8,})(?![\w/])")
_ARXIV_PREFIXED = re.compile(
    r"[Aa][Rr][Xx][Ii][Vv](?P<sep>:?[ \t]*)"
    r"(?:(?P<new>(?P<yymm>\d{4})\.(?P<num>\d{4,5}))|(?P<old>[a-z]+(?:-[a-z]+)*(?:\.[A-Za-z]{2})?/\d{7}))"
    r"(?P<ver>v\d+)?(?![A-Za-z0-9_/]|\.\d)"
)
# The "/YYMMNNN" of an old-style id; the archive before it is checked in Python.
_ARXIV_OLD_NUMBER = re.compile(r"/(?P<num>\d{7})(?P<ver>v\d+)?(?![A-Za-z0-9_/]|\.\d)")
_ARXIV_OLD_NAME = re.compile(r"(?P<archive>[a-z]+(?:-[a-z]+)?)(?:\.[A-Z]{2})?")
# The archives of old-style ids (1991 to March 2007), so that "cs/0112017" is a paper and "v2/1234567" is not.
ARXIV_ARCHIVES = frozenset(
    {
        "acc-phys", "adap-org", "alg-geom", "ao-sci", "astro-ph", "atom-ph", "bayes-an", "chao-dyn", "chem-ph",
        "cmp-lg", "comp-gas", "cond-mat", "cs", "dg-ga", "funct-an", "gr-qc", "hep-ex", "hep-lat", "hep-ph",
        "hep-th", "math", "math-ph", "mtrl-th", "nlin", "nucl-ex", "nucl-th", "patt-sol", "physics", "plasm-ph",
        "q-alg", "q-bio", "quant-ph", "solv-int", "supr-con",
    }
)
_ARCHIVE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-")
# The ".NNNNN" of a new-style id; the "YYMM" before it is checked in Python.
_ARXIV_BARE = re.compile(r"\.(?P<num>\d{4,5})(?P<ver>v\d+)?(?![A-Za-z0-9_/]|\.\d)")
_ARXIV_CONTEXT = re.compile(r"arxiv|paper|стать", re.IGNORECASE)
_DOI = re.compile(r"10\.\d{4,9}/[\w\-.;()/:%+]+")

_CYR = "\u0400-\u052f"
_IDN_LABEL = re.compile(f"(?:^|(?<=[./@]))[{_CYR}]")
# A Cyrillic letter glued after something that cannot precede a Cyrillic path segment.
_GLUED_CYR = re.compile(f"[^/_\\-=+~#&({_CYR}][{_CYR}]")
_TRAIL = frozenset(".,;:!?'*")
# Markdown emphasis that may wrap a URL (``_url_``, ``__url__``, ``~~url~~``); "*" is always trailing punctuation.
_EMPHASIS = "_~"
_HOST_OK = re.compile(r"(?:[\w\-]+\.)+(?:[^\W\d_]{2,}|xn--[\w\-]+)\.?", re.IGNORECASE)
_INNER_SCHEME = re.compile(r"[Hh][Tt][Tt][Pp][Ss]?://")
_BEFORE_ID_BAD = frozenset("./-")
_WS = re.compile(r"\s+")


# --------------------------------------------------------------------------- helpers


def _cut_glued_cyrillic(s: str, host_from: int) -> str:
    """Cut ``s`` where Cyrillic text glued to it begins (see module docstring).

    A Cyrillic host (a label of the host starts with a Cyrillic letter:
    ``пример.рф``) is an IDN: then the Cyrillic path is kept as well.
    """
    host_end = _host_end(s, host_from)
    if _IDN_LABEL.search(s, host_from, host_end):
        return s
    m = _GLUED_CYR.search(s, max(host_from - 1, 0))
    return s if m is None else s[: m.start() + 1]


def _host_end(s: str, host_from: int) -> int:
    end = len(s)
    for ch in "/?#":
        i = s.find(ch, host_from, end)
        if i != -1:
            end = i
    return end


def _emphasis_before(text: str, start: int) -> str:
    """The Markdown emphasis markers (``_``, ``__``, ``~~``) that open right before ``text[start]``.

    A run of them counts only where a word could start (at the start of the
    text, after whitespace or punctuation other than ``@ / % + \\``): in
    ``snake_https://...`` the ``_`` is part of a word, not emphasis. Empty
    when there is none.
    """
    first = start
    while first and text[first - 1] in _EMPHASIS and start - first < 3:
        first -= 1
    if first == start or (first and (text[first - 1].isalnum() or text[first - 1] in "_~@/%+\\")):
        return ""
    return text[first:start]


def _trim(s: str, lo: int, emphasis: str = "") -> tuple[int, int, bool]:
    """Where the URL in ``s`` ends: ``(url_end, written_end, truncated)``.

    Trailing punctuation is dropped (a ``)`` only when unbalanced), and as many
    trailing ``_`` / ``~`` as the Markdown ``emphasis`` that opened before the
    URL (``_https://x.org/a_b_`` is ``https://x.org/a_b``; without an opening
    marker a trailing ``_`` is the URL's). An ellipsis means Telegram cut the
    URL: "…" anywhere, or "..." at the end (before any trailing punctuation);
    the written form keeps the dots, the URL does not. ``lo`` is the shortest
    length allowed (the scheme or host prefix).
    """
    ell = s.find("…", lo)
    if ell != -1:
        end = ell
        while end > lo and s[end - 1] == ".":
            end -= 1
        return end, ell + 1, True
    end = len(s)
    opened = closed = -1  # counted when first needed
    closers = len(emphasis)
    while end > lo:
        c = s[end - 1]
        if c == "." and s.endswith("...", lo, end):
            written = end
            end -= 3
            while end > lo and s[end - 1] == ".":
                end -= 1
            return end, written, True
        if c in _TRAIL:
            end -= 1
        elif closers and c in emphasis:
            end -= 1
            closers -= 1
        elif c == ")":
            if closed < 0:
                opened, closed = s.count("(", 0, end), s.count(")", 0, end)
            if opened >= closed:
                break
            end -= 1
            closed -= 1
        else:
            break
    return end, end, False


def _host_valid(s: str, host_from: int, end: int) -> bool:
    host_end = _host_end(s[:end], host_from)
    authority = s[host_from:host_end]
    at = authority.rfind("@")
    if at != -1:
        authority = authority[at + 1 :]
    colon = authority.rfind(":")
    if colon != -1:
        port = authority[colon + 1 :]
        if port and not port.isdigit():
            return False
        authority = authority[:colon]
    return _HOST_OK.fullmatch(authority) is not None


def _glued_urls(text: str, start: int, host_from: int, stop: int) -> list[tuple[int, int]]:
    """Split ``text[start:stop]`` where another ``http(s)://`` is glued on.

    Not after ``=``, ``/`` or ``?``: ``?url=https://...`` and
    ``web.archive.org/web/2020/https://...`` are one URL.
    """
    spans = []
    for m in _INNER_SCHEME.finditer(text, host_from, stop):
        if text[m.start() - 1] not in "=/?":
            spans.append((start, m.start()))
            start = m.start()
    spans.append((start, stop))
    return spans


class _Spans:
    """Accepted, non-overlapping spans, kept sorted by start."""

    __slots__ = ("starts", "ends")

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def free(self, start: int, end: int) -> bool:
        i = bisect_right(self.starts, start)
        if i and self.ends[i - 1] > start:
            return False
        return not (i < len(self.starts) and self.starts[i] < end)

    def add(self, start: int, end: int) -> None:
        i = bisect_right(self.starts, start)
        self.starts.insert(i, start)
        self.ends.insert(i, end)


def snippet(text: str, start: int, end: int, limit: int = CONTEXT_LIMIT) -> str:
    """``text[start:end]`` with some text around it: whitespace collapsed, at most ``limit`` chars.

    The surrounding text is cut on word boundaries where possible and shared
    between both sides (a side that runs out gives its room to the other).
    """
    core = " ".join(text[start:end].split())
    if len(core) >= limit:
        return core[:limit]
    room = limit - len(core)
    lo = max(0, start - limit - 40)
    hi = end + limit + 40
    left = " ".join(text[lo:start].split())
    if left and text[start - 1].isspace():
        left += " "
    right = " ".join(text[end:hi].split())
    if right and text[end].isspace():
        right = " " + right
    lw = min(len(left), max(room // 2, room - len(right)))
    rw = min(len(right), room - lw)
    head = left[len(left) - lw :]
    if lw < len(left):
        partial = left[len(left) - lw - 1] != " "
    else:  # the whole window: its first word is cut if the window starts inside a word
        partial = lo > 0 and not text[lo - 1].isspace() and not text[lo].isspace()
    if head and partial:
        space = head.find(" ")
        if space != -1:
            head = head[space + 1 :]
    tail = right[:rw]
    if rw < len(right):
        partial = right[rw] != " "
    else:
        partial = hi < len(text) and not text[hi - 1].isspace() and not text[hi].isspace()
    if tail and partial:
        space = tail.rfind(" ")
        if space != -1:
            tail = tail[:space]
    return (head + core + tail).strip()


def _head(text: str, limit: int = CONTEXT_LIMIT) -> str:
    """The start of a post as context for a link found outside its text."""
    collapsed = _WS.sub(" ", text[: 3 * limit]).strip()
    if len(collapsed) <= limit:
        return collapsed
    cut = collapsed[:limit]
    if not collapsed[limit].isspace():
        space = cut.rfind(" ")
        if space > limit // 2:
            cut = cut[:space]
    return cut.rstrip()


def _valid_old_id(number: str) -> bool:
    """Whether ``YYMMNNN`` dates an old-style id: August 1991 to March 2007."""
    yymm = number[:4]
    yy, mm = int(yymm[:2]), int(yymm[2:])
    if not 1 <= mm <= 12:
        return False
    return yymm >= "9108" if yy >= 91 else yymm <= "0703"


def _valid_new_id(yymm: str, num: str) -> bool:
    yy = int(yymm[:2])
    mm = int(yymm[2:])
    if not (1 <= mm <= 12 and 7 <= yy <= 50) or yymm < "0704":
        return False
    return len(num) == (4 if yymm < "1501" else 5)


# --------------------------------------------------------------------------- find_links


def find_links(text: str) -> list[FoundLink]:
    """All links written in ``text``, in text order, with no two spans overlapping."""
    found: list[tuple[int, int, str, str, bool]] = []  # start, end, url, via, truncated
    spans = _Spans()

    def accept(start: int, end: int, url: str, via: str, truncated: bool) -> None:
        found.append((start, end, url, via, truncated))
        spans.add(start, end)

    # 1. Written URLs: "http(s)://" in any case.
    if "://" in text:
        for m in _AFTER_SCHEME.finditer(text):
            colon = m.start()
            if colon >= 5 and text[colon - 5 : colon].lower() == "https":
                start = colon - 5
            elif colon >= 4 and text[colon - 4 : colon].lower() == "http":
                start = colon - 4
            else:
                continue
            for start, stop in _glued_urls(text, start, colon + 3, m.end()):
                s = text[start:stop]
                host_from = s.index("://") + 3
                if not s.isascii():
                    s = _cut_glued_cyrillic(s, host_from)
                end, wend, truncated = _trim(s, host_from, _emphasis_before(text, start))
                if end > host_from and _host_valid(s, host_from, end):
                    accept(start, start + wend, s[:end], "text", truncated)

    # ... and "www." hosts without a scheme.
    if "ww." in text or "WW." in text:
        for rx in (_WWW, _WWW_ANY_CASE) if "WW." in text or "Ww" in text else (_WWW,):
            for m in rx.finditer(text):
                start = m.start()
                emphasis = _emphasis_before(text, start)
                if start and not emphasis and (text[start - 1].isalnum() or text[start - 1] in "._@/-"):
                    continue
                s = m.group()
                if not spans.free(start, start + len(s)):
                    continue
                if not s.isascii():
                    s = _cut_glued_cyrillic(s, 0)
                end, wend, truncated = _trim(s, 4, emphasis)
                if end > 4 and _host_valid(s, 0, end) and spans.free(start, start + wend):
                    accept(start, start + wend, "https://" + s[:end], "bare", truncated)

    # 2. Scheme-less links on known hosts: found by the end of the host (".com/").
    for m in _BARE_HINT.finditer(text):
        dot = m.start()
        if not spans.free(dot, dot + 1):
            continue
        first = dot
        while first and text[first - 1] in _HOST_CHARS:
            first -= 1
            if dot - first > 253:
                break
        if dot - first > 253:
            continue  # no host is that long
        emphasis = _emphasis_before(text, first)
        if first and not emphasis and (text[first - 1].isalnum() or text[first - 1] in "_@/%+\\"):
            continue  # glued to a word, an e-mail address or a longer URL
        start = first
        while text[start] in ".-":
            start += 1  # "...github.com/x": the dots are not the host's
        slash = m.end() - 1
        host = text[start:slash].lower()
        if not _known_host(host):
            continue
        s = text[start : _BODY_RUN.match(text, m.end()).end()]
        if not s.isascii():
            s = _cut_glued_cyrillic(s, 0)
        lo = slash - start + 1
        end, wend, truncated = _trim(s, lo, emphasis)
        if end > lo and spans.free(start, start + wend):
            accept(start, start + wend, "https://" + s[:end], "bare", truncated)

    # ... and t.me invite links that a text rendering of a channel left site-relative.
    if "/channel/+" in text or "/joinchat/" in text:
        for m in _TME_RELATIVE.finditer(text):
            start = m.start()
            if start and not (text[start - 1].isspace() or text[start - 1] in "(:«\"'"):
                continue
            if spans.free(start, m.end()):
                accept(start, m.end(), "https://t.me/+" + m.group("invite"), "bare", False)

    # 3. arXiv ids with the prefix.
    if "rxiv" in text or "RXIV" in text or "rXiv" in text:
        for m in _ARXIV_PREFIXED.finditer(text):
            start = m.start()
            if start and (text[start - 1].isalnum() or text[start - 1] in _BEFORE_ID_BAD):
                continue
            if m.group("new") and not _valid_new_id(m.group("yymm"), m.group("num")):
                continue
            ident = (m.group("new") or m.group("old")) + (m.group("ver") or "")
            if m.group("sep") not in ("", ":"):
                start = m.start("new") if m.group("new") else m.start("old")  # "arXiv 2401.12345"
            if spans.free(start, m.end()):
                accept(start, m.end(), "https://arxiv.org/abs/" + ident, "id", False)

    # ... and old-style ids without the prefix: a known archive, "/YYMMNNN".
    if "/" in text:
        for m in _ARXIV_OLD_NUMBER.finditer(text):
            slash = start = m.start()
            while start and slash - start < 12 and text[start - 1] in _ARCHIVE_CHARS:
                start -= 1
            name = _ARXIV_OLD_NAME.fullmatch(text, start, slash)
            if name is None or name.group("archive") not in ARXIV_ARCHIVES or not _valid_old_id(m.group("num")):
                continue
            if start and (text[start - 1].isalnum() or text[start - 1] in "./-_@%+\\"):
                continue
            if spans.free(start, m.end()):
                accept(start, m.end(), "https://arxiv.org/abs/" + text[start : m.end()], "id", False)

    # 4. DOIs.
    if "10." in text:
        for m in _DOI.finditer(text):
            start = m.start()
            if start and (text[start - 1].isalnum() or text[start - 1] in "./-_"):
                continue
            s = m.group()
            if not s.isascii():
                s = _cut_glued_cyrillic(s, 0)
            lo = s.index("/") + 1
            end, wend, truncated = _trim(s, lo)
            if end <= lo:
                continue
            stop = m.start() + wend
            if text[start - 4 : start].lower() == "doi:" and (start == 4 or not text[start - 5].isalnum()):
                start -= 4  # a glued "doi:" is part of what was written
            if spans.free(start, stop):
                accept(start, stop, "https://doi.org/" + s[:end], "id", truncated)

    # 5. New-style arXiv ids without the prefix, when their line is about a paper.
    line_end = -1  # the line last looked at, and whether it is about a paper
    about_paper = False
    for m in _ARXIV_BARE.finditer(text):
        dot = m.start()
        start = dot - 4
        if start < 0:
            continue
        yymm = text[start:dot]
        if not (yymm.isascii() and yymm.isdigit()):
            continue
        if start and (text[start - 1].isalnum() or text[start - 1] in "./-_,$€£₽"):
            continue
        if not _valid_new_id(yymm, m.group("num")):
            continue
        end = m.end()
        if not spans.free(start, end):
            continue
        if start >= line_end:
            line_start = text.rfind("\n", 0, start) + 1
            line_end = text.find("\n", end)
            if line_end == -1:
                line_end = len(text)
            about_paper = _ARXIV_CONTEXT.search(text, line_start, line_end) is not None
        if not about_paper:
            continue
        accept(start, end, "https://arxiv.org/abs/" + text[start:end], "id", False)

    found.sort()
    return [
        FoundLink(url, text[start:end], start, end, via, truncated=truncated, context=snippet(text, start, end))
        for start, end, url, via, truncated in found
    ]


def _known_host(host: str) -> bool:
    """Whether ``host`` (lowercase) is a known host or a subdomain of one."""
    if host in _KNOWN:
        return True
    if len(host) > 253 or ".." in host:
        return False
    labels = host.split(".")
    return any(".".join(labels[-k:]) in _KNOWN for k in range(2, min(len(labels), _KNOWN_LABELS + 1)))


# --------------------------------------------------------------------------- posts

_GITHUB_TITLE = re.compile(
    r"GitHub\s+[-–—]\s+(?P<owner>[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/(?P<repo>[A-Za-z0-9._-]+?)(?:\.git)?(?=:|\s|$)"
)


def _is_http(url: str) -> bool:
    return url[:8].lower().startswith(("http://", "https://"))


def _context_for(text: str, *needles: str | None) -> str:
    for needle in needles:
        if needle:
            needle = needle.strip()
            i = text.find(needle) if needle else -1
            if i != -1:
                return snippet(text, i, i + len(needle))
    return _head(text)


def _anchor_context(text: str, anchor: Anchor, href: str, anchor_text_from: dict[str, int]) -> str:
    """The context of ``anchor``: around its text at ``anchor.start``, else at its text's next occurrence."""
    label = (anchor.text or "").strip()
    if label:
        start = anchor.start
        if start is None or text[start : start + len(label)] != label:
            start = text.find(label, anchor_text_from.get(label, 0))
        if start != -1:
            anchor_text_from[label] = start + len(label)
            return snippet(text, start, start + len(label))
    return _context_for(text, label, href)


def links_in_post(post: Post) -> list[FoundLink]:
    """Links in the post's text, then its anchors, then its preview cards; each with context.

    Anchors and cards are not in the text (``start == end == -1``); their
    context is the text around the anchor text (or the URL) when the post's
    text has it, else the start of the post. An anchor's text is looked for
    where the source says it is, else after the previous anchor with the
    same text: anchors come in text order, so three links labelled "тут"
    each get the text around their own.
    """
    text = post.text or ""
    links = find_links(text)
    anchor_text_from: dict[str, int] = {}  # where the next anchor with this text is looked for
    for anchor in post.anchors:
        href = (anchor.href or "").strip()
        if not href or not _is_http(href) or any(c.isspace() for c in href):
            continue
        links.append(
            FoundLink(
                url=href,
                written=href,
                start=-1,
                end=-1,
                via="anchor",
                anchor_text=anchor.text,
                context=_anchor_context(text, anchor, href, anchor_text_from),
            )
        )
    for card in post.previews:
        url = (card.url or "").strip()
        if url:
            if not _is_http(url) or any(c.isspace() for c in url):
                continue
            links.append(
                FoundLink(url, url, -1, -1, "preview", title=card.title, context=_context_for(text, url, card.title))
            )
            continue
        if (card.site_name or "").strip().lower() != "github" or not card.title:
            continue
        m = _GITHUB_TITLE.match(card.title.strip())
        if m is None:
            continue
        url = f"https://github.com/{m.group('owner')}/{m.group('repo')}"
        links.append(
            FoundLink(url, card.title, -1, -1, "preview", title=card.title, context=_context_for(text, card.title))
        )
    return links


# --------------------------------------------------------------------------- hashtags

# A hashtag starts after a non-word character (so not inside a URL: "/#x",
# "a#b", "?x=1#y" and "&#39;" are not hashtags) and holds at least one letter.
_HASHTAG = re.compile(r"#(\w+)")
_NOT_BEFORE_HASHTAG = frozenset("#&/=?.:-+%~@_")


def find_hashtags(text: str) -> list[str]:
    """Hashtags in ``text``, lowercased, unique, in order: ``"#llm #course"`` -> ``["llm", "course"]``."""
    if "#" not in text:
        return []
    seen: dict[str, None] = {}
    for m in _HASHTAG.finditer(text):
        i = m.start()
        if i and (text[i - 1].isalnum() or text[i - 1] in _NOT_BEFORE_HASHTAG):
            continue
        tag = m.group(1)
        if not any(c.isalpha() for c in tag):
            continue  # "#1", "#2024", "#__"
        seen.setdefault(tag.lower(), None)
    return list(seen)
