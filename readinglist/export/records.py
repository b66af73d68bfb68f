"""Export records: one plain, citation-ready description per item.

Every writer (BibTeX, RIS, CSL-JSON, Zotero, ...) reads these records, never
the database: the decisions shared by all formats are taken once, here.

* **What the work is** (:attr:`Record.work`): a preprint, a journal article,
  a conference paper, a book, a chapter, software, a dataset, a video or a
  web page, from the Crossref type, the journal named, and the kind. An arXiv
  paper stays a preprint until a journal is named: its journal reference is
  free text, kept as a note (:attr:`Record.journal_ref`). A paper a post cites
  by title that is not identified yet (kind ``unresolved``) is a ``paper``:
  the generic paper type of each format, with no URL (:attr:`Record.web_url`).
* **Who made it**: authors split into family/given/particle/suffix as
  Crossref or DataCite split them, else parsed from "First Last" strings; an
  organization (or a name that cannot be split) stays whole. A paper cited by
  title: the surnames the posts give. No author: the site, the repository
  owner or the YouTube channel.
* **When**: the published date; no date: the year the item was first
  mentioned (else the year it was added), flagged by ``date_source``.

Metadata comes from the site adapters, which may leave any field empty; every
function here tolerates missing keys and odd shapes.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field

# What a record is, independently of any format.
WORKS = ("preprint", "journal", "proceedings", "book", "chapter", "software", "dataset", "video", "webpage", "paper")

CROSSREF_WORKS = {
    "journal-article": "journal",
    "proceedings-article": "proceedings",
    "book": "book",
    "monograph": "book",
    "edited-book": "book",
    "reference-book": "book",
    "book-chapter": "chapter",
    "book-section": "chapter",
    "book-part": "chapter",
    "reference-entry": "chapter",
    "posted-content": "preprint",
    "dataset": "dataset",
}
#: What ends an author list that fetching cut (``harvester.authors.MORE_AUTHORS``):
#: BibTeX's keyword for "and more authors".
MORE_AUTHORS = "others"
KIND_WORKS = {"repo": "software", "model": "software", "dataset": "dataset", "video": "video"}

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # control characters and line separators
_DATE = re.compile(r"^\s*(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")


@dataclass(frozen=True)
class Person:
    """An author: a person split into name parts, or an organization kept whole (``literal``)."""

    family: str = ""
    given: str = ""
    particle: str = ""  # "van der", "de": part of the family name, lowercase
    suffix: str = ""  # "Jr.", "III"
    literal: str = ""  # an organization, or a name that is one word

    @property
    def is_literal(self) -> bool:
        return bool(self.literal)

    @property
    def display(self) -> str:
        if self.literal:
            return self.literal
        return " ".join(part for part in (self.given, self.particle, self.family, self.suffix) if part)

    @property
    def sort_name(self) -> str:
        """The name that sorts and makes citation keys: the family name (with no particle)."""
        return self.literal or self.family


@dataclass
class Mention:
    """A Telegram post that mentioned the item."""

    channel: str | None
    date: str | None
    permalink: str | None
    text: str


@dataclass
class Record:
    id: str
    url: str
    kind: str
    work: str  # one of WORKS
    citekey: str
    title: str | None  # None: the item has no title (writers fall back to the URL)
    authors: list[Person]
    authors_are_fallback: bool  # True: `authors` is the site/owner/channel, not real authors
    year: int
    month: int | None
    day: int | None
    date_source: str  # published | mentioned | added
    accessed: str | None  # YYYY-MM-DD: when the link was fetched, else when it was added; None: no link
    accessed_at: str | None  # the full timestamp behind `accessed`, for Zotero
    summary: str | None
    note: str | None
    tags: list[str]
    language: str | None  # ISO 639-1, e.g. "ru"
    status: str
    added_at: str
    first_mentioned: str | None
    site_name: str | None
    # Identifiers.
    doi: str | None  # the work's own DOI (the published version's, for an arXiv paper that has one)
    arxiv_id: str | None
    primary_class: str | None
    repo: str | None
    hf_id: str | None
    # Where it was published.
    container: str | None  # journal, proceedings or book title
    volume: str | None
    issue: str | None
    pages: str | None
    publisher: str | None
    version: str | None
    programming_language: str | None
    license: str | None
    channel: str | None  # a video's channel
    # Where it is in its container when it has no pages: journals that number articles (Phys. Rev., Sci. Rep.).
    article_number: str | None = None
    # arXiv's free-text reference to the published version ("Astrophys.J.517:565-586,1999"), for a
    # preprint whose journal is not known otherwise: a note, never a journal title.
    journal_ref: str | None = None
    # A paper's whole abstract (meta.abstract) when its summary is a shorter extract of it.
    full_abstract: str | None = None
    meta: dict = field(default_factory=dict)
    mentions: list[Mention] = field(default_factory=list)
    # The item as `readinglist list --json` shows it (fetch status, priority, score, channels, ...), for the JSON and CSV exports.
    listed: dict = field(default_factory=dict)

    @property
    def abstract(self) -> str | None:
        """What the citation formats export as the abstract: the whole one, else the summary."""
        return self.full_abstract or self.summary

    @property
    def named_authors(self) -> list[Person]:
        """``authors`` without the ``others`` that ends a list fetching cut: only BibTeX has a word for it."""
        if len(self.authors) > 1 and self.authors[-1] == Person(literal=MORE_AUTHORS):
            return self.authors[:-1]
        return self.authors

    @property
    def web_url(self) -> str | None:
        """The URL a citation gives: None for a paper cited by title, whose URL is our ``urn:readinglist:title:...``."""
        return self.url if is_web_url(self.url) else None

    @property
    def title_or_url(self) -> str:
        return self.title or self.url

    @property
    def pages_or_article_number(self) -> str | None:
        """What locates the work in its container for formats with one field for it (Zotero keeps article numbers in Pages)."""
        return self.pages or self.article_number

    @property
    def arxiv_doi(self) -> str | None:
        """The DOI arXiv registers for every paper (DataCite)."""
        return f"10.48550/arXiv.{self.arxiv_id}" if self.arxiv_id else None

    @property
    def date_iso(self) -> str:
        """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``, as precise as known."""
        parts = [f"{self.year:04d}"]
        if self.month:
            parts.append(f"{self.month:02d}")
            if self.day:
                parts.append(f"{self.day:02d}")
        return "-".join(parts)

    @property
    def date_parts(self) -> list[int]:
        return [part for part in (self.year, self.month, self.day if self.month else None) if part]


# ------------------------------------------------------------------ parsing helpers


def is_web_url(url: str) -> bool:
    """A link to open (http or https), not one of our URNs (``urn:readinglist:title:...``, a paper cited by title)."""
    return url.lower().startswith(("http://", "https://"))


def loads_json(text, default):
    """A JSON column's value, or ``default`` if it is empty or not JSON of the expected shape."""
    if text is None or text == "":
        return default
    if isinstance(text, (list, dict)):
        return text
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return default
    return value if isinstance(value, type(default)) else default


def clean_text(value) -> str | None:
    """A single-line-safe string: NFC, control characters dropped, runs of spaces collapsed; None if empty."""
    if value is None:
        return None
    if isinstance(value, list):  # Crossref gives container-title as a list
        value = next((v for v in value if v), None)
        if value is None:
            return None
    text = _CONTROL.sub(" ", unicodedata.normalize("NFC", str(value)))
    text = " ".join(text.split())
    return text or None


def clean_paragraphs(value) -> str | None:
    """Like :func:`clean_text` but keeps paragraph breaks (a blank line) for abstracts and notes."""
    if value is None:
        return None
    paragraphs = [clean_text(part) for part in re.split(r"\n\s*\n", str(value))]
    text = "\n\n".join(part for part in paragraphs if part)
    return text or None


def parse_date(value) -> tuple[int, int | None, int | None] | None:
    """``(year, month, day)`` from ``YYYY[-MM[-DD]]`` (a time part is ignored); None if not a date."""
    if not value:
        return None
    match = _DATE.match(str(value))
    if not match:
        return None
    year = int(match.group(1))
    month = int(match.group(2)) if match.group(2) else None
    day = int(match.group(3)) if match.group(3) else None
    if month is not None and not 1 <= month <= 12:
        month = day = None
    if day is not None and not 1 <= day <= 31:
        day = None
    return year, month, day


# ------------------------------------------------------------------ names

PARTICLES = {
    "van", "von", "der", "den", "de", "del", "della", "di", "da", "du", "des", "dos", "das",
    "le", "la", "ter", "ten", "zu", "zur", "af", "av", "bin", "ibn", "al", "el", "dello", "degli",
}
SUFFIXES = {"jr", "jr.", "sr", "sr.", "ii", "iii", "iv", "v"}
# Words that only occur in the names of organizations.
ORG_WORDS = {
    "team", "teams", "lab", "labs", "laboratory", "laboratories", "research", "inc", "inc.", "ltd", "ltd.",
    "llc", "corp", "corp.", "corporation", "company", "co.", "university", "univ.", "institute", "institut",
    "foundation", "group", "society", "association", "consortium", "project", "community", "collaboration",
    "committee", "council", "agency", "department", "center", "centre", "school", "college", "academy",
    "ai", "openai", "deepmind", "google", "microsoft", "meta", "facebook", "anthropic", "nvidia", "huggingface",
    "hugging", "yandex", "sber", "sberbank", "mistral", "alibaba", "tencent", "baidu", "amazon", "apple",
    "ibm", "intel", "github", "gitlab", "arxiv", "youtube", "habr", "contributors", "authors", "developers",
    "org", "news", "blog", "press", "journal", "media", "channel", "official",
    "яндекс", "сбер", "сбербанк", "университет", "институт", "лаборатория", "команда", "центр", "компания",
    "группа", "школа", "академия", "ооо", "ао", "пао", "журнал", "блог", "канал",
}


def looks_like_organization(name: str) -> bool:
    """A name that is an organization (or not a personal name at all): keep it whole.

    A personal name is 2-4 words of letters (with dots, hyphens and
    apostrophes); anything with digits, symbols, a known organization word, or
    a single word, is kept whole.
    """
    words = name.split()
    if len(words) < 2 or len(words) > 5:
        return True
    if any(word.lower().strip(",") in ORG_WORDS for word in words):
        return True
    if re.search(r"[0-9&@/+_#|:;!?()\[\]]", name):
        return True
    # An all-capitals word of 3+ letters (NVIDIA, MIT) is an acronym, not a name.
    return any(len(word) >= 3 and word.isupper() and word.isalpha() for word in words)


#: A Russian patronymic (Юрьевич, Ильинична): a name that ends in one is written "Фамилия Имя Отчество".
_PATRONYMIC = re.compile(r"(?:ович|евич|ич|овна|евна|ична|инична)$", re.I)


def _is_initials(word: str) -> bool:
    """``"А."``, ``"Е.Н."``, ``"J.-H."``, ``"Yu."`` (or a bare capital, ``"J"``): initials, not a name."""
    letters = [part for part in re.split(r"[.\-‐]", word) if part]
    return (
        bool(letters)
        and word.lower() not in SUFFIXES
        and ("." in word or len(word) == 1)
        and all(part.isalpha() and part[0].isupper() and len(part) <= 2 for part in letters)
    )


def _family_first(words: list[str]) -> int:
    """How many leading words are the family name of a name written family name first, else 0:
    "Петров А. В.", "Smith J.", "van der Waals J. D." (initials last) or "Ёлкин Юрий Щукинович"
    (a Russian full name ending in the patronymic)."""
    count = next((i for i, word in enumerate(words) if _is_initials(word)), len(words))
    if 0 < count < len(words) and all(_is_initials(word) for word in words[count:]):
        return count
    if len(words) == 3 and _PATRONYMIC.search(words[2]) and re.fullmatch(r"[А-ЯЁа-яё\-]+", "".join(words)):
        return 1
    return 0


def parse_person(name) -> Person | None:
    """A :class:`Person` from ``"First Last"`` (or ``"Last, First"``, ``"Last F. M."``, or a CSL-like dict)."""
    if isinstance(name, dict):
        if name.get("literal") or name.get("name"):
            return Person(literal=clean_text(name.get("literal") or name.get("name")) or "")
        family = clean_text(name.get("family") or name.get("lastName"))
        given = clean_text(name.get("given") or name.get("firstName")) or ""
        if not family:
            return Person(literal=given) if given else None
        # A family name given whole keeps its capitalized words ("Del Maestro"); only a
        # lowercase particle leading it is split off ("de la Cruz"), as from "First Last".
        words = family.split()
        particles = []
        while len(words) > 1 and words[0].islower() and words[0] in PARTICLES:
            particles.append(words.pop(0))
        return Person(family=" ".join(words), given=given, particle=" ".join(particles),
                      suffix=clean_text(name.get("suffix")) or "")
    text = clean_text(name)
    if not text:
        return None
    if text.count(",") == 1 and not looks_like_organization(text.replace(",", " ")):
        family, given = (part.strip() for part in text.split(","))
        if family and given:
            return Person(family=family, given=given)
    if looks_like_organization(text):
        return Person(literal=text)
    words = text.split()
    if count := _family_first(words):
        return parse_person({"family": " ".join(words[:count]), "given": " ".join(words[count:])})
    suffix = ""
    if len(words) > 2 and words[-1].lower().rstrip(",") in SUFFIXES:
        suffix = words.pop().rstrip(",")
        words[-1] = words[-1].rstrip(",")
    family = words.pop()
    particles: list[str] = []
    # Particles are the lowercase words right before the family name: "Johannes van der Waals".
    while len(words) > 1 and words[-1].lower() in PARTICLES and words[-1].islower():
        particles.insert(0, words.pop())
    return Person(family=family, given=" ".join(words), particle=" ".join(particles), suffix=suffix)


def parse_authors(authors: list, meta: dict) -> list[Person]:
    """The item's authors as people: split as their source split them, else parsed from the name.

    Crossref and DataCite give each name's parts (``meta.author_names``); a
    name with no parts there (arXiv gives full names only, and an item fetched
    before the parts were kept has none) is parsed by :func:`parse_person`.
    Parts are looked up by the name they make, so they never go to another
    author, whatever wrote the ``authors`` list last.
    """
    known: dict[str, Person] = {}
    for parts in meta.get("author_names") if isinstance(meta.get("author_names"), list) else []:
        person = parse_person(parts) if isinstance(parts, dict) else None
        if person:
            known.setdefault(clean_text(person.display) or "", person)
    people = []
    for name in authors:
        person = (known.get(clean_text(name) or "") if isinstance(name, str) else None) or parse_person(name)
        if person:
            people.append(person)
    return people


# ------------------------------------------------------------------ building a record


def work_of(row: dict, meta: dict) -> str:
    """What the item is as a citable work (see :data:`WORKS`)."""
    if row.get("kind") == "unresolved":
        return "paper"  # cited by title, not identified: a paper, of unknown venue
    crossref_type = meta.get("type") if isinstance(meta.get("type"), str) else None
    if crossref_type in CROSSREF_WORKS and (row.get("doi") or row.get("kind") == "paper"):
        work = CROSSREF_WORKS[crossref_type]
        # A Crossref "posted-content" DOI that arXiv also lists stays a preprint either way.
        return work
    if row.get("arxiv_id"):
        # A journal article once a journal is named (Crossref's, for the published version's DOI).
        # arXiv's journal reference names none: it is free text ("Astrophys.J.517:565-586,1999").
        return "journal" if _first(meta, "container") else "preprint"
    if row.get("doi"):
        # A DOI whose Crossref type is unknown: an article if it names a journal.
        if _first(meta, "container"):
            return "journal"
        return "preprint" if row.get("kind") == "paper" else "webpage"
    if row.get("kind") == "paper":
        return "preprint"
    return KIND_WORKS.get(row.get("kind") or "", "webpage")


def _first(meta: dict, *keys) -> str | None:
    """The first of ``keys`` that ``meta`` has a text value for."""
    for key in keys:
        value = _str(meta.get(key))
        if value:
            return value
    return None


def _str(value) -> str | None:
    if value is None or isinstance(value, (dict, list)) and not value:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return clean_text(value)


def fallback_authors(row: dict, meta: dict, work: str) -> list[Person]:
    """Who to credit when no author is known: the channel, the repo owner, the site, the domain."""
    if work == "video" and _str(meta.get("channel")):
        return [Person(literal=_str(meta.get("channel")))]
    if row.get("repo"):
        owner = row["repo"].split("/")[0]
        return [Person(literal=_str(meta.get("owner")) or owner)]
    if row.get("hf_id") and "/" in row["hf_id"]:
        return [Person(literal=row["hf_id"].split("/")[0])]
    if row.get("arxiv_id"):
        return [Person(literal="arXiv")]
    site = _str(row.get("site_name"))
    if site:
        return [Person(literal=site)]
    domain = (row.get("domain") or "").removeprefix("www.")
    return [Person(literal=domain or "Anonymous")]


def cited_authors(meta: dict) -> list[Person]:
    """The surnames the posts citing a paper by title give (``meta.reference.authors``), as family names."""
    reference = meta.get("reference") if isinstance(meta.get("reference"), dict) else {}
    names = reference.get("authors") if isinstance(reference.get("authors"), list) else []
    return [person for name in names if isinstance(name, str) and (person := parse_person({"family": name}))]


def _tags(row: dict, hashtags: list[str]) -> list[str]:
    """The user's tags in their order, then the posts' hashtags alphabetically; once each (case-insensitive)."""
    seen: dict[str, str] = {}
    for tag in loads_json(row.get("tags"), []) + sorted(set(hashtags)):
        text = clean_text(tag)
        if text and text.lower() not in seen:
            seen[text.lower()] = text
    return list(seen.values())


def build_record(row: dict, citekey: str, hashtags: list[str] = (), mentions: list[Mention] = (), listed: dict | None = None) -> Record:
    """The export record for one ``items`` row (plus ``first_mentioned``, the first mention's date);
    ``listed``: the item as ``readinglist list --json`` shows it."""
    meta = loads_json(row.get("meta"), {})
    work = work_of(row, meta)
    people = parse_authors(loads_json(row.get("authors"), []), meta)
    if not people and work == "paper":
        people = cited_authors(meta)
    fallback = not people
    if fallback:
        people = fallback_authors(row, meta, work)
    date = parse_date(row.get("published"))
    date_source = "published"
    if date is None:
        date = parse_date(row.get("first_mentioned"))
        date_source = "mentioned"
        if date is not None:
            date = (date[0], None, None)  # only the year: the mention date is not the work's date
    if date is None:
        date = (parse_date(row.get("added_at")) or (1970, None, None))[0], None, None
        date_source = "added"
    # A paper cited by title has no link to have accessed.
    accessed_at = (row.get("fetched_at") or row.get("added_at")) if is_web_url(row["url"]) else None
    accessed = None
    accessed_date = parse_date(accessed_at)
    if accessed_date and accessed_date[1] and accessed_date[2]:
        accessed = f"{accessed_date[0]:04d}-{accessed_date[1]:02d}-{accessed_date[2]:02d}"

    doi = _str(row.get("doi")) or _str(meta.get("doi"))
    if doi and doi.lower().startswith("10.48550/arxiv."):
        doi = None  # arXiv's own DOI is derived from the id, not a published version
    # The journal, proceedings or book title, as Crossref and DataCite give it.
    container = _first(meta, "container") if work in ("journal", "proceedings", "chapter") else None
    publisher = _str(meta.get("publisher"))
    if work == "software" and not publisher:
        publisher = _str(row.get("site_name")) or _host_name(row)
    return Record(
        id=row["id"],
        url=row["url"],
        kind=row.get("kind") or "article",
        work=work,
        citekey=citekey,
        title=clean_text(row.get("title")),
        authors=people,
        authors_are_fallback=fallback,
        year=date[0],
        month=date[1],
        day=date[2],
        date_source=date_source,
        accessed=accessed,
        accessed_at=accessed_at,
        summary=clean_paragraphs(row.get("summary") or row.get("description")),
        full_abstract=clean_paragraphs(meta["abstract"]) if isinstance(meta.get("abstract"), str) else None,
        note=clean_paragraphs(row.get("note")),
        tags=_tags(row, list(hashtags)),
        language=_str(row.get("language")),
        status=row.get("status") or "unread",
        added_at=row.get("added_at") or "",
        first_mentioned=row.get("first_mentioned"),
        site_name=_str(row.get("site_name")),
        doi=doi,
        arxiv_id=_str(row.get("arxiv_id")),
        primary_class=_str(meta.get("primary_category")) or _first_category(meta),
        repo=_str(row.get("repo")),
        hf_id=_str(row.get("hf_id")),
        container=container,
        volume=_str(meta.get("volume")),
        issue=_str(meta.get("issue")),
        pages=_str(meta.get("page") or meta.get("pages")),
        publisher=publisher,
        version=_str(meta.get("version")) if work == "software" else None,
        programming_language=_str(meta.get("language")) if work == "software" else None,
        license=_license(meta.get("license")),
        channel=_str(meta.get("channel")),
        article_number=_str(meta.get("article_number")),
        journal_ref=_str(meta.get("journal_ref")) if work == "preprint" else None,
        meta=meta,
        mentions=list(mentions),
        listed=dict(listed or {}),
    )


def _first_category(meta: dict) -> str | None:
    categories = meta.get("categories")
    if isinstance(categories, list) and categories:
        return _str(categories[0])
    return None


def _license(value) -> str | None:
    if isinstance(value, dict):  # GitHub's {"spdx_id": ..., "name": ...}
        return _str(value.get("spdx_id") or value.get("name"))
    return _str(value)


def _host_name(row: dict) -> str | None:
    domain = (row.get("domain") or "").removeprefix("www.")
    return {"github.com": "GitHub", "gitlab.com": "GitLab", "huggingface.co": "Hugging Face", "codeberg.org": "Codeberg"}.get(domain, domain or None)
