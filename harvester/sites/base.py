"""What every site adapter returns: :class:`SiteMetadata`, and the small text helpers they share.

Adapters are pure: they build request URLs from :class:`~harvester.settings.Settings`
and turn response bodies into :class:`SiteMetadata`. The HTTP calls, batching,
rate limits and the database live in ``readinglist/metadata.py``.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field, replace
from urllib.parse import quote

from harvester.language import detect_language

__all__ = ["SiteMetadata", "OK", "DEAD", "DEFERRED", "FAILED", "clean_metadata", "collapse", "first_paragraph", "strip_markup", "find_identifiers"]

OK, DEAD, DEFERRED, FAILED = "ok", "dead", "deferred", "failed"


@dataclass
class SiteMetadata:
    """A site's own description of one item.

    ``status`` is ``ok`` (fields are filled), ``dead`` (the site says the thing
    does not exist), ``deferred`` (rate-limited: try again after ``retry_after``
    seconds, the item is not at fault) or ``failed`` (anything else; ``error`` says what).
    """

    status: str = OK
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    published: str | None = None  # ISO date: YYYY, YYYY-MM or YYYY-MM-DD
    summary: str | None = None
    description: str | None = None
    language: str | None = None
    site_name: str | None = None
    tags: list[str] = field(default_factory=list)
    meta: dict = field(default_factory=dict)
    # Identifiers the site reveals: the DOI of a paper's published version,
    # arXiv ids and DOIs a README cites.
    doi: str | None = None
    arxiv_id: str | None = None
    cited_arxiv_ids: list[str] = field(default_factory=list)
    cited_dois: list[str] = field(default_factory=list)
    # A new canonical identity when the site says the thing moved (GitHub renames).
    moved_to: str | None = None
    reading_minutes: int | None = None
    retry_after: float | None = None
    error: str | None = None
    http_status: int | None = None


def clean_metadata(metadata: SiteMetadata) -> SiteMetadata:
    """``metadata`` with every text a site wrote fit to store and show: no control characters
    (an ESC recolours a terminal) and no bidi controls (a RIGHT-TO-LEFT OVERRIDE shows
    "Lecture \u202efdp.exe" as "Lecture exe.pdf"), as page titles are cleaned; one line each,
    but the summary and description, which keep their lines.

    Applied where an answer is written (``readinglist.metadata.write_metadata``), so no adapter can forget it.
    """
    from harvester.extract import MAX_DESCRIPTION_CHARS, clean_line, strip_controls

    def line(value):
        return clean_line(value, MAX_DESCRIPTION_CHARS) if isinstance(value, str) else value

    def lines(values: list) -> list:
        return [cleaned for cleaned in map(line, values) if cleaned]

    def text(value):
        return strip_controls(value).strip() or None if isinstance(value, str) else value

    def nested(value):
        if isinstance(value, dict):
            return {key: nested(item) for key, item in value.items()}
        if isinstance(value, list):
            return [nested(item) for item in value]
        # One line, but not cut: meta keeps the site's whole text (meta.abstract is what the exports cite).
        return clean_line(value, len(value)) if isinstance(value, str) else value

    return replace(
        metadata,
        title=clean_line(metadata.title) if isinstance(metadata.title, str) else metadata.title,
        authors=lines(metadata.authors),
        published=line(metadata.published),
        summary=text(metadata.summary),
        description=text(metadata.description),
        language=line(metadata.language),
        site_name=line(metadata.site_name),
        tags=lines(metadata.tags),
        meta=nested(metadata.meta),
        error=line(metadata.error),
    )


_SPACE_RE = re.compile(r"\s+")


def collapse(text: str | None) -> str:
    """Whitespace runs -> one space, trimmed."""
    return _SPACE_RE.sub(" ", text or "").strip()


# Real tags only: "p < 0.05 and q > 1" in plain text survives.
_TAG_RE = re.compile(r"</?[A-Za-z][\w:.-]*(?:\s[^<>]*)?/?>")
# Formatting inside a word, HTML or JATS: "CO<sub>2</sub>" is "CO2", not "CO 2".
_INLINE_TAG_RE = re.compile(
    r"</?(?:[A-Za-z]+:)?(?:i|b|em|strong|sub|sup|sc|u|span|font|tt|italic|bold|underline|small-caps|monospace)"
    r"(?:\s[^<>]*)?/?>",
    re.I,
)


def strip_markup(text: str | None) -> str:
    """Tags removed (JATS, HTML), entities decoded, whitespace collapsed."""
    if not text:
        return ""
    text = _INLINE_TAG_RE.sub("", text)
    text = _TAG_RE.sub(" ", text)
    # Twice: Crossref has titles escaped twice over ("Risk Analysis&amp;nbsp;").
    text = html.unescape(html.unescape(text))
    text = re.sub(r"\s+([.,;:!?)])", r"\1", collapse(text))
    return text


def first_paragraph(text: str, limit: int = 600) -> str:
    """The first paragraph of prose, shortened at a word boundary to ``limit`` characters."""
    for block in re.split(r"\n\s*\n", text or ""):
        block = collapse(block)
        if block:
            return shorten(block, limit)
    return ""


def shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + "…"


# arXiv ids as people cite them in READMEs: arXiv:2401.12345, arxiv.org/abs/2401.12345v2,
# arxiv.org/pdf/hep-th/9901001.  A bare "2401.12345" is too ambiguous (versions, dates) to count.
_CITED_ARXIV_RE = re.compile(
    r"(?:arxiv\.org/(?:abs|pdf|html)/|arxiv:\s?|10\.48550/arxiv\.)"
    r"(\d\d(?:0[1-9]|1[0-2])\.\d{4,5}|[a-z]+(?:-[a-z]+)?(?:\.[a-z]{2})?/\d{7})(?:v\d+)?",
    re.I,
)
_CITED_DOI_RE = re.compile(r"\b(10\.\d{4,9}/[^\s\"'<>()\[\]{}]+)", re.I)


def find_identifiers(text: str | None) -> tuple[list[str], list[str]]:
    """arXiv ids (no version, old-style without subject class) and DOIs (lowercased) cited in ``text``."""
    arxiv_ids: list[str] = []
    dois: list[str] = []
    if not text:
        return arxiv_ids, dois
    for match in _CITED_ARXIV_RE.finditer(text):
        raw = match.group(1)
        if "/" in raw:
            archive, number = raw.split("/")
            raw = archive.split(".")[0].lower() + "/" + number
        if raw not in arxiv_ids:
            arxiv_ids.append(raw)
    for match in _CITED_DOI_RE.finditer(text):
        doi = match.group(1).rstrip(".,;:").lower()
        if doi.startswith("10.48550/arxiv."):
            continue  # an arXiv DOI names the arXiv id found above
        if doi not in dois:
            dois.append(doi)
    return arxiv_ids, dois


# ------------------------------------------------------------------ README / model-card prose

_FRONT_MATTER_RE = re.compile(r"\A\ufeff?---\s*\n.*?\n(?:---|\.\.\.)\s*(?:\n|\Z)", re.S)
_COMMENT_RE = re.compile(r"<!--.*?-->", re.S)
_FENCE_RE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.S | re.M)
_IMAGE_RE = re.compile(r"!\[[^\]]*\]\([^)]*\)|!\[[^\]]*\]\[[^\]]*\]")
_LINK_RE = re.compile(r"\[([^\]]*)\]\([^)]*\)|\[([^\]]*)\]\[[^\]]*\]")
_REF_DEF_RE = re.compile(r"^\s*\[[^\]]+\]:\s*\S+.*$", re.M)
_AUTOLINK_RE = re.compile(r"<(https?://[^>]+)>")
_EMPHASIS_RE = re.compile(r"(\*\*|__|\*|`+|~~)")
_HTML_BLOCK_TAG_RE = re.compile(r"</?(?:p|div|br|h[1-6]|li|ul|ol|table|tr|td|th|center|blockquote)\b[^>]*>", re.I)
_SETEXT_RE = re.compile(r"^\s*(=+|-+)\s*$")
_WORD_RE = re.compile(r"[^\W\d_]{2,}")
MIN_PARAGRAPH_WORDS = 5


def _prose_block(block: str) -> str | None:
    """A block of markdown as plain prose, or None when it is no paragraph (heading, badges, table, list)."""
    lines = [line for line in block.splitlines() if line.strip()]
    if not lines:
        return None
    first = lines[0].lstrip()
    if first.startswith(("#", "|", ">", "    ", "\t")) or _SETEXT_RE.match(lines[-1]) and len(lines) <= 2:
        return None
    if all(re.match(r"\s*(?:[-*+]|\d+[.)])\s", line) for line in lines):
        return None  # a list: tables of contents, feature bullets
    text = _IMAGE_RE.sub(" ", block)
    text = _LINK_RE.sub(lambda m: m.group(1) or m.group(2) or "", text)
    text = _AUTOLINK_RE.sub(r"\1", text)
    text = re.sub(r"<img\b[^>]*>", " ", text, flags=re.I)
    text = strip_markup(text)
    text = _EMPHASIS_RE.sub("", text)
    text = collapse(text)
    if len(_WORD_RE.findall(text)) < MIN_PARAGRAPH_WORDS:
        return None
    return text


def readme_summary(markdown: str | None, limit: int = 600) -> str | None:
    """The first real paragraph of a README or model card: no front matter, badges, headings or code.

    HTML blocks (``<p align="center">...</p>``) count when they hold prose.
    Returns at most ``limit`` characters, or None when there is no paragraph.
    """
    if not markdown:
        return None
    text = markdown.replace("\r\n", "\n")
    text = _FRONT_MATTER_RE.sub("", text)
    text = _COMMENT_RE.sub("", text)
    text = _FENCE_RE.sub("", text)
    text = _REF_DEF_RE.sub("", text)
    # Block-level HTML tags separate paragraphs as blank lines do.
    text = _HTML_BLOCK_TAG_RE.sub("\n\n", text)
    for block in re.split(r"\n\s*\n", text):
        prose = _prose_block(block)
        if prose:
            return shorten(prose, limit)
    return None



def header(headers, name: str) -> str | None:
    """A response header by name, whatever its case, from ``httpx.Headers`` or a plain dict."""
    if headers is None:
        return None
    value = headers.get(name)
    if value is None and hasattr(headers, "items"):
        value = next((v for k, v in headers.items() if k.lower() == name.lower()), None)
    return value


def path_segment(value: str) -> str:
    """``value`` (a DOI, a repository or user name) as one segment of an API path.

    Every reserved character is encoded (a DOI's ``/`` as ``%2F``, which Crossref
    and DataCite take), and so are the dots of a ``.`` or ``..`` segment: an
    HTTP client resolves those against the path, so a name written
    ``..%2F..%2Fadmin`` would otherwise leave ``/works/`` for another endpoint.
    """
    quoted = quote(value, safe="")
    return quoted.replace(".", "%2E") if quoted in (".", "..") else quoted


def path_segments(value: str) -> str:
    """An ``owner/name`` id as its path segments, each one encoded by :func:`path_segment`."""
    return "/".join(path_segment(part) for part in value.split("/"))


def retry_after(headers) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or an HTTP date); None if absent or bad."""
    from harvester.fetch import parse_retry_after

    return parse_retry_after(header(headers, "retry-after"))


def rate_limited(status_code: int, headers, error: str) -> SiteMetadata:
    """A deferral: try again after the site's Retry-After (or the stage's default wait)."""
    return SiteMetadata(status=DEFERRED, retry_after=retry_after(headers), error=error, http_status=status_code)


def classify_status(
    status_code: int, headers=None, *, dead=(404, 410), deferred=(429, 503), dead_reason: str = "", rate_reason: str = ""
) -> SiteMetadata | None:
    """What a site API's answer means (None for 200): ``dead`` codes dead, ``deferred`` codes a rate limit, else failed.

    ``dead_reason`` / ``rate_reason`` follow the status in the error ("HTTP 404: DOI not found").
    """
    if status_code == 200:
        return None
    if status_code in dead:
        return SiteMetadata(status=DEAD, error=_http_error(status_code, dead_reason), http_status=status_code)
    if status_code in deferred:
        return rate_limited(status_code, headers, _http_error(status_code, rate_reason))
    return SiteMetadata(status=FAILED, error=f"HTTP {status_code}", http_status=status_code)


def _http_error(status_code: int, reason: str) -> str:
    return f"HTTP {status_code}: {reason}" if reason else f"HTTP {status_code}"


def add_readme(metadata: SiteMetadata, readme: str | None) -> SiteMetadata:
    """A README's (or model card's) first paragraph becomes the summary, and tells the language (a short
    description may not); the arXiv ids and DOIs it cites are kept."""
    if not readme:
        return metadata
    summary = readme_summary(readme)
    if summary:
        metadata.summary = summary
        metadata.language = detect_language(summary) or metadata.language
    arxiv_ids, dois = find_identifiers(readme)
    metadata.cited_arxiv_ids = list(dict.fromkeys(metadata.cited_arxiv_ids + arxiv_ids))
    metadata.cited_dois = list(dict.fromkeys(metadata.cited_dois + dois))
    return metadata
