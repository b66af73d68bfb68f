"""Finding items by what the user types, and changing their state.

Every change is all-or-nothing (every reference is resolved before anything is
written, in one transaction) and leaves one ``events`` row per item:
``(item_id, time, action, value)``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Iterable

import sqlite_utils

from .ranking import PRIORITIES

MIN_PREFIX = 4
_HEX = re.compile(r"^[0-9a-f]+$")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)
# A scheme with no "//" (mailto:, tel:, javascript:); host:port (localhost:8000/x) is none.
_OTHER_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:(?!\d)", re.I)


def _web_url(text: str) -> str | None:
    """``text`` as a URL to identify, https:// put before a bare host (arxiv.org/abs/...).

    None for what no prefix makes a web link: another scheme (mailto:a@b.org,
    tel:+1) or an e-mail address (a@b.org), which https:// would turn into
    the mail domain's home page (https://a@b.org is b.org, as user a).
    """
    if _SCHEME.match(text):
        return text
    if _OTHER_SCHEME.match(text) or "@" in text.split("/", 1)[0]:
        return None
    return "https://" + text


def _identity(text: str):
    """The identity of the web link ``text`` (see :func:`_web_url`); None if it is none."""
    from harvester.identity import identify

    url = _web_url(text)
    return identify(url) if url else None


class QueueError(Exception):
    """A user error: the CLI prints it as ``Error: <message>`` and exits 1."""


class ItemNotFound(QueueError):
    def __init__(self, ref: str):
        super().__init__(f"no item matches {ref!r}")
        self.ref = ref


class PrefixTooShort(ItemNotFound):
    """A few hex digits that are no URL: meant as an id prefix, which needs MIN_PREFIX of them."""

    def __init__(self, ref: str):
        QueueError.__init__(self, f"{ref!r} is too short for an id prefix (it needs {MIN_PREFIX}+ characters)")
        self.ref = ref


class AmbiguousItem(QueueError):
    def __init__(self, ref: str, count: int, ids: list[str]):
        shown = ", ".join(ids) + (", ..." if count > len(ids) else "")
        super().__init__(f"{ref!r} is ambiguous: matches {count} items ({shown})")
        self.ref, self.count, self.ids = ref, count, ids


@dataclass(frozen=True)
class ItemRef:
    id: str
    url: str
    title: str | None

    @property
    def label(self) -> str:
        return f"{self.id} {self.title or self.url}"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _ref(row) -> ItemRef:
    return ItemRef(id=row[0], url=row[1], title=row[2])


def resolve_item(db: sqlite_utils.Database, ref: str) -> ItemRef:
    """The item ``ref`` names: its id, a unique id prefix (4+ chars) or a URL of it in any form.

    Raises :class:`ItemNotFound` (:class:`PrefixTooShort`) or :class:`AmbiguousItem`.
    """
    text = ref.strip()
    lowered = text.lower()
    if len(lowered) >= MIN_PREFIX and _HEX.match(lowered):
        row = db.execute("SELECT id, url, title FROM items WHERE id = ?", [lowered]).fetchone()
        if row:
            return _ref(row)
        # A range scan on the primary key: ids are lowercase hex.
        bounds = [lowered, lowered + "g"]
        count = db.execute("SELECT COUNT(*) FROM items WHERE id >= ? AND id < ?", bounds).fetchone()[0]
        if count == 1:
            return _ref(db.execute("SELECT id, url, title FROM items WHERE id >= ? AND id < ?", bounds).fetchone())
        if count > 1:
            ids = [r[0] for r in db.execute("SELECT id FROM items WHERE id >= ? AND id < ? ORDER BY id LIMIT 3", bounds)]
            raise AmbiguousItem(text, count, ids)
    if "." in text or "/" in text or ":" in text:
        row = db.execute("SELECT id, url, title FROM items WHERE url = ?", [text]).fetchone()
        if row:
            return _ref(row)
        identity = _identity(text)
        if identity is not None:
            row = db.execute("SELECT id, url, title FROM items WHERE url = ?", [identity.url]).fetchone()
            if row:
                return _ref(row)
        # A URL of a work that was merged into another item, or of a renamed repository.
        for candidate in dict.fromkeys([text] + ([identity.url] if identity is not None else [])):
            row = db.execute(
                "SELECT items.id, items.url, items.title FROM aliases JOIN items ON items.id = aliases.item_id"
                " WHERE aliases.url = ?",
                [candidate],
            ).fetchone()
            if row:
                return _ref(row)
    if len(lowered) < MIN_PREFIX and _HEX.match(lowered):
        # Not looked up: so short a prefix would match many items (that it matched none was misleading).
        raise PrefixTooShort(text)
    raise ItemNotFound(text)


def resolve_all(db: sqlite_utils.Database, refs: Iterable[str]) -> list[ItemRef]:
    """Every ref resolved (duplicates once, in order), or the first error before anything changes."""
    seen: dict[str, ItemRef] = {}
    for ref in refs:
        item = resolve_item(db, ref)
        seen.setdefault(item.id, item)
    return list(seen.values())


def _event(db, item_id: str, action: str, value: str | None, when: str) -> None:
    db.execute("INSERT INTO events(item_id, time, action, value) VALUES (?, ?, ?, ?)", [item_id, when, action, value])


def _change(db, refs, action: str, sql: str, params_for, value=None) -> list[ItemRef]:
    items = resolve_all(db, refs)
    when = now_iso()
    with db.atomic():
        for item in items:
            db.execute(sql, [*params_for(when), item.id])
            _event(db, item.id, action, value, when)
    return items


def mark_read(db, refs: Iterable[str]) -> list[ItemRef]:
    return _change(db, refs, "read", "UPDATE items SET status = 'read', read_at = ?, snoozed_until = NULL WHERE id = ?", lambda w: [w])


def mark_unread(db, refs: Iterable[str]) -> list[ItemRef]:
    return _change(db, refs, "unread", "UPDATE items SET status = 'unread', read_at = NULL, snoozed_until = NULL WHERE id = ?", lambda w: [])


def archive(db, refs: Iterable[str]) -> list[ItemRef]:
    return _change(db, refs, "archive", "UPDATE items SET status = 'archived' WHERE id = ?", lambda w: [])


#: Why the harvest archived an item (the value of its ``archive`` event).
EDITED_OUT = "edited out of the post that gave it"
#: Why the harvest put such an item back in the queue.
LINKED_AGAIN = "a post links it again"


def archive_unmentioned(db, item_ids: Iterable[str]) -> list[str]:
    """Archive those of ``item_ids`` that are unread and no longer mentioned by any post (an edit took their link out).

    Not deleted: the user may have seen them; ``--status all`` still lists them.
    """
    gone = _select_chunked(
        db, item_ids,
        "status = 'unread' AND NOT EXISTS (SELECT 1 FROM mentions WHERE mentions.item_id = items.id)",
    )
    when = now_iso()
    for item_id in gone:
        db.execute("UPDATE items SET status = 'archived' WHERE id = ?", [item_id])
        _event(db, item_id, "archive", EDITED_OUT, when)
    return gone


def restore_mentioned(db, item_ids: Iterable[str]) -> list[str]:
    """Put back in the queue those of ``item_ids`` that :func:`archive_unmentioned` archived, now that a post
    mentions them again (a later edit restored the link, or another post gives it).

    Only while that archive is the item's last state change: an item the user archived, or read, since stays.
    """
    back = _select_chunked(
        db, item_ids,
        "status = 'archived' AND EXISTS (SELECT 1 FROM events WHERE events.id = ("
        "SELECT MAX(id) FROM events WHERE events.item_id = items.id AND action IN ('read', 'unread', 'archive'))"
        " AND action = 'archive' AND value = ?)",
        [EDITED_OUT],
    )
    when = now_iso()
    for item_id in back:
        db.execute("UPDATE items SET status = 'unread' WHERE id = ?", [item_id])
        _event(db, item_id, "unread", LINKED_AGAIN, when)
    return back


def _select_chunked(db, item_ids: Iterable[str], condition: str, params: list | None = None) -> list[str]:
    """Those of ``item_ids`` whose row meets ``condition``, asked 500 ids at a time."""
    ids = list(dict.fromkeys(item_ids))
    found: list[str] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found += [item_id for (item_id,) in db.execute(
            f"SELECT id FROM items WHERE id IN ({', '.join('?' * len(chunk))}) AND {condition}",
            [*chunk, *(params or [])],
        )]
    return found


def parse_day(text: str) -> date:
    """``YYYY-MM-DD``, ``today``, ``tomorrow`` or N days from today: ``+N``, ``+Nd``, ``+N days`` (``+1 day``)."""
    value = text.strip().lower()
    today = date.today()
    if value == "today":
        return today
    if value == "tomorrow":
        return today + timedelta(days=1)
    relative = re.fullmatch(r"\+(\d+)\s*(?:d|days?)?", value)
    if relative:
        try:
            return today + timedelta(days=int(relative[1]))
        except OverflowError:  # past date.max (9999-12-31), or more days than a timedelta holds
            raise QueueError(f"invalid date {text!r} (the last day is {date.max.isoformat()})") from None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise QueueError(f"invalid date {text!r} (use YYYY-MM-DD, tomorrow, +N or +N days)") from None


def skip(db, refs: Iterable[str], until: date | None = None) -> tuple[list[ItemRef], date]:
    """Snooze items: they leave the queue until ``until`` (default tomorrow)."""
    day = until or date.today() + timedelta(days=1)
    if day <= date.today():
        raise QueueError(f"--until must be after today, got {day.isoformat()}")
    value = day.isoformat()
    return _change(db, refs, "skip", "UPDATE items SET snoozed_until = ? WHERE id = ?", lambda w: [value], value), day


def set_priority(db, refs: Iterable[str], priority: str) -> list[ItemRef]:
    if priority not in PRIORITIES:
        raise QueueError(f"priority must be one of {', '.join(PRIORITIES)}")
    return _change(db, refs, "priority", "UPDATE items SET priority = ? WHERE id = ?", lambda w: [priority], priority)


def set_note(db, refs: Iterable[str], note: str) -> list[ItemRef]:
    return _change(db, refs, "note", "UPDATE items SET note = ? WHERE id = ?", lambda w: [note or None], note)


def parse_tag_changes(changes: Iterable[str]) -> tuple[list[str], list[str]]:
    """``+a -b c`` -> (add ``a``, ``c``; remove ``b``)."""
    add, remove = [], []
    for change in changes:
        name = change[1:] if change[:1] in "+-" else change
        name = name.strip()
        if not name or name.startswith(("+", "-")):
            raise QueueError(f"invalid tag {change!r} (use +tag or -tag)")
        (remove if change.startswith("-") else add).append(name)
    if not add and not remove:
        raise QueueError("no tag changes given (use +tag or -tag)")
    return add, remove


def tag(db, ref: str, changes: Iterable[str]) -> tuple[ItemRef, list[str]]:
    """Add ``+t`` and remove ``-t`` tags; returns the item and its tags after the change."""
    from .search import name_key

    add, remove = parse_tag_changes(changes)
    item = resolve_item(db, ref)
    when = now_iso()
    with db.atomic():
        current = json.loads(db.execute("SELECT tags FROM items WHERE id = ?", [item.id]).fetchone()[0] or "[]")
        # A tag is named as --tag names it (search.name_key): -LLM removes the hashtag llm.
        removed = {name_key(name) for name in remove}
        tags = [t for t in current if name_key(t) not in removed]
        for name in dict.fromkeys(add):
            if name_key(name) not in {name_key(t) for t in tags}:
                tags.append(name)
        db.execute("UPDATE items SET tags = ? WHERE id = ?", [json.dumps(tags, ensure_ascii=False), item.id])
        for name in dict.fromkeys(add):
            _event(db, item.id, "tag", "+" + name, when)
        for name in dict.fromkeys(remove):
            _event(db, item.id, "tag", "-" + name, when)
    return item, tags


def web_link(url: str):
    """The identity of ``url`` (a scheme is optional), or QueueError if it is no web link."""
    text = url.strip()
    identity = _identity(text)
    if identity is None:
        raise QueueError(f"{text or repr(url)}: not a web link")
    return identity


def add_url(db, url: str, note: str | None = None) -> tuple[ItemRef, bool]:
    """Add ``url`` as an item (or find it), with a mention from a post of source 'manual'.

    Returns the item and whether it is new. The manual post has no channel, so
    it counts as a post but not as a channel.
    """
    from .db import item_id_for, mention_id_for, mentions_written, short_hash

    text = url.strip()
    identity = web_link(url)
    when = now_iso()
    post_id = short_hash("manual\0" + identity.url, 16)
    with db.atomic():
        # An item merged into another (its URL an alias) or renamed (its id that of its old URL) is not under this URL's id.
        known = db.execute(
            "SELECT id FROM items WHERE url = ? UNION ALL SELECT item_id FROM aliases WHERE url = ? LIMIT 1",
            [identity.url, identity.url],
        ).fetchone()
        created = known is None
        item_id = item_id_for(identity.url) if created else known[0]
        if created:
            db["items"].insert(
                {
                    "id": item_id, "url": identity.url, "kind": identity.kind, "domain": identity.domain,
                    "arxiv_id": identity.arxiv_id, "doi": identity.doi, "repo": identity.repo,
                    "hf_id": identity.hf_id, "status": "unread", "added_at": when,
                }
            )
        db.execute(
            "INSERT OR IGNORE INTO posts(id, source, date, text, hashtags, harvested_at) VALUES (?, 'manual', ?, ?, '[]', ?)",
            [post_id, when, text, when],
        )
        db.execute(
            "INSERT OR IGNORE INTO mentions(id, item_id, post_id, url, context, via, added_at) VALUES (?, ?, ?, ?, ?, 'manual', ?)",
            [mention_id_for(item_id, post_id, text), item_id, post_id, text, note or "", when],
        )
        mentions_written(db, [item_id])
        if note:
            db.execute("UPDATE items SET note = ? WHERE id = ?", [note, item_id])
        if created:
            _event(db, item_id, "add", note, when)
        elif note:
            _event(db, item_id, "note", note, when)
    row = db.execute("SELECT id, url, title FROM items WHERE id = ?", [item_id]).fetchone()
    return _ref(row), created
