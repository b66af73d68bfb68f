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
import sqlite3
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
    """The short id an item whose canonical URL is ``url`` is created with.

    An item keeps its id when its URL changes (a renamed repository), and a URL
    merged into another item is an alias of it: :func:`stored_item_ids` says
    which item holds a URL now."""
    return short_hash(url, ITEM_ID_LENGTH)


# Both ways a URL is held by an item whose id is not the URL's own.
_HELD_ELSEWHERE = (
    "SELECT url, item_id FROM aliases WHERE url IN ({marks}) UNION ALL SELECT url, id FROM items WHERE url IN ({marks})"
)


def stored_item_ids(db: sqlite_utils.Database, urls) -> dict[str, str]:
    """Canonical URL -> the id of the item that holds it under another id than
    :func:`item_id_for` gives: a URL merged into another item (``aliases``: a DOI
    merged into its arXiv paper), or a renamed repository's new URL, which its
    item (its id from the old URL) now has. URLs held under their own id, or by
    no item, are left out."""
    urls = list(dict.fromkeys(urls))
    held: dict[str, str] = {}
    for start in range(0, len(urls), 400):
        chunk = urls[start : start + 400]
        marks = ", ".join("?" * len(chunk))
        for url, item_id in db.execute(_HELD_ELSEWHERE.format(marks=marks), chunk + chunk):
            if item_id != item_id_for(url):
                held[url] = item_id
    return held


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


# The page cache of a CLI connection (SQLite's default is 2 MiB), and the WAL
# size in pages past which a commit checkpoints (default 1,000; 40 MB here).
CACHE_KIB = 32 * 1024
WAL_CHECKPOINT_PAGES = 10_000


def resolve_path(path: str | os.PathLike | None) -> Path:
    """``--db`` if given, else ``$READINGLIST_DB``, else ``./readinglist.db``."""
    return Path(path or os.environ.get(DB_ENV) or DEFAULT_DB)


class UnusableDatabase(Exception):
    """The database cannot be opened: the message names the file and says why."""

    def __init__(self, path: os.PathLike | str, reason: str):
        super().__init__(f"{path}: {reason}")


class AlreadyRunning(Exception):
    """Another process runs the same job on the database: ``pid`` (None if it did not say)."""

    def __init__(self, path, job: str, pid: int | None):
        self.path, self.job, self.pid = path, job, pid
        held_by = f" (pid {pid})" if pid else ""
        super().__init__(f"another {job} of {path} is running{held_by}")


_HELD_LOCKS: set[str] = set()


@contextlib.contextmanager
def one_at_a_time(db: sqlite_utils.Database, job: str = "fetch"):
    """Hold the database's ``job`` lock, or raise :class:`AlreadyRunning`.

    Two fetches at once (cron starting the next run while a long one goes on)
    would request and extract every page twice. The lock is ``flock`` on a file
    beside the database (``readinglist.db-fetch.lock``): the kernel lets it go
    when the process ends, however it ends, so a killed run never leaves it
    held. Taken again inside the same process (the fetch resolves cited
    titles, as ``resolve`` does), it is already held. A database with no
    file, or a system without ``flock``, runs unguarded.
    """
    path = getattr(db, "path", None)
    try:
        import fcntl
    except ImportError:  # Windows
        fcntl = None
    if path is None or fcntl is None or str(path) == ":memory:":
        yield
        return
    lock_path = f"{Path(path).absolute()}-{job}.lock"
    if lock_path in _HELD_LOCKS:
        yield
        return
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:  # a read-only directory: nothing can be written there, by us or another run
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        text = os.read(fd, 32).decode("ascii", "replace").strip()
        os.close(fd)
        raise AlreadyRunning(path, job, int(text) if text.isdigit() else None) from None
    try:
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        _HELD_LOCKS.add(lock_path)
        yield
    finally:
        _HELD_LOCKS.discard(lock_path)
        os.close(fd)  # releases the lock; the empty file stays, as a lock file does


def explain(error: sqlite3.Error, path: str | os.PathLike | None = None) -> str:
    """What an SQLite error on the database at ``path`` means to the user, in a few words
    (the CLI puts the path before it)."""
    code = getattr(error, "sqlite_errorname", "") or ""
    if code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return "database is locked (another process is writing; try again)"
    # open_db reads a database in a read-only directory as a snapshot: writing it fails as read-only.
    directory_read_only = path is not None and not os.access(Path(path).absolute().parent, os.W_OK)
    if code == "SQLITE_READONLY_DIRECTORY" or (code.startswith("SQLITE_READONLY") and directory_read_only):
        return "read-only directory (SQLite must create its -wal and -shm files beside the database)"
    if code.startswith("SQLITE_READONLY"):
        return "read-only database"
    if code == "SQLITE_NOTADB":
        return "not a readinglist database (not an SQLite file)"
    return str(error)


def _is_ours(db: sqlite_utils.Database) -> bool:
    """Whether ``db`` is empty or a readinglist database (its migrations recorded):
    another application's database, given by mistake, must not be migrated."""
    tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}
    if not tables:
        return True
    return migrations.migrations_table in tables and db.execute(
        f"SELECT 1 FROM [{migrations.migrations_table}] WHERE migration_set = ? LIMIT 1", [migrations.name]
    ).fetchone() is not None


def apply_migrations(db: sqlite_utils.Database) -> None:
    """Apply the pending migrations, one at a time under the write lock.

    sqlite-utils decides what is pending once, then runs each migration in a
    transaction of its own: two commands opening an old (or new) database at
    once, as cron's harvest and fetch do after an upgrade, both ran the same
    migration, and the second failed ("duplicate column name"). Here each one
    is looked up again once the lock is held, so the second process finds it
    applied and goes on.
    """
    if not migrations.pending(db):  # the usual case: no lock taken
        return
    while True:
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            pending = [migration.name for migration in migrations.pending(db)]
            if pending:
                migrations.apply(db, stop_before=pending[1:])  # nested: its transaction is a savepoint of ours
            db.conn.execute("COMMIT")
        except BaseException:
            if db.conn.in_transaction:
                db.conn.execute("ROLLBACK")
            raise
        if len(pending) <= 1:
            return


def open_db(path: str | os.PathLike | None = None, *, create: bool = True, migrate: bool = True) -> sqlite_utils.Database:
    """Open the database in WAL mode, with migrations applied; create it if ``create``.

    WAL lets Datasette read while a harvest writes; the busy timeout makes a
    second writer wait instead of failing with "database is locked". Without
    ``create`` a missing file is :class:`UnusableDatabase`: a mistyped path
    must not become an empty reading list.
    """
    path = resolve_path(path)
    if not path.exists():
        if not create:
            raise UnusableDatabase(path, "no such database (run readinglist harvest first)")
        if not path.absolute().parent.is_dir():
            raise UnusableDatabase(path, f"cannot create the database: no such directory {path.parent}")
    db = Database(path)
    db.path = path  # for messages: errors name the file
    db.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    try:
        ours = _is_ours(db)
    except sqlite3.OperationalError as error:
        # A WAL database in a directory we cannot write: no -shm file can be made,
        # so no one is writing it now; it can still be read, as a snapshot.
        if error.sqlite_errorname != "SQLITE_READONLY_DIRECTORY" or Path(f"{path}-wal").exists():
            raise
        db.close()
        db = Database(sqlite3.connect(f"{path.absolute().as_uri().replace('file://', 'file:', 1)}?immutable=1", uri=True))
        db.path = path
        ours = _is_ours(db)
    if not ours:
        db.close()
        raise UnusableDatabase(path, "not a readinglist database (it has other tables)")
    db.conn.execute("PRAGMA foreign_keys = ON")
    if db.journal_mode != "wal":
        try:
            db.enable_wal()
        except sqlite3.OperationalError as error:
            # Locked by a writer in rollback-journal mode, or a read-only file: WAL can wait for the next open.
            if not error.sqlite_errorname.startswith(("SQLITE_BUSY", "SQLITE_READONLY")):
                raise
    # WAL is durable with synchronous=NORMAL except for the last commits on power loss.
    db.conn.execute("PRAGMA synchronous = NORMAL")
    if migrate:
        apply_migrations(db)
    # Statement journals (an UPDATE whose triggers touch many pages, inside a
    # batch's transaction) stay in memory: in a file they were a million small
    # writes per 20 MB harvested. Set after the migrations, whose rebuilds of
    # a big database sort more than memory should hold.
    db.conn.execute("PRAGMA temp_store = MEMORY")
    # A harvest batch touches index pages all over a big file: a larger page
    # cache, and fewer checkpoints rewriting the same hot pages.
    db.conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    db.conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
    return db


def require_writable(db: sqlite_utils.Database) -> None:
    """Raise the ``sqlite3.Error`` a write would meet (a read-only file or directory, a lock), writing nothing.

    For work that cannot be undone before it is recorded, such as a Zotero push.
    """
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        version = db.conn.execute("PRAGMA user_version").fetchone()[0]
        db.conn.execute(f"PRAGMA user_version = {int(version)}")
    finally:
        db.conn.execute("ROLLBACK")


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
      m009 drops it: the plugin now runs ``?_search=`` itself.
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
# Whether the item has the tag already, in any spelling `readinglist tag` takes for it (search.name_key:
# case, ё/е, a leading '#'): the plugin registers readinglist_name_key on Datasette's connections.
_HAS_WEB_TAG = (
    "EXISTS (SELECT 1 FROM items, json_each(COALESCE(items.tags, '[]')) WHERE items.id = NEW.item_id"
    f" AND readinglist_name_key(json_each.value) = readinglist_name_key({_WEB_TAG}))"
)
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
    INSERT INTO events(item_id, time, action, value) SELECT
        NEW.item_id, {_NOW_ISO}, NEW.action,
        CASE NEW.action WHEN 'priority' THEN NEW.value WHEN 'tag' THEN '+' || {_WEB_TAG} END
        WHERE NEW.action != 'tag' OR NOT {_HAS_WEB_TAG};
    UPDATE items SET tags = json_insert(COALESCE(tags, '[]'), '$[#]', {_WEB_TAG})
        WHERE id = NEW.item_id AND NEW.action = 'tag' AND NOT {_HAS_WEB_TAG};
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


# ------------------------------------------------------------------ m009: Datasette at a million items
# Facet counts and per-channel lists kept by triggers on items, so no writer
# has to know about them: every change to kind, status, domain, tags, channels
# or rank_key (CLI, harvest, fetch, merges, the writable canned queries) goes
# through an INSERT, UPDATE or DELETE on items.

# A JSON list column as json_each can read it; anything else counts as empty
# (a malformed value must never make a write to items fail).
_JSON_LIST = "(CASE WHEN json_valid({x}) AND json_type({x}) = 'array' THEN {x} ELSE '[]' END)"


def json_list(column: str) -> str:
    """SQL for ``column`` as a JSON list json_each can read ('[]' for anything else)."""
    return _JSON_LIST.format(x=column)


def _values(column: str) -> str:
    """The distinct values of a JSON list column (e.g. ``NEW.tags``) as text, for IN, EXCEPT and INSERT ... SELECT."""
    return f"SELECT DISTINCT CAST(value AS TEXT) AS v FROM json_each({json_list(column)}) WHERE value IS NOT NULL"


def _combo(row: str) -> str:
    return f"kind = {row}.kind AND status = {row}.status AND domain = COALESCE({row}.domain, '')"


def _facet_add(row: str, facet: str, values: str) -> str:
    """Count ``row`` (its kind, status and domain) once more under each of ``values`` of ``facet``."""
    return (
        f"INSERT INTO item_facet_counts(kind, status, domain, facet, value, n)"
        f" SELECT {row}.kind, {row}.status, COALESCE({row}.domain, ''), '{facet}', v, 1 FROM ({values}) WHERE true"
        f" ON CONFLICT(kind, status, domain, facet, value) DO UPDATE SET n = n + 1;"
    )


def _facet_remove(row: str, facet: str, values: str) -> str:
    # On whole primary keys, one facet at a time: a row-value IN over a union would scan the table.
    return f"UPDATE item_facet_counts SET n = n - 1 WHERE {_combo(row)} AND facet = '{facet}' AND value IN ({values});"


def _facets_all(row: str, add: bool) -> str:
    """Add (or remove) everything an items row counts for: itself (facet '') and each of its tags and channels."""
    step = _facet_add if add else _facet_remove
    statements = [step(row, "", "SELECT '' AS v")]
    statements += [step(row, facet, _values(f"{row}.{facet}")) for facet in ("tags", "channels")]
    if not add:
        statements.append(f"DELETE FROM item_facet_counts WHERE {_combo(row)} AND n <= 0;")
    return " ".join(statements)


def _facets_diff(facet: str) -> str:
    """Only what changed in one JSON list column, for a row that kept its kind, status and domain."""
    gone = f"{_values(f'OLD.{facet}')} EXCEPT {_values(f'NEW.{facet}')}"
    came = f"{_values(f'NEW.{facet}')} EXCEPT {_values(f'OLD.{facet}')}"
    return f"{_facet_remove('OLD', facet, gone)} {_facet_add('NEW', facet, came)}"


# item_channels rows are found by their whole index key (channel, unread,
# rank_key, item_id), taken from the items row they were written from; so the
# table needs no second index.
def _channel_key(row: str) -> str:
    return f"unread = ({row}.status = 'unread') AND rank_key IS {row}.rank_key AND item_id = {row}.id"


def _channels_insert(row: str, values: str) -> str:
    return (
        f"INSERT INTO item_channels(channel, item_id, unread, rank_key)"
        f" SELECT v, {row}.id, {row}.status = 'unread', {row}.rank_key FROM ({values});"
    )


_FACETS_MOVED = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in ("kind", "status", "domain"))
_KEY_CHANGED = "OLD.status IS NOT NEW.status OR OLD.rank_key IS NOT NEW.rank_key"
DATASETTE_SPEED_TRIGGERS = {
    "items_facets_insert": f"""
        CREATE TRIGGER IF NOT EXISTS items_facets_insert AFTER INSERT ON items BEGIN
            {_facets_all("NEW", add=True)}
            {_channels_insert("NEW", _values("NEW.channels"))}
        END""",
    # kind, status or domain changed: the row moves to another combination.
    "items_facets_move": f"""
        CREATE TRIGGER IF NOT EXISTS items_facets_move AFTER UPDATE OF kind, status, domain ON items
        WHEN {_FACETS_MOVED} BEGIN
            {_facets_all("OLD", add=False)}
            {_facets_all("NEW", add=True)}
        END""",
    # Same combination, other tags or channels: only the values that came or went.
    "items_facets_values": f"""
        CREATE TRIGGER IF NOT EXISTS items_facets_values AFTER UPDATE OF tags, channels ON items
        WHEN NOT ({_FACETS_MOVED}) AND (OLD.tags IS NOT NEW.tags OR OLD.channels IS NOT NEW.channels) BEGIN
            {_facets_diff("tags")}
            {_facets_diff("channels")}
            DELETE FROM item_facet_counts WHERE {_combo("OLD")} AND n <= 0;
        END""",
    # Channels changed (and maybe status or rank key too, in the same statement).
    "items_channels_update": f"""
        CREATE TRIGGER IF NOT EXISTS items_channels_update AFTER UPDATE OF channels ON items
        WHEN OLD.channels IS NOT NEW.channels BEGIN
            DELETE FROM item_channels WHERE {_channel_key("OLD")}
                AND channel IN ({_values("OLD.channels")} EXCEPT {_values("NEW.channels")});
            UPDATE item_channels SET unread = (NEW.status = 'unread'), rank_key = NEW.rank_key
                WHERE ({_KEY_CHANGED}) AND {_channel_key("OLD")} AND channel IN ({_values("NEW.channels")});
            {_channels_insert("NEW", f'{_values("NEW.channels")} EXCEPT {_values("OLD.channels")}')}
        END""",
    # Only status or rank key changed. (The two WHEN clauses exclude each
    # other, so the order triggers fire in does not matter.)
    "items_channels_key": f"""
        CREATE TRIGGER IF NOT EXISTS items_channels_key AFTER UPDATE OF status, rank_key ON items
        WHEN OLD.channels IS NEW.channels AND ({_KEY_CHANGED}) BEGIN
            UPDATE item_channels SET unread = (NEW.status = 'unread'), rank_key = NEW.rank_key
                WHERE {_channel_key("OLD")} AND channel IN ({_values("NEW.channels")});
        END""",
    "items_facets_delete": f"""
        CREATE TRIGGER IF NOT EXISTS items_facets_delete AFTER DELETE ON items BEGIN
            {_facets_all("OLD", add=False)}
            DELETE FROM item_channels WHERE {_channel_key("OLD")} AND channel IN ({_values("OLD.channels")});
        END""",
}


def rebuild_datasette_speed(db: sqlite_utils.Database) -> None:
    """Recount ``item_facet_counts`` and refill ``item_channels`` from items (after a bulk load without triggers)."""
    db.execute("DELETE FROM item_facet_counts")
    db.execute(
        "INSERT INTO item_facet_counts(kind, status, domain, facet, value, n)"
        " SELECT kind, status, COALESCE(domain, ''), '', '', COUNT(*) FROM items GROUP BY 1, 2, 3"
    )
    for facet in ("tags", "channels"):
        db.execute(
            f"""INSERT INTO item_facet_counts(kind, status, domain, facet, value, n)
            SELECT kind, status, domain, '{facet}', value, COUNT(*) FROM (
                SELECT DISTINCT items.id, items.kind, items.status, COALESCE(items.domain, '') AS domain,
                       CAST(j.value AS TEXT) AS value
                FROM items, json_each({json_list(f'items.{facet}')}) AS j WHERE j.value IS NOT NULL
            ) GROUP BY 1, 2, 3, 5"""
        )
    db.execute("DELETE FROM item_channels")
    db.execute(
        f"""INSERT INTO item_channels(channel, item_id, unread, rank_key)
        SELECT DISTINCT CAST(j.value AS TEXT), items.id, items.status = 'unread', items.rank_key
        FROM items, json_each({json_list('items.channels')}) AS j WHERE j.value IS NOT NULL"""
    )


@migrations()
def m009_datasette_speed(db: sqlite_utils.Database) -> None:
    """The items pages of Datasette at a million items (readinglist/datasette_plugin.py, metadata.yml).

    * ``item_facet_counts``: how many items have each (kind, status, domain)
      combination (facet ''), and each tag and channel within it; the plugin's
      facets sum these few rows instead of grouping a million items.
    * ``item_channels``: one row per (channel, item) with the item's status and
      rank key, so ``by_channel`` reads a channel's best items off an index.
    * Indexes on (domain, status), (kind, status) and (kind, domain, status),
      then rank_key: a view filtered on two or three facets is sorted and
      counted off one index.
    * ``items_search`` (m007) goes: the plugin runs ``?_search=`` itself.

    Triggers on items keep both tables exact (see DATASETTE_SPEED_TRIGGERS).
    """
    db.execute(
        """CREATE TABLE IF NOT EXISTS item_facet_counts (
            kind TEXT NOT NULL, status TEXT NOT NULL, domain TEXT NOT NULL,
            facet TEXT NOT NULL, value TEXT NOT NULL, n INTEGER NOT NULL,
            PRIMARY KEY (kind, status, domain, facet, value)
        ) WITHOUT ROWID"""
    )
    db.execute(
        "CREATE TABLE IF NOT EXISTS item_channels (channel TEXT NOT NULL, item_id TEXT NOT NULL, unread INTEGER NOT NULL,"
        " rank_key REAL)"
    )
    rebuild_datasette_speed(db)
    db.execute(
        "CREATE INDEX IF NOT EXISTS item_channels_order ON item_channels(channel, unread DESC, rank_key DESC, item_id)"
    )
    for sql in DATASETTE_SPEED_TRIGGERS.values():
        db.execute(sql)
    db.execute("CREATE INDEX IF NOT EXISTS items_domain_status_rank ON items(domain, status, rank_key DESC, id)")
    db.execute("CREATE INDEX IF NOT EXISTS items_kind_status_rank ON items(kind, status, rank_key DESC, id)")
    db.execute(
        "CREATE INDEX IF NOT EXISTS items_kind_domain_status_rank ON items(kind, domain, status, rank_key DESC, id)"
    )
    db.execute("DROP VIEW IF EXISTS items_search")


# ------------------------------------------------------------------ m010: Datasette views of one channel or tag
# A view of one channel's (or tag's) items: its rows come off item_channels or
# item_tags, its facets and row count off item_facet_counts and
# item_facet_pairs, so neither groups the channel's 170,000 items. Kept by
# triggers on items, in the style of m009.

_PAIR_FACETS = (("tags", "tags"), ("tags", "channels"), ("channels", "tags"), ("channels", "channels"))
# Pairs are counted per (kind, domain), not per status: an item in k channels has
# k^2 pairs, and marking a popular item read (the queue's top items are the ones
# in the most channels) must not rewrite them all. A status filter on a channel's
# view counts its tags and channels facets over the rows instead.
_PAIRS_MOVED = "OLD.kind IS NOT NEW.kind OR OLD.domain IS NOT NEW.domain"


def _pair_combo(row: str) -> str:
    return f"kind = {row}.kind AND domain = COALESCE({row}.domain, '')"


def _pairs_add(row: str, facet: str, other: str, values: str, other_values: str) -> str:
    """Count ``row`` once more for every (value, other value) of ``values`` x ``other_values`` (not a value with itself)."""
    not_itself = "a.v != b.v" if facet == other else "true"
    return (
        f"INSERT INTO item_facet_pairs(facet, value, other_facet, other_value, kind, domain, n)"
        f" SELECT '{facet}', a.v, '{other}', b.v, {row}.kind, COALESCE({row}.domain, ''), 1"
        f" FROM ({values}) AS a, ({other_values}) AS b WHERE {not_itself}"
        f" ON CONFLICT(facet, value, other_facet, other_value, kind, domain) DO UPDATE SET n = n + 1;"
    )


def _pairs_remove(row: str, facet: str, other: str, values: str, other_values: str) -> str:
    """Count ``row`` once less for every pair of ``values`` x ``other_values``; drop the pairs no item has now."""
    # Two INs on the primary key: a seek per pair, as _facet_remove does per value;
    # only over the pairs just counted down (an item with 200 channels has 40,000).
    pairs = (
        f"facet = '{facet}' AND value IN ({values}) AND other_facet = '{other}' AND other_value IN ({other_values})"
        f" AND {_pair_combo(row)}"
    )
    return f"UPDATE item_facet_pairs SET n = n - 1 WHERE {pairs}; DELETE FROM item_facet_pairs WHERE {pairs} AND n <= 0;"


def _pairs_all(row: str, add: bool) -> str:
    step = _pairs_add if add else _pairs_remove
    return " ".join(
        step(row, facet, other, _values(f"{row}.{facet}"), _values(f"{row}.{other}")) for facet, other in _PAIR_FACETS
    )


def _pairs_diff() -> str:
    """Only the pairs that came or went, for a row that kept its kind and domain.

    OLD x OLD minus NEW x NEW is (OLD - NEW) x OLD plus (OLD and NEW) x (OLD - NEW), and the
    other way round for what came: each a product of two sets, so two INs again.
    """
    statements = []
    for facet, other in _PAIR_FACETS:
        old, new = _values(f"OLD.{facet}"), _values(f"NEW.{facet}")
        old_other, new_other = _values(f"OLD.{other}"), _values(f"NEW.{other}")
        statements += [
            _pairs_remove("OLD", facet, other, f"{old} EXCEPT {new}", old_other),
            _pairs_remove("OLD", facet, other, f"{old} INTERSECT {new}", f"{old_other} EXCEPT {new_other}"),
            _pairs_add("NEW", facet, other, f"{new} EXCEPT {old}", new_other),
            _pairs_add("NEW", facet, other, f"{new} INTERSECT {old}", f"{new_other} EXCEPT {old_other}"),
        ]
    return " ".join(statements)


DATASETTE_TAGS_TRIGGERS = {
    "items_tags_insert": f"""
        CREATE TRIGGER IF NOT EXISTS items_tags_insert AFTER INSERT ON items BEGIN
            INSERT INTO item_tags(tag, item_id) SELECT v, NEW.id FROM ({_values("NEW.tags")});
            {_pairs_all("NEW", add=True)}
        END""",
    "items_tags_update": f"""
        CREATE TRIGGER IF NOT EXISTS items_tags_update AFTER UPDATE OF tags ON items
        WHEN OLD.tags IS NOT NEW.tags BEGIN
            DELETE FROM item_tags WHERE item_id = OLD.id
                AND tag IN ({_values("OLD.tags")} EXCEPT {_values("NEW.tags")});
            INSERT INTO item_tags(tag, item_id)
                SELECT v, NEW.id FROM ({_values("NEW.tags")} EXCEPT {_values("OLD.tags")});
        END""",
    # kind or domain changed: all the row's pairs move to another combination.
    "items_pairs_move": f"""
        CREATE TRIGGER IF NOT EXISTS items_pairs_move AFTER UPDATE OF kind, domain ON items
        WHEN {_PAIRS_MOVED} BEGIN
            {_pairs_all("OLD", add=False)}
            {_pairs_all("NEW", add=True)}
        END""",
    "items_pairs_values": f"""
        CREATE TRIGGER IF NOT EXISTS items_pairs_values AFTER UPDATE OF tags, channels ON items
        WHEN NOT ({_PAIRS_MOVED}) AND (OLD.tags IS NOT NEW.tags OR OLD.channels IS NOT NEW.channels) BEGIN
            {_pairs_diff()}
        END""",
    "items_tags_delete": f"""
        CREATE TRIGGER IF NOT EXISTS items_tags_delete AFTER DELETE ON items BEGIN
            DELETE FROM item_tags WHERE item_id = OLD.id AND tag IN ({_values("OLD.tags")});
            {_pairs_all("OLD", add=False)}
        END""",
}


def rebuild_datasette_tags(db: sqlite_utils.Database) -> None:
    """Refill ``item_tags`` and recount ``item_facet_pairs`` from items (after a bulk load without triggers)."""
    db.execute("DELETE FROM item_tags")
    db.execute(
        f"""INSERT INTO item_tags(tag, item_id)
        SELECT DISTINCT CAST(j.value AS TEXT), items.id
        FROM items, json_each({json_list('items.tags')}) AS j WHERE j.value IS NOT NULL"""
    )
    db.execute("DELETE FROM item_facet_pairs")
    values = " UNION ".join(
        f"""SELECT items.rowid AS r, items.kind, COALESCE(items.domain, '') AS domain,
                   '{facet}' AS facet, CAST(j.value AS TEXT) AS value
            FROM items, json_each({json_list(f'items.{facet}')}) AS j WHERE j.value IS NOT NULL"""
        for facet in ("tags", "channels")
    )
    db.execute(
        f"""WITH v AS MATERIALIZED ({values})
        INSERT INTO item_facet_pairs(facet, value, other_facet, other_value, kind, domain, n)
        SELECT a.facet, a.value, b.facet, b.value, a.kind, a.domain, COUNT(*)
        FROM v AS a JOIN v AS b ON b.r = a.r AND (a.facet != b.facet OR a.value != b.value)
        GROUP BY 1, 2, 3, 4, 5, 6"""
    )


@migrations()
def m010_datasette_tags(db: sqlite_utils.Database) -> None:
    """Datasette views of one channel or tag at a million items (``?_channel=``, ``?_tag=``; datasette_plugin.py).

    * ``item_tags``: one row per (tag, item), as ``item_channels`` is per
      channel: a tag's items, and whether an item has a tag, off its key.
    * ``item_facet_pairs``: for each (kind, domain) combination, how many
      items have both of two tag or channel values (facet, value, other_facet,
      other_value; both orders, never a value with itself). The tags and
      channels facets of one channel's or tag's view (not filtered by status)
      are summed from these rows, as the other facets are from
      ``item_facet_counts``. Not per status: see ``_PAIRS_MOVED``.

    Triggers on items keep both exact (see DATASETTE_TAGS_TRIGGERS).
    """
    db.execute(
        "CREATE TABLE IF NOT EXISTS item_tags (tag TEXT NOT NULL, item_id TEXT NOT NULL, PRIMARY KEY (tag, item_id))"
        " WITHOUT ROWID"
    )
    db.execute(
        """CREATE TABLE IF NOT EXISTS item_facet_pairs (
            facet TEXT NOT NULL, value TEXT NOT NULL, other_facet TEXT NOT NULL, other_value TEXT NOT NULL,
            kind TEXT NOT NULL, domain TEXT NOT NULL, n INTEGER NOT NULL,
            PRIMARY KEY (facet, value, other_facet, other_value, kind, domain)
        ) WITHOUT ROWID"""
    )
    rebuild_datasette_tags(db)
    for sql in DATASETTE_TAGS_TRIGGERS.values():
        db.execute(sql)


# ------------------------------------------------------------------ m011: cheaper pair counts for lists that grow
# A harvest adds channels (and hashtags) to items batch after batch, one or two
# values at a time; m010's general diff of the pairs took 16 statements per
# such update and dominated the harvest. When a row only gained values in one
# of its lists, its new pairs are just those with a new value on either side.


def _grew(column: str) -> str:
    """``column`` lost no value in this UPDATE (it may have gained some)."""
    return f"NOT EXISTS ({_values(f'OLD.{column}')} EXCEPT {_values(f'NEW.{column}')})"


def _pairs_grown(facet: str, other: str) -> str:
    """Count ``NEW`` once more for each of its (facet, other) pairs that has a value it did not have before."""
    not_itself = "a.v != b.v AND " if facet == other else ""
    return (
        f"INSERT INTO item_facet_pairs(facet, value, other_facet, other_value, kind, domain, n)"
        f" SELECT '{facet}', a.v, '{other}', b.v, NEW.kind, COALESCE(NEW.domain, ''), 1"
        f" FROM ({_values(f'NEW.{facet}')}) AS a, ({_values(f'NEW.{other}')}) AS b"
        f" WHERE {not_itself}(a.v NOT IN ({_values(f'OLD.{facet}')}) OR b.v NOT IN ({_values(f'OLD.{other}')}))"
        f" ON CONFLICT(facet, value, other_facet, other_value, kind, domain) DO UPDATE SET n = n + 1;"
    )


def _only_grew(grown: str, kept: str) -> str:
    return f"OLD.{kept} IS NEW.{kept} AND OLD.{grown} IS NOT NEW.{grown} AND {_grew(grown)}"


_CHANNELS_ONLY_GREW = _only_grew("channels", "tags")
_TAGS_ONLY_GREW = _only_grew("tags", "channels")
PAIRS_GROWN_TRIGGERS = {
    "items_pairs_channels_grew": f"""
        CREATE TRIGGER IF NOT EXISTS items_pairs_channels_grew AFTER UPDATE OF tags, channels ON items
        WHEN NOT ({_PAIRS_MOVED}) AND {_CHANNELS_ONLY_GREW} BEGIN
            {_pairs_grown("channels", "channels")} {_pairs_grown("channels", "tags")} {_pairs_grown("tags", "channels")}
        END""",
    "items_pairs_tags_grew": f"""
        CREATE TRIGGER IF NOT EXISTS items_pairs_tags_grew AFTER UPDATE OF tags, channels ON items
        WHEN NOT ({_PAIRS_MOVED}) AND {_TAGS_ONLY_GREW} BEGIN
            {_pairs_grown("tags", "tags")} {_pairs_grown("tags", "channels")} {_pairs_grown("channels", "tags")}
        END""",
    # Every other change of tags or channels (values gone, or both lists changed): m010's general diff.
    "items_pairs_values": f"""
        CREATE TRIGGER IF NOT EXISTS items_pairs_values AFTER UPDATE OF tags, channels ON items
        WHEN NOT ({_PAIRS_MOVED}) AND (OLD.tags IS NOT NEW.tags OR OLD.channels IS NOT NEW.channels)
            AND NOT ({_CHANNELS_ONLY_GREW}) AND NOT ({_TAGS_ONLY_GREW}) BEGIN
            {_pairs_diff()}
        END""",
}

# The triggers on items that keep m009's and m010's tables, as they are after every migration.
KEPT_TABLES_TRIGGERS = {**DATASETTE_SPEED_TRIGGERS, **DATASETTE_TAGS_TRIGGERS, **PAIRS_GROWN_TRIGGERS}


@migrations()
def m011_pairs_for_growing_lists(db: sqlite_utils.Database) -> None:
    """Cheaper upkeep of ``item_facet_pairs`` (m010) when an item only gains channels or tags, as in a harvest."""
    db.execute("DROP TRIGGER IF EXISTS items_pairs_values")
    for sql in PAIRS_GROWN_TRIGGERS.values():
        db.execute(sql)


@migrations()
def m012_post_message_keys(db: sqlite_utils.Database) -> None:
    """``posts.message_key``: one message of a Telegram Desktop export is one post, whatever the format.

    An export in both formats holds each message twice (``result.json`` and
    ``messages.html``), stored until now as two posts under two keys, so every
    item it mentions counted it twice. ``harvester.models.message_key`` is what
    both formats give; the harvest looks it up before storing a post. Posts
    already stored twice are folded into the one harvested first: mentions move
    (their ids re-derived, as ``metadata.merge_items`` does), the duplicates go,
    and the items they mention are recounted.
    """
    from harvester.models import message_key

    db["posts"].add_column("message_key", str)
    _set_message_keys(db, "permalink IS NULL", message_key)
    db.execute("CREATE INDEX IF NOT EXISTS posts_message_key ON posts(message_key)")
    duplicates = db.execute(
        """SELECT posts.id, (SELECT first.id FROM posts AS first WHERE first.message_key = posts.message_key
                             ORDER BY first.harvested_at, first.id LIMIT 1)
        FROM posts WHERE message_key IN (SELECT message_key FROM posts WHERE message_key IS NOT NULL
                                         GROUP BY message_key HAVING count(*) > 1)"""
    ).fetchall()
    recount: set[str] = set()
    for drop_id, keep_id in duplicates:
        if drop_id != keep_id:
            recount |= fold_post(db, drop_id, keep_id)
    mentions_written(db, recount)


def _set_message_keys(db: sqlite_utils.Database, which: str, key, chunk: int = 20_000) -> None:
    """Fill ``posts.message_key`` with ``key(channel, message_id, date)`` for the posts ``which`` selects.

    In chunks by id, so a million posts never sit in memory at once."""
    last = ""
    while True:
        rows = db.execute(
            f"SELECT id, channel, message_id, date FROM posts WHERE {which} AND message_id IS NOT NULL AND id > ?"
            " ORDER BY id LIMIT ?",
            [last, chunk],
        ).fetchall()
        if not rows:
            return
        db.conn.executemany(
            "UPDATE posts SET message_key = ? WHERE id = ?",
            [(key(channel, message_id, date), post_id) for post_id, channel, message_id, date in rows],
        )
        last = rows[-1][0]


def fold_post(db: sqlite_utils.Database, drop_id: str, keep_id: str) -> set[str]:
    """Make post ``drop_id`` (the same message stored twice) post ``keep_id``; the items to recount.

    Mentions move, their ids re-derived as ``metadata.merge_items`` does (a
    mention ``keep`` already has is dropped); then ``drop`` goes. The caller
    recounts the items (``mentions_written``), once for all its folds.
    """
    items: set[str] = set()
    for mention_id, item_id, url in db.execute(
        "SELECT id, item_id, url FROM mentions WHERE post_id = ?", [drop_id]
    ).fetchall():
        items.add(item_id)
        new_id = mention_id_for(item_id, keep_id, url)
        if db.execute("SELECT 1 FROM mentions WHERE id = ?", [new_id]).fetchone():
            db.execute("DELETE FROM mentions WHERE id = ?", [mention_id])
        else:
            db.execute("UPDATE mentions SET id = ?, post_id = ? WHERE id = ?", [new_id, keep_id, mention_id])
    db.execute("DELETE FROM reference_scans WHERE post_id = ?", [drop_id])
    db.execute("DELETE FROM posts WHERE id = ?", [drop_id])
    return items


@migrations()
def m013_channel_memory(db: sqlite_utils.Database) -> None:
    """What a live harvest left unread below the posts it read (readinglist/live.py ``ChannelMemory``).

    Until now a channel kept only its newest post, so a run that ended early
    (an error, ``--limit``) left the older posts unread for good: the next run
    stopped at that newest post. Rows from before this migration keep that
    behaviour (their ``bottom`` is unknown).
    """
    channels = db["channels"]
    for name, type_ in (("oldest_message_id", int), ("bottom", str), ("since", str)):
        if name not in channels.columns_dict:
            channels.add_column(name, type_)


@migrations()
def m014_channels_by_username(db: sqlite_utils.Database) -> None:
    """A public channel is one channel whether its posts came from t.me or a Desktop export.

    t.me names a channel by its username, an export by its title, so the same
    message was two posts and the channel two channels (readinglist/channels.py).
    ``channels.username`` keeps the username as t.me writes it, learned with
    the title from t.me pages; t.me posts get their ``message_key`` (username
    and number); and export posts whose chat title is a known channel's become
    that channel's posts, folded into the same message from t.me where both are.
    """
    from harvester.models import channel_message_key

    from .channels import adopt_export_posts

    if "username" not in db["channels"].columns_dict:
        db["channels"].add_column("username", str)
    _set_message_keys(
        db, "permalink IS NOT NULL", lambda channel, message_id, _date: channel_message_key(channel or "", message_id)
    )
    as_written = {
        channel.lower(): channel
        for (channel,) in db.execute("SELECT DISTINCT channel FROM posts WHERE permalink IS NOT NULL AND channel IS NOT NULL")
    }
    for (name,) in db.execute("SELECT name FROM channels WHERE username IS NULL").fetchall():
        if name in as_written:
            db.execute("UPDATE channels SET username = ? WHERE name = ?", [as_written[name], name])
    recount: set[str] = set()
    for title, username in db.execute(
        "SELECT title, username FROM channels WHERE title IS NOT NULL AND username IS NOT NULL"
    ).fetchall():
        recount |= adopt_export_posts(db, title, username)
    mentions_written(db, recount)


@migrations()
def m015_post_edits(db: sqlite_utils.Database) -> None:
    """``posts.edited``: when the stored text was last edited, where the source says (Desktop JSON exports).

    A later export of an edited message then replaces the post's text and
    links instead of adding the new links to the old text (pipeline ``PostWriter``).
    """
    if "edited" not in db["posts"].columns_dict:
        db["posts"].add_column("edited", str)


@migrations()
def m016_notes_searchable(db: sqlite_utils.Database) -> None:
    """A note lives in ``items.note`` only, and ``search`` finds it.

    ``add --note`` also stored the note as the context of its manual mention,
    so a note replaced or removed later still showed in ``show`` and ``next``
    and was still found by ``search``, while a note set with ``note`` was never
    found. Those contexts are cleared (``add`` is their only writer, and the note
    they copied is the item's, or was replaced or removed since), and the search
    index gets the note (search.index_notes): on a million items the index is
    made again, once: 131 s on the bench's 1M-item database (17 s of CPU; the rest is I/O).
    """
    from . import search

    touched = [item_id for (item_id,) in db.execute(
        "SELECT DISTINCT item_id FROM mentions WHERE via = 'manual' AND context != ''"
    ).fetchall()]
    db.execute("UPDATE mentions SET context = '' WHERE via = 'manual' AND context != ''")
    for start in range(0, len(touched), REFRESH_CHUNK):
        search.refresh_contexts(db, touched[start : start + REFRESH_CHUNK], changed=True)
    search.index_notes(db)


@migrations()
def m017_one_item_per_habr_and_x_post(db: sqlite_utils.Database) -> None:
    """A Habr article's AMP link and an X post linked by any name are the article's and the post's item.

    ``harvester.identity`` now gives ``habr.com/ru/amp/publications/<id>/``
    the article's URL (``/ru/articles/<id>/``), and every X post link
    (``/<user>/status/<id>``, ``/i/web/status/<id>``, twitter.com's) the one
    URL ``x.com/i/status/<id>``. An item stored under an old URL takes the new
    one, keeping its id as a renamed repository does (``metadata._rename_repo``),
    or is merged into the item that already has it (``metadata.merge_items``).
    """
    from harvester.identity import identify

    from .metadata import merge_items

    rows = db.execute(
        """SELECT id, url FROM items
        WHERE (url >= 'https://habr.com/' AND url < 'https://habr.com0' AND (url LIKE '%/amp/%' OR url LIKE '%/publications/%'))
           OR (url >= 'https://x.com/' AND url < 'https://x.com0' AND url LIKE '%/status%')
        ORDER BY added_at, id"""
    ).fetchall()
    for item_id, url in rows:
        identity = identify(url)
        if identity is None or identity.url == url:
            continue
        other = db.execute("SELECT id FROM items WHERE url = ?", [identity.url]).fetchone()
        if other is not None:
            merge_items(db, keep_id=other[0], drop_id=item_id)
        else:
            db.execute("UPDATE items SET url = ? WHERE id = ?", [identity.url, item_id])


@migrations()
def m018_web_tags_compared_by_name(db: sqlite_utils.Database) -> None:
    """The browser's "Add a tag" compares tags as ``readinglist tag`` does (``search.name_key``) and records
    an event only when the tag is new: it added ``llm`` beside ``LLM`` and logged a tag already there."""
    db.execute("DROP TRIGGER IF EXISTS item_actions_apply")
    db.execute(ITEM_ACTIONS_TRIGGER)
