"""arXiv export API: build ``id_list``/``search_query`` URLs and parse the Atom feed.

The API (https://info.arxiv.org/help/api/user-manual.html) answers with an Atom
feed; one ``<entry>`` per paper. Two generations of the feed are in the wild and
both parse here: the older one (``arxiv:`` namespace declared on each element,
summary hard-wrapped, ``<arxiv:doi>``) and the 2026 one (namespaces on the feed,
summary on one line, https ids). Errors come back as entries too: their ``<id>``
is ``.../api/errors#...`` and their ``<summary>`` is the message
("incorrect id format for abc"). An id that does not exist is simply missing
from the feed, so callers compare the ids they asked for with the ids they got.

``parse_feed`` is shared with the title resolver (search API results).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import urlencode

from harvester.identity import identify
from harvester.language import detect_language
from harvester.sites.base import OK, SiteMetadata, collapse
from harvester.summarize import summary_of_abstract

__all__ = [
    "ArxivEntry",
    "ArxivFeedError",
    "MAX_IDS_PER_REQUEST",
    "MIN_INTERVAL",
    "parse_feed",
    "query_url",
    "normalize_id",
    "to_metadata",
]

MAX_IDS_PER_REQUEST = 100  # arXiv's advice for id_list batches
MIN_INTERVAL = 3.0  # seconds between requests, as arXiv asks

_ATOM = "{http://www.w3.org/2005/Atom}"
_ARXIV = "{http://arxiv.org/schemas/atom}"
_OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"

# The last path segments of an abs URL: "2401.12345v2", "hep-th/9901001v1", "math.GT/0309136".
_ENTRY_ID_RE = re.compile(
    r"(?:abs/)(?P<id>\d{4}\.\d{4,5}|[A-Za-z]+(?:-[A-Za-z]+)?(?:\.[A-Za-z]{2})?/\d{7})(?:v(?P<version>\d+))?$"
)
_ERROR_FOR_RE = re.compile(r"_for_(?P<id>.+)$")


class ArxivFeedError(ValueError):
    """The body is not an Atom feed (an HTML error page, truncated XML)."""


@dataclass
class ArxivEntry:
    """One ``<entry>`` of an arXiv feed.

    ``arxiv_id`` has no version and old-style ids have no subject class
    (``math/0309136``), matching ``harvester.identity``. ``published`` and
    ``updated`` are the feed's timestamps (``2016-05-26T17:59:46Z``). An error
    entry has ``error`` set (the API's message) and ``arxiv_id`` the id the
    message names, when it names one.
    """

    arxiv_id: str
    version: int | None = None
    title: str = ""
    authors: list[str] = field(default_factory=list)
    abstract: str = ""
    primary_category: str | None = None
    categories: list[str] = field(default_factory=list)
    published: str | None = None
    updated: str | None = None
    comment: str | None = None
    journal_ref: str | None = None
    doi: str | None = None
    error: str | None = None


def normalize_id(raw: str) -> str:
    """``arXiv:math.GT/0309136v2`` -> ``math/0309136``; ``2401.12345v3`` -> ``2401.12345``."""
    raw = raw.strip()
    if raw.lower().startswith("arxiv:"):
        raw = raw[6:]
    raw = re.sub(r"v\d+$", "", raw)
    if "/" in raw:
        archive, number = raw.split("/", 1)
        raw = archive.split(".")[0].lower() + "/" + number
    return raw


def query_url(
    settings,
    id_list: list[str] | tuple[str, ...] | None = None,
    search_query: str | None = None,
    max_results: int | None = None,
    start: int = 0,
) -> str:
    """The export API URL for ``id_list`` (up to 100 ids) and/or a ``search_query``.

    ``max_results`` defaults to the number of ids, or 10 for a search.
    """
    params: dict[str, str] = {}
    if search_query:
        params["search_query"] = search_query
    if id_list:
        params["id_list"] = ",".join(id_list)
    if max_results is None:
        max_results = len(id_list) if id_list else 10
    params["start"] = str(start)
    params["max_results"] = str(max_results)
    base = settings.arxiv_api
    separator = "&" if "?" in base else "?"
    return base + separator + urlencode(params)


def _text(element: ET.Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    text = collapse(element.text)
    return text or None


def parse_feed(xml: bytes | str) -> list[ArxivEntry]:
    """The entries of an arXiv API Atom feed, in feed order. Raises :class:`ArxivFeedError`."""
    if isinstance(xml, str):
        xml = xml.encode("utf-8")
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise ArxivFeedError(f"not an Atom feed: {exc}") from None
    if root.tag != _ATOM + "feed":
        raise ArxivFeedError(f"not an Atom feed: root element is {root.tag!r}")
    return [_parse_entry(entry) for entry in root.findall(_ATOM + "entry")]


def total_results(xml: bytes | str) -> int | None:
    """``opensearch:totalResults`` of a feed (for paging searches), or None."""
    if isinstance(xml, str):
        xml = xml.encode("utf-8")
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return None
    value = _text(root.find(_OPENSEARCH + "totalResults"))
    return int(value) if value and value.isdigit() else None


def _parse_entry(entry: ET.Element) -> ArxivEntry:
    entry_id = _text(entry.find(_ATOM + "id")) or ""
    if "/api/errors" in entry_id:
        named = _ERROR_FOR_RE.search(entry_id)
        return ArxivEntry(
            arxiv_id=named.group("id") if named else "",
            error=_text(entry.find(_ATOM + "summary")) or "arXiv API error",
        )
    match = _ENTRY_ID_RE.search(entry_id)
    arxiv_id = normalize_id(match.group("id")) if match else entry_id.rsplit("/abs/", 1)[-1]
    version = int(match.group("version")) if match and match.group("version") else None
    title = _text(entry.find(_ATOM + "title")) or ""
    parsed = ArxivEntry(arxiv_id=arxiv_id, version=version, title=title)
    if not title:
        # The older API answered an unknown id with an entry that has an id and nothing else.
        parsed.error = "no such paper"
        return parsed
    parsed.abstract = _text(entry.find(_ATOM + "summary")) or ""
    parsed.authors = [
        name for author in entry.findall(_ATOM + "author") if (name := _text(author.find(_ATOM + "name")))
    ]
    primary = entry.find(_ARXIV + "primary_category")
    parsed.primary_category = primary.get("term") if primary is not None else None
    for category in entry.findall(_ATOM + "category"):
        term = category.get("term")
        if term and term not in parsed.categories:
            parsed.categories.append(term)
    if parsed.primary_category and parsed.primary_category not in parsed.categories:
        parsed.categories.insert(0, parsed.primary_category)
    parsed.published = _text(entry.find(_ATOM + "published"))
    parsed.updated = _text(entry.find(_ATOM + "updated"))
    parsed.comment = _text(entry.find(_ARXIV + "comment"))
    parsed.journal_ref = _text(entry.find(_ARXIV + "journal_ref"))
    doi = _text(entry.find(_ARXIV + "doi"))
    if doi is None:
        for link in entry.findall(_ATOM + "link"):
            if link.get("title") == "doi" and link.get("href"):
                doi = re.sub(r"^https?://(?:dx\.)?doi\.org/", "", link.get("href"))
                break
    parsed.doi = published_doi(doi)
    return parsed


def published_doi(listed: str | None) -> str | None:
    """The DOI of the published version from a feed's ``<arxiv:doi>``: authors
    type it themselves, so it can be anything. Several are sometimes listed
    space-separated, the first being the published version; text that is not a
    DOI, and arXiv's own DOI, are not one."""
    for candidate in (listed or "").split():
        identity = identify("https://doi.org/" + candidate)
        if identity is not None and identity.doi:
            return identity.doi
    return None


def to_metadata(entry: ArxivEntry) -> SiteMetadata:
    """An entry as the item's metadata: the abstract -> summary (its extractive
    summary when longer than a summary may be) and meta.abstract (whole, for the
    exports), categories etc. -> meta."""
    meta: dict = {"arxiv_id": entry.arxiv_id}
    for name in ("version", "primary_category", "categories", "published", "updated", "comment", "journal_ref", "doi"):
        value = getattr(entry, name)
        if value:
            meta[name] = value
    language = detect_language(entry.abstract)
    if entry.abstract:
        meta["abstract"] = entry.abstract
    return SiteMetadata(
        status=OK,
        title=entry.title,
        authors=list(entry.authors),
        published=entry.published[:10] if entry.published else None,
        summary=summary_of_abstract(entry.abstract, language=language),
        site_name="arXiv",
        language=language,
        meta=meta,
        doi=entry.doi,
        arxiv_id=entry.arxiv_id,
    )
