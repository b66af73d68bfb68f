"""Searching catalogues by title: arXiv search, Crossref and OpenAlex works queries.

Used to resolve papers that posts cite by title (``readinglist/references.py``).
Each catalogue's answer becomes a list of :class:`FoundWork`; which one (if any)
is the cited paper is decided by ``harvester.title_match``.

* arXiv: the export API with ``search_query=ti:"<title words>"`` (a phrase
  search in titles); the feed is parsed by :func:`harvester.sites.arxiv.parse_feed`.
* Crossref: ``/works?query.bibliographic=<title>&rows=5`` (plus
  ``query.author`` when the post names an author). Answer:
  ``{"status": "ok", "message": {"items": [{"DOI", "title": [..], "author":
  [{"given", "family"} | {"name"}], "issued": {"date-parts": [[y, m, d]]},
  "type"}]}}``.
* OpenAlex: ``/works?search=<title>&per-page=5``. Answer: ``{"results":
  [{"id", "doi": "https://doi.org/...", "display_name", "publication_date",
  "type", "authorships": [{"author": {"display_name"}}], "ids", "locations":
  [{"landing_page_url"}]}]}``; an arXiv-only work is known by its
  ``arxiv.org/abs/<id>`` landing page or its ``10.48550/arXiv.<id>`` DOI.

Pure: URLs from Settings, bodies in, works out.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from urllib.parse import urlencode

from harvester.identity import identify
from harvester.sites.arxiv import ArxivEntry, normalize_id, parse_feed, query_url
from harvester.sites.base import collapse, strip_markup
from harvester.sites.crossref import publication_date

__all__ = [
    "FoundWork",
    "SearchError",
    "arxiv_search_url",
    "arxiv_title_query",
    "parse_arxiv_search",
    "crossref_search_url",
    "parse_crossref_search",
    "openalex_search_url",
    "parse_openalex_search",
]

ROWS = 5
# Crossref types that share a paper's title but are not the paper.
CROSSREF_NOT_WORKS = frozenset({"peer-review", "component", "grant", "journal-issue", "journal-volume", "journal", "book-series", "database"})
_ARXIV_LANDING = re.compile(r"arxiv\.org/(?:abs|pdf)/([^?#\s]+?)(?:\.pdf)?$", re.I)


class SearchError(ValueError):
    """A search answer that is not what the API documents (HTML error page, broken JSON)."""


@dataclass
class FoundWork:
    """One search result: enough to compare with the citation and to make an item."""

    source: str  # arxiv | crossref | openalex
    title: str
    authors: list[str] = field(default_factory=list)
    arxiv_id: str | None = None
    doi: str | None = None  # lowercased
    published: str | None = None  # YYYY, YYYY-MM or YYYY-MM-DD
    kind: str | None = None  # the catalogue's type ("journal-article", "preprint", ...)

    @property
    def url(self) -> str | None:
        """The canonical URL of the work's item: the arXiv abstract, else the DOI."""
        if self.arxiv_id:
            raw = f"https://arxiv.org/abs/{self.arxiv_id}"
        elif self.doi:
            raw = f"https://doi.org/{self.doi}"
        else:
            return None
        identity = identify(raw)
        return identity.url if identity else None


# ---------------------------------------------------------------- arXiv

_QUERY_WORD = re.compile(r"[^\W_]+")


def arxiv_title_query(title: str) -> str:
    """``ti:"..."``: a phrase search over the title's words (punctuation would be query syntax)."""
    words = _QUERY_WORD.findall(title)
    return 'ti:"' + " ".join(words) + '"'


def arxiv_search_url(settings, title: str, max_results: int = ROWS) -> str:
    return query_url(settings, search_query=arxiv_title_query(title), max_results=max_results)


def _from_arxiv(entry: ArxivEntry) -> FoundWork:
    return FoundWork(
        source="arxiv",
        title=entry.title,
        authors=list(entry.authors),
        arxiv_id=entry.arxiv_id,
        doi=entry.doi,
        published=entry.published[:10] if entry.published else None,
        kind="preprint",
    )


def parse_arxiv_search(xml: bytes | str) -> list[FoundWork]:
    """The papers of an arXiv search feed (error entries left out). Raises ``ArxivFeedError``."""
    return [_from_arxiv(entry) for entry in parse_feed(xml) if not entry.error and entry.arxiv_id]


# ---------------------------------------------------------------- Crossref


def crossref_search_url(settings, title: str, surnames=(), rows: int = ROWS) -> str:
    params = {"query.bibliographic": title, "rows": str(rows)}
    if surnames:
        params["query.author"] = " ".join(surnames)
    return f"{settings.crossref_api}/works?{urlencode(params)}"


def _load_json(body: bytes | str):
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise SearchError(f"not JSON ({error})") from None


def _crossref_author(author: dict) -> str | None:
    if author.get("family"):
        return collapse(f"{author.get('given') or ''} {author['family']}")
    return collapse(author.get("name")) or None


def parse_crossref_search(body: bytes | str) -> list[FoundWork]:
    """The works of a Crossref ``/works?query...`` answer. Raises :class:`SearchError`."""
    data = _load_json(body)
    message = data.get("message") if isinstance(data, dict) else None
    items = message.get("items") if isinstance(message, dict) else None
    if not isinstance(items, list):
        raise SearchError("no message.items in the answer")
    works = []
    for item in items:
        if not isinstance(item, dict) or item.get("type") in CROSSREF_NOT_WORKS:
            continue
        titles = item.get("title") or []
        title = strip_markup(titles[0] if isinstance(titles, list) and titles else titles if isinstance(titles, str) else "")
        doi = (item.get("DOI") or "").strip().lower() or None
        if not title or not doi:
            continue
        arxiv_id = None
        if doi.startswith("10.48550/arxiv."):
            arxiv_id = normalize_id(doi.split("arxiv.", 1)[1])
        published = publication_date(item)
        works.append(
            FoundWork(
                source="crossref",
                title=title,
                authors=[name for a in item.get("author") or [] if isinstance(a, dict) and (name := _crossref_author(a))],
                arxiv_id=arxiv_id,
                doi=doi,
                published=published,
                kind=item.get("type"),
            )
        )
    return works


# ---------------------------------------------------------------- OpenAlex


def openalex_search_url(settings, title: str, rows: int = ROWS) -> str:
    return f"{settings.openalex_api}/works?{urlencode({'search': title, 'per-page': str(rows)})}"


def _strip_doi(value: str | None) -> str | None:
    if not value:
        return None
    doi = re.sub(r"^https?://(?:dx\.)?doi\.org/", "", value.strip(), flags=re.I).lower()
    return doi if doi.startswith("10.") else None


def parse_openalex_search(body: bytes | str) -> list[FoundWork]:
    """The works of an OpenAlex ``/works?search=`` answer. Raises :class:`SearchError`."""
    data = _load_json(body)
    results = data.get("results") if isinstance(data, dict) else None
    if not isinstance(results, list):
        raise SearchError("no results in the answer")
    works = []
    for result in results:
        if not isinstance(result, dict):
            continue
        title = collapse(result.get("display_name") or result.get("title"))
        doi = _strip_doi(result.get("doi") or (result.get("ids") or {}).get("doi"))
        arxiv_id = None
        if doi and doi.startswith("10.48550/arxiv."):
            arxiv_id = normalize_id(doi.split("arxiv.", 1)[1])
        locations = [result.get("primary_location") or {}, *(result.get("locations") or [])]
        for location in locations:
            landing = (location or {}).get("landing_page_url") or ""
            match = _ARXIV_LANDING.search(landing)
            if match and arxiv_id is None:
                arxiv_id = normalize_id(match.group(1))
        if not title or not (doi or arxiv_id):
            continue
        authors = [
            name
            for authorship in result.get("authorships") or []
            if isinstance(authorship, dict) and (name := collapse((authorship.get("author") or {}).get("display_name")))
        ]
        published = result.get("publication_date") or (str(result["publication_year"]) if result.get("publication_year") else None)
        works.append(
            FoundWork(
                source="openalex",
                title=title,
                authors=authors,
                arxiv_id=arxiv_id,
                doi=None if doi and doi.startswith("10.48550/") else doi,
                published=published,
                kind=result.get("type"),
            )
        )
    return works
