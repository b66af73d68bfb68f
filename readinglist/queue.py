"""Reading the list back: which items there are, with their mention counts and channels."""

from __future__ import annotations

import json
from dataclasses import dataclass

from datetime import datetime, timedelta, timezone

import sqlite_utils

from .ranking import UNKNOWN_LENGTH_PENALTY, julian_day, now_offset
from .search import name_key

STATUSES = ("unread", "read", "archived", "all")
SORTS = ("mentions", "score", "added", "title")

LIST_SQL = """
SELECT
    items.id, items.url, items.kind, items.title, items.status, items.domain,
    items.arxiv_id, items.doi, items.repo, items.hf_id, items.added_at,
    items.priority, items.tags, items.note, items.read_at, items.snoozed_until, items.rank_key,
    items.fetch_status, items.http_status, items.final_url, items.authors, items.published, items.site_name,
    items.language, items.word_count, items.reading_minutes, items.description, items.summary, items.last_error,
    items.meta,
    COUNT(DISTINCT mentions.post_id) AS mentions,
    json_group_array(DISTINCT posts.channel) AS post_channels,
    json_group_array(DISTINCT posts.forwarded_from) AS forwarded_channels,
    MIN(posts.date) AS first_post_date
FROM items
LEFT JOIN mentions ON mentions.item_id = items.id
LEFT JOIN posts ON posts.id = mentions.post_id
{where}
GROUP BY items.id
{having}
ORDER BY {order}
"""

ORDERS = {
    "mentions": "mentions DESC, COALESCE(first_post_date, items.added_at) DESC, items.id",
    "score": "items.rank_key DESC, items.id",
    "added": "items.added_at DESC, items.id",
    "title": "COALESCE(items.title, items.url) COLLATE NOCASE, items.id",
}


@dataclass(frozen=True)
class ListFilter:
    status: str = "unread"
    kind: str | None = None
    channel: str | None = None
    tag: str | None = None
    domain: str | None = None
    since: str | None = None  # YYYY-MM-DD: first seen on or after
    sort: str = "mentions"


# The tables with one row per (tag or channel, item), kept by triggers on items (migrations m009, m010).
VALUE_TABLES = {"tags": ("item_tags", "tag"), "channels": ("item_channels", "channel")}


def stored_values(db: sqlite_utils.Database, column: str, value: str) -> list[str]:
    """Every stored spelling of the tag or channel (``column``: tags or channels) a user typed, most items first.

    Hashtags are stored case-folded and without '#', tags added by hand as
    typed, channels as the posts name them (``testchan``, ``ML заметки``). A
    stored value names what was typed when they are equal ignoring case, ё
    written е (as search does) and a leading '#' or '@' (:func:`search.name_key`:
    ``LLM``, ``#llm``, ``llm``; ``распределенное`` for ``распределённое``;
    ``@ML заметки``) or, for a channel, when it is the username of a t.me
    link (``t.me/TestChan``). None stored: the value without '#' or '@' (it
    matches nothing). ``list``, ``next`` and ``export`` read every spelling;
    Datasette's ``?_tag=``/``?_channel=`` the first (:func:`stored_value`).
    """
    table, name = VALUE_TABLES[column]
    typed = value.strip()
    wanted = typed.lstrip("#@").strip()
    if column == "channels":
        from harvester.sources.live import channel_name

        # A username (@name, a t.me link), else a title, which may have been typed with '@' ("@ML заметки").
        wanted = channel_name(typed) or wanted
    folded = name_key(wanted)
    # Each distinct stored value once, off the index (a loose index scan): a few hundred lookups, not a million rows.
    distinct = db.execute(
        f"""WITH RECURSIVE stored(value) AS (
            SELECT MIN({name}) FROM {table}
            UNION ALL SELECT (SELECT MIN({name}) FROM {table} WHERE {name} > stored.value) FROM stored
            WHERE stored.value IS NOT NULL)
        SELECT value FROM stored WHERE value IS NOT NULL"""
    )
    matches = [row[0] for row in distinct if row[0] == typed or name_key(row[0]) == folded]
    if not matches:
        return [wanted]
    counts = {match: db.execute(f"SELECT COUNT(*) FROM {table} WHERE {name} = ?", [match]).fetchone()[0] for match in matches}
    return sorted(matches, key=lambda match: (match != typed, -counts[match], match))


def stored_value(db: sqlite_utils.Database, column: str, value: str) -> str:
    """The one stored spelling a single-value view reads (Datasette): as typed if stored, else the commonest."""
    return stored_values(db, column, value)[0]


def _add_shared_filters(db: sqlite_utils.Database, clauses: list[str], params: list, filters) -> None:
    """The --kind, --tag and --channel filters that ``list`` and ``next`` share."""
    if filters.kind:
        clauses.append("items.kind = ?")
        params.append(filters.kind)
    if filters.tag:
        clauses.append(
            "EXISTS (SELECT 1 FROM json_each(items.tags) WHERE json_each.value IN (SELECT value FROM json_each(?)))"
        )
        params.append(json.dumps(stored_values(db, "tags", filters.tag), ensure_ascii=False))
    if filters.channel:
        clause, channel_params = channel_filter(db, filters.channel)
        clauses.append(clause)
        params += channel_params


def channel_filter(db: sqlite_utils.Database, channel: str) -> tuple[str, list]:
    """A condition on ``items`` (and its parameters): mentioned in the channel typed as ``channel``, any stored spelling.

    Shared by ``list``, ``next``, ``export`` and ``zotero push``.
    """
    # A forwarded post counts for the channel that wrote it too.
    clause = (
        "EXISTS (SELECT 1 FROM mentions m JOIN posts p ON p.id = m.post_id WHERE m.item_id = items.id"
        " AND (p.channel IN (SELECT value FROM json_each(?)) OR p.forwarded_from IN (SELECT value FROM json_each(?))))"
    )
    return clause, [json.dumps(stored_values(db, "channels", channel), ensure_ascii=False)] * 2


def stored_domain(value: str) -> str:
    """The ``domain`` items on the site ``value`` are stored under, as identify() computes it for their URLs.

    The registered domain, in ASCII: ``docs.cohere.ai`` -> ``cohere.ai``,
    ``www.GitHub.com`` -> ``github.com``, ``пример.рф`` -> ``xn--e1afmkfd.xn--p1ai``;
    a URL gives its host's. A value that is no host name is kept, lowercased.
    """
    from harvester.identity import identify

    text = value.strip()
    identity = identify(text if "://" in text else f"https://{text}/")
    return identity.domain if identity is not None else text.lower()


def list_items(db: sqlite_utils.Database, filters: ListFilter = ListFilter()) -> list[dict]:
    """Items matching ``filters``, most mentioned first.

    Each is a dict with the stable fields of ``readinglist list --json``.
    """
    clauses, params = [], []
    if filters.status != "all":
        clauses.append("items.status = ?")
        params.append(filters.status)
    _add_shared_filters(db, clauses, params, filters)
    if filters.domain:
        clauses.append("items.domain = ?")
        params.append(stored_domain(filters.domain))
    having = ""
    if filters.since:
        having = "HAVING COALESCE(first_post_date, items.added_at) >= ?"
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    return _listed(db, where, having, ORDERS[filters.sort], params + ([filters.since] if filters.since else []))


def listed_items(db: sqlite_utils.Database, ids: list[str]) -> dict[str, dict]:
    """The items ``ids`` as :func:`list_items` (``readinglist list --json``) gives them, by id."""
    items = _listed(db, "WHERE items.id IN (SELECT value FROM json_each(?))", "", "items.id", [json.dumps(ids)])
    return {item["id"]: item for item in items}


def _listed(db: sqlite_utils.Database, where: str, having: str, order: str, params: list) -> list[dict]:
    cursor = db.execute(LIST_SQL.format(where=where, having=having, order=order), params)
    columns = [description[0] for description in cursor.description]
    offset = now_offset(datetime.now(timezone.utc))
    return [_item(dict(zip(columns, row)), offset) for row in cursor]


def _item(row: dict, offset: float = 0.0) -> dict:
    # A forwarded post counts for the channel that wrote it and the one that forwarded it.
    channels = sorted(
        {name for name in json.loads(row.pop("post_channels")) + json.loads(row.pop("forwarded_channels")) if name}
    )
    first_post_date = row.pop("first_post_date")
    return {
        "id": row["id"],
        "url": row["url"],
        "kind": row["kind"],
        "title": row["title"],
        "status": row["status"],
        "mentions": row["mentions"],
        "channels": channels,
        "first_seen": first_post_date or row["added_at"],
        "domain": row["domain"],
        "arxiv_id": row["arxiv_id"],
        "doi": row["doi"],
        "repo": row["repo"],
        "hf_id": row["hf_id"],
        "added_at": row["added_at"],
        "priority": row["priority"],
        "tags": json.loads(row["tags"] or "[]"),
        "note": row["note"],
        "read_at": row["read_at"],
        "snoozed_until": row["snoozed_until"],
        "score": None if row["rank_key"] is None else round(row["rank_key"] - offset, 3),
        # What fetching learned (issue 3).
        "fetch_status": row["fetch_status"],
        "http_status": row["http_status"],
        "final_url": row["final_url"],
        "authors": json.loads(row["authors"] or "[]"),
        "published": row["published"],
        "site_name": row["site_name"],
        "language": row["language"],
        "word_count": row["word_count"],
        "reading_minutes": row["reading_minutes"],
        "description": row["description"],
        "summary": row["summary"],
        "error": row["last_error"],
        # The site adapters' own fields (issue 4): categories, stars, license, pipeline tag, ...
        "meta": json.loads(row["meta"] or "{}"),
    }


def reading_url(url: str | None, final_url: str | None) -> str | None:
    """The address to open an item at: its ``url``, or ``final_url`` where fetching fell back to plain http.

    A link posted as http:// is stored as https:// (one item per work); when
    its site has no https at all, fetching reads it over http and
    ``final_url`` is the same address with http:// (fetching.http_fallback).
    The https address then fails in a browser too. Any other final_url (a
    redirect, or what a site adapter asked of an API) is not for reading.
    """
    if (
        isinstance(url, str) and isinstance(final_url, str)
        and url.startswith("https://") and final_url == "http://" + url[len("https://"):]
    ):
        return final_url
    return url


# ---------------------------------------------------------------- the queue

QUEUE_COLUMNS = (
    "items.id, items.url, items.kind, items.title, items.domain, items.status, items.priority, items.tags,"
    " items.note, items.summary, items.language, items.reading_minutes, items.fetch_status, items.final_url,"
    " items.mention_posts, items.mention_channels, items.last_mentioned, items.added_at, items.rank_key"
)
MENTIONS_SHOWN = 3


@dataclass(frozen=True)
class NextFilter:
    n: int = 5
    kind: str | None = None
    max_minutes: float | None = None
    channel: str | None = None
    tag: str | None = None
    lang: str | None = None


def next_items(db: sqlite_utils.Database, filters: NextFilter = NextFilter(), now: datetime | None = None) -> list[dict]:
    """The best ``filters.n`` items to read now, by :func:`readinglist.ranking.score`.

    Each dict has the item's fields, ``score``, ``reason`` (why it ranks here)
    and ``mentions`` (the latest posts that mentioned it).
    """
    now = now or datetime.now(timezone.utc)
    today = now.astimezone().date().isoformat()
    clauses = [
        "items.status = 'unread'",
        "items.kind NOT IN ('channel', 'unresolved')",
        "items.fetch_status IS NOT 'dead'",
        "(items.snoozed_until IS NULL OR items.snoozed_until <= ?)",
    ]
    params: list = [today]
    _add_shared_filters(db, clauses, params, filters)
    if filters.lang:
        clauses.append("items.language = ?")
        params.append(filters.lang)
    offset = now_offset(now)

    def top(extra: str, extra_params: list, penalty: float) -> list[dict]:
        sql = (
            f"SELECT {QUEUE_COLUMNS} FROM items INDEXED BY items_queue WHERE {' AND '.join(clauses + [extra])}"
            " ORDER BY items.rank_key DESC, items.id LIMIT ?"
        )
        cursor = db.execute(sql, params + extra_params + [filters.n])
        columns = [d[0] for d in cursor.description]
        rows = [dict(zip(columns, row)) for row in cursor]
        for row in rows:
            row["score"] = round((row["rank_key"] or 0.0) - offset + penalty, 3)
        return rows

    if filters.max_minutes is None:
        rows = top("1", [], 0.0)
    else:
        rows = top("items.reading_minutes <= ?", [filters.max_minutes], 0.0) + top(
            "items.reading_minutes IS NULL", [], UNKNOWN_LENGTH_PENALTY
        )
        rows.sort(key=lambda row: (-row["score"], row["id"]))
        rows = rows[: filters.n]
    now_jd = julian_day(now)
    for row in rows:
        row.pop("rank_key")
        row["tags"] = json.loads(row["tags"] or "[]")
        row["reason"] = reason(db, row, now_jd, filters.max_minutes)
        row["mentions"] = item_mentions(db, row["id"], limit=MENTIONS_SHOWN)
    return rows


def _age_days(db, row: dict, now_jd: float) -> tuple[float | None, bool]:
    """Days since the latest dated mention, else since the item was added (as the score counts them),
    and whether a mention gave that day."""
    mentioned, added = db.execute("SELECT julianday(?), julianday(?)", [row["last_mentioned"], row["added_at"]]).fetchone()
    seen = mentioned if mentioned is not None else added
    return (None if seen is None else max(0.0, now_jd - seen)), mentioned is not None


def _ago(days: float) -> str:
    whole = int(days)
    if whole == 0:
        return "today"
    return "1 day ago" if whole == 1 else f"{whole} days ago"


def reason(db, row: dict, now_jd: float, max_minutes: float | None = None) -> str:
    """Why an item ranks where it does, in words: the terms of the score that apply."""
    from .render import count_of  # render reads this module

    channels, posts = row["mention_channels"] or 0, row["mention_posts"] or 0
    parts = []
    if channels:
        parts.append(f"mentioned by {count_of(channels, 'channel')}" + (f" in {count_of(posts, 'post')}" if posts != channels else ""))
    else:
        parts.append("added by hand")
    age, dated = _age_days(db, row, now_jd)
    if age is not None:
        if not channels:
            parts.append(_ago(age))  # "added by hand, today"
        else:
            # No post that mentions it gives a date (a text dump): its age runs from when it was added.
            parts.append(("last " if dated else "added ") + _ago(age))
    if row["priority"] != "normal":
        parts.append(f"priority {row['priority']}")
    if row["fetch_status"] in (None, "pending"):
        parts.append("not fetched yet")
    if row["reading_minutes"] is not None:
        parts.append(f"{row['reading_minutes']} min")
    elif max_minutes is not None:
        parts.append("reading time unknown")
    return ", ".join(parts)


def item_mentions(db: sqlite_utils.Database, item_id: str, limit: int | None = None) -> list[dict]:
    """The posts that mentioned an item, latest first, each once: channel, date, context, url as written.

    A post that gives the item twice (its abs and pdf URLs, or a link and the
    paper's title) has a mention row for each; it is listed once, by the first.
    """
    cursor = db.execute(
        "SELECT mentions.post_id, posts.channel, posts.forwarded_from, posts.date, posts.permalink, mentions.url,"
        " mentions.context"
        " FROM mentions INDEXED BY mentions_item_latest JOIN posts ON posts.id = mentions.post_id"
        " WHERE mentions.item_id = ?"
        # Undated posts last, as julianday(NULL) sorts; the index serves this order, a post's rows next to each other.
        " ORDER BY mentions.post_julianday DESC, mentions.post_id",
        [item_id],
    )
    columns = [d[0] for d in cursor.description][1:]
    mentions: list[dict] = []
    previous_post = None
    for post_id, *row in cursor:
        if limit is not None and len(mentions) >= limit:
            break
        if post_id != previous_post:
            mentions.append(dict(zip(columns, row)))
            previous_post = post_id
    return mentions


SHOW_MENTIONS = 20
SHOW_RELATED = 20


def show_item(
    db: sqlite_utils.Database, item_id: str, now: datetime | None = None, mentions: int | None = SHOW_MENTIONS
) -> dict:
    """Every field of an item, its latest ``mentions`` mentions (None: all), its first
    :data:`SHOW_RELATED` related items and its history (events, oldest first).

    ``mention_count`` is the number of posts that mentioned it, ``related_count`` of the items
    related to it, shown or not.
    """
    cursor = db.execute("SELECT * FROM items WHERE id = ?", [item_id])
    columns = [d[0] for d in cursor.description]
    item = dict(zip(columns, cursor.fetchone()))
    item["tags"] = json.loads(item["tags"] or "[]")
    for name, empty in (("meta", "{}"), ("authors", "[]")):
        if isinstance(item.get(name), str) or item.get(name) is None:
            item[name] = json.loads(item.get(name) or empty)
    now = now or datetime.now(timezone.utc)
    rank_key = item.pop("rank_key")
    item["score"] = None if rank_key is None else round(rank_key - now_offset(now), 3)
    item["reason"] = reason(db, item, julian_day(now))
    # Kept by every writer of mentions (ranking.refresh): counting here read all of an item's mentions.
    item["mention_count"] = item.get("mention_posts") or 0
    item["mentions"] = item_mentions(db, item_id, limit=mentions)
    cursor = db.execute("SELECT time, action, value FROM events WHERE item_id = ? ORDER BY time, id", [item_id])
    item["history"] = [dict(zip(("time", "action", "value"), row)) for row in cursor]
    from .metadata import count_related, related_items

    item["related"] = related_items(db, item_id, limit=SHOW_RELATED)
    item["related_count"] = count_related(db, item_id)
    return item


def queue_stats(db: sqlite_utils.Database, now: datetime | None = None, top: int = 10) -> dict:
    """Counts by status, kind, channel and domain; items read this week/month; reading time left."""
    now = now or datetime.now(timezone.utc)

    def pairs(sql: str, params: list = ()) -> dict:
        return {key if key is not None else "": count for key, count in db.execute(sql, params)}

    week = (now - timedelta(days=7)).isoformat(timespec="seconds")
    month = (now - timedelta(days=30)).isoformat(timespec="seconds")
    # Read in the window and not put back in the queue since (archived after reading still counts).
    read_since = (
        "SELECT COUNT(DISTINCT events.item_id) FROM events JOIN items ON items.id = events.item_id"
        " WHERE events.action = 'read' AND events.time >= ? AND items.status != 'unread'"
    )
    today = now.astimezone().date().isoformat()
    backlog = db.execute(
        "SELECT COUNT(*), COALESCE(SUM(reading_minutes), 0), SUM(reading_minutes IS NULL) FROM items"
        " WHERE status = 'unread' AND kind NOT IN ('channel', 'unresolved') AND fetch_status IS NOT 'dead'"
        " AND (snoozed_until IS NULL OR snoozed_until <= ?)",
        [today],
    ).fetchone()
    return {
        "items": db.execute("SELECT COUNT(*) FROM items").fetchone()[0],
        "by_status": pairs("SELECT status, COUNT(*) FROM items GROUP BY status ORDER BY COUNT(*) DESC, status"),
        "snoozed": db.execute(
            "SELECT COUNT(*) FROM items WHERE status = 'unread' AND snoozed_until > ?", [today]
        ).fetchone()[0],
        "by_kind": pairs("SELECT kind, COUNT(*) FROM items GROUP BY kind ORDER BY COUNT(*) DESC, kind"),
        "by_channel": pairs(
            # Links added by hand come from posts with no channel: they are no channel.
            "SELECT posts.channel, COUNT(DISTINCT mentions.item_id) AS n FROM mentions"
            " JOIN posts ON posts.id = mentions.post_id WHERE posts.channel != ''"
            " GROUP BY posts.channel ORDER BY n DESC, posts.channel LIMIT ?",
            [top],
        ),
        "by_domain": pairs(
            # Papers cited by title and not found yet have no URL, so no domain.
            "SELECT domain, COUNT(*) AS n FROM items WHERE kind != 'unresolved'"
            " GROUP BY domain ORDER BY n DESC, domain LIMIT ?",
            [top],
        ),
        "read_this_week": db.execute(read_since, [week]).fetchone()[0],
        "read_this_month": db.execute(read_since, [month]).fetchone()[0],
        "backlog": {"items": backlog[0], "minutes": backlog[1], "unknown_length": backlog[2] or 0},
    }
