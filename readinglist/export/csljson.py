"""CSL-JSON: the citation data Zotero, Pandoc and every citeproc processor read.

Types: ``article`` (preprints, as Zotero exports them: publisher arXiv,
number ``arXiv:<id>``; and papers cited by title, with no ``URL``), ``article-journal``, ``paper-conference``, ``book``,
``chapter``, ``software``, ``dataset``, ``motion_picture`` and ``webpage``.
Dates are ``date-parts``; ``id`` is the citation key.
"""

from __future__ import annotations

import json

from .records import Person, Record

TYPES = {
    "preprint": "article",
    "journal": "article-journal",
    "proceedings": "paper-conference",
    "book": "book",
    "chapter": "chapter",
    "software": "software",
    "dataset": "dataset",
    "video": "motion_picture",
    "webpage": "webpage",
    "paper": "article",  # cited by title, not identified: CSL's article "not otherwise covered"
}


def csl_name(person: Person) -> dict:
    if person.is_literal:
        return {"literal": person.literal}
    name = {"family": person.family}
    if person.given:
        name["given"] = person.given
    if person.particle:
        name["non-dropping-particle"] = person.particle
    if person.suffix:
        name["suffix"] = person.suffix
    return name


def _date(iso: str) -> dict:
    return {"date-parts": [[int(part) for part in iso.split("-")]]}


def csl_item(record: Record) -> dict:
    # The key is the id (citeproc-py rejects the newer "citation-key" variable).
    item: dict = {"id": record.citekey, "type": TYPES[record.work]}
    item["title"] = record.title_or_url
    item["author"] = [csl_name(person) for person in record.named_authors]
    item["issued"] = {"date-parts": [record.date_parts]}
    if record.accessed:
        item["accessed"] = _date(record.accessed)
    container = record.container
    if record.work in ("webpage", "video") and not container:
        container = record.site_name
    optional = {
        "container-title": container,
        "volume": record.volume,
        "issue": record.issue,
        # An article number goes where pages go: CSL's "number" is a report's or a standard's number, and
        # Zotero, which keeps article numbers in Pages, exports them as "page".
        "page": record.pages_or_article_number,
        "publisher": record.publisher or ("arXiv" if record.arxiv_id else None),
        "number": f"arXiv:{record.arxiv_id}" if record.arxiv_id and record.work == "preprint" else None,
        "version": record.version,
        "DOI": record.doi or record.arxiv_doi,
        "URL": record.web_url,
        "language": record.language,
        "abstract": record.abstract,
        "keyword": ", ".join(record.tags) or None,
        "note": "\n\n".join(text for text in (record.journal_ref, record.note) if text) or None,
    }
    if record.work == "software" and record.repo and not record.publisher:
        optional["publisher"] = "GitHub"
    item.update({key: value for key, value in optional.items() if value})
    return item


def write_csljson(records: list[Record]) -> str:
    return json.dumps([csl_item(record) for record in records], ensure_ascii=False, indent=2) + "\n"
