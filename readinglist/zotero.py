"""Pushing the reading list into a Zotero library through the Zotero Web API v3.

Idempotent: each pushed item's Zotero key, version and the fields we sent are
kept in ``zotero_items`` (one row per item and library), so a second push
updates instead of creating, and only sends what changed.

Never blind: before updating, the current versions are fetched
(``GET items?itemKey=...``, with ``limit`` and every page of the answer: the
API returns 25 objects unless asked for more). An item nobody touched in Zotero gets our new
values; one the user edited is merged three ways against what we last sent:
a field the user changed keeps the user's value, tags are merged (a tag
the user deleted stays deleted), collections are unions, a child note the
user edited is left alone. The write then carries the library version in
``If-Unmodified-Since-Version`` and each object's version, so a change made in
between fails with 412 and is fetched and merged again.

The API key is checked first (``GET /keys/current``), so that a push with
nothing to send still tells a revoked key. Creates go in batches of at most 50 objects with a ``Zotero-Write-Token``;
the child note (summary and the Telegram posts that mentioned the item) is
created right after its parent. ``Backoff`` delays the next request;
429/503 with ``Retry-After`` are waited out and retried.
"""

from __future__ import annotations

import html
import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

import httpx
import sqlite_utils

from harvester.settings import SettingError, check_token

from .export.records import Person, Record

log = logging.getLogger(__name__)

API_VERSION = "3"
BATCH_SIZE = 50  # the most objects one write request may carry (and the most item keys one read may ask for)
PAGE_SIZE = 100  # the most objects one read returns (the API returns 25 unless asked)
MAX_ATTEMPTS = 5  # per request, when rate limited or the server is unavailable
MAX_CONFLICT_ROUNDS = 3  # refetch-and-merge rounds after 412 before giving up on an item
NOTE_MENTIONS = 20  # mentions listed in a child note
NOTE_TEXT_CHARS = 300

ITEM_TYPES = {
    "preprint": "preprint",
    "journal": "journalArticle",
    "proceedings": "conferencePaper",
    "book": "book",
    "chapter": "bookSection",
    "software": "computerProgram",
    "dataset": "dataset",
    "video": "videoRecording",
    "webpage": "webpage",
    "paper": "preprint",  # cited by title, not identified: Zotero's type for CSL's "article"
}
CREATOR_TYPES = {"computerProgram": "programmer", "videoRecording": "director"}
# Types whose schema has no DOI field: the DOI goes into Extra, where Zotero reads it.
NO_DOI_FIELD = {"book", "bookSection", "computerProgram", "videoRecording", "webpage"}


class ZoteroError(Exception):
    """A push that cannot go on: bad key, unknown library, a server error. The CLI prints it."""


@dataclass(frozen=True)
class Library:
    type: str  # user | group
    id: str

    @property
    def key(self) -> str:
        """``users/123`` or ``groups/456``: the API path prefix and the ``zotero_items.library`` value."""
        return f"{self.type}s/{self.id}"


# ------------------------------------------------------------------ mapping records to Zotero items


def _creator(person: Person, creator_type: str) -> dict:
    if person.is_literal:
        return {"creatorType": creator_type, "name": person.literal}
    last = f"{person.particle} {person.family}" if person.particle else person.family
    if person.suffix:
        last += f" {person.suffix}"
    return {"creatorType": creator_type, "firstName": person.given, "lastName": last}


def _access_date(value: str | None) -> str | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def zotero_item(record: Record, collections: list[str] = ()) -> dict:
    """The Zotero item JSON for a record (only the fields we own; empty ones left out)."""
    item_type = ITEM_TYPES[record.work]
    creator_type = CREATOR_TYPES.get(item_type, "author")
    people = record.named_authors
    if record.authors_are_fallback and record.work not in ("software", "video", "dataset"):
        people = []  # a site standing in for an author belongs in BibTeX, not in Zotero's creators
    doi = record.doi or record.arxiv_doi
    extra = [f"Citation Key: {record.citekey}"]
    if record.arxiv_id and record.work != "preprint":
        extra.append(f"arXiv: {record.arxiv_id}")
    if record.journal_ref:  # a preprint has no field for it
        extra.append(f"Journal reference: {record.journal_ref}")
    if doi and item_type in NO_DOI_FIELD and record.work not in ("software", "video", "webpage"):
        extra.append(f"DOI: {doi}")
    fields = {
        "itemType": item_type,
        "title": record.title_or_url,
        "creators": [_creator(person, creator_type) for person in people],
        "abstractNote": record.abstract,
        "date": record.date_iso if record.date_source == "published" else None,
        "url": record.web_url,
        "accessDate": _access_date(record.accessed_at),
        "language": record.language if item_type != "computerProgram" else None,
        "DOI": doi if item_type not in NO_DOI_FIELD else None,
        "extra": "\n".join(extra),
    }
    if item_type == "preprint":
        fields["repository"] = record.publisher or ("arXiv" if record.arxiv_id else None)
        fields["archiveID"] = f"arXiv:{record.arxiv_id}" if record.arxiv_id else None
    elif item_type == "journalArticle":
        fields.update(
            publicationTitle=record.container, volume=record.volume, issue=record.issue, pages=record.pages_or_article_number
        )
    elif item_type == "conferencePaper":
        fields.update(proceedingsTitle=record.container, publisher=record.publisher, pages=record.pages_or_article_number)
    elif item_type == "book":
        fields.update(publisher=record.publisher)
    elif item_type == "bookSection":
        fields.update(bookTitle=record.container, publisher=record.publisher, pages=record.pages_or_article_number)
    elif item_type == "computerProgram":
        fields.update(
            company=record.publisher, programmingLanguage=record.programming_language,
            versionNumber=record.version, rights=record.license,
        )
    elif item_type == "dataset":
        fields["repository"] = record.publisher or record.site_name
    elif item_type == "videoRecording":
        fields["studio"] = record.site_name
    elif item_type == "webpage":
        fields["websiteTitle"] = record.site_name
    item = {key: value for key, value in fields.items() if value not in (None, "")}
    item["tags"] = [{"tag": tag} for tag in record.tags]
    item["collections"] = list(collections)
    return item


def note_html(record: Record) -> str:
    """The child note: the summary, the user's note and the Telegram posts that mentioned the item, escaped."""
    parts = []
    if record.summary:
        parts.append("<h2>Summary</h2>")
        parts += [f"<p>{html.escape(paragraph)}</p>" for paragraph in record.summary.split("\n\n")]
    if record.note:
        parts.append("<h2>Note</h2>")
        parts += [f"<p>{html.escape(paragraph)}</p>" for paragraph in record.note.split("\n\n")]
    if record.mentions:
        parts.append("<h2>Mentioned in Telegram</h2>")
        parts.append("<ul>")
        for mention in record.mentions[:NOTE_MENTIONS]:
            label = html.escape(mention.channel or "Telegram")
            if mention.permalink:
                label = f'<a href="{html.escape(mention.permalink, quote=True)}">{label}</a>'
            date = f" ({html.escape(mention.date[:10])})" if mention.date else ""
            text = " ".join(mention.text.split())
            if len(text) > NOTE_TEXT_CHARS:
                text = text[: NOTE_TEXT_CHARS - 1] + "…"
            parts.append(f"<li>{label}{date}: {html.escape(text)}</li>" if text else f"<li>{label}{date}</li>")
        parts.append("</ul>")
    if not parts:
        return ""
    return '<div data-schema-version="9">' + "".join(parts) + "</div>"


# ------------------------------------------------------------------ three-way merge


def _tag_names(tags) -> list[str]:
    return [tag["tag"] for tag in tags or [] if isinstance(tag, dict) and tag.get("tag")]


# What every item type we write has room for (computerProgram has no language, webpage no DOI).
FIELDS_OF_EVERY_TYPE = {"title", "creators", "abstractNote", "date", "url", "accessDate", "extra", "tags", "collections"}
USER_FIELDS = "_user_fields"  # in pushed_data: fields the user edited in Zotero, never written again


def changes_to_send(base: dict, theirs: dict, ours: dict, edited_in_zotero: bool) -> tuple[dict, list[str]]:
    """The fields to write so that Zotero gets our changes without losing the user's; and the user's fields.

    ``base`` is what we sent last time, ``theirs`` what Zotero holds now,
    ``ours`` what we would send today. A field is written only if we changed
    it since the last push and the user did not: a field the user edited in
    Zotero is theirs from then on. Tags: the user's additions and deletions
    stay, our new tags are added, a tag we dropped is dropped. Collections only
    grow. A type we changed is sent, with the new type's fields; a type the user
    changed is theirs, and only the fields every type has are sent.
    """
    user_fields = set(base.get(USER_FIELDS, []))
    out: dict = {}
    our_type, their_type = ours.get("itemType"), theirs.get("itemType", base.get("itemType"))
    if their_type != base.get("itemType", their_type):
        # The user changed the item's type in Zotero: it is theirs, and our fields of another type have no place there.
        ours = {name: value for name, value in ours.items() if name in FIELDS_OF_EVERY_TYPE}
    elif our_type and our_type != their_type:
        # Ours changed (a preprint now published in a journal): Zotero clears the old type's fields itself.
        out["itemType"] = our_type
    for name, value in ours.items():
        if name == "tags":
            base_tags, their_tags, our_tags = (_tag_names(t) for t in (base.get("tags"), theirs.get("tags"), value))
            removed = set(base_tags) - set(our_tags)
            merged = [tag for tag in their_tags if tag not in removed]
            # Ours that are new since the last push; one sent before that is gone from Zotero was deleted there.
            merged += [tag for tag in our_tags if tag not in merged and tag not in base_tags]
            if set(merged) != set(their_tags):
                out["tags"] = [{"tag": tag} for tag in merged]
            continue
        if name == "collections":
            merged = list(dict.fromkeys([*theirs.get("collections", []), *value]))
            if set(merged) != set(theirs.get("collections", [])):
                out["collections"] = merged
            continue
        if name in ("itemType", "parentItem"):
            continue
        if edited_in_zotero and name in base and theirs.get(name, "") != base.get(name, ""):
            user_fields.add(name)
        if name in user_fields or value == base.get(name):
            continue
        out[name] = value
    return out, sorted(user_fields)


# ------------------------------------------------------------------ the HTTP client


class ZoteroClient:
    """The Zotero Web API for one library: authentication, versioning headers, Backoff and Retry-After."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        library: Library,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        max_retry_after: float = 600.0,
        timeout: httpx.Timeout | float = 30.0,
        user_agent: str = "readinglist",
    ):
        try:
            api_key = check_token(api_key, "ZOTERO_API_KEY")
        except SettingError as error:
            raise ZoteroError(str(error)) from None
        self.library = library
        self.api_root = base_url.rstrip("/")
        self.sleep = sleep
        self.clock = clock
        self.max_retry_after = max_retry_after
        self._resume_at = 0.0
        self.http = httpx.Client(
            base_url=self.api_root + "/" + library.key,
            headers={"Zotero-API-Key": api_key, "Zotero-API-Version": API_VERSION, "User-Agent": user_agent},
            transport=transport,
            timeout=timeout,
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def request(self, method: str, path: str, **kwargs) -> httpx.Response:
        """One request, waiting out ``Backoff`` first and retrying 429/503 after ``Retry-After``."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            wait = self._resume_at - self.clock()
            if wait > 0:
                log.info("Zotero asked to back off: waiting %.1f s", wait)
                self.sleep(wait)
            try:
                response = self.http.request(method, path, **kwargs)
            except httpx.HTTPError as error:
                raise ZoteroError(f"{self.http.base_url}: cannot reach the Zotero API ({error})") from None
            backoff = _seconds(response.headers.get("Backoff"))
            if backoff:
                self._resume_at = max(self._resume_at, self.clock() + backoff)
            if response.status_code not in (429, 503):
                return response
            delay = _seconds(response.headers.get("Retry-After"))
            if delay is None:
                delay = float(2**attempt)
            if delay > self.max_retry_after:
                raise ZoteroError(f"Zotero asks to wait {delay:.0f} s (HTTP {response.status_code}); try again later")
            if attempt < MAX_ATTEMPTS:
                log.info("Zotero HTTP %s: retrying in %.1f s", response.status_code, delay)
                self.sleep(delay)
        raise ZoteroError(f"Zotero still answers HTTP {response.status_code} after {MAX_ATTEMPTS} attempts; try again later")

    def check(self, response: httpx.Response) -> httpx.Response:
        if response.status_code < 400:
            return response
        status = response.status_code
        if status == 403:
            raise ZoteroError(f"{self.library.key}: the API key is not valid or cannot write to this library (HTTP 403)")
        if status == 404:
            raise ZoteroError(f"{self.library.key}: no such Zotero library (HTTP 404)")
        detail = " ".join(response.text.split())[:200]
        raise ZoteroError(f"Zotero {response.request.method} {response.request.url.path}: HTTP {status} {detail}".rstrip())

    def check_access(self) -> None:
        """Stop (ZoteroError) unless the API key is valid and may write to the library.

        A push that has nothing to write sends no other request: without this
        check a revoked or mistyped key would pass for a push with nothing to
        do. ``GET /keys/current`` answers 403 for a key Zotero does not know,
        else the key's user and its access (``access.user.write`` for the
        user's own library, ``access.groups.<id or all>.write`` for a group's).
        """
        key = self.check(self.request("GET", self.api_root + "/keys/current")).json()
        access = key.get("access") if isinstance(key, dict) and isinstance(key.get("access"), dict) else {}
        if self.library.type == "user":
            if str(key.get("userID")) != self.library.id:
                raise ZoteroError(f"{self.library.key}: the API key belongs to user {key.get('userID')}, not to this library")
            can_write = (access.get("user") or {}).get("write")
        else:
            groups = access.get("groups") or {}
            can_write = any((groups.get(name) or {}).get("write") for name in (self.library.id, "all"))
        if not can_write:
            raise ZoteroError(
                f"{self.library.key}: the API key cannot write to this library (allow it at https://www.zotero.org/settings/keys)"
            )

    def write(self, path: str, objects: list[dict], *, library_version: int | None = None) -> httpx.Response:
        """POST up to 50 objects: with If-Unmodified-Since-Version for updates, a fresh Zotero-Write-Token otherwise.

        The same token is reused when a 429/503 is retried, so a retried
        create can never run twice.
        """
        headers = {"Content-Type": "application/json"}
        if library_version is not None:
            headers["If-Unmodified-Since-Version"] = str(library_version)
        else:
            headers["Zotero-Write-Token"] = secrets.token_hex(16)
        return self.request("POST", path, content=json.dumps(objects, ensure_ascii=False).encode("utf-8"), headers=headers)

    def read_all(self, path: str, params: dict | None = None) -> tuple[list[dict], httpx.Response]:
        """Every object a multi-object read matches, page after page; and the first page's response.

        The API answers 25 objects unless asked for more, and never more than
        100: a read that stopped at the first page would miss the rest.
        """
        objects: list[dict] = []
        first = None
        while True:
            query = {**(params or {}), "limit": PAGE_SIZE, "start": len(objects), "format": "json"}
            response = self.check(self.request("GET", path, params=query))
            first = first or response
            page = response.json()
            objects += page
            total = int(response.headers.get("Total-Results", len(objects)))
            if not page or len(objects) >= total:
                return objects, first

    def get_items(self, keys: list[str]) -> tuple[dict[str, dict], int]:
        """The current JSON of ``keys`` (trashed ones included) and the library version."""
        found, response = self.read_all("/items", {"itemKey": ",".join(keys), "includeTrashed": "1"})
        version = int(response.headers.get("Last-Modified-Version", 0))
        return {item["key"]: item for item in found}, version

    def find_collection(self, name: str) -> str | None:
        """The key of the collection called ``name`` (a top-level one first), or None if there is none."""
        found, _ = self.read_all("/collections")
        found = [c for c in found if c.get("data", {}).get("name") == name]
        found.sort(key=lambda c: bool(c["data"].get("parentCollection")))
        return found[0]["key"] if found else None

    def create_collection(self, name: str) -> str:
        """Create a top-level collection called ``name``; its key."""
        result = self.check(self.write("/collections", [{"name": name}])).json()
        if "0" not in result.get("success", {}):
            message = result.get("failed", {}).get("0", {}).get("message", "unknown error")
            raise ZoteroError(f"cannot create collection {name!r}: {message}")
        return result["success"]["0"]


def _seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:  # Retry-After may be an HTTP date
        from email.utils import parsedate_to_datetime

        return max(0.0, (parsedate_to_datetime(value) - datetime.now(timezone.utc)).total_seconds())
    except (TypeError, ValueError):
        return None


# ------------------------------------------------------------------ planning and pushing


@dataclass
class Entry:
    """One Zotero object (an item or its child note) to create or bring up to date."""

    record: Record
    role: str  # item | note
    ours: dict
    base: dict = field(default_factory=dict)  # what we last pushed
    key: str | None = None
    version: int | None = None
    outcome: str = "pending"  # created | updated | unchanged | gone | trashed | conflict | failed
    merged: bool = False
    message: str = ""


@dataclass
class Action:
    action: str  # create | update | unchanged
    record: Record
    item_type: str
    changed: list[str] = field(default_factory=list)


@dataclass
class PushReport:
    """What a push did. ``created``, ``updated`` and ``unchanged`` count reading-list items, each with its child
    note: an item whose note alone was written is updated, as ``plan`` (the dry run) says it will be."""

    library: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    merged: int = 0
    notes_created: int = 0
    notes_updated: int = 0
    collection_created: str | None = None
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def summary(self) -> str:
        merged = f" ({self.merged} merged with edits made in Zotero)" if self.merged else ""
        return (
            f"Zotero {self.library}: {self.created} created, {self.updated} updated{merged}, "
            f"{self.unchanged} unchanged, {len(self.skipped)} skipped, {len(self.failed)} failed."
        )


def _stored(db: sqlite_utils.Database, library: Library) -> dict[str, dict]:
    rows = db.execute(
        "SELECT item_id, zotero_key, version, note_key, note_version, pushed_data, pushed_note"
        " FROM zotero_items WHERE library = ?",
        [library.key],
    ).fetchall()
    return {
        row[0]: {"key": row[1], "version": row[2], "note_key": row[3], "note_version": row[4],
                 "data": json.loads(row[5]) if row[5] else {}, "note": _note_base(row[6])["note"],
                 "note_fields": _note_base(row[6]).get(USER_FIELDS, [])}
        for row in rows
    }


def _note_base(stored: str | None) -> dict:
    """A note's last pushed state: ``{"note": html}``, plus the user-edited marker once the user edited it."""
    if stored and stored.startswith("{"):
        try:
            return json.loads(stored)
        except ValueError:
            pass
    return {"note": stored or ""}


# Stands for the key of a collection the push would create: in no item yet, so every item would be added to it.
NEW_COLLECTION = "(new collection)"


def plan(db: sqlite_utils.Database, library: Library, records: list[Record], collections: list[str] = ()) -> list[Action]:
    """What a push would do, from local state: create, update or leave each item.

    ``collections``: the key of the push's ``--collection`` (:data:`NEW_COLLECTION`
    if it does not exist yet); an item not in it yet would be updated to be.
    """
    stored = _stored(db, library)
    actions = []
    for record in records:
        ours = zotero_item(record, collections)
        previous = stored.get(record.id)
        if previous is None:
            actions.append(Action("create", record, ours["itemType"]))
            continue
        base = previous["data"]
        changes, _ = changes_to_send(base, base, ours, edited_in_zotero=False)
        changed = sorted(changes)
        note = note_html(record)
        if note and (not previous["note_key"] or note != previous["note"] and "note" not in previous["note_fields"]):
            changed.append("note")
        actions.append(Action("update" if changed else "unchanged", record, ours["itemType"], changed))
    return actions


def collection_to_plan(client: ZoteroClient, name: str) -> tuple[list[str], bool]:
    """For a dry run into the collection ``name``: the ``collections`` :func:`plan` takes, and whether the
    push would create the collection. Only reads: the key is checked as a push checks it, then the
    collections are read."""
    client.check_access()
    key = client.find_collection(name)
    return [key or NEW_COLLECTION], key is None


class Pusher:
    """One push of records into one library; see the module docstring for the protocol."""

    def __init__(self, db: sqlite_utils.Database, client: ZoteroClient, on_progress: Callable[[int], None] | None = None):
        self.db = db
        self.client = client
        self.library = client.library
        self.report = PushReport(library=self.library.key)
        self.on_progress = on_progress or (lambda n: None)

    def push(self, records: list[Record], collection: str | None = None) -> PushReport:
        self.client.check_access()
        collections = []
        if collection:
            key = self.client.find_collection(collection)
            if key is None:
                key = self.client.create_collection(collection)
                self.report.collection_created = collection
            collections = [key]
        stored = _stored(self.db, self.library)
        new, existing = [], []
        for record in records:
            ours = zotero_item(record, collections)
            previous = stored.get(record.id)
            if previous is None:
                new.append(Entry(record, "item", ours))
            else:
                existing.append(
                    Entry(record, "item", ours, base=previous["data"], key=previous["key"], version=previous["version"])
                )
        self._create(new)
        self._update(existing)
        self.on_progress(len(records))
        # Notes last, so that new parents have their keys.
        notes_new, notes_existing = [], []
        for entry in new + existing:
            note = note_html(entry.record)
            if not note or entry.outcome not in ("created", "updated", "unchanged"):
                continue
            previous = stored.get(entry.record.id)
            if previous and previous["note_key"]:
                base = {"note": previous["note"], USER_FIELDS: previous["note_fields"]}
                notes_existing.append(
                    Entry(entry.record, "note", {"note": note}, base=base, key=previous["note_key"], version=previous["note_version"])
                )
            else:
                notes_new.append(Entry(entry.record, "note", {"itemType": "note", "parentItem": entry.key, "note": note}))
        self._create(notes_new)
        self._update(notes_existing)
        for entry in new + existing + notes_new + notes_existing:
            self._count(entry)
        items = {entry.record.id: entry for entry in new + existing}
        notes_only = sum(
            note.outcome in ("created", "updated") and items[note.record.id].outcome == "unchanged"
            for note in notes_new + notes_existing
        )
        self.report.unchanged -= notes_only
        self.report.updated += notes_only
        return self.report

    def _create(self, entries: list[Entry]) -> None:
        for start in range(0, len(entries), BATCH_SIZE):
            batch = entries[start : start + BATCH_SIZE]
            result = self.client.check(self.client.write("/items", [entry.ours for entry in batch])).json()
            for index, entry in enumerate(batch):
                done = result.get("successful", {}).get(str(index))
                if done:
                    entry.key, entry.version, entry.outcome = done["key"], done["version"], "created"
                else:
                    failure = result.get("failed", {}).get(str(index), {})
                    entry.outcome = "failed"
                    entry.message = f"HTTP {failure.get('code', '?')} {failure.get('message', 'not created')}"
            self._save(batch)

    def _update(self, entries: list[Entry]) -> None:
        pending = []
        for entry in entries:
            # Nothing new since the last push: no request at all.
            changes, _ = changes_to_send(entry.base, entry.base, entry.ours, edited_in_zotero=False)
            if changes:
                pending.append(entry)
            else:
                entry.outcome = "unchanged"
        for start in range(0, len(pending), BATCH_SIZE):
            batch = pending[start : start + BATCH_SIZE]
            conflicts = batch
            for _ in range(MAX_CONFLICT_ROUNDS):
                conflicts = self._update_round(conflicts)
                if not conflicts:
                    break
            for entry in conflicts:
                entry.outcome = "conflict"
                entry.message = "changed in Zotero again while merging; run the push again"
            self._save(batch)

    def _update_round(self, batch: list[Entry]) -> list[Entry]:
        """Fetch, merge and write ``batch``; returns the entries that met a version conflict (412)."""
        remote, library_version = self.client.get_items([entry.key for entry in batch])
        to_send: list[tuple[Entry, dict]] = []
        for entry in batch:
            current = remote.get(entry.key)
            if current is None:
                entry.outcome, entry.message = "gone", "deleted from Zotero; not recreated"
                continue
            theirs = current.get("data", {})
            if theirs.get("deleted"):
                entry.outcome, entry.message = "trashed", "in the Zotero trash; left alone"
                continue
            edited = current["version"] != entry.version
            changes, user_fields = changes_to_send(entry.base, theirs, entry.ours, edited_in_zotero=edited)
            entry.merged = edited
            entry.version = current["version"]
            entry.base = {**entry.base, USER_FIELDS: user_fields}
            if not changes:
                entry.outcome = "unchanged"
                continue
            to_send.append((entry, {"key": entry.key, "version": current["version"], **changes}))
        if not to_send:
            return []
        response = self.client.write("/items", [body for _, body in to_send], library_version=library_version)
        if response.status_code == 412:
            log.info("Zotero library changed after version %s: fetching again", library_version)
            return [entry for entry, _ in to_send]
        result = self.client.check(response).json()
        conflicts = []
        for index, (entry, _) in enumerate(to_send):
            key = str(index)
            if key in result.get("successful", {}):
                entry.outcome, entry.version = "updated", result["successful"][key]["version"]
            elif key in result.get("unchanged", {}):
                entry.outcome = "unchanged"
            else:
                failure = result.get("failed", {}).get(key, {})
                if failure.get("code") == 412:
                    conflicts.append(entry)
                else:
                    entry.outcome = "failed"
                    entry.message = f"HTTP {failure.get('code', '?')} {failure.get('message', 'not updated')}"
        return conflicts

    def _count(self, entry: Entry) -> None:
        if entry.role == "note":
            if entry.outcome == "created":
                self.report.notes_created += 1
            elif entry.outcome == "updated":
                self.report.notes_updated += 1
            elif entry.outcome in ("failed", "conflict"):
                self.report.failed.append(f"{entry.record.citekey} (note): {entry.message}")
            return
        if entry.outcome in ("created", "updated", "unchanged"):
            setattr(self.report, entry.outcome, getattr(self.report, entry.outcome) + 1)
            self.report.merged += entry.merged and entry.outcome == "updated"
        elif entry.outcome in ("gone", "trashed"):
            self.report.skipped.append(f"{entry.record.citekey}: {entry.message}")
        else:
            self.report.failed.append(f"{entry.record.citekey}: {entry.message}")

    def _save(self, entries: list[Entry]) -> None:
        """Remember what Zotero now holds for each entry written: one transaction per batch."""
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self.db.conn:
            for entry in entries:
                if entry.outcome not in ("created", "updated", "unchanged") or entry.key is None:
                    continue
                if entry.role == "item":
                    data = dict(entry.ours)
                    if entry.base.get(USER_FIELDS):
                        data[USER_FIELDS] = entry.base[USER_FIELDS]
                    self.db.execute(
                        "INSERT INTO zotero_items(item_id, library, zotero_key, version, pushed_at, pushed_data)"
                        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(item_id, library) DO UPDATE SET"
                        " zotero_key = excluded.zotero_key, version = excluded.version,"
                        " pushed_at = excluded.pushed_at, pushed_data = excluded.pushed_data",
                        [entry.record.id, self.library.key, entry.key, entry.version, now,
                         json.dumps(data, ensure_ascii=False, sort_keys=True)],
                    )
                else:
                    note_state = {"note": entry.ours["note"]}
                    if entry.base.get(USER_FIELDS):
                        note_state[USER_FIELDS] = entry.base[USER_FIELDS]
                    self.db.execute(
                        "UPDATE zotero_items SET note_key = ?, note_version = ?, pushed_note = ?"
                        " WHERE item_id = ? AND library = ?",
                        [entry.key, entry.version, json.dumps(note_state, ensure_ascii=False), entry.record.id,
                         self.library.key],
                    )


def push(
    db: sqlite_utils.Database,
    client: ZoteroClient,
    records: list[Record],
    collection: str | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> PushReport:
    """Create or update ``records`` (with their child notes) in the client's library."""
    return Pusher(db, client, on_progress).push(records, collection)
