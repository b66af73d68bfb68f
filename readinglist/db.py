"""The reading-list database: schema, migrations and connection settings.

Tables:

* ``posts``: one row per Telegram post, keyed by ``Post.key``;
* ``items``: one row per work (canonical URL), keyed by a short hex id
  derived from the canonical URL, so ids are stable across databases;
* ``mentions``: item <-> post, with the URL exactly as written, the anchor
  text and a context snippet.

Every schema change is a new function registered on ``migrations``; never edit
one that has shipped.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

import sqlite_utils
from sqlite_utils.migrations import Migrations

DEFAULT_DB = "readinglist.db"
DB_ENV = "READINGLIST_DB"
BUSY_TIMEOUT_MS = 30_000

migrations = Migrations("readinglist")


@migrations()
def m001_initial(db: sqlite_utils.Database) -> None:
    db["posts"].create(
        {
            "id": str,
            "source": str,
            "channel": str,
            "message_id": str,
            "permalink": str,
            "date": str,
            "forwarded_from": str,
            "text": str,
            "hashtags": str,  # JSON list
            "harvested_at": str,
        },
        pk="id",
    )
    db["items"].create(
        {
            "id": str,
            "url": str,
            "kind": str,
            "domain": str,
            "arxiv_id": str,
            "doi": str,
            "repo": str,
            "hf_id": str,
            "title": str,
            "title_source": str,
            "status": str,
            "added_at": str,
        },
        pk="id",
        not_null={"url", "kind", "status", "added_at"},
        defaults={"status": "unread"},
    )
    db["items"].create_index(["url"], unique=True)
    for column in ("kind", "status", "domain", "arxiv_id", "doi", "repo"):
        db["items"].create_index([column])
    db["mentions"].create(
        {
            "id": str,
            "item_id": str,
            "post_id": str,
            "url": str,
            "anchor_text": str,
            "context": str,
            "via": str,
            "added_at": str,
        },
        pk="id",
        foreign_keys=[("item_id", "items", "id"), ("post_id", "posts", "id")],
    )
    db["mentions"].create_index(["item_id"])
    db["mentions"].create_index(["post_id"])
    # Range scans by URL prefix complete the URLs Telegram truncated.
    db["mentions"].create_index(["url"])
    db["posts"].create_index(["channel"])
    db["posts"].create_index(["date"])


ITEM_ID_LENGTH = 12
MENTION_ID_LENGTH = 16


def short_hash(text: str, length: int) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:length]


def item_id_for(url: str) -> str:
    """The short id of the item whose canonical URL is ``url``."""
    return short_hash(url, ITEM_ID_LENGTH)


def mention_id_for(item_id: str, post_id: str, written: str) -> str:
    return short_hash(f"{item_id}\0{post_id}\0{written}", MENTION_ID_LENGTH)


class Database(sqlite_utils.Database):
    """sqlite-utils' Database whose ``atomic()`` takes the write lock at BEGIN.

    A deferred transaction that reads, then writes, fails at once with
    "database is locked" (SQLITE_BUSY_SNAPSHOT, which the busy timeout cannot
    wait out) when another process committed in between: WAL with several
    writers (harvest, fetch, Datasette's writable queries, the CLI) hits that.
    ``BEGIN IMMEDIATE`` waits for the lock up front, within the busy timeout.
    """

    @contextlib.contextmanager
    def atomic(self):
        if self.conn.in_transaction:
            with super().atomic():
                yield self
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self.rollback()
            raise
        else:
            try:
                self.conn.execute("COMMIT")
            except BaseException:
                self.rollback()
                raise


def resolve_path(path: str | os.PathLike | None) -> Path:
    """``--db`` if given, else ``$READINGLIST_DB``, else ``./readinglist.db``."""
    return Path(path or os.environ.get(DB_ENV) or DEFAULT_DB)


def open_db(path: str | os.PathLike | None = None, *, migrate: bool = True) -> sqlite_utils.Database:
    """Open (creating if needed) the database in WAL mode, with migrations applied.

    WAL lets Datasette read while a harvest writes; the busy timeout makes a
    second writer wait instead of failing with "database is locked".
    """
    db = Database(resolve_path(path))
    db.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    db.conn.execute("PRAGMA foreign_keys = ON")
    if db.journal_mode != "wal":
        db.enable_wal()
    # WAL is durable with synchronous=NORMAL except for the last commits on power loss.
    db.conn.execute("PRAGMA synchronous = NORMAL")
    if migrate:
        migrations.apply(db)
    return db


QUEUE_COLUMNS = {
    # name: (type, NOT NULL default or None)
    "priority": (str, "normal"),  # high | normal | low
    "tags": (str, "[]"),  # JSON list of strings
    "note": (str, None),
    "snoozed_until": (str, None),  # YYYY-MM-DD: skipped until that day
    "read_at": (str, None),
    "reading_minutes": (int, None),  # NULL: unknown (set by fetching)
    "fetch_status": (str, "pending"),  # pending (not fetched) | ok | dead | ...
    "summary": (str, None),
    "language": (str, None),  # ru | en | ...
    # Derived from mentions by db.mentions_written (readinglist/ranking.py):
    "mention_posts": (int, 0),
    "mention_channels": (int, 0),
    "last_mentioned": (str, None),
    "rank_key": (float, None),
}


@migrations()
def m002_queue(db: sqlite_utils.Database) -> None:
    """The reading queue: user state on items, an events log, ranking and full-text search.

    Columns are added only if missing, so a fetcher migration that added
    ``reading_minutes``/``fetch_status``/``summary``/``language`` first is fine.
    """
    from . import ranking, search

    existing = set(db["items"].columns_dict)
    for name, (col_type, default) in QUEUE_COLUMNS.items():
        if name not in existing:
            db["items"].add_column(name, col_type, not_null_default=default)
    db["events"].create(
        {"id": int, "item_id": str, "time": str, "action": str, "value": str},
        pk="id",
        not_null={"item_id", "time", "action"},
        foreign_keys=[("item_id", "items", "id")],
        if_not_exists=True,
    )
    db["events"].create_index(["item_id", "time"], if_not_exists=True)
    db["events"].create_index(["action", "time"], if_not_exists=True)
    # The queue reads the top of this index: see readinglist/ranking.py.
    db.execute("CREATE INDEX IF NOT EXISTS items_queue ON items(rank_key DESC, id) WHERE status = 'unread'")
    db.execute("CREATE INDEX IF NOT EXISTS items_rank ON items(rank_key DESC, id)")
    ranking.install_triggers(db)
    # The aggregates are (re)built by m003, which every database reaches.
    search.install(db)


FETCH_COLUMNS = {
    # What fetching and the site adapters learn about an item (issues 3 and 4).
    "http_status": int,
    "final_url": str,
    "content_type": str,
    "attempts": int,  # fetch attempts so far (NULL: never tried)
    "last_error": str,  # shown as "error" in list --json
    "fetched_at": str,
    "next_retry_at": str,  # a failed item is retried from then on
    "etag": str,
    "last_modified": str,
    "authors": str,  # JSON list of names, "First Last" or an organization
    "published": str,  # ISO date (YYYY, YYYY-MM or YYYY-MM-DD)
    "site_name": str,
    "word_count": int,
    "description": str,
    "meta": str,  # JSON object: the site adapter's own fields (categories, stars, ...)
    "channels": str,  # JSON list: the channels that mention the item, kept by db.mentions_written
}


@migrations()
def m003_fetch_and_metadata(db: sqlite_utils.Database) -> None:
    """Fetch state and site metadata on items; full texts, relations, live channels, Zotero keys.

    ``mentions.post_julianday`` copies the mentioning post's date (as a Julian
    day) so an item's latest mentions come off an index instead of a sort.
    """
    existing = set(db["items"].columns_dict)
    for name, col_type in FETCH_COLUMNS.items():
        if name not in existing:
            db["items"].add_column(name, col_type)
    db.execute("CREATE INDEX IF NOT EXISTS items_fetch ON items(fetch_status, next_retry_at)")
    # Full texts are large: their own table keeps items rows small for the queue.
    db["texts"].create(
        {"item_id": str, "text": str, "extracted_at": str},
        pk="item_id",
        foreign_keys=[("item_id", "items", "id")],
        if_not_exists=True,
    )
    # Paper <-> code and other links between items, e.g. ("abc", "def", "code", "readme").
    db["relations"].create(
        {"item_id": str, "related_id": str, "relation": str, "source": str, "added_at": str},
        pk=("item_id", "related_id", "relation"),
        foreign_keys=[("item_id", "items", "id"), ("related_id", "items", "id")],
        if_not_exists=True,
    )
    db["relations"].create_index(["related_id"], if_not_exists=True)
    # Other canonical URLs of a work merged into one item (an arXiv paper and its DOI).
    db["aliases"].create(
        {"url": str, "item_id": str, "added_at": str},
        pk="url",
        foreign_keys=[("item_id", "items", "id")],
        if_not_exists=True,
    )
    db["aliases"].create_index(["item_id"], if_not_exists=True)
    # Live harvesting: the newest post seen per public channel, so the next run stops there.
    db["channels"].create(
        {"name": str, "title": str, "newest_message_id": int, "harvested_at": str},
        pk="name",
        if_not_exists=True,
    )
    db["zotero_items"].create(
        {"item_id": str, "library": str, "zotero_key": str, "version": int, "pushed_at": str},
        pk=("item_id", "library"),
        foreign_keys=[("item_id", "items", "id")],
        if_not_exists=True,
    )
    if "post_julianday" not in db["mentions"].columns_dict:
        db["mentions"].add_column("post_julianday", float)
    db.execute(
        "UPDATE mentions SET post_julianday = (SELECT julianday(posts.date) FROM posts WHERE posts.id = mentions.post_id)"
    )
    db.execute(MENTION_DATE_TRIGGER)
    db.execute(
        "CREATE INDEX IF NOT EXISTS mentions_item_latest ON mentions(item_id, post_julianday DESC, post_id)"
    )
    from . import ranking, search

    search.set_rank(db)
    ranking.drop_triggers(db)
    ranking.install_triggers(db)
    ranking.rebuild(db)


# Every writer of mentions gets post_julianday without having to know about it.
MENTION_DATE_TRIGGER = """
CREATE TRIGGER IF NOT EXISTS mentions_post_julianday AFTER INSERT ON mentions
WHEN NEW.post_julianday IS NULL BEGIN
    UPDATE mentions SET post_julianday = (SELECT julianday(posts.date) FROM posts WHERE posts.id = NEW.post_id)
    WHERE id = NEW.id;
END"""


# Bound on the ids in one IN (...) list, well under SQLite's variable limit.
REFRESH_CHUNK = 500


def mentions_written(db: sqlite_utils.Database, item_ids, added: dict | None = None) -> None:
    """Bring ``item_ids``' derived data up to date after mentions were added to them.

    Every writer of mentions calls this once per batch: it refreshes the
    ranking aggregates and the search documents, which no trigger maintains.
    ``added`` (item id -> :class:`readinglist.ranking.NewMentions`) may describe
    items whose new mentions all come from posts new in this batch; their
    aggregates are then updated incrementally instead of recounted.
    """
    from . import ranking, search

    added = added or {}
    ids = sorted(set(item_ids) | set(added))
    if added:
        ranking.add_incrementally(db, added)
    recount = [item_id for item_id in ids if item_id not in added]
    for start in range(0, len(recount), REFRESH_CHUNK):
        ranking.refresh(db, recount[start : start + REFRESH_CHUNK])
    for start in range(0, len(ids), REFRESH_CHUNK):
        search.refresh_contexts(db, ids[start : start + REFRESH_CHUNK])


@migrations()
def m007_datasette(db: sqlite_utils.Database) -> None:
    """What the Datasette UI needs (readinglist/datasette_plugin.py, metadata.yml).

    * ``items_search``: the ``readinglist search`` index seen from ``items``.
      Datasette's ``?_search=`` runs ``{fts_pk} IN (SELECT rowid FROM {fts_table}
      WHERE {fts_table} MATCH ...)``; this view's ``rowid`` is the item id and its
      own name is the FTS5 table's match column, so with ``fts_table: items_search``
      and ``fts_pk: id`` the MATCH reaches ``search_docs_fts`` (no second index).
    * ``item_actions``: the writable canned queries insert into this view; its
      INSTEAD OF trigger changes the item and writes the ``events`` row in the
      same statement, exactly as ``readinglist/state.py`` does for the CLI (which
      never touches the view, so no change is recorded twice).
    * Indexes for the sorted, filtered table pages at a million items.
    """
    db.execute(
        """CREATE VIEW IF NOT EXISTS items_search AS
        SELECT search_docs.item_id AS rowid, search_docs_fts AS items_search
        FROM search_docs_fts JOIN search_docs ON search_docs.id = search_docs_fts.rowid"""
    )
    db.execute("CREATE VIEW IF NOT EXISTS item_actions(item_id, action, value) AS SELECT NULL, NULL, NULL WHERE 0")
    db.execute(ITEM_ACTIONS_TRIGGER)
    # by_channel finds the posts forwarded from a channel as well as those in it.
    db.execute("CREATE INDEX IF NOT EXISTS posts_forwarded_from ON posts(forwarded_from)")
    # The items page is sorted by rank_key; these serve it filtered by a facet value.
    for column in ("kind", "domain", "status"):
        db.execute(f"CREATE INDEX IF NOT EXISTS items_{column}_rank ON items({column}, rank_key DESC, id)")


# The tag as typed ("+llm" or "llm"), trimmed; rejected below if empty or still signed.
_WEB_TAG = "trim(CASE WHEN substr(trim(NEW.value), 1, 1) = '+' THEN substr(trim(NEW.value), 2) ELSE trim(NEW.value) END)"
_NOW_ISO = "strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')"  # state.now_iso(): UTC, seconds
ITEM_ACTIONS_TRIGGER = f"""
CREATE TRIGGER IF NOT EXISTS item_actions_apply INSTEAD OF INSERT ON item_actions BEGIN
    SELECT RAISE(ABORT, 'no item has this id') WHERE NOT EXISTS (SELECT 1 FROM items WHERE id = NEW.item_id);
    SELECT RAISE(ABORT, 'unknown action') WHERE COALESCE(NEW.action, '') NOT IN ('read', 'unread', 'priority', 'tag');
    SELECT RAISE(ABORT, 'priority must be one of high, normal, low')
        WHERE NEW.action = 'priority' AND COALESCE(NEW.value, '') NOT IN ('high', 'normal', 'low');
    SELECT RAISE(ABORT, 'invalid tag (use a word, optionally with a leading +)')
        WHERE NEW.action = 'tag' AND ({_WEB_TAG} = '' OR substr({_WEB_TAG}, 1, 1) IN ('+', '-'));
    UPDATE items SET status = 'read', read_at = {_NOW_ISO}, snoozed_until = NULL
        WHERE id = NEW.item_id AND NEW.action = 'read';
    UPDATE items SET status = 'unread', read_at = NULL, snoozed_until = NULL
        WHERE id = NEW.item_id AND NEW.action = 'unread';
    UPDATE items SET priority = NEW.value WHERE id = NEW.item_id AND NEW.action = 'priority';
    UPDATE items SET tags = json_insert(COALESCE(tags, '[]'), '$[#]', {_WEB_TAG})
        WHERE id = NEW.item_id AND NEW.action = 'tag'
        AND NOT EXISTS (SELECT 1 FROM json_each(COALESCE(items.tags, '[]')) WHERE json_each.value = {_WEB_TAG});
    INSERT INTO events(item_id, time, action, value) VALUES (
        NEW.item_id, {_NOW_ISO}, NEW.action,
        CASE NEW.action WHEN 'priority' THEN NEW.value WHEN 'tag' THEN '+' || {_WEB_TAG} END);
END"""


@migrations()
def m008_export_citekeys_and_zotero_sync(db: sqlite_utils.Database) -> None:
    """Stable citation keys for exports; what was last pushed to Zotero, for three-way merges.

    ``citekeys`` keeps each item's key forever (readinglist/export/citekeys.py);
    it cascades so merging or deleting items never trips over it.
    ``zotero_items`` gains the child note's key and version and the JSON last
    pushed, so a later push can tell the user's edits in Zotero from ours.
    """
    db.execute(
        "CREATE TABLE IF NOT EXISTS citekeys ("
        " item_id TEXT PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,"
        " citekey TEXT NOT NULL UNIQUE,"
        " assigned_at TEXT)"
    )
    existing = set(db["zotero_items"].columns_dict)
    for name, col_type in (("note_key", str), ("note_version", int), ("pushed_data", str), ("pushed_note", str)):
        if name not in existing:
            db["zotero_items"].add_column(name, col_type)


@migrations()
def m006_refs_reference_scans(db: sqlite_utils.Database) -> None:
    """Which posts were read for papers cited by title (readinglist/references.py).

    A post is scanned once; ``readinglist resolve`` scans only posts not in
    this table. Resolution attempts live in the ``unresolved`` item's
    ``meta.reference`` (tried_at, attempts, outcome, retry_at).
    """
    db["reference_scans"].create(
        {"post_id": str, "scanned_at": str, "candidates": int},
        pk="post_id",
        if_not_exists=True,
    )


@migrations()
def m005_sites_relations_view(db: sqlite_utils.Database) -> None:
    """``item_relations``: the relations table with both items' titles and URLs, for Datasette.

    ``relations`` rows are ``(item_id, related_id, relation, source)``: for
    paper <-> code, ``item_id`` is the code (repo, model) and ``related_id`` the paper.
    """
    db.execute(
        """CREATE VIEW IF NOT EXISTS item_relations AS
        SELECT relations.item_id, item.kind AS item_kind, item.title AS item_title, item.url AS item_url,
               relations.relation, relations.source,
               relations.related_id, related.kind AS related_kind, related.title AS related_title, related.url AS related_url,
               relations.added_at
        FROM relations
        JOIN items AS item ON item.id = relations.item_id
        JOIN items AS related ON related.id = relations.related_id"""
    )
