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


# The user's own state of an item: what merging two items of one work must keep.
USER_STATE = ("status", "priority", "tags", "note", "snoozed_until", "read_at")
PRIORITY_ORDER = {"low": 0, "normal": 1, "high": 2}
STATUS_ORDER = {"unread": 0, "read": 1, "archived": 2}


def joined_note(kept: str | None, added: str | None) -> str | None:
    """Two notes as one: ``kept``, then ``added`` on a line of its own (unless ``kept`` already has that line)."""
    if not kept or not added:
        return kept or added
    return kept if added in kept.splitlines() else kept + "\n" + added


def merged_state(keep: dict, drop: dict, drop_site_tags: Iterable[str] = ()) -> dict:
    """The :data:`USER_STATE` columns of ``keep`` that change when ``drop`` (another item of the same work)
    is folded into it: tags united (``drop``'s own site's tags left out), notes joined, the higher
    priority, the further status (read beats unread) and ``drop``'s snooze where ``keep`` has none.

    ``keep`` and ``drop`` are rows (dicts) holding those columns.
    """
    updates: dict = {}
    tags = json.loads(keep.get("tags") or "[]")
    site_tags = set(drop_site_tags)
    added = [t for t in json.loads(drop.get("tags") or "[]") if t not in tags and t not in site_tags]
    if added:
        updates["tags"] = json.dumps(tags + list(dict.fromkeys(added)), ensure_ascii=False)
    note = joined_note(keep.get("note"), drop.get("note"))
    if note != keep.get("note"):
        updates["note"] = note
    if PRIORITY_ORDER.get(drop.get("priority"), 1) > PRIORITY_ORDER.get(keep.get("priority"), 1):
        updates["priority"] = drop["priority"]
    if STATUS_ORDER.get(drop.get("status"), 0) > STATUS_ORDER.get(keep.get("status"), 0):
        updates["status"] = drop["status"]
        updates["read_at"] = drop.get("read_at") or keep.get("read_at")
    if not keep.get("snoozed_until") and drop.get("snoozed_until"):
        updates["snoozed_until"] = drop["snoozed_until"]
    return updates


def set_note(db, refs: Iterable[str], note: str) -> list[ItemRef]:
    return _change(db, refs, "note", "UPDATE items SET note = ? WHERE id = ?", lambda w: [note or None], note)


def parse_tag_changes(changes: Iterable[str]) -> tuple[list[str], list[str]]:
    """``+a -b`` -> (add ``a``; remove ``b``).

    Every change is signed: ``tag`` takes one item, and a bare word (most
    likely a second item, as ``read`` takes them) is an error, never a tag.
    """
    from .search import name_key

    add, remove = [], []
    for change in changes:
        sign, name = change[:1], change[1:].strip()
        if sign not in ("+", "-"):
            raise QueueError(
                f"{change!r} is no tag change: tag takes one item, then +tag or -tag (+{change.strip()} adds it as a tag)"
            )
        if not name_key(name) or name.startswith(("+", "-")):
            raise QueueError(f"invalid tag {change!r} (use +tag or -tag)")
        (add if sign == "+" else remove).append(name)
    if not add and not remove:
        raise QueueError("no tag changes given (use +tag or -tag)")
    return add, remove


def tag(db, ref: str, changes: Iterable[str]) -> tuple[ItemRef, list[str]]:
    """Remove ``-t`` and add ``+t`` tags; returns the item and its tags after the change.

    A tag is named as --tag names it (search.name_key): -LLM removes the
    hashtag llm, and +LLM adds nothing to an item tagged llm. Only what
    changes the tags is written and logged.
    """
    from .search import name_key

    add, remove = parse_tag_changes(changes)
    item = resolve_item(db, ref)
    when = now_iso()
    with db.atomic():
        tags = json.loads(db.execute("SELECT tags FROM items WHERE id = ?", [item.id]).fetchone()[0] or "[]")
        done = []
        for name in remove:
            kept = [t for t in tags if name_key(t) != name_key(name)]
            if len(kept) < len(tags):
                tags = kept
                done.append("-" + name)
        for name in add:
            if name_key(name) not in {name_key(t) for t in tags}:
                tags.append(name)
                done.append("+" + name)
        if done:
            db.execute("UPDATE items SET tags = ? WHERE id = ?", [json.dumps(tags, ensure_ascii=False), item.id])
        for change in done:
            _event(db, item.id, "tag", change, when)
    return item, tags


def web_link(url: str):
    """The identity of ``url`` (a scheme is optional), or QueueError if it is no web link."""
    text = url.strip()
    identity = _identity(text)
    if identity is None:
        raise QueueError(f"{text or repr(url)}: not a web link")
    return identity


@dataclass(frozen=True)
class Added:
    """What ``add`` did: the item, whether it is new, and whether the note given was added to its note."""

    item: ItemRef
    created: bool
    note_added: bool = False


def add_url(db, url: str, note: str | None = None) -> Added:
    """Add ``url`` as an item (or find it), with a mention from a post of source 'manual'.

    The manual post has no channel, so it counts as a post but not as a
    channel. A ``note`` for an item already listed is joined to the note it
    has (:func:`joined_note`), as a merge joins notes: it never replaces it.
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
            # The note is the item's (items.note), not the mention's: a note changed or removed later must not live on here.
            [mention_id_for(item_id, post_id, text), item_id, post_id, text, "", when],
        )
        mentions_written(db, [item_id])
        current = db.execute("SELECT note FROM items WHERE id = ?", [item_id]).fetchone()[0]
        joined = joined_note(current, note or None)
        if joined != current:
            db.execute("UPDATE items SET note = ? WHERE id = ?", [joined, item_id])
        if created:
            _event(db, item_id, "add", note, when)
        elif joined != current:
            _event(db, item_id, "note", joined, when)
    row = db.execute("SELECT id, url, title FROM items WHERE id = ?", [item_id]).fetchone()
    return Added(_ref(row), created, note_added=not created and joined != current)
