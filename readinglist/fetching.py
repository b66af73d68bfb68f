"""The fetch stage: fetch the items that need it, extract them in a process pool, store each as it completes.

Which items: ``pending`` ones; ``failed`` ones whose ``next_retry_at`` has
passed; with ``retry_failed`` every failed, dead and skipped one; with
``refresh`` every ok one too (a conditional GET: 304 keeps what is stored).
Channels and unresolved references are never fetched.

Crash safety: results are written as they come in and committed in groups
(every ``COMMIT_EVERY`` results or ``COMMIT_INTERVAL`` seconds, whichever
comes first, and at the end; Ctrl-C commits what is in). ``kill -9`` loses at
most the fetches in flight and the results of the last fraction of a second;
the next run picks those up again because they are still pending. An item's
``attempts`` goes up when it is taken, committed before its request goes out
(in batches of ``CLAIM_BATCH``), so attempts cut short are counted too. A
result is written with one UPDATE plus one upsert into ``texts`` keyed by
item, inside its own savepoint, so nothing can be stored twice or by half.
Group commits matter for speed: one commit per page rewrote the same B-tree
pages and flushed a small full-text index segment every time.

The items are read from the database ``CANDIDATE_CHUNK`` at a time, best-ranked
first (see :func:`iter_candidates`), so a backlog of any size is fetched in
flat memory.

Extraction is CPU-bound: the network side (an asyncio loop) hands bodies to a
``ProcessPoolExecutor`` through a bounded queue, so all cores extract while
the network keeps flowing, and at most a fixed number of bodies are in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
import logging
import math
import os
import sqlite3
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable, Iterator
from urllib.parse import urlsplit

import sqlite_utils

from harvester.fetch import FetchResult, Fetcher
from harvester.settings import Settings
from harvester.sites import adapter_for

from .ranking import in_queue_order
from .render import count_of

logger = logging.getLogger(__name__)


NEVER_FETCHED_KINDS = ("channel", "unresolved")
# Title sources a fetched page's <title> replaces (an anchor text or preview card is a guess).
WEAKER_TITLE_SOURCES = ("anchor", "preview", "page")
# What a page fetch writes besides the title, in the order of _write_ok's parameters.
PAGE_FIELDS = ("authors", "published", "site_name", "language", "word_count", "reading_minutes", "description", "summary")
# A failed item waits RETRY_BASE, then twice as long after each failed run, up to RETRY_MAX;
# a server's Retry-After counts up to RETRY_MAX too (1e12 seconds would be past year 9999).
RETRY_BASE = timedelta(hours=1)
RETRY_MAX = timedelta(days=7)
# Media types handed to extraction; anything else is recorded with its type and no text.
EXTRACTED_TYPES = frozenset(
    {"text/html", "application/xhtml+xml", "application/pdf", "application/x-pdf", "application/xml", "text/xml"}
)
SNIFFED_TYPES = frozenset({None, "application/octet-stream", "binary/octet-stream"})
# Group commits: results wait at most this many, or this long, before they are committed.
COMMIT_EVERY = 64
COMMIT_INTERVAL = 0.25
# Items taken (attempts + 1, committed) at a time, ahead of their requests.
CLAIM_BATCH = 16
# Candidates read from the database at a time: a backlog of any size is held one chunk at a time.
CANDIDATE_CHUNK = 2_000


@dataclass
class FetchStats:
    total: int = 0
    ok: int = 0
    unchanged: int = 0  # 304 on --refresh: counted in ok too
    failed: int = 0
    dead: int = 0
    skipped: int = 0
    metadata: object = None  # the site metadata stage's stats, when it ran
    references: object = None  # the cited-titles stage's stats (readinglist.references.ResolveStats)
    kind: str | None = None  # the one kind asked for
    waiting: Waiting | None = None  # when nothing was due: what waits for its time

    @property
    def done(self) -> int:
        return self.ok + self.failed + self.dead + self.skipped

    def summary(self) -> str:
        if not self.total:
            if _handled(self.metadata):  # the site stage did this run's work (or used up --limit)
                return "No other pages to fetch."
            if self.kind in NEVER_FETCHED_KINDS:
                return f"Nothing to fetch: {self.kind} items are never fetched."
            if self.waiting is not None:
                return self.waiting.summary()
            return "Nothing to fetch (every item is fetched; --retry-failed or --refresh fetch again)."
        ok = f"{self.ok} ok" + (f" ({self.unchanged} unchanged)" if self.unchanged else "")
        return f"Fetched {count_of(self.total, 'item')}: {ok}, {self.failed} failed, {self.dead} dead, {self.skipped} skipped."


@dataclass(frozen=True)
class Waiting:
    """Items left out of a run only because their time has not come: a failed
    item's retry time, or a site's rate limit on a pending one."""

    items: int
    failed: int  # of those, failed ones: --retry-failed takes them now
    first: str  # the soonest next_retry_at (ISO)

    def summary(self) -> str:
        first = self.first
        with contextlib.suppress(ValueError):
            first = datetime.fromisoformat(first).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        if self.items == 1:
            line = f"Nothing due: 1 item waits for its retry time, at {first}"
        else:
            line = f"Nothing due: {self.items} items wait for their retry time, the first at {first}"
        if self.failed:
            line += "; --retry-failed retries " + ("it" if self.items == 1 else "the failed ones") + " now"
        return line + "."


@dataclass(frozen=True)
class Candidate:
    id: str
    url: str
    kind: str
    fetch_status: str | None
    attempts: int
    etag: str | None = None
    last_modified: str | None = None
    # Looks up the http:// form for the fetcher's fallback (see :func:`http_fallback`); never compared.
    fallback_lookup: Callable[["Candidate"], str | None] | None = field(default=None, compare=False, repr=False)

    def fallback_url(self) -> str | None:
        """The ``http://`` form of an item posted without https, for the fetcher's
        fallback. A method, so the fetcher asks only when https cannot connect."""
        return self.fallback_lookup(self) if self.fallback_lookup is not None else None


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="seconds")


def _selection(
    *,
    kind: str | None = None,
    retry_failed: bool = False,
    refresh: bool = False,
    now: datetime | None = None,
    skip_site_items: bool = False,
) -> tuple[str, list, Callable[[tuple], bool] | None]:
    """The selection's SELECT (without ORDER BY), its parameters, and which of its rows to keep (None: all).

    ``skip_site_items`` leaves out the items a site adapter describes: when the
    site stage ran, they are its own (a generic page fetch of an arXiv abstract
    page would replace the API's abstract with a scraped summary).
    """
    now = now or _now()
    # A pending item with a next_retry_at was deferred by a site adapter (a rate limit): not before then.
    due = "(next_retry_at IS NULL OR next_retry_at <= ?)"
    wanted = [f"(COALESCE(fetch_status, 'pending') = 'pending' AND {due})", f"(fetch_status = 'failed' AND {due})"]
    params: list = [_iso(now), _iso(now)]
    if retry_failed:
        wanted.append("fetch_status IN ('failed', 'dead', 'skipped')")
    if refresh:
        wanted.append("fetch_status = 'ok'")
    sql = (
        "SELECT id, url, kind, fetch_status, COALESCE(attempts, 0), etag, last_modified,"
        " arxiv_id, doi, repo, hf_id, rank_key FROM items"
        f" WHERE kind NOT IN ({', '.join('?' for _ in NEVER_FETCHED_KINDS)}) AND ({' OR '.join(wanted)})"
    )
    params = list(NEVER_FETCHED_KINDS) + params
    if kind:
        sql += " AND kind = ?"
        params.append(kind)
    return sql, params, (_not_a_site_item if skip_site_items else None)


def _not_a_site_item(row) -> bool:
    _, url, _, _, _, _, _, arxiv_id, doi, repo, hf_id, _ = row
    return adapter_for({"url": url, "arxiv_id": arxiv_id, "doi": doi, "repo": repo, "hf_id": hf_id}) is None


def iter_candidates(
    db: sqlite_utils.Database, *, limit: int | None = None, chunk: int | None = None, **selection
) -> Iterator[Candidate]:
    """The items to fetch, best-ranked first, read ``chunk`` rows at a time and
    interleaved by host within each chunk, so neighbours hit different servers.
    ``selection``: ``kind``, ``retry_failed``, ``refresh``, ``now`` and
    ``skip_site_items`` (see :func:`_selection`).

    Only one chunk is held in memory however long the backlog. Each chunk
    continues below the last one in (rank_key DESC, id) order, so the items
    may be fetched and written while this is being read: fetching an item
    only ever raises its rank key (it stops being "not fetched"), so nothing
    comes back twice.
    """
    sql, params, keeps = _selection(**selection)
    refresh = selection.get("refresh", False)
    lookup = functools.partial(http_fallback, db)
    kept = 0
    for rows in in_queue_order(db, sql, params, chunk=chunk or CANDIDATE_CHUNK):
        batch = []
        for row in rows if keeps is None else filter(keeps, rows):
            id_, url, kind_, status, attempts, etag, last_modified = row[:7]
            # Validators only for a page we hold: anything else must come back whole.
            conditional = refresh and status == "ok"
            batch.append(Candidate(id_, url, kind_, status, attempts, etag if conditional else None,
                                   last_modified if conditional else None, lookup))
        for candidate in interleave_by_host(batch[: None if limit is None else limit - kept]):
            kept += 1
            yield candidate
        if limit is not None and kept >= limit:
            return


def posted_without_https(db: sqlite_utils.Database, item_id: str) -> bool:
    """Whether some post wrote the item as ``http://`` or with no scheme at all:
    then its canonical ``https://`` URL is our upgrade, and the fetcher may
    fall back to plain http. A link posted as https never is.

    Asked per item, and only when https cannot connect: a popular item has
    thousands of mentions, so a whole chunk's worth costs seconds."""
    return bool(db.execute(
        "SELECT EXISTS (SELECT 1 FROM mentions WHERE item_id = ?"
        " AND (url LIKE 'http://%' OR via = 'bare' OR instr(url, '://') = 0))",
        [item_id],
    ).fetchone()[0])


def http_fallback(db: sqlite_utils.Database, candidate: Candidate) -> str | None:
    """The ``http://`` form of ``candidate``'s URL if it was posted without https, else None."""
    if candidate.url.startswith("https://") and posted_without_https(db, candidate.id):
        return "http://" + candidate.url[len("https://"):]
    return None


def count_candidates(db: sqlite_utils.Database, *, limit: int | None = None, **selection) -> int:
    """How many items :func:`iter_candidates` gives, counted without holding them (and no further than ``limit``)."""
    sql, params, keeps = _selection(**selection)
    if keeps is None:
        if limit is not None:
            sql, params = f"{sql} LIMIT ?", [*params, limit]
        return db.execute(f"SELECT COUNT(*) FROM ({sql})", params).fetchone()[0]
    return sum(1 for _ in itertools.islice(filter(keeps, db.execute(sql, params)), limit))


def count_waiting(
    db: sqlite_utils.Database, *, kind: str | None = None, retry_failed: bool = False, now: datetime | None = None
) -> Waiting | None:
    """The items that only their ``next_retry_at`` keeps out of a run (site items too), or None.

    Pending ones wait for a site's rate limit, failed ones for their retry
    time (unless ``retry_failed``, which takes every failed one).
    """
    statuses = ("pending",) if retry_failed else ("pending", "failed")
    sql = (
        "SELECT COUNT(*), COALESCE(SUM(fetch_status = 'failed'), 0), MIN(next_retry_at) FROM items"
        f" WHERE kind NOT IN ({', '.join('?' for _ in NEVER_FETCHED_KINDS)})"
        f" AND COALESCE(fetch_status, 'pending') IN ({', '.join('?' for _ in statuses)}) AND next_retry_at > ?"
    )
    params = [*NEVER_FETCHED_KINDS, *statuses, _iso(now or _now())]
    if kind:
        sql += " AND kind = ?"
        params.append(kind)
    items, failed, first = db.execute(sql, params).fetchone()
    return Waiting(items, failed, first) if items else None


def select_candidates(db: sqlite_utils.Database, **options) -> list[Candidate]:
    """:func:`iter_candidates` as a list (for a small selection: the run itself streams)."""
    return list(iter_candidates(db, **options))


def interleave_by_host(candidates: list[Candidate]) -> list[Candidate]:
    """Round-robin over hosts, keeping each host's order: the first of every host, then the second, ..."""
    by_host: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        by_host.setdefault((urlsplit(candidate.url).hostname or ""), []).append(candidate)
    queues = list(by_host.values())
    result: list[Candidate] = []
    depth = 0
    while len(result) < len(candidates):
        for queue in queues:
            if depth < len(queue):
                result.append(queue[depth])
        depth += 1
    return result


# ---------------------------------------------------------------- extraction (runs in worker processes)


def prepare_extraction() -> None:
    """Import the extraction modules in the parent, so forked workers start with them loaded."""
    try:
        import harvester.summarize  # noqa: F401
        from harvester.extract import warm_up
    except ImportError:  # pragma: no cover - reported when the first page is extracted
        return
    warm_up()


def extract_page(
    body: bytes, url: str, content_type: str | None, charset: str | None, llm_model: str | None = None
) -> dict:
    """Extract one fetched body and summarize it: the fields the item gains, plus ``text``.

    A top-level function so the process pool can pickle it. Returns a dict so
    the parent needs no knowledge of the extractor's classes. With
    ``llm_model`` an LLM writes the summary (the extractive one if it fails).
    """
    from harvester.extract import extract
    from harvester.summarize import summarize, summary_of_abstract

    extracted = extract(body, url=url, content_type=content_type, declared_charset=charset)
    fields = {
        "content_kind": extracted.content_kind,
        "media_type": extracted.media_type,
        "title": extracted.title,
        "authors": list(extracted.authors or ()),
        "published": extracted.published,
        "site_name": extracted.site_name,
        "description": extracted.description,
        "language": extracted.language,
        "text": extracted.text,
        "word_count": extracted.word_count,
        "reading_minutes": extracted.reading_minutes,
    }
    fields["summary"] = None
    if llm_model and extracted.text:
        from harvester.summarize import SummarizerError, summarize_with_llm

        try:
            fields["summary"] = summarize_with_llm(extracted.text, llm_model, language=extracted.language)
        except SummarizerError as error:
            logger.warning("%s: llm summary failed, using the extractive one (%s)", url, error)
    if not fields["summary"]:
        # A paper's page that declares its abstract is summarized by it, as the arXiv and DOI adapters do:
        # its text also holds the site's furniture (arXivLabs' notice), which may read as central.
        fields["summary"] = summary_of_abstract(extracted.abstract) or summarize(
            extracted.text or "",
            language=extracted.language,
            fallback=extracted.description,
            headings=(extracted.title, *extracted.headings),
        )
    return fields


def needs_extraction(result: FetchResult) -> bool:
    media_type = result.media_type
    if media_type in SNIFFED_TYPES:
        head = (result.body or b"")[:512].lstrip().lower()
        return head.startswith((b"%pdf", b"<!doctype html", b"<html", b"<?xml"))
    return media_type in EXTRACTED_TYPES or media_type.startswith("text/")


Extractor = Callable[[bytes, str, "str | None", "str | None"], dict]


# ---------------------------------------------------------------- writing results


class Store:
    """Writes results and counts them; commits them in groups (see the module docstring).

    Call :meth:`flush` at the end (and :meth:`flush_if_due` now and then, so a
    slow trickle of results does not keep the write lock).
    """

    def __init__(self, db: sqlite_utils.Database, settings: Settings, stats: FetchStats, on_result=None):
        self.db = db
        self.settings = settings
        self.stats = stats
        self.on_result = on_result
        self.commit_every = COMMIT_EVERY
        self.commit_interval = COMMIT_INTERVAL
        self._uncommitted = 0
        self._opened = 0.0

    def _begin(self) -> None:
        if not self.db.conn.in_transaction:
            # IMMEDIATE: wait for the write lock here (busy timeout), never fail mid-transaction.
            self.db.conn.execute("BEGIN IMMEDIATE")
            self._opened = time.monotonic()

    def flush(self) -> None:
        """Commit the results written so far."""
        if self.db.conn.in_transaction:
            self.db.conn.execute("COMMIT")
        self._uncommitted = 0

    def flush_if_due(self) -> None:
        if self._uncommitted and time.monotonic() - self._opened >= self.commit_interval:
            self.flush()

    def claim(self, candidates: list[Candidate]) -> None:
        """Count an attempt for each of ``candidates``, committed before any of them is requested."""
        self._begin()
        self.db.conn.executemany(
            "UPDATE items SET attempts = COALESCE(attempts, 0) + 1 WHERE id = ?", [(c.id,) for c in candidates]
        )
        self.flush()

    def _count(self, status: str, unchanged: bool = False) -> None:
        setattr(self.stats, status, getattr(self.stats, status) + 1)
        if unchanged:
            self.stats.unchanged += 1
        if self.on_result is not None:
            self.on_result(self.stats)

    def _next_retry(self, attempts: int, retry_after: float | None, now: datetime) -> str:
        failed_runs = max(1, math.ceil(attempts / max(1, self.settings.attempts)))
        delay = min(RETRY_BASE * 2 ** min(failed_runs - 1, 16), RETRY_MAX)
        if retry_after:
            delay = max(delay, timedelta(seconds=min(retry_after, RETRY_MAX.total_seconds())))
        return _iso(now + delay)

    def write(self, candidate: Candidate, result: FetchResult, fields: dict | None = None, error: str | None = None) -> None:
        now = _now()
        attempts = candidate.attempts + max(1, result.attempts)
        status = result.status
        if error is not None:  # extraction failed: retry later like a network failure
            status = "failed"
        self._begin()
        try:
            with self._savepoint():
                self._write_status(candidate, result, status, fields, error, attempts, now)
        except sqlite3.Error:
            raise  # the database itself (a full disk, a lock): no later item would be stored either
        except Exception as exc:
            # A value this one item cannot be stored with is a bug to log, not the end of the run:
            # the item fails with the reason (and the default retry time), the others go on.
            logger.warning("%s: could not store the result: %r", candidate.url, exc)
            status, error = "failed", f"could not store the result: {type(exc).__name__}: {exc}"
            with self._savepoint():
                self._write_status(candidate, FetchResult(url=result.url, status=status), status, None, error, attempts, now)
        self._uncommitted += 1
        if self._uncommitted >= self.commit_every:
            self.flush()
        else:
            self.flush_if_due()
        self._count("ok" if status == "not_modified" else status, unchanged=status == "not_modified")

    def _write_status(self, candidate: Candidate, result: FetchResult, status: str, fields: dict | None,
                      error: str | None, attempts: int, now: datetime) -> None:
        if status in ("ok", "not_modified"):
            self._write_ok(candidate, result, fields or {}, attempts, now)
        elif status == "failed" and candidate.fetch_status == "ok":
            # A refresh that failed for now: the stored page stays good.
            self.db.execute(
                "UPDATE items SET attempts = ?, last_error = ? WHERE id = ?",
                [attempts, error or result.error, candidate.id],
            )
        else:
            self.db.execute(
                "UPDATE items SET fetch_status = ?, http_status = ?, last_error = ?, attempts = ?, fetched_at = ?,"
                " next_retry_at = ?, final_url = COALESCE(?, final_url), content_type = COALESCE(?, content_type)"
                " WHERE id = ?",
                [
                    status,
                    result.http_status,
                    error or result.error,
                    attempts,
                    _iso(now),
                    self._next_retry(attempts, result.retry_after, now) if status == "failed" else None,
                    result.final_url,
                    result.content_type,
                    candidate.id,
                ],
            )

    @contextlib.contextmanager
    def _savepoint(self):
        """One item's statements: all of them or none, inside the open group transaction."""
        self.db.conn.execute("SAVEPOINT item")
        try:
            yield
        except BaseException:
            self.db.conn.execute("ROLLBACK TO item")
            self.db.conn.execute("RELEASE item")
            raise
        self.db.conn.execute("RELEASE item")

    def _write_ok(self, candidate: Candidate, result: FetchResult, fields: dict, attempts: int, now: datetime) -> None:
        if result.status == "not_modified":
            self.db.execute(
                "UPDATE items SET fetch_status = 'ok', attempts = ?, last_error = NULL, fetched_at = ?, next_retry_at = NULL,"
                " etag = COALESCE(?, etag), last_modified = COALESCE(?, last_modified) WHERE id = ?",
                [attempts, _iso(now), result.etag, result.last_modified, candidate.id],
            )
            return
        authors = fields.get("authors")
        title = (fields.get("title") or "").strip() or None
        weaker = ", ".join("?" for _ in WEAKER_TITLE_SOURCES)
        take_title = f"(? IS NOT NULL AND (title_source IS NULL OR title_source IN ({weaker})))"
        text = fields.get("text")
        # A page read again says what the item is now: a field it no longer gives goes (a refresh
        # must not keep a date or description the page dropped). A page with no readable text
        # (a PDF, a cookie wall) leaves what an earlier reading found.
        page_field = "?" if text else "COALESCE(?, {})"
        replaced = ", ".join(f"{name} = {page_field.format(name)}" for name in PAGE_FIELDS)
        self.db.execute(
            f"""UPDATE items SET
                fetch_status = 'ok', http_status = ?, final_url = ?, content_type = ?, attempts = ?, last_error = NULL,
                fetched_at = ?, next_retry_at = NULL, etag = ?, last_modified = ?,
                title = CASE WHEN {take_title} THEN ? ELSE title END,
                title_source = CASE WHEN {take_title} THEN 'page' ELSE title_source END,
                {replaced}
            WHERE id = ?""",
            [
                result.http_status,
                result.final_url,
                result.content_type,
                attempts,
                _iso(now),
                result.etag,
                result.last_modified,
                title, *WEAKER_TITLE_SOURCES, title,
                title, *WEAKER_TITLE_SOURCES,
                json.dumps(list(authors), ensure_ascii=False) if authors else None,
                fields.get("published") or None,
                fields.get("site_name") or None,
                fields.get("language") or None,
                fields.get("word_count"),
                fields.get("reading_minutes"),
                fields.get("description") or None,
                fields.get("summary") or None,
                candidate.id,
            ],
        )
        if text:
            self.db.execute(
                "INSERT INTO texts(item_id, text, extracted_at) VALUES (?, ?, ?)"
                " ON CONFLICT(item_id) DO UPDATE SET text = excluded.text, extracted_at = excluded.extracted_at",
                [candidate.id, text, _iso(now)],
            )


# ---------------------------------------------------------------- the run


#: How often an extraction worker checks that the fetch that started it is alive.
ORPHAN_CHECK_SECONDS = 0.5


def _init_worker(parent_pid: int) -> None:
    # Ctrl-C reaches the whole process group: the parent handles it, workers just finish or die quietly.
    import signal
    import threading

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_when_orphaned, args=(parent_pid,), name="orphan-check", daemon=True).start()


def _exit_when_orphaned(parent_pid: int) -> None:
    """End this worker once its parent is gone (``kill -9`` of the fetch alone, not its group).

    A forked worker holds both ends of the pool's pipes, so it never reads
    end-of-file and would wait on them for ever.
    """
    while os.getppid() == parent_pid:
        time.sleep(ORPHAN_CHECK_SECONDS)
    os._exit(1)


class _Pool:
    """The extraction executor; rebuilt once if a worker dies (BrokenProcessPool)."""

    def __init__(self, executor: Executor | None, workers: int):
        self.workers = workers
        self.owned = executor is None
        self.executor = executor or self._new()

    def _new(self) -> Executor:
        executor = ProcessPoolExecutor(max_workers=self.workers, initializer=_init_worker, initargs=(os.getpid(),))
        # Start the workers now, before the event loop makes threads: forking a threaded process can deadlock.
        executor.submit(int).result()
        return executor

    def renew(self, broken: Executor) -> None:
        if self.owned and self.executor is broken:
            broken.shutdown(wait=False, cancel_futures=True)
            self.executor = self._new()

    def shutdown(self) -> None:
        if self.owned:
            self.executor.shutdown(wait=True, cancel_futures=True)


async def _fetch_and_store(
    candidates: Iterable[Candidate],
    fetcher: Fetcher,
    store: Store,
    pool: _Pool,
    extractor: Extractor,
) -> None:
    loop = asyncio.get_running_loop()
    # Twice as many consumers as worker processes: while one consumer stores a
    # result, the pool already holds the next page, so no worker waits on SQLite.
    consumers = pool.workers * 2
    queue: asyncio.Queue = asyncio.Queue(maxsize=consumers)

    async def extract_and_store() -> None:
        while True:
            job = await queue.get()
            if job is None:
                return
            candidate, result = job
            fields, error = None, None
            executor = pool.executor
            try:
                fields = await loop.run_in_executor(
                    executor, extractor, result.body, result.final_url or result.url, result.content_type, result.charset
                )
            except BrokenProcessPool:
                error = "extraction failed: a worker process died"
                pool.renew(executor)
            except Exception as exc:  # a bug or a pathological page: keep the run going
                logger.warning("%s: extraction failed: %r", result.url, exc)
                error = f"extraction failed: {type(exc).__name__}: {exc}"
            result.body = None
            store.write(candidate, result, fields, error)

    def claimed():
        pending = iter(candidates)
        while batch := list(itertools.islice(pending, CLAIM_BATCH)):
            store.claim(batch)
            yield from batch

    async def commit_now_and_then() -> None:
        while True:
            await asyncio.sleep(store.commit_interval)
            store.flush_if_due()

    async def fetch_into_queue() -> None:
        async for candidate, result in fetcher.fetch_all(claimed()):
            if result.status == "ok" and result.body and needs_extraction(result):
                await queue.put((candidate, result))
            else:
                result.body = None
                store.write(candidate, result, {"content_kind": "other"} if result.status == "ok" else None)
        for _ in range(consumers):
            await queue.put(None)

    # A TaskGroup: if storing fails (a full disk, a callback raising), everything stops at once.
    committer = asyncio.ensure_future(commit_now_and_then())
    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(consumers):
                group.create_task(extract_and_store())
            group.create_task(fetch_into_queue())
    except BaseExceptionGroup as errors:
        raise errors.exceptions[0] from None
    finally:
        committer.cancel()


def _site_metadata(db, settings: Settings, *, limit, kind, retry_failed, refresh):
    """Run the site adapters' stage (issue 4) first.

    It makes its own clients: the configured APIs are trusted settings (a
    mirror may sit on the user's network), while item pages it reads (Habr)
    go through the private-address guard.
    """
    from . import metadata

    return metadata.run(db, settings, limit=limit, kind=kind, retry_failed=retry_failed, refresh=refresh)


def run(
    db: sqlite_utils.Database,
    settings: Settings | None = None,
    *,
    limit: int | None = None,
    kind: str | None = None,
    retry_failed: bool = False,
    refresh: bool = False,
    site_metadata: bool = True,
    transport=None,
    resolver=None,
    sleep=None,
    extractor: Extractor | None = None,
    executor: Executor | None = None,
    workers: int | None = None,
    on_start: Callable[[int], None] | None = None,
    on_result: Callable[[FetchStats], None] | None = None,
    llm_model: str | None = None,
) -> FetchStats:
    """Fetch what needs fetching (see the module docstring) and store each result as it completes.

    ``transport``/``resolver``/``sleep`` go to :class:`harvester.fetch.Fetcher`;
    ``extractor`` is a picklable ``(body, url, content_type, charset) -> dict``
    (default :func:`extract_page`); ``executor`` replaces the process pool.
    One fetch at a time per database: another one running raises
    :class:`readinglist.db.AlreadyRunning`.
    """
    from .db import one_at_a_time

    with one_at_a_time(db, "fetch"):
        return _run(db, settings or Settings(), limit=limit, kind=kind, retry_failed=retry_failed, refresh=refresh,
                    site_metadata=site_metadata, transport=transport, resolver=resolver, sleep=sleep,
                    extractor=extractor, executor=executor, workers=workers, on_start=on_start,
                    on_result=on_result, llm_model=llm_model)


def _run(db, settings, *, limit, kind, retry_failed, refresh, site_metadata, transport, resolver, sleep, extractor,
         executor, workers, on_start, on_result, llm_model) -> FetchStats:
    stats = FetchStats(kind=kind)
    if site_metadata:
        stats.metadata = _site_metadata(db, settings, limit=limit, kind=kind, retry_failed=retry_failed, refresh=refresh)
        handled = _handled(stats.metadata)
        if limit is not None:
            limit = max(0, limit - handled)
    selection = {"kind": kind, "retry_failed": retry_failed, "refresh": refresh, "now": _now(),
                 "skip_site_items": site_metadata}
    stats.total = count_candidates(db, limit=limit, **selection)
    if not stats.total:  # say why: waiting for a retry time is not "everything is fetched"
        stats.waiting = count_waiting(db, kind=kind, retry_failed=retry_failed, now=selection["now"])
    if on_start is not None:
        on_start(stats.total)
    if stats.total:
        # No more than counted, so the progress total holds while a harvest adds items.
        candidates = iter_candidates(db, limit=stats.total, **selection)
        _fetch_pages(db, settings, stats, candidates, transport=transport, resolver=resolver, sleep=sleep,
                     extractor=extractor, executor=executor, workers=workers, on_result=on_result, llm_model=llm_model)
    if site_metadata and kind is None:
        # Papers cited by title: after the pages, so a run's new posts are scanned too.
        # Not in a run for one kind: the lookups are slow (3 s apart on arXiv) and of another kind.
        from .references import run as resolve_references

        stats.references = resolve_references(db, settings)
    return stats


def _fetch_pages(db, settings, stats, candidates, *, transport, resolver, sleep, extractor, executor, workers,
                 on_result, llm_model) -> None:
    if extractor is None:
        prepare_extraction()
        extractor = functools.partial(extract_page, llm_model=llm_model) if llm_model else extract_page
    pool = _Pool(executor, workers or os.cpu_count() or 1)
    store = Store(db, settings, stats, on_result)

    async def main() -> None:
        options = {"sleep": sleep} if sleep is not None else {}
        async with Fetcher(settings, transport=transport, resolver=resolver, **options) as fetcher:
            await _fetch_and_store(candidates, fetcher, store, pool, extractor)

    try:
        asyncio.run(main())
    finally:
        try:
            store.flush()  # what came in before an interruption or an error is kept
        except sqlite3.Error:
            logger.warning("could not commit the last results", exc_info=True)
            db.conn.rollback()
        pool.shutdown()


def _handled(metadata_stats) -> int:
    if metadata_stats is None:
        return 0
    return sum(getattr(metadata_stats, name, 0) or 0 for name in ("ok", "failed", "dead"))
