"""BibTeX and BibLaTeX: one writer, two flavours of entry types and fields.

* BibTeX: ``@misc`` for arXiv preprints (eprint, archivePrefix, primaryClass,
  the arXiv DOI, as arXiv's own export does), ``@article``/``@inproceedings``/
  ``@book``/``@incollection`` by Crossref type, ``@misc`` with
  ``howpublished``, ``url`` and ``urldate`` for repos, videos and web pages;
  ``year`` + ``month``.
* BibLaTeX: ``@online`` with ``eprinttype``/``eprintclass`` for preprints,
  ``@software``, ``@dataset``, ``@online``; ``journaltitle``; ``date``.
* Both: ``@misc`` with no ``url`` for a paper cited by title and not
  identified yet (its URL is our URN, not a link).

Text fields are LaTeX-escaped (:func:`latex_escape`) but stay UTF-8; titles
protect acronyms and CamelCase words with braces so styles that change case
keep them. Every field written has balanced braces, the one thing a BibTeX
parser cannot recover from.
"""

from __future__ import annotations

import re

from .records import MORE_AUTHORS, Person, Record

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
# Babel language names, for `langid` (BibLaTeX hyphenation; Pandoc keeps non-English titles' case).
LANGIDS = {
    "en": "english", "ru": "russian", "uk": "ukrainian", "be": "belarusian", "de": "german", "fr": "french",
    "es": "spanish", "it": "italian", "pt": "portuguese", "pl": "polish", "nl": "dutch", "cs": "czech",
    "sv": "swedish", "fi": "finnish", "tr": "turkish", "kk": "kazakh", "bg": "bulgarian",
}
SIMPLE_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def _unmatched_braces(text: str) -> set[int]:
    """Positions of braces in ``text`` that have no partner."""
    opened: list[int] = []
    unmatched: set[int] = set()
    for index, ch in enumerate(text):
        if ch == "{":
            opened.append(index)
        elif ch == "}":
            if opened:
                opened.pop()
            else:
                unmatched.add(index)
    return unmatched | set(opened)


def _escaped_chars(text: str) -> list[str]:
    """Each character of ``text`` as LaTeX: specials escaped, everything else kept (UTF-8).

    BibTeX counts every brace, escaped or not, so a brace without a partner in
    the whole text is written as math (``$\\lbrace$``), which contains none.
    """
    unmatched = _unmatched_braces(text)
    out = []
    for index, ch in enumerate(text):
        if ch in "{}":
            if index in unmatched:
                out.append(r"$\lbrace$" if ch == "{" else r"$\rbrace$")
            else:
                out.append("\\" + ch)
        else:
            out.append(SIMPLE_ESCAPES.get(ch, ch))
    return out


def latex_escape(text: str) -> str:
    """``text`` with the LaTeX specials ``& % $ # _ { } ~ ^ \\`` escaped; other characters kept (UTF-8)."""
    return "".join(_escaped_chars(text))


_LETTER_RUNS = re.compile(r"[^\W\d_]+")
_WORD = re.compile(r"\S+")
_CORE = re.compile(r"^(\W*)(.*?)(\W*)$", re.S)


def needs_protection(word: str, first: bool = False) -> bool:
    """A word a case-changing style must not touch: acronyms, CamelCase, lone capitals.

    BERT, GPT-4o, ImageNet, LoRA, 3D, "Large N", C_t. Title-case words
    ("Attention", "Self-Attention") stay free so sentence-case styles can
    lowercase them, and so does a capital letter opening the title ("A ...").
    """
    for index, run in enumerate(_LETTER_RUNS.findall(word)):
        if any(ch.isupper() for ch in run[1:]):
            return True
        if len(run) == 1 and run.isupper() and not (first and index == 0):
            return True
    return False


def protect_title(text: str) -> str:
    """A title escaped, with the words that must keep their case in braces: ``{BERT}: Pre-training``."""
    chars = _escaped_chars(text)
    out: list[str] = []
    position = 0
    for number, match in enumerate(_WORD.finditer(text)):
        out.extend(chars[position : match.start()])
        lead, core, trail = _CORE.match(match.group()).groups()
        start = match.start() + len(lead)
        end = start + len(core)
        out.extend(chars[match.start() : start])
        escaped = "".join(chars[start:end])
        if core and needs_protection(core, first=number == 0):
            # "{\\cmd ...}" would be a BibTeX "special character", whose letters get case-changed.
            escaped = "{{" + escaped + "}}" if escaped.startswith("\\") else "{" + escaped + "}"
        out.append(escaped)
        out.extend(chars[end : match.end()])
        position = match.end()
    out.extend(chars[position:])
    return "".join(out)


def format_person(person: Person) -> str:
    """``Last, First``; ``von Last, Jr., First``; an organization whole, in braces."""
    if person.is_literal:
        return "{" + latex_escape(person.literal) + "}"
    family = latex_escape(person.family)
    if " and " in f" {person.family} ":  # a family name with the word "and" in it must not split
        family = "{" + family + "}"
    name = f"{latex_escape(person.particle)} {family}" if person.particle else family
    if person.suffix:
        name += ", " + latex_escape(person.suffix)
    if person.given:
        name += ", " + latex_escape(person.given)
    return name


def format_authors(people: list[Person]) -> str:
    """People joined with ``and``; a last ``others`` stays BibTeX's bare keyword, not a braced name."""
    names = [format_person(person) for person in people]
    if len(people) > 1 and people[-1] == Person(literal=MORE_AUTHORS):
        names[-1] = MORE_AUTHORS
    return " and ".join(names)


def verbatim(value: str) -> str:
    """A URL, DOI or eprint id: not escaped (styles read it verbatim) but never breaking the braces."""
    return value.replace("\\", "%5C").replace("{", "%7B").replace("}", "%7D").replace(" ", "%20")


def _pages(pages: str | None) -> str | None:
    return re.sub(r"\s*[-‐–—]+\s*", "--", pages) if pages else None


def _site(record: Record) -> str | None:
    return record.site_name or record.publisher


def _howpublished(record: Record) -> str | None:
    if record.work == "software" and record.repo:
        return f"{record.publisher or 'GitHub'} repository"
    if record.work == "video":
        return record.site_name or "YouTube"
    return _site(record)


ENTRY_TYPES = {
    # work: (BibTeX, BibLaTeX)
    "preprint": ("misc", "online"),
    "journal": ("article", "article"),
    "proceedings": ("inproceedings", "inproceedings"),
    "book": ("book", "book"),
    "chapter": ("incollection", "incollection"),
    "software": ("misc", "software"),
    "dataset": ("misc", "dataset"),
    "video": ("misc", "online"),
    "webpage": ("misc", "online"),
    "paper": ("misc", "misc"),  # cited by title, not identified: no venue, no URL (@online needs one)
}


def entry_fields(record: Record, biblatex: bool) -> tuple[str, list[tuple[str, str]]]:
    """The entry type and ``(field, value already in BibTeX syntax)`` pairs of one record."""
    entry_type = ENTRY_TYPES[record.work][1 if biblatex else 0]
    fields: list[tuple[str, str]] = []

    def text(name: str, value: str | None, *, title: bool = False) -> None:
        if value:
            fields.append((name, "{" + (protect_title(value) if title else latex_escape(value)) + "}"))

    def raw(name: str, value: str | None) -> None:
        if value:
            fields.append((name, "{" + verbatim(value) + "}"))

    fields.append(("author", "{" + format_authors(record.authors) + "}"))
    if record.title:
        text("title", record.title, title=True)
    else:  # the URL stands in for the title: no style may change its case
        fields.append(("title", "{{" + latex_escape(record.url) + "}}"))
    container = record.container
    if record.work == "journal":
        text("journaltitle" if biblatex else "journal", container, title=True)
    elif record.work in ("proceedings", "chapter"):
        text("booktitle", container, title=True)
    if biblatex:
        fields.append(("date", "{" + record.date_iso + "}"))
    else:
        fields.append(("year", "{" + str(record.year) + "}"))
        if record.month:
            fields.append(("month", MONTHS[record.month - 1]))  # the standard macro, unbraced
    text("volume", record.volume)
    text("number", record.issue)
    # An article number: BibLaTeX's eid; BibTeX styles know only pages, so there it is the pages too (as ADS and APS export it).
    text("pages", _pages(record.pages) if biblatex else _pages(record.pages) or record.article_number)
    text("eid", record.article_number)
    if record.work in ("book", "chapter", "proceedings") or (record.work == "journal" and biblatex):
        text("publisher", record.publisher)
    if record.work in ("software", "dataset", "video", "webpage") or (record.work == "preprint" and not record.arxiv_id):
        if biblatex:
            text("organization", _howpublished(record) if record.work != "webpage" else _site(record))
        else:
            text("howpublished", _howpublished(record))
    if record.work == "software":
        text("version", record.version)
    raw("doi", record.doi or record.arxiv_doi)
    if record.arxiv_id:
        raw("eprint", record.arxiv_id)
        if biblatex:
            raw("eprinttype", "arXiv")
            raw("eprintclass", record.primary_class)
        else:
            raw("archivePrefix", "arXiv")
            raw("primaryClass", record.primary_class)
    text("note", record.journal_ref)
    raw("url", record.web_url)
    if record.work in ("software", "dataset", "video", "webpage"):
        raw("urldate", record.accessed)
    if record.language and record.language.lower() in LANGIDS:
        raw("langid", LANGIDS[record.language.lower()])
    text("keywords", ", ".join(tag.replace(",", " ") for tag in record.tags))
    text("abstract", " ".join(record.abstract.split()) if record.abstract else None)
    text("annote", " ".join(record.note.split()) if record.note else None)
    return entry_type, fields


def format_entry(record: Record, biblatex: bool) -> str:
    entry_type, fields = entry_fields(record, biblatex)
    width = max(len(name) for name, _ in fields)
    body = "".join(f"  {name:<{width}} = {value},\n" for name, value in fields)
    return f"@{entry_type}{{{record.citekey},\n{body}}}\n"


def write_bibtex(records: list[Record]) -> str:
    return "\n".join(format_entry(record, biblatex=False) for record in records)


def write_biblatex(records: list[Record]) -> str:
    return "\n".join(format_entry(record, biblatex=True) for record in records)
