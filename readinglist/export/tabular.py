"""JSON and CSV: every field of every record, for scripts and spreadsheets."""

from __future__ import annotations

import csv
import io
import json

from .records import Record

# What `readinglist list --json` has besides the fields a record shares with it, in its order.
LISTED_FIELDS = (
    "mentions", "channels", "first_seen", "domain", "priority", "read_at", "snoozed_until", "score",
    "fetch_status", "http_status", "final_url", "published", "word_count", "reading_minutes", "description", "error",
)
# Every field but ``meta`` (the site's own fields, nested): the first columns as they always were.
CSV_FIELDS = (
    "citekey", "id", "type", "title", "authors", "date", "url", "doi", "arxiv_id", "repo", "hf_id",
    "container", "publisher", "tags", "summary", "note", "status", "accessed", "added_at",
    "kind", "authors_are_fallback", "date_source", "language", "first_mentioned", "site_name", "primary_class",
    "volume", "issue", "pages", "version", "license", *LISTED_FIELDS,
)
# A spreadsheet runs a text cell that starts with one of these as a formula (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def record_dict(record: Record) -> dict:
    """A record as plain JSON-able data, with stable field names: the bibliographic fields, then
    what ``readinglist list --json`` has besides (named as there). Where both have a field, the
    record's is the one every export carries (authors with their fallback, tags with the hashtags)."""
    bibliographic = {
        "citekey": record.citekey,
        "id": record.id,
        "url": record.url,
        "kind": record.kind,
        "type": record.work,
        "title": record.title,
        "authors": [person.display for person in record.authors],
        "authors_are_fallback": record.authors_are_fallback,
        "date": record.date_iso,
        "date_source": record.date_source,
        "accessed": record.accessed,
        "summary": record.summary,
        "note": record.note,
        "tags": record.tags,
        "language": record.language,
        "status": record.status,
        "added_at": record.added_at,
        "first_mentioned": record.first_mentioned,
        "site_name": record.site_name,
        "doi": record.doi,
        "arxiv_id": record.arxiv_id,
        "primary_class": record.primary_class,
        "repo": record.repo,
        "hf_id": record.hf_id,
        "container": record.container,
        "volume": record.volume,
        "issue": record.issue,
        "pages": record.pages,
        "publisher": record.publisher,
        "version": record.version,
        "license": record.license,
        "meta": record.meta,
    }
    return bibliographic | {name: record.listed.get(name) for name in LISTED_FIELDS}


def write_json(records: list[Record]) -> str:
    return json.dumps([record_dict(record) for record in records], ensure_ascii=False, indent=2) + "\n"


def csv_cell(value) -> str:
    """A CSV cell for ``value``: None empty, a list joined with ``|``, text that would start a formula made text.

    Web text must not run as a spreadsheet formula: a leading quote makes it
    text. Numbers are written as they are (a negative score stays a number).
    """
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    text = "|".join(map(str, value)) if isinstance(value, list) else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_csv(records: list[Record]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for record in records:
        data = record_dict(record)
        writer.writerow([csv_cell(data[name] if name != "title" else record.title_or_url) for name in CSV_FIELDS])
    return out.getvalue()
