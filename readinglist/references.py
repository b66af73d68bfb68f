"""Papers cited by title: store the candidates as ``unresolved`` items, then resolve them.

Two steps, both idempotent:

1. **Finding** (:func:`record_candidates` for posts being harvested,
   :func:`find_candidates_in_posts` for posts already stored): each title a post
   cites without a link (``harvester.references``) becomes an item of kind
   ``unresolved`` whose URL is ``urn:readinglist:title:<12 hex>``, the start of
   the SHA-1 of the normalized title (``harvester.title_match.normalize``), so
   every post citing the same title adds a mention to the same item. Its title
   is the title as cited, ``title_source`` is ``reference``, ``fetch_status``
   is ``skipped`` (there is nothing to fetch) and the surnames the posts give
   are in ``meta.reference.authors``. The mention's ``via`` is ``reference``,
   its ``anchor_text`` the title and its ``context`` the snippet. Unresolved
   items are listed (``readinglist list``), never queued (``next``).

2. **Resolving** (:func:`run`, ``readinglist resolve``): each due reference is
   searched on arXiv (``ti:"..."``, at least 3 s between requests), then
   Crossref, then OpenAlex. A result is accepted only when its title agrees with
   the cited one and every surname the posts give is among its authors, and no
   other result fits as well (``harvester.title_match.choose``). Then the
   paper's own item (``https://arxiv.org/abs/<id>`` or ``https://doi.org/<doi>``,
   found by id, alias, arXiv id or DOI, or created with fetch status
   ``pending``) takes over the mentions, events and user state, the URN becomes
   an alias of it (so later posts citing the title go straight there), and the
   unresolved item is deleted. Otherwise the item stays unresolved, with
   ``meta.reference`` recording ``tried_at``, ``attempts``, ``outcome`` (``no
   match``, ``author mismatch``, ``ambiguous``, ``failed``) and ``retry_at``:
   it is retried after 7, then 30, then 90 days, then no more, unless a new
   post names an author for it. A network failure does not count as an
   attempt; the next run tries again.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable

import sqlite_utils

from harvester.extract import clean_line
from harvester.identity import identify
from harvester.models import Post
from harvester.references import Candidate, candidates_in_post, find_candidates, latin_share
from harvester.title_match import AMBIGUOUS, AUTHOR_MISMATCH, NO_MATCH, RESOLVED, choose, normalize

from .db import item_id_for, mention_id_for, mentions_written, short_hash
from .render import count_of
from .state import USER_STATE, merged_state

logger = logging.getLogger(__name__)

URN_PREFIX = "urn:readinglist:title:"
KIND = "unresolved"
VIA = "reference"
FAILED = "failed"
RETRY_DAYS = (7, 30, 90)  # after the 1st, 2nd, 3rd fruitless attempt; then no more
SCAN_BATCH = 500
SOURCES = ("arxiv", "crossref", "openalex")


def reference_url(title: str) -> str:
    """The URN of the unresolved item for a cited title."""
    return URN_PREFIX + short_hash(normalize(title), 12)


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="seconds")


@dataclass
class ResolveStats:
    posts_scanned: int = 0
    new_references: int = 0  # unresolved items created
    new_mentions: int = 0
    tried: int = 0
    resolved: int = 0
    unresolved: int = 0  # tried, still unresolved (no match, author mismatch, ambiguous)
    failed: int = 0  # a catalogue could not be asked
    resolved_items: list[dict] = field(default_factory=list)  # {"title", "url", "id"}

    def summary(self) -> str:
        return (
            f"References: {count_of(self.posts_scanned, 'post')} scanned, {count_of(self.new_references, 'new cited title')}, "
            f"{self.tried} tried, {self.resolved} resolved, {self.unresolved} left unresolved, {self.failed} failed."
        )


# ================================================================ finding


def record_candidates(
    db: sqlite_utils.Database, posts: Iterable[tuple[str, Post]], stats: ResolveStats | None = None
) -> ResolveStats:
    """Store the cited titles of ``posts``, pairs of the id a post is stored under and the parsed post.

    For the harvest pipeline: the posts still have their preview cards and
    anchors, which the stored text lacks.
    """
    stats = stats or ResolveStats()
    pairs = [(post_id, candidates_in_post(post)) for post_id, post in posts]
    _store(db, pairs, stats)
    return stats


def find_candidates_in_posts(
    db: sqlite_utils.Database, post_ids: Iterable[str] | None = None, stats: ResolveStats | None = None
) -> ResolveStats:
    """Scan stored posts for cited titles: ``post_ids`` (again, if already scanned), else every post not scanned yet.

    Stored posts keep their text only; the titles of their links (anchor texts,
    preview-card titles of mentioned items) are excluded from the candidates.
    """
    stats = stats or ResolveStats()
    if post_ids is not None:
        ids = list(dict.fromkeys(post_ids))
        batches = (ids[i : i + SCAN_BATCH] for i in range(0, len(ids), SCAN_BATCH))
        for chunk in batches:
            marks = ", ".join("?" * len(chunk))
            rows = db.execute(f"SELECT id, text FROM posts WHERE id IN ({marks})", chunk).fetchall()
            _scan_rows(db, rows, stats)
        return stats
    last = ""
    while True:
        # Keyset pagination: each batch is committed, so an interrupted scan resumes.
        rows = db.execute(
            "SELECT id, text FROM posts WHERE id > ? AND id NOT IN (SELECT post_id FROM reference_scans)"
            " ORDER BY id LIMIT ?",
            [last, SCAN_BATCH],
        ).fetchall()
        if not rows:
            return stats
        _scan_rows(db, rows, stats)
        last = rows[-1][0]


def _scan_rows(db, rows, stats: ResolveStats) -> None:
    ids = [row[0] for row in rows]
    linked: dict[str, list[str]] = {post_id: [] for post_id in ids}
    marks = ", ".join("?" * len(ids))
    for post_id, anchor, title, title_source in db.execute(
        f"SELECT mentions.post_id, mentions.anchor_text, items.title, items.title_source FROM mentions"
        f" JOIN items ON items.id = mentions.item_id WHERE mentions.post_id IN ({marks}) AND mentions.via != ?",
        [*ids, VIA],
    ):
        linked[post_id].extend(t for t in (anchor, title if title_source in ("anchor", "preview") else None) if t)
    pairs = [(post_id, find_candidates(text or "", (), linked[post_id])) for post_id, text in rows]
    _store(db, pairs, stats)


def _load_meta(value: str | None) -> dict:
    try:
        meta = json.loads(value) if value else {}
    except ValueError:
        meta = {}
    return meta if isinstance(meta, dict) else {}


def _store(db, pairs: list[tuple[str, list[Candidate]]], stats: ResolveStats) -> None:
    now = _iso(_now())
    touched: set[str] = set()
    with db.atomic():
        for post_id, candidates in pairs:
            for candidate in candidates:
                touched.add(_store_one(db, post_id, candidate, now, stats))
            db.execute(
                "INSERT OR REPLACE INTO reference_scans(post_id, scanned_at, candidates) VALUES (?, ?, ?)",
                [post_id, now, len(candidates)],
            )
            stats.posts_scanned += 1
        if touched:
            mentions_written(db, touched)


def _store_one(db, post_id: str, candidate: Candidate, now: str, stats: ResolveStats) -> str:
    url = reference_url(candidate.title)
    alias = db.execute("SELECT item_id FROM aliases WHERE url = ?", [url]).fetchone()
    item_id = alias[0] if alias else item_id_for(url)
    if alias is None:
        row = db.execute("SELECT meta FROM items WHERE id = ?", [item_id]).fetchone()
        if row is None:
            meta = {"reference": {"authors": list(candidate.authors), "via": candidate.via, "attempts": 0}}
            db["items"].insert(
                {
                    "id": item_id,
                    "url": url,
                    "kind": KIND,
                    "title": candidate.title,
                    "title_source": VIA,
                    "status": "unread",
                    "added_at": now,
                    "fetch_status": "skipped",
                    "meta": json.dumps(meta, ensure_ascii=False),
                }
            )
            stats.new_references += 1
        else:
            meta = _load_meta(row[0])
            reference = meta.setdefault("reference", {})
            known = reference.get("authors") or []
            new = [a for a in candidate.authors if a not in known]
            if new:
                # A post naming an author is new evidence: try again now.
                reference["authors"] = known + new
                reference.pop("retry_at", None)
                reference.pop("gave_up", None)
                db.execute("UPDATE items SET meta = ? WHERE id = ?", [json.dumps(meta, ensure_ascii=False), item_id])
    if alias is not None and _mentioned_by(db, item_id, post_id):
        return item_id  # the post links the paper its title resolved to: one post, one mention
    mention_id = mention_id_for(item_id, post_id, url)
    cursor = db.execute(
        "INSERT OR IGNORE INTO mentions(id, item_id, post_id, url, anchor_text, context, via, added_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [mention_id, item_id, post_id, url, candidate.title, candidate.snippet, VIA, now],
    )
    stats.new_mentions += cursor.rowcount
    return item_id


# ================================================================ resolving


class SearchFailed(Exception):
    """A catalogue could not be asked (network error, HTTP error, unreadable answer)."""


class Searcher:
    """Asks the catalogues, keeping arXiv's 3 s between requests (and ``per_host_delay`` for the others).

    ``sleep`` and ``clock`` are injectable so tests neither wait nor race.
    """

    def __init__(self, client, settings, sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic):
        from harvester.sites.arxiv import MIN_INTERVAL

        self.client = client
        self.settings = settings
        self.sleep = sleep
        self.clock = clock
        self.intervals = {"arxiv": MIN_INTERVAL, "crossref": settings.per_host_delay, "openalex": settings.per_host_delay}
        self.last: dict[str, float] = {}
        self.down: dict[str, str] = {}  # source -> why it is skipped for the rest of the run

    def _get(self, source: str, url: str) -> bytes:
        import httpx

        if source in self.down:
            raise SearchFailed(self.down[source])
        if source in self.last:
            wait = self.last[source] + self.intervals[source] - self.clock()
            if wait > 0:
                self.sleep(wait)
        try:
            response = self.client.get(url, headers={"User-Agent": self.settings.user_agent})
        except httpx.HTTPError as error:
            raise SearchFailed(f"{source}: {type(error).__name__}: {error}") from None
        finally:
            self.last[source] = self.clock()
        if response.status_code in (429, 503) or response.status_code >= 500:
            # Rate-limited or down: leave this catalogue alone for the rest of the run.
            self.down[source] = f"{source}: HTTP {response.status_code}"
            raise SearchFailed(self.down[source])
        if response.status_code != 200:
            raise SearchFailed(f"{source}: HTTP {response.status_code}")
        return response.content

    def search(self, source: str, title: str, surnames=()) -> list:
        from harvester.sites import scholar_search as search
        from harvester.sites.arxiv import ArxivFeedError

        try:
            if source == "arxiv":
                return search.parse_arxiv_search(self._get(source, search.arxiv_search_url(self.settings, title)))
            if source == "crossref":
                return search.parse_crossref_search(self._get(source, search.crossref_search_url(self.settings, title, surnames)))
            return search.parse_openalex_search(self._get(source, search.openalex_search_url(self.settings, title)))
        except (ArxivFeedError, search.SearchError) as error:
            raise SearchFailed(f"{source}: {error}") from None


@dataclass
class Resolution:
    outcome: str  # resolved | no match | author mismatch | ambiguous | failed
    work: object | None = None
    detail: str = ""


def resolve_title(searcher: Searcher, title: str, surnames=()) -> Resolution:
    """Search the catalogues in turn for ``title``; the first that has exactly one fitting work wins.

    arXiv is skipped for titles not in Latin script. An ambiguous answer stops
    the search (another catalogue cannot tell the works apart either). If a
    catalogue failed and none resolved the title, the outcome is ``failed``.
    """
    surnames = list(surnames or ())
    sources = [s for s in SOURCES if s != "arxiv" or latin_share(title) >= 0.5]
    outcome, details, errors = NO_MATCH, [], []
    for source in sources:
        try:
            works = searcher.search(source, title, surnames)
        except SearchFailed as error:
            errors.append(str(error))
            continue
        choice = choose(title, surnames, works)
        if choice.outcome == RESOLVED:
            return Resolution(RESOLVED, choice.work, f"{source}: {choice.detail}")
        details.append(f"{source}: {choice.detail}")
        if choice.outcome == AMBIGUOUS:
            return Resolution(AMBIGUOUS, None, "; ".join(details))
        if choice.outcome == AUTHOR_MISMATCH:
            outcome = AUTHOR_MISMATCH
    if errors:
        return Resolution(FAILED, None, "; ".join(errors + details))
    return Resolution(outcome, None, "; ".join(details))


def _due(db, now: datetime, limit: int | None) -> list[dict]:
    sql = (
        "SELECT id, url, title, meta FROM items WHERE kind = ? AND status != 'archived'"
        " AND COALESCE(json_extract(meta, '$.reference.gave_up'), 0) = 0"
        " AND (json_extract(meta, '$.reference.retry_at') IS NULL OR json_extract(meta, '$.reference.retry_at') <= ?)"
        " ORDER BY mention_posts DESC, added_at, id"
    )
    params: list = [KIND, _iso(now)]
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    cursor = db.execute(sql, params)
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row)) for row in cursor]


def run(
    db: sqlite_utils.Database,
    settings,
    client=None,
    limit: int | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    now: datetime | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> ResolveStats:
    """Scan posts not scanned yet for cited titles, then try to resolve up to ``limit`` due references.

    ``client``: a sync ``httpx.Client`` (made from ``settings`` if None).
    ``on_progress(done, total)`` is called after each reference. Holds the
    database's fetch lock, as ``fetch`` does (:func:`readinglist.db.one_at_a_time`).
    """
    from .db import one_at_a_time

    with one_at_a_time(db, "fetch"):
        return _run(db, settings, client, limit, sleep=sleep, clock=clock, now=now, on_progress=on_progress)


def _run(db, settings, client, limit, *, sleep, clock, now, on_progress) -> ResolveStats:
    stats = ResolveStats()
    find_candidates_in_posts(db, stats=stats)
    now = now or _now()
    due = _due(db, now, limit)
    if not due:
        return stats
    own_client = client is None
    if own_client:
        import httpx

        client = httpx.Client(
            timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
            follow_redirects=True,
            headers={"User-Agent": settings.user_agent},
        )
    searcher = Searcher(client, settings, sleep=sleep, clock=clock)
    try:
        for done, row in enumerate(due, 1):
            meta = _load_meta(row["meta"])
            surnames = (meta.get("reference") or {}).get("authors") or []
            resolution = resolve_title(searcher, row["title"], surnames)
            stats.tried += 1
            if resolution.outcome == RESOLVED:
                item_id = merge_into_paper(db, row, resolution.work, now)
                stats.resolved += 1
                stats.resolved_items.append({"title": row["title"], "url": resolution.work.url, "id": item_id})
                logger.info("resolved %r -> %s", row["title"], resolution.work.url)
            else:
                _record_attempt(db, row, meta, resolution, now)
                if resolution.outcome == FAILED:
                    stats.failed += 1
                else:
                    stats.unresolved += 1
                logger.info("unresolved %r: %s (%s)", row["title"], resolution.outcome, resolution.detail)
            if on_progress:
                on_progress(done, len(due))
    finally:
        if own_client:
            client.close()
    return stats


def _record_attempt(db, row: dict, meta: dict, resolution: Resolution, now: datetime) -> None:
    reference = meta.setdefault("reference", {})
    reference["tried_at"] = _iso(now)
    reference["outcome"] = resolution.outcome
    reference["detail"] = resolution.detail[:500]
    if resolution.outcome != FAILED:
        attempts = int(reference.get("attempts") or 0) + 1
        reference["attempts"] = attempts
        if attempts <= len(RETRY_DAYS):
            reference["retry_at"] = _iso(now + timedelta(days=RETRY_DAYS[attempts - 1]))
        else:
            reference.pop("retry_at", None)
            reference["gave_up"] = True
    db.execute(
        "UPDATE items SET meta = ?, last_error = ? WHERE id = ?",
        [json.dumps(meta, ensure_ascii=False), f"{resolution.outcome}: {resolution.detail}"[:500], row["id"]],
    )


def _mentioned_by(db, item_id: str, post_id: str) -> bool:
    """Whether the post already mentions the item (a post counts once per item, however it gives it)."""
    return db.execute("SELECT 1 FROM mentions WHERE item_id = ? AND post_id = ?", [item_id, post_id]).fetchone() is not None


def _find_item(db, url: str, arxiv_id: str | None, doi: str | None) -> str | None:
    for sql, value in (
        ("SELECT id FROM items WHERE url = ?", url),  # its own, or a renamed repository's new URL
        ("SELECT item_id FROM aliases WHERE url = ?", url),
        ("SELECT id FROM items WHERE arxiv_id = ? AND kind != 'unresolved' ORDER BY added_at LIMIT 1", arxiv_id),
        ("SELECT id FROM items WHERE doi = ? AND kind != 'unresolved' ORDER BY added_at LIMIT 1", doi),
    ):
        if value:
            found = db.execute(sql, [value]).fetchone()
            if found:
                return found[0]
    return None


def _item_references(db) -> list[tuple[str, str]]:
    """(table, column) pairs with a foreign key to ``items.id``, mentions aside."""
    found = []
    for table in db.table_names():
        if table in ("items", "mentions"):
            continue
        for fk in db.execute(f"PRAGMA foreign_key_list([{table}])").fetchall():
            if fk[2] == "items":
                found.append((table, fk[3]))
    return found


def _user_state(db: sqlite_utils.Database, item_id: str) -> dict:
    return dict(zip(USER_STATE, db.execute(f"SELECT {', '.join(USER_STATE)} FROM items WHERE id = ?", [item_id]).fetchone()))


def merge_into_paper(db: sqlite_utils.Database, row: dict, work, now: datetime | None = None) -> str:
    """Make the unresolved item ``row`` (id, url, title) the paper ``work``: returns the paper item's id.

    The paper's item is found (by canonical URL, alias, arXiv id or DOI) or
    created; it takes the mentions (one from a post that already mentions the
    paper, by linking it, is dropped, not duplicated), the events and the
    user's state; the URN becomes its alias and the unresolved item is
    deleted. One transaction.
    """
    when = _iso(now or _now())
    identity = identify(work.url)
    if identity is None:
        raise ValueError(f"not a paper URL: {work.url!r}")
    old_id = row["id"]
    with db.atomic():
        old = _user_state(db, old_id)
        target = _find_item(db, identity.url, identity.arxiv_id, identity.doi or work.doi)
        if target is None:
            target = item_id_for(identity.url)
            db["items"].insert(
                {
                    "id": target,
                    "url": identity.url,
                    "kind": "paper",
                    "domain": identity.domain,
                    "arxiv_id": identity.arxiv_id,
                    "doi": identity.doi or work.doi,
                    # A catalogue's text, cleaned as a site adapter's is (see harvester.sites.base.clean_metadata).
                    "title": clean_line(work.title),
                    "title_source": work.source,
                    "added_at": when,
                    "authors": json.dumps([a for a in map(clean_line, work.authors) if a], ensure_ascii=False),
                    "published": clean_line(work.published),
                    "fetch_status": "pending",
                    **{key: value for key, value in old.items() if value is not None},
                }
            )
        else:
            # The user's state merges as when two URLs of one work are merged (metadata.merge_items).
            updates = merged_state(_user_state(db, target), old)
            if updates:
                assignments = ", ".join(f"{name} = ?" for name in updates)
                db.execute(f"UPDATE items SET {assignments} WHERE id = ?", [*updates.values(), target])
        for mention_id, post_id, written in db.execute(
            "SELECT id, post_id, url FROM mentions WHERE item_id = ?", [old_id]
        ).fetchall():
            new_id = mention_id_for(target, post_id, written)
            if _mentioned_by(db, target, post_id):  # the post links the paper too: it mentions it once
                db.execute("DELETE FROM mentions WHERE id = ?", [mention_id])
            else:
                db.execute("UPDATE mentions SET id = ?, item_id = ? WHERE id = ?", [new_id, target, mention_id])
        # Whatever else refers to the old item (events, aliases, relations, other stages' tables) moves too;
        # rows that would collide with the paper's own are dropped.
        for table, column in _item_references(db):
            db.execute(f"UPDATE OR IGNORE [{table}] SET [{column}] = ? WHERE [{column}] = ?", [target, old_id])
            db.execute(f"DELETE FROM [{table}] WHERE [{column}] = ?", [old_id])
        db.execute("INSERT OR REPLACE INTO aliases(url, item_id, added_at) VALUES (?, ?, ?)", [row["url"], target, when])
        db.execute("DELETE FROM items WHERE id = ?", [old_id])
        db.execute(
            "INSERT INTO events(item_id, time, action, value) VALUES (?, ?, 'resolved', ?)",
            [target, when, json.dumps({"from": row["url"], "title": row["title"], "source": work.source}, ensure_ascii=False)],
        )
        mentions_written(db, [target])
    return target
