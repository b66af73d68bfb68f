"""DOIs: Crossref ``/works/{doi}``, with DataCite ``/dois/{doi}`` as the fallback.

Crossref registers most journal and conference DOIs; DataCite registers
datasets, software, theses and Zenodo/figshare records. A DOI unknown to both
(404 from each) is ``dead``.

Crossref ``type`` (``journal-article``, ``proceedings-article``,
``posted-content``...) goes to ``meta.type`` for the exports; DataCite types are
mapped onto the same vocabulary (``meta.datacite_type`` keeps the original).
Authors are "Given Family" strings, as every adapter gives them; the split the
registry gives ({"given", "family", "suffix"}, or {"literal"} for an
organization; null where it gives none) is kept beside them, in the same order,
in ``meta.author_names``.
"""

from __future__ import annotations

import json
import re

from harvester.sites.base import FAILED, OK, SiteMetadata, collapse, classify_status, path_segment, strip_markup
from harvester.summarize import summary_of_abstract

__all__ = ["crossref_url", "datacite_url", "parse_crossref", "parse_datacite", "publication_date", "classify"]


def crossref_url(settings, doi: str) -> str:
    return f"{settings.crossref_api}/works/{path_segment(doi)}"


def datacite_url(settings, doi: str) -> str:
    return f"{settings.datacite_api}/dois/{path_segment(doi)}"


def classify(status_code: int, headers=None) -> SiteMetadata | None:
    """The outcome a non-200 answer means (None for 200): 404/410 dead, 429/503 deferred, else failed."""
    return classify_status(status_code, headers, dead_reason="DOI not found", rate_reason="rate limited")


def _date(parts_holder) -> str | None:
    """``{"date-parts": [[2014, 2, 27]]}`` -> ``2014-02-27`` (year or year-month when that is all)."""
    if not isinstance(parts_holder, dict):
        return None
    try:
        parts = parts_holder["date-parts"][0]
        if parts[0] is None:
            return None
        numbers = [int(p) for p in parts[:3] if p is not None]
    except (KeyError, IndexError, TypeError, ValueError):  # an odd shape: no date
        return None
    return "-".join([f"{numbers[0]:04d}"] + [f"{n:02d}" for n in numbers[1:]])


# Publication dates only. "created", "deposited" and "indexed" are when the DOI record was
# registered or touched at Crossref (for an old paper, years later): no date beats a wrong one.
PUBLICATION_DATES = ("published", "issued", "published-print", "published-online")


def publication_date(work: dict) -> str | None:
    """The first publication date a Crossref work gives (:data:`PUBLICATION_DATES`), as ISO text."""
    return next((date for key in PUBLICATION_DATES if (date := _date(work.get(key)))), None)


def _first(value) -> str | None:
    """The first text of a Crossref list (titles come as lists) as plain text: markup stripped, entities decoded."""
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str) and v.strip()), None)
    return strip_markup(value) or None if isinstance(value, str) else None


_ABSTRACT_HEADING_RE = re.compile(r"^(?:abstract|summary|аннотация)\s*[:.]?\s+", re.I)


def clean_abstract(raw: str | None) -> str | None:
    """JATS/HTML tags stripped, and the leading "Abstract" heading JATS abstracts carry."""
    text = strip_markup(raw)
    text = _ABSTRACT_HEADING_RE.sub("", text)
    return text or None


def name_parts(given, family, suffix=None) -> dict | None:
    """An author's name as the registry splits it, for ``meta.author_names``; None without a family name.

    The exports need the split: "A. Del Maestro" read back from the joined
    name would have the family name "Maestro".
    """
    parts = {key: collapse(value) for key, value in (("family", family), ("given", given), ("suffix", suffix))
             if isinstance(value, str) and collapse(value)}
    return parts if "family" in parts else None


def _load(body) -> dict | None:
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8", "replace")
    try:
        data = json.loads(body)
    except (TypeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def parse_crossref(body: bytes | str) -> SiteMetadata:
    """A Crossref ``/works/{doi}`` answer (the envelope, or the ``message`` object alone)."""
    data = _load(body)
    if data is None:
        return SiteMetadata(status=FAILED, error="Crossref: not JSON")
    work = data.get("message", data) if data.get("message-type", "work") == "work" else None
    if not isinstance(work, dict) or not work.get("DOI"):
        return SiteMetadata(status=FAILED, error="Crossref: no work in the answer")
    title = _first(work.get("title"))
    subtitle = _first(work.get("subtitle"))
    if title and subtitle and subtitle.lower() not in title.lower():
        title = f"{title}: {subtitle}"
    authors, author_names = [], []
    for person in work.get("author") or []:
        parts = (person.get("given"), person.get("family"), person.get("suffix"))  # "Jr.", "III"
        name = collapse(" ".join(p for p in parts if isinstance(p, str) and p)) or collapse(person.get("name"))
        if name:
            authors.append(name)
            author_names.append(name_parts(person.get("given"), person.get("family"), person.get("suffix"))
                                or ({"literal": name} if person.get("name") else None))
    published = publication_date(work)
    container = _first(work.get("container-title"))
    meta: dict = {"doi": work["DOI"].lower(), "type": work.get("type"), "registration_agency": "crossref"}
    for key, name in (
        ("publisher", "publisher"),
        ("volume", "volume"),
        ("issue", "issue"),
        ("page", "page"),
        ("article-number", "article_number"),
        ("is-referenced-by-count", "citations"),
    ):
        if work.get(key) not in (None, ""):
            meta[name] = work[key]
    if container:
        meta["container"] = container
    if any(author_names):
        meta["author_names"] = author_names
    if published:
        meta["year"] = int(published[:4])
    if work.get("ISSN"):
        meta["issn"] = list(work["ISSN"])
    if work.get("ISBN"):
        meta["isbn"] = list(work["ISBN"])
    if work.get("subject"):
        meta["subjects"] = list(work["subject"])
    # A journal version that names its arXiv preprint: "has-preprint" (or the reverse, is-preprint-of).
    arxiv_id = None
    relation = work.get("relation") or {}
    for kind in ("has-preprint", "is-preprint-of", "is-version-of"):
        for related in relation.get(kind) or []:
            match = re.search(r"10\.48550/arxiv\.(\S+)|arxiv\.org/abs/(\S+)", str(related.get("id", "")), re.I)
            if match and arxiv_id is None:
                from harvester.sites.arxiv import normalize_id

                arxiv_id = normalize_id(match.group(1) or match.group(2))
    if arxiv_id:
        meta["arxiv_id"] = arxiv_id
    language = work.get("language")
    language = language.split("-")[0].lower() if isinstance(language, str) and language else None
    meta["abstract"] = clean_abstract(work.get("abstract"))  # whole, for the exports
    return SiteMetadata(
        status=OK,
        title=title,
        authors=authors,
        published=published,
        summary=summary_of_abstract(meta["abstract"], language=language),
        site_name=container or work.get("publisher"),
        language=language,
        meta={k: v for k, v in meta.items() if v is not None},
        doi=work["DOI"].lower(),
        arxiv_id=arxiv_id,
    )


# DataCite resourceTypeGeneral -> the Crossref type vocabulary the exports use.
DATACITE_TYPES = {
    "JournalArticle": "journal-article",
    "ConferencePaper": "proceedings-article",
    "ConferenceProceeding": "proceedings",
    "Preprint": "posted-content",
    "Book": "book",
    "BookChapter": "book-chapter",
    "Dataset": "dataset",
    "Dissertation": "dissertation",
    "Report": "report",
    "Standard": "standard",
    "PeerReview": "peer-review",
    "Text": "posted-content",
}


def _datacite_year(attrs: dict) -> str | None:
    for date in attrs.get("dates") or []:
        if isinstance(date, dict) and date.get("dateType") in ("Issued", "Available") and date.get("date"):
            value = str(date["date"])[:10]
            if re.fullmatch(r"\d{4}(?:-\d\d(?:-\d\d)?)?", value):
                return value
    year = attrs.get("publicationYear")
    return str(year) if year else None


def parse_datacite(body: bytes | str) -> SiteMetadata:
    """A DataCite ``/dois/{doi}`` answer (JSON:API ``data.attributes``, or the attributes alone)."""
    data = _load(body)
    if data is None:
        return SiteMetadata(status=FAILED, error="DataCite: not JSON")
    attrs = data.get("data", {}).get("attributes") if isinstance(data.get("data"), dict) else data
    if not isinstance(attrs, dict) or not attrs.get("doi"):
        return SiteMetadata(status=FAILED, error="DataCite: no DOI record in the answer")
    titles = [t.get("title") for t in attrs.get("titles") or [] if isinstance(t, dict) and not t.get("titleType")]
    titles = titles or [t.get("title") for t in attrs.get("titles") or [] if isinstance(t, dict)]
    authors, author_names = [], []
    for creator in attrs.get("creators") or []:
        if creator.get("givenName") and creator.get("familyName"):
            authors.append(collapse(f"{creator['givenName']} {creator['familyName']}"))
            author_names.append(name_parts(creator["givenName"], creator["familyName"]))
        elif creator.get("name"):
            name = creator["name"]
            parts = None
            if creator.get("nameType") == "Organizational":
                parts = {"literal": collapse(name)}
            elif "," in name:
                family, given = (part.strip() for part in name.split(",", 1))
                name = f"{given} {family}"
                parts = name_parts(given, family)
            authors.append(collapse(name))
            author_names.append(parts)
    abstract = next(
        (d.get("description") for d in attrs.get("descriptions") or [] if isinstance(d, dict) and d.get("descriptionType") == "Abstract"),
        None,
    )
    types = attrs.get("types") or {}
    general = types.get("resourceTypeGeneral")
    publisher = attrs.get("publisher")
    if isinstance(publisher, dict):
        publisher = publisher.get("name")
    container = _first((attrs.get("container") or {}).get("title"))
    published = _datacite_year(attrs)
    meta = {
        "doi": attrs["doi"].lower(),
        "type": DATACITE_TYPES.get(general, "other"),
        "datacite_type": general,
        "registration_agency": "datacite",
        "publisher": publisher,
        "container": container,
        "author_names": author_names if any(author_names) else None,
        "year": int(published[:4]) if published else None,
        "subjects": [s.get("subject") for s in attrs.get("subjects") or [] if isinstance(s, dict) and s.get("subject")] or None,
    }
    arxiv_id = None
    for related in attrs.get("relatedIdentifiers") or []:
        if isinstance(related, dict) and related.get("relatedIdentifierType") == "arXiv" and related.get("relatedIdentifier"):
            from harvester.sites.arxiv import normalize_id

            arxiv_id = normalize_id(str(related["relatedIdentifier"]).split("arxiv.org/abs/")[-1])
            break
    language = attrs.get("language")
    language = language.split("-")[0].lower() if isinstance(language, str) and language else None
    meta["abstract"] = clean_abstract(abstract)  # whole, for the exports
    return SiteMetadata(
        status=OK,
        title=_first(titles),
        authors=authors,
        published=published,
        summary=summary_of_abstract(meta["abstract"], language=language),
        site_name=container or publisher,
        language=language,
        meta={k: v for k, v in meta.items() if v is not None},
        doi=attrs["doi"].lower(),
        arxiv_id=arxiv_id,
    )
