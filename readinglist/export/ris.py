"""RIS: the tagged format every reference manager imports (Zotero, EndNote, Mendeley).

UTF-8, one ``TAG  - value`` line per field, ``TY`` first and ``ER`` last.
``TY`` follows what the work is: JOUR, CPAPER, BOOK, CHAP, COMP (software),
DATA, VIDEO, ELEC (web pages) and GEN (preprints, which RIS has no type for;
``M3`` says "Preprint"; and papers cited by title, not identified yet, which
have no ``UR``: their URL is our URN). Values are single lines: RIS has no continuation lines.
"""

from __future__ import annotations

import re

from .records import Person, Record

TYPES = {
    "preprint": "GEN",
    "journal": "JOUR",
    "proceedings": "CPAPER",
    "book": "BOOK",
    "chapter": "CHAP",
    "software": "COMP",
    "dataset": "DATA",
    "video": "VIDEO",
    "webpage": "ELEC",
    "paper": "GEN",
}
WORK_LABELS = {"preprint": "Preprint", "software": "Computer program", "dataset": "Dataset", "video": "Video"}


def _line(tag: str, value) -> str:
    text = " ".join(str(value).split()) if value is not None else ""
    return f"{tag}  - {text}" if text else ""


def _author(person: Person) -> str:
    if person.is_literal:
        return person.literal
    family = f"{person.particle} {person.family}" if person.particle else person.family
    parts = [family, person.given] if person.given else [family]
    if person.suffix:
        parts.append(person.suffix)
    return ", ".join(parts)


def _ris_date(record: Record) -> str:
    """``YYYY/MM/DD/``, with empty parts for what is unknown (``2024//``)."""
    month = f"{record.month:02d}" if record.month else ""
    day = f"{record.day:02d}" if record.month and record.day else ""
    return f"{record.year:04d}/{month}/{day}/"


def _pages(pages: str | None) -> tuple[str | None, str | None]:
    if not pages:
        return None, None
    parts = re.split(r"\s*[-‐–—]+\s*", pages, maxsplit=1)
    return parts[0] or None, (parts[1] if len(parts) > 1 else None)


def format_record(record: Record) -> str:
    lines = [_line("TY", TYPES[record.work])]
    lines.append(_line("TI", record.title_or_url))
    lines += [_line("AU", _author(person)) for person in record.named_authors]
    lines.append(_line("PY", record.year))
    if record.date_source == "published":
        lines.append(_line("DA", _ris_date(record)))
    secondary = record.container
    if record.work in ("webpage", "video") and not secondary:
        secondary = record.site_name
    lines.append(_line("T2", secondary))
    lines.append(_line("VL", record.volume))
    lines.append(_line("IS", record.issue))
    start, end = _pages(record.pages) if record.pages else (record.article_number, None)
    lines.append(_line("SP", start))
    lines.append(_line("EP", end))
    publisher = record.publisher
    if record.arxiv_id and not publisher:
        publisher = "arXiv"
    lines.append(_line("PB", publisher))
    lines.append(_line("M3", WORK_LABELS.get(record.work)))
    if record.arxiv_id:
        lines.append(_line("AN", f"arXiv:{record.arxiv_id}"))
        lines.append(_line("DB", "arXiv"))
    lines.append(_line("ET", record.version))
    lines.append(_line("DO", record.doi or record.arxiv_doi))
    lines.append(_line("UR", record.web_url))
    if record.accessed:
        lines.append(_line("Y2", record.accessed.replace("-", "/") + "/"))
    lines.append(_line("LA", record.language))
    lines += [_line("KW", tag) for tag in record.tags]
    lines.append(_line("AB", record.abstract))
    lines.append(_line("N1", record.journal_ref))
    lines.append(_line("N1", record.note))
    lines.append(_line("ID", record.citekey))
    lines.append("ER  - ")
    return "\n".join(line for line in lines if line) + "\n"


def write_ris(records: list[Record]) -> str:
    return "\n".join(format_record(record) for record in records)
