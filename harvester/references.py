"""Papers a post cites by title, with no link: finding the candidates.

Channels often name a paper instead of linking it::

    Хочу отметить ещё одну работу с ICML: PV-Tuning: Beyond Straight-Through Estimation for Extreme LLM Compression
    Malinovskii et. al.

:func:`find_candidates` reads a post's text (and its link-preview cards that
have no URL) and returns :class:`Candidate` titles, each with the surnames the
post gives and a snippet of context. Resolving them to real papers is
``readinglist/references.py``; matching rules are ``harvester.title_match``.

What counts as a cited title (each rule is a ``via`` value):

* ``author``: a line that reads as a title followed (directly or after one
  blank line) by an author line: ``Name et al.``, ``Name et. al., 2024``,
  ``Имя и др.``, ``by Name``, or a list of two or more full names. Also on one
  line: ``Title, Name et al.``, ``Title (Name et al., 2024)``, ``Title by Name
  et al.`` and ``Name et al. Title.``. A Russian lead-in before a colon is
  dropped: ``работу с ICML: PV-Tuning: ...`` -> ``PV-Tuning: ...``.
* ``header``: a Markdown header (``# Title``); without an author line it must
  be in Latin script, four words or more, and title-cased or with a colon. Not
  in a post that links a paper: there the header names that paper.
* ``marker``: a title line followed by a bare ``Paper`` / ``📃 Статья`` /
  ``arXiv`` line (a link label whose link the dump lost).
* ``cue``: ``статья: Title``, ``paper: Title``, ``работу с ICML: Title``,
  ``под названием Title``, ``titled Title`` (the title in Latin script).
* ``quoted``: ``«…»``, ``“…”``, ``"…"`` in Latin script that read as a title
  (title case or a colon, or a paper word just before); Cyrillic quotes only
  right after a paper word (``в статье «…»``).
* ``preview``: the title of a link-preview card with no URL, unless the card is
  from a site whose pages are not papers (GitHub, Telegram, YouTube, Habr...).

Not candidates: text that is a link's anchor or a preview card's title in the
same post (already a link), titles on a line (or with an author line) that has a
URL, or followed by a line that links a paper (``https://arxiv.org/abs/…``,
``Статья: arxiv.org/abs/…``); titles under 3 words or 12
characters, over 30 words, mostly non-letters, starting in lowercase, holding
a sentence break, a URL, a @handle or a #hashtag, or cut short (``…``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from harvester.identity import identify
from harvester.links import find_links, links_in_post, snippet
from harvester.models import Post, Preview
from harvester.title_match import MINOR_WORDS, normalize, titles_agree

__all__ = ["Candidate", "find_candidates", "candidates_in_post", "title_like", "parse_author_line"]


@dataclass(frozen=True)
class Candidate:
    """A title a post cites. ``authors``: surnames as the post writes them (may be Cyrillic)."""

    title: str
    authors: tuple[str, ...] = ()
    snippet: str = ""
    via: str = ""


MIN_CHARS, MAX_CHARS = 12, 250
MIN_WORDS, MAX_WORDS = 3, 30
NON_PAPER_SITES = frozenset(
    "github gitlab telegram youtube хабр habr twitter x vk вконтакте facebook instagram linkedin reddit discord".split()
)

_URL = re.compile(r"https?://|www\.|\bt\.me/|\b[\w-]+\.(?:com|org|ru|io|ai|net|dev)/", re.I)
_HANDLE_OR_TAG = re.compile(r"(?:^|\s)[@#]\w")
_WORD = re.compile(r"[^\W_][\w'’]*(?:-[^\W_][\w'’]*)*")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[A-Za-z]")
_EDGE_START = re.compile(r"^[\W_]+(?<![\"'«“„(\[$\\])|^\d{1,2}[.)]\s+")
_EDGE_END = re.compile(r"[\s\W_]+$(?<![?)\]$}»”\"“'])")
_EMPHASIS = re.compile(r"\*\*|__|`")
# "Title (сайт проекта)": a trailing remark in Russian is not part of an English title.
_TRAILING_REMARK = re.compile(r"\s*\([^()]*[\u0400-\u04ff][^()]*\)\s*$")
_ABBREVIATIONS = re.compile(r"\b(?:vs|et al|etc|e\.g|i\.e|Dr|Mr|Ms|No|Vol|Fig|St)\.", re.I)
_SENTENCE_BREAK = re.compile(r"[.!…]\s+\S|\.\.\.")

# A capitalized word with a lowercase letter in it ("Malinovskii", "McDonald", "O'Neil", "Ferreiro-Castilla").
# Name parts are separated by whitespace (initials may be glued): no ambiguous splits, no backtracking blow-up.
_NAME = r"[A-ZА-ЯЁ](?=[\w'’]*[a-zа-яё])[\w'’]+(?:-[A-ZА-ЯЁ][\w'’]+)?"
PARTICLES = ("van", "von", "de", "del", "der", "den", "da", "di", "du", "le", "la", "dos", "ten", "ter")
_PARTICLE = rf"(?:(?:{'|'.join(PARTICLES)})\s+)"
_SURNAME = rf"{_PARTICLE}*{_NAME}"
_INITIAL = r"[A-ZА-ЯЁ]\."
_ET_AL = r"(?:et\.?\s*al\b\.?|и\s+др\b\.?|и\s+соавт\b\.?|и\s+коллеги\b|and\s+colleagues\b)"
_FULL_NAME = rf"(?:{_NAME}\s+|{_INITIAL}\s*){{1,3}}{_SURNAME}"
_BY = r"(?:(?i:by|from|авторы?|authors?)\s*:?\s+)"

_AUTHOR_ET_AL = re.compile(
    rf"^\(?\s*{_BY}?(?:{_NAME}\s+|{_INITIAL}\s*){{0,2}}(?P<surname>{_SURNAME})\s*,?\s*{_ET_AL}(?P<rest>.*)$"
)
_AUTHOR_LIST = re.compile(
    rf"^{_BY}?(?P<names>{_FULL_NAME}(?:\s*,\s*{_FULL_NAME})+(?:\s*,?\s*(?:and|и|&)\s+{_FULL_NAME})?)\s*\.?$"
)
_AUTHOR_BY = re.compile(rf"^(?i:by|авторы?:?)\s+(?P<names>{_FULL_NAME}(?:\s*,\s*{_FULL_NAME}|\s+(?:and|и|&)\s+{_FULL_NAME})*)\s*\.?$")
_AUTHOR_REST_JUNK = re.compile(r"^[\s,.;:()\-–—]*(?:\(?\d{4}\)?)?[\s,.;:()\-–—]*$")

_INLINE_PAREN = re.compile(rf"^(?P<title>.+?)\s*\(\s*(?P<surname>{_SURNAME})\s*,?\s*{_ET_AL}[^()]*\)\s*[.,;:]?\s*$")
_INLINE_TAIL = re.compile(
    rf"^(?P<title>.+?)(?:\s*[,—–]\s*|\s+-\s+|\s+by\s+)(?:by\s+)?(?P<surname>{_SURNAME})\s*,?\s*{_ET_AL}"
    r"\s*(?:,?\s*\(?\d{4}\)?)?\s*[.;]?\s*$"
)
# Where authors follow a title inside a line: "Title, Name et al. ...", "Title (Name et al., 2024)", "Title by Name et al.".
_CITED_BY = re.compile(rf"(?:\s*[,—–(]\s*|\s+-\s+|\s+by\s+)(?P<surname>{_SURNAME})\s*,?\s*{_ET_AL}")
_HEADER = re.compile(r"^\s*#{1,6}\s+(?P<title>.+?)\s*#*\s*$")
_MARKER = re.compile(r"^[\W_]*(?:paper|papers|статья|пейпер|препринт|preprint|arxiv|pdf)[\W_]*$", re.I)
_CUE_WORD = r"(?:стать[яюеи]|статей|работ[аеуы]|препринт|пейпер|paper|article|preprint)"
_CUE_COLON = re.compile(
    rf"(?:^|[\s(])(?:{_CUE_WORD})(?:\s+[^\s:]+){{0,2}}?\s*[:—–]\s+(?P<title>.+)$", re.I
)
_CUE_TITLED = re.compile(r"(?:названием|называется|titled|entitled|called)\s*:?\s+(?P<title>.+)$", re.I)
_CUE_BEFORE = re.compile(rf"(?:{_CUE_WORD}|в\s+работе|в\s+статье)\W{{0,3}}(?:\s+\S+){{0,3}}\s*\W?$", re.I)
_QUOTED = re.compile(r"«([^«»\n]{10,250})»|“([^“”\n]{10,250})”|„([^„“\n]{10,250})“|\"([^\"\n]{10,250})\"")


def _letters(text: str) -> int:
    return sum(c.isalpha() for c in text)


def latin_share(text: str | None) -> float:
    """Latin letters among all letters (0.0 for no text)."""
    text = text or ""
    letters = _letters(text)
    return len(_LATIN.findall(text)) / letters if letters else 0.0


def _clean(text: str) -> str:
    text = _EMPHASIS.sub("", text).strip()
    text = _TRAILING_REMARK.sub("", text)
    for _ in range(3):
        stripped = _EDGE_END.sub("", _EDGE_START.sub("", text)).strip()
        if stripped == text:
            break
        text = stripped
    # A title wrapped in quotes or brackets: unwrap.
    if len(text) > 2 and text[0] + text[-1] in ('""', "«»", "“”", "„“", "()", "[]"):
        text = text[1:-1].strip()
    # A quote left over from a lead-in cut before it ('статья: "Title" (X et al.)'): drop it.
    for opener, closer in _QUOTE_PAIRS:
        if text.endswith(closer) and opener not in text[:-1]:
            text = text[:-1].rstrip()
        elif text.startswith(opener) and closer not in text[1:]:
            text = text[1:].lstrip()
    return text


_QUOTE_PAIRS = (('"', '"'), ("«", "»"), ("“", "”"), ("„", "“"))


def _quoted_whole(text: str) -> str:
    """The quoted title that ``text`` ends with ('Read "Title"' -> 'Title'), else ``text``.

    Only a quote at the end: 'The "Reversal Curse": LLMs ...' quotes a term, not the title.
    """
    text = text.rstrip(" ,.;:—–-")
    for match in _QUOTED.finditer(text):
        if match.end() == len(text):
            return next(group for group in match.groups() if group is not None)
    return text


def title_like(text: str | None, *, latin: bool = False) -> str | None:
    """``text`` cleaned (emoji, bullets, emphasis, wrapping quotes gone) if it reads as a paper title, else None.

    ``latin``: the title must be mostly in Latin script (where nothing but its
    shape says it is a title).
    """
    if not text or len(text) > 4 * MAX_CHARS:
        return None
    text = _clean(text)
    if not (MIN_CHARS <= len(text) <= MAX_CHARS):
        return None
    if _URL.search(text) or _HANDLE_OR_TAG.search(text):
        return None
    words = _WORD.findall(text)
    if not (MIN_WORDS <= len(words) <= MAX_WORDS):
        return None
    if _letters(text) < 0.7 * len(text.replace(" ", "")):
        return None
    first = words[0]
    if not (first[0].isupper() or first[0].isdigit() or any(c.isupper() for c in first)):
        return None
    if _SENTENCE_BREAK.search(_ABBREVIATIONS.sub("", text)) or text.endswith("…"):
        return None
    if latin and latin_share(text) < 0.8:
        return None
    return text


def _title_cased(title: str) -> bool:
    significant = [w for w in _WORD.findall(title) if w.lower() not in MINOR_WORDS and len(w) > 3]
    if not significant:
        return False
    return sum(w[0].isupper() for w in significant) >= 0.6 * len(significant)


_VENUE = re.compile(
    r"^(?:(?:ICML|ICLR|NeurIPS|NIPS|CVPR|ICCV|ECCV|ACL|EMNLP|NAACL|AAAI|IJCAI|KDD|SIGIR|COLING|COLM|TMLR|JMLR|"
    r"ICASSP|Interspeech|arXiv|Nature|Science|[A-Z]{2,6})(?:['’]?\s*\d{2,4})?\s*){1,2}$"
)


def _cut_lead_in(line: str) -> str:
    """Drop a Russian lead-in: the title starts after the last Cyrillic word.

    ``Ещё раз про PV-Tuning: Beyond...`` -> ``PV-Tuning: Beyond...``; a venue
    between the lead-in and a colon goes too: ``работу с ICML: PV-Tuning: ...``
    -> ``PV-Tuning: ...``.
    """
    last = None
    for last in _CYRILLIC.finditer(line):
        pass
    if last is None:
        return line
    tail = line[last.end() :]
    tail = re.sub(r"^\w*", "", tail, count=1)  # the rest of the Cyrillic word
    tail = tail.lstrip(" \t:—–-«»\"“”,.")
    match = re.match(r"^(?P<venue>[^:—–]{1,20}?)\s*[:—–]\s+(?P<rest>.+)$", tail)
    if match and _VENUE.match(match.group("venue").strip()):
        return match.group("rest")
    if _letters(tail) and latin_share(tail) >= 0.9:
        return tail
    return line


def _first_sentence(text: str) -> str:
    """A title that runs on into prose: keep up to the first sentence end."""
    masked = _ABBREVIATIONS.sub(lambda m: "\0" * len(m.group()), text)
    match = re.search(r"[.!…](?=\s+\S)", masked)
    return text[: match.start()] if match else text


def _surname_of(full_name: str) -> str:
    words = full_name.split()
    for i, word in enumerate(words[:-1]):
        if word in PARTICLES:
            return " ".join(words[i:])
    return words[-1]


_NAME_IN_LIST = re.compile(_FULL_NAME)


def parse_author_line(line: str) -> tuple[tuple[str, ...], str] | None:
    """The surnames an author line gives and any text after them, or None if ``line`` is not one.

    ``"Malinovskii et. al."`` -> ``(("Malinovskii",), "")``;
    ``"Rollin et al. A new look at ..."`` -> ``(("Rollin",), "A new look at ...")``.
    """
    line = _clean_author(line)
    if not line or len(line) > 400:
        return None
    match = _AUTHOR_ET_AL.match(line)
    if match:
        rest = match.group("rest")
        rest = "" if _AUTHOR_REST_JUNK.match(rest) else rest.strip(" ,.;:—–-")
        return (match.group("surname"),), rest
    for pattern in (_AUTHOR_BY, _AUTHOR_LIST):
        match = pattern.match(line)
        if match:
            names = [m.group(0) for m in _NAME_IN_LIST.finditer(match.group("names"))]
            return tuple(_surname_of(name) for name in names), ""
    return None


def _clean_author(line: str) -> str:
    line = _EMPHASIS.sub("", line).strip()
    return re.sub(r"^[^\w(]+", "", line)


@dataclass
class _Line:
    text: str
    start: int


def _split_lines(text: str) -> list[_Line]:
    lines, offset = [], 0
    for raw in text.split("\n"):
        lines.append(_Line(raw, offset))
        offset += len(raw) + 1
    return lines


def _next_nonblank(lines: list[_Line], i: int, max_blank: int = 1) -> int | None:
    blank = 0
    for j in range(i + 1, len(lines)):
        if lines[j].text.strip():
            return j
        blank += 1
        if blank > max_blank:
            return None
    return None


def _paper_url_line(line: str) -> bool:
    """Whether ``line`` gives a paper's link, maybe after a short label: ``https://arxiv.org/abs/…``, ``Статья: arxiv.org/abs/…``."""
    links = find_links(line)
    if not links or len(_WORD.findall(line[: links[0].start])) > 3:
        return False
    identity = identify(links[0].url)
    return identity is not None and identity.kind == "paper"


class _Collector:
    def __init__(self, text: str, linked: list[str]):
        self.text = text
        self.linked = [normalize(t) for t in linked if t and normalize(t)]
        self.found: dict[str, Candidate] = {}

    def add(self, title: str | None, via: str, authors=(), at: int = 0) -> None:
        if not title:
            return
        key = normalize(title)
        if not key or self._linked(title, key):
            return
        existing = self.found.get(key)
        if existing is not None:
            merged = tuple(dict.fromkeys(existing.authors + tuple(authors)))
            if merged != existing.authors:
                self.found[key] = replace(existing, authors=merged)
            return
        start = self.text.find(title, max(0, at - 1))
        if start == -1:
            start = self.text.find(title)
        context = snippet(self.text, start, start + len(title)) if start != -1 else title
        self.found[key] = Candidate(title=title, authors=tuple(authors), snippet=context, via=via)

    def _linked(self, title: str, key: str) -> bool:
        for linked in self.linked:
            if titles_agree(key, linked) or (len(key.split()) >= 4 and f" {key} " in f" {linked} "):
                return True
        return False


def find_candidates(text: str, previews=(), linked_titles=()) -> list[Candidate]:
    """The titles ``text`` (a post) cites without a link, in order; see the module docstring.

    ``previews``: the post's link-preview cards (only those without a URL
    count); ``linked_titles``: anchor texts and card titles of the post's links,
    which are not candidates.
    """
    text = text or ""
    out = _Collector(text, list(linked_titles))
    lines = _split_lines(text)
    for i, line in enumerate(lines):
        raw = line.text.strip()
        if not raw or _URL.search(raw) and not _CUE_COLON.search(raw) and not _QUOTED.search(raw):
            continue
        long_line = len(raw) > 4 * MAX_CHARS  # prose: only cue words and quotes can hold a title there
        j = _next_nonblank(lines, i)
        following = lines[j].text if j is not None else ""
        after = _next_nonblank(lines, j) if j is not None else None
        author_next = parse_author_line(following) if following and not _URL.search(following) else None
        if author_next and title_like(author_next[1]):
            author_next = None  # "Name et al. Another Title": that line cites its own title
        own_author = None if long_line else parse_author_line(raw)
        header = _HEADER.match(raw)
        marker_next = _MARKER.match(following or "x")
        # A title whose author line or link label is followed by a paper's link names that paper: it is linked.
        # (Looked for only under such titles: finding links in every line would slow the harvest.)
        linked_next = bool(header or author_next or marker_next) and after is not None and _paper_url_line(lines[after].text)

        if header:
            if author_next and not linked_next:
                out.add(title_like(header.group("title")), "author", author_next[0], line.start)
            elif not (j is not None and _paper_url_line(following)):
                title = title_like(header.group("title"), latin=True)
                if title and len(_WORD.findall(title)) >= 4 and (":" in title or _title_cased(title)):
                    out.add(title, "header", (), line.start)
            continue

        if own_author is None and not long_line:
            for pattern in (_INLINE_PAREN, _INLINE_TAIL):
                match = pattern.match(raw)
                if match and not _URL.search(raw):
                    title = title_like(_cut_lead_in(_quoted_whole(match.group("title"))))
                    out.add(title, "author", (match.group("surname"),), line.start)
                    break
        elif own_author is not None and title_like(_first_sentence(own_author[1])) and not _URL.search(raw):
            # "Rollin et al. A new look at the Heston characteristic function."
            out.add(title_like(_first_sentence(own_author[1])), "author", own_author[0], line.start)

        if own_author is None and author_next and not linked_next and not _URL.search(raw):
            out.add(title_like(_cut_lead_in(raw)), "author", author_next[0], line.start)
        elif own_author is None and marker_next and not linked_next and not _URL.search(raw):
            out.add(title_like(_cut_lead_in(raw), latin=True), "marker", (), line.start)

        cues = [match for pattern in (_CUE_COLON, _CUE_TITLED) for match in pattern.finditer(raw)]
        if cues and (linked_next or (j is not None and _paper_url_line(following))):
            # A cue's title runs to the end of its line: a paper linked right below it (or its authors) is that title.
            cues = []
        for match in cues:
            title = _first_sentence(match.group("title"))
            if _URL.search(title):
                continue
            # 'статья: "Title" (Name et al.)': the title and its authors, as on a line of its own.
            cited = _CITED_BY.search(title)
            authors = (cited.group("surname"),) if cited else ()
            title = _quoted_whole(title[: cited.start()] if cited else title)
            out.add(title_like(title, latin=True), "cue", authors, line.start)

        for match in _QUOTED.finditer(raw):
            quoted = next(g for g in match.groups() if g is not None)
            cue = _CUE_BEFORE.search(raw[max(0, match.start() - 60) : match.start()])
            title = title_like(quoted)
            if title is None:
                continue
            if latin_share(title) >= 0.8:
                if cue or ":" in title or _title_cased(title):
                    out.add(title, "quoted", (), line.start)
            elif cue:
                out.add(title, "quoted", (), line.start)

    for card in previews or ():
        if card.url or (card.site_name or "").strip().casefold() in NON_PAPER_SITES:
            continue
        title = title_like(card.title, latin=True)
        if title and not (card.title or "").rstrip().endswith(("...", "…")):
            before = len(out.found)
            out.add(title, "preview")
            if len(out.found) > before:
                key = normalize(title)
                context = " — ".join(part for part in (card.site_name, card.title, card.description) if part)
                out.found[key] = replace(out.found[key], snippet=context[:300])
    return list(out.found.values())


def candidates_in_post(post: Post) -> list[Candidate]:
    """:func:`find_candidates` for a post, leaving out what its links' anchors and cards already name."""
    linked = []
    links_a_paper = False
    for link in links_in_post(post):
        linked.extend(t for t in (link.anchor_text, link.title) if t)
        identity = identify(link.url)
        links_a_paper = links_a_paper or (identity is not None and identity.kind == "paper")
    candidates = find_candidates(post.text, post.previews, linked)
    if links_a_paper:
        # A post's header names what the post links ("# Attention Is All You Need, again" above arXiv:1706.03762).
        candidates = [candidate for candidate in candidates if candidate.via != "header"]
    return candidates


def preview_from_row(site_name: str | None, title: str | None, description: str | None = None) -> Preview:
    return Preview(site_name=site_name, title=title, description=description, url=None)
