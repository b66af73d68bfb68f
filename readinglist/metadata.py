"""Site metadata stage: items the site adapters handle get their fields from the site's own API.

``run`` is called by ``readinglist fetch`` before generic fetching. For every
pending item an adapter handles (``harvester.sites.adapter_for``) it asks the
site, then writes what it learned into ``items``:

* ``title`` (``title_source = 'api'``: it overrides titles guessed from
  anchors, previews or pages), ``authors`` (JSON list), ``published``,
  ``summary`` (abstract or its extract, README excerpt, card paragraph, post text),
  ``description``, ``site_name``, ``language``, ``reading_minutes`` (Habr);
* ``meta`` (JSON object): the site's own fields, merged into what is there;
* ``tags``: GitHub topics and Habr hubs join the user's tags. The ones a site
  added are remembered in ``meta.site_tags`` so a later run can replace them
  without ever dropping a tag the user set;
* fetch state: ``fetch_status`` ``ok``/``dead``/``failed`` (or ``skipped`` when
  the private-address guard refuses a page), ``last_error``, ``http_status``,
  ``attempts``, ``fetched_at`` and ``next_retry_at``.

Politeness: arXiv gets at most 100 ids per request and 3 s between requests;
the other APIs get ``Settings.per_host_delay`` between requests. A rate limit
(GitHub's primary or secondary limit, a 429 or 503 anywhere) *defers*: the
item stays pending with ``next_retry_at`` set, the rest of that site's items
in this run are deferred the same way, and the site is not asked again in
this run. Deferred is not failed: attempts are not counted.

Flat memory: the due items are read ``SELECT_CHUNK`` at a time, best-ranked
first (:func:`iter_pending`), and each chunk goes through the adapters in
``ADAPTERS`` order. A site's pace and its deferral hold across chunks.

One work, many URLs: an arXiv item whose published DOI is another item's DOI
(or a DOI item whose Crossref record names an arXiv preprint that is an item)
is merged into one item, see :func:`merge_items`. A GitHub repository that was
renamed keeps its item: the URL and ``repo`` change and the old URL becomes an
alias.

Relations (``relations`` table, see :func:`link_relations`): a repo README or
description (or a Hugging Face card or tags) citing an arXiv id or DOI that is
an item -> ``(repo, paper, 'code-for', 'readme'|'card')``; a post that mentions
exactly one paper and one or two repos -> ``(repo, paper, 'same-post', 'post')``.
Digest posts linking many papers and many repos say nothing about which code
goes with which paper, so they add no relation.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable, Iterator

import httpx
import sqlite_utils

from harvester.errors import redact_secrets
from harvester.sites import ADAPTERS, adapter_for
from harvester.sites.base import DEAD, DEFERRED, FAILED, OK, SiteMetadata, clean_metadata

from .ranking import in_queue_order
from .render import count_of

logger = logging.getLogger(__name__)

SKIPPED = "skipped"
# Waits before retrying a failed item, by attempts so far (the last one repeats: a failed item is never given up).
RETRY_BACKOFF = (timedelta(hours=1), timedelta(hours=6), timedelta(days=1), timedelta(days=3))
# A deferral without a site's own estimate.
DEFAULT_DEFER = timedelta(minutes=15)
# The longest a site's own estimate defers an item: as long as the longest wait after a failure
# (a Retry-After of 1e12 seconds would be past year 9999, and no rate limit lasts that long).
MAX_DEFER = RETRY_BACKOFF[-1]
# Titles a person chose are never replaced by an API's.
KEPT_TITLE_SOURCES = frozenset({"user", "manual"})
API_TITLE_SOURCE = "api"
# What an adapter's answer writes besides the title.
ADAPTER_FIELDS = ("authors", "published", "summary", "description", "site_name", "language", "reading_minutes")
# Due items read from the database at a time: a backlog of any size is held one chunk at a time.
SELECT_CHUNK = 2000
# The adapters whose answers can make two items one work (an arXiv paper's DOI, a DOI's arXiv preprint).
NAMING_ADAPTERS = ("arxiv", "crossref")


@dataclass
class MetadataStats:
    """Counts of one run. ``by_adapter`` maps an adapter to its own counts."""

    ok: int = 0
    failed: int = 0
    dead: int = 0
    deferred: int = 0
    skipped: int = 0
    merged: int = 0
    renamed: int = 0
    relations: int = 0
    by_adapter: dict = field(default_factory=dict)

    def count(self, adapter: str, status: str) -> None:
        setattr(self, status, getattr(self, status) + 1)
        counts = self.by_adapter.setdefault(adapter, {})
        counts[status] = counts.get(status, 0) + 1

    @property
    def total(self) -> int:
        return self.ok + self.failed + self.dead + self.deferred + self.skipped

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "failed": self.failed,
            "dead": self.dead,
            "deferred": self.deferred,
            "skipped": self.skipped,
            "merged": self.merged,
            "renamed": self.renamed,
            "relations": self.relations,
            "by_adapter": self.by_adapter,
        }

    def summary(self) -> str:
        parts = [f"{self.ok} ok", f"{self.dead} dead", f"{self.failed} failed", f"{self.deferred} deferred"]
        if self.skipped:
            parts.append(f"{self.skipped} skipped")
        if self.merged:
            parts.append(f"{self.merged} merged")
        if self.renamed:  # a repository that moved: its item follows it
            parts.append(f"{self.renamed} renamed")
        if self.relations:
            parts.append(count_of(self.relations, "new relation"))
        return "Site metadata: " + ", ".join(parts) + "."


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


# ---------------------------------------------------------------- selecting work

# Columns the adapters and the writer need.
ROW_COLUMNS = "id, url, kind, domain, arxiv_id, doi, repo, hf_id, title, title_source, tags, meta, attempts, fetch_status"
_ROW_NAMES = tuple(name.strip() for name in ROW_COLUMNS.split(","))
HANDLED_DOMAINS = ("youtube.com", "t.me", "habr.com")


def iter_pending(
    db: sqlite_utils.Database,
    now: datetime,
    *,
    adapters: Iterable[str] | None = None,
    kind: str | None = None,
    limit: int | None = None,
    ids: Iterable[str] | None = None,
    force: bool = False,
    retry_failed: bool = False,
    refresh: bool = False,
    chunk: int | None = None,
) -> Iterator[dict[str, list[dict]]]:
    """Items due for site metadata, highest ranked first, read ``chunk`` at a
    time; each chunk's rows grouped by adapter (so one chunk is held however
    long the backlog).

    Due: pending or failed, and not waiting for ``next_retry_at``. As for
    page items, failed is never final however often it happened (the waits
    grow, see ``RETRY_BACKOFF``); dead is. ``retry_failed`` adds every
    failed, dead and skipped item now, ``refresh`` every ok one (``readinglist
    fetch`` flags of those names). ``ids`` names items to do whatever their state (``force`` too,
    for every handled item). ``limit`` counts rows across all adapters.
    """
    wanted = set(adapters or ADAPTERS)
    clauses = [
        "(items.arxiv_id IS NOT NULL OR items.doi IS NOT NULL OR items.repo IS NOT NULL OR items.hf_id IS NOT NULL"
        f" OR items.domain IN ({', '.join('?' for _ in HANDLED_DOMAINS)}))",
        "items.kind != 'unresolved'",
    ]
    params: list = list(HANDLED_DOMAINS)
    id_list = list(dict.fromkeys(ids)) if ids is not None else None
    if id_list is not None:
        clauses.append("items.id IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(id_list))
    elif not force:
        due = (
            "((items.fetch_status IN ('pending', 'failed') OR items.fetch_status IS NULL)"
            " AND (items.next_retry_at IS NULL OR items.next_retry_at <= ?))"
        )
        params.append(_iso(now))
        again = (["'failed'", "'dead'", "'skipped'"] if retry_failed else []) + (["'ok'"] if refresh else [])
        if again:
            due = f"({due} OR items.fetch_status IN ({', '.join(again)}))"
        clauses.append(due)
    if kind:
        clauses.append("items.kind = ?")
        params.append(kind)
    sql = f"SELECT {ROW_COLUMNS}, items.rank_key FROM items WHERE {' AND '.join(clauses)}"
    taken = 0
    for rows in in_queue_order(db, sql, params, chunk=chunk or SELECT_CHUNK):
        grouped: dict[str, list[dict]] = {}
        for values in rows:
            row = dict(zip(_ROW_NAMES, values))  # rank_key, the last value, is left out
            adapter = adapter_for(row)
            if adapter is None or adapter not in wanted:
                continue
            grouped.setdefault(adapter, []).append(row)
            taken += 1
            if limit is not None and taken >= limit:
                break
        if grouped:
            yield grouped
        if limit is not None and taken >= limit:
            return


def pending_items(db: sqlite_utils.Database, now: datetime, **options) -> dict[str, list[dict]]:
    """Every chunk of :func:`iter_pending` in one dict of adapter -> rows (for a small selection)."""
    merged: dict[str, list[dict]] = {}
    for grouped in iter_pending(db, now, **options):
        for adapter, rows in grouped.items():
            merged.setdefault(adapter, []).extend(rows)
    return merged


# ---------------------------------------------------------------- HTTP


@dataclass
class Answer:
    status_code: int
    headers: httpx.Headers
    body: bytes
    url: str


class BodyTooLarge(Exception):
    pass


def _get(client: httpx.Client, url: str, max_bytes: int, headers: dict | None = None, follow: bool = True) -> Answer:
    """GET ``url``, reading at most ``max_bytes`` of body."""
    with client.stream("GET", url, headers=headers, follow_redirects=follow) as response:
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise BodyTooLarge(f"body larger than {max_bytes} bytes")
            chunks.append(chunk)
        return Answer(response.status_code, response.headers, b"".join(chunks), str(response.url))


class Spacer:
    """At least ``interval`` seconds between the starts of consecutive requests (per API)."""

    def __init__(self, interval: float, sleep: Callable[[float], None], clock: Callable[[], float]):
        self.interval = interval
        self.sleep = sleep
        self.clock = clock
        self.last: float | None = None

    def wait(self) -> None:
        if self.last is not None and self.interval > 0:
            remaining = self.interval - (self.clock() - self.last)
            if remaining > 0:
                self.sleep(remaining)
        self.last = self.clock()


def _transport_failure(error: Exception) -> SiteMetadata:
    from harvester import netguard

    if isinstance(error, netguard.RefusedURL):
        return SiteMetadata(status=SKIPPED, error=str(error))
    if isinstance(error, netguard.NameNotFound):
        return SiteMetadata(status=DEAD, error=str(error))
    if isinstance(error, httpx.TimeoutException):
        return SiteMetadata(status=FAILED, error=f"timeout: {type(error).__name__}")
    if isinstance(error, httpx.TooManyRedirects):
        return SiteMetadata(status=FAILED, error="too many redirects")
    # Stored as last_error, which anyone reading the list sees: no header quoted in it.
    return SiteMetadata(status=FAILED, error=f"network error: {redact_secrets(str(error)) or type(error).__name__}")


NETWORK_ERRORS = (httpx.HTTPError, BodyTooLarge, OSError)


def _guard_errors() -> tuple:
    from harvester import netguard

    return (netguard.GuardError,)


# ---------------------------------------------------------------- the run


class _Run:
    def __init__(self, db, settings, client, page_client, sleep, clock, now, stats, progress):
        self.db = db
        self.settings = settings
        self.client = client
        self.page_client = page_client
        self.sleep = sleep
        self.clock = clock
        self.now = now
        self.stats = stats
        self.progress = progress
        self.errors = NETWORK_ERRORS + _guard_errors()
        # Kept across chunks: an API's pace, and the sites that deferred (asked no more in this run).
        self.spacers: dict[str, Spacer] = {}
        self.deferred: dict[str, SiteMetadata] = {}

    def spacer(self, adapter: str, interval: float) -> Spacer:
        spacer = self.spacers.get(adapter)
        if spacer is None:
            spacer = self.spacers[adapter] = Spacer(interval, self.sleep, self.clock)
        return spacer

    def describe(self, adapter: str, rows: list[dict]) -> None:
        """Ask ``adapter``'s site about ``rows``, unless it deferred earlier in this run."""
        if adapter in self.deferred:
            self.defer_rest(adapter, rows, self.deferred[adapter])
        else:
            getattr(self, adapter)(rows)

    def get(self, url: str, headers: dict | None = None, follow: bool = True, page: bool = False) -> Answer | SiteMetadata:
        try:
            return _get(self.page_client if page else self.client, url, self.settings.max_bytes, headers, follow)
        except self.errors as error:
            logger.info("GET %s: %s", url, error)
            return _transport_failure(error)

    def done(self, adapter: str, row: dict, metadata: SiteMetadata) -> None:
        try:
            try:
                with self.db.atomic():
                    write_metadata(self.db, row, metadata, self.now(), adapter=adapter, stats=self.stats)
            except sqlite3.Error:
                raise  # the database itself (a full disk, a lock): no later item would be stored either
            except Exception as exc:
                # A value this one item cannot be stored with is a bug to log, not the end of the run:
                # the item fails with the reason, the others go on.
                logger.warning("%s: could not store the %s answer: %r", row["url"], adapter, exc)
                metadata = SiteMetadata(status=FAILED, error=f"could not store the {adapter} answer: {type(exc).__name__}: {exc}")
                with self.db.atomic():
                    write_metadata(self.db, row, metadata, self.now(), adapter=adapter, stats=self.stats)
        finally:
            self.stats.count(adapter, metadata.status)
            if self.progress is not None:
                self.progress(adapter, row, metadata)

    def defer_rest(self, adapter: str, rows: list[dict], metadata: SiteMetadata) -> None:
        self.deferred[adapter] = metadata
        for row in rows:
            self.done(adapter, row, SiteMetadata(status=DEFERRED, retry_after=metadata.retry_after, error=metadata.error))

    # -- arXiv

    def arxiv(self, rows: list[dict]) -> None:
        from harvester.sites import arxiv

        by_id: dict[str, dict] = {}
        for row in rows:
            by_id.setdefault(arxiv.normalize_id(row["arxiv_id"]), row)
        # Two items with one arXiv id (cannot happen through identity, but rows are data) are done once.
        queue = list(by_id)
        spacer = self.spacer("arxiv", max(arxiv.MIN_INTERVAL, 0.0))
        while queue:
            batch, queue = queue[: arxiv.MAX_IDS_PER_REQUEST], queue[arxiv.MAX_IDS_PER_REQUEST :]
            spacer.wait()
            answer = self.get(arxiv.query_url(self.settings, id_list=batch))
            if isinstance(answer, SiteMetadata):
                for arxiv_id in batch:
                    self.done("arxiv", by_id[arxiv_id], answer)
                continue
            if answer.status_code in (429, 503):
                deferral = _deferral(answer, "arXiv")
                self.defer_rest("arxiv", [by_id[i] for i in batch + queue], deferral)
                return
            try:
                entries = arxiv.parse_feed(answer.body)
            except arxiv.ArxivFeedError as error:
                failure = SiteMetadata(status=FAILED, error=f"HTTP {answer.status_code}: {error}", http_status=answer.status_code)
                for arxiv_id in batch:
                    self.done("arxiv", by_id[arxiv_id], failure)
                continue
            errors = {e.arxiv_id: e.error for e in entries if e.error and e.arxiv_id in batch}
            if answer.status_code != 200:
                if errors:
                    # A malformed id fails the whole request: it is dead, the others are asked again.
                    for arxiv_id, message in errors.items():
                        self.done("arxiv", by_id[arxiv_id], SiteMetadata(status=DEAD, error=f"arXiv: {message}", http_status=answer.status_code))
                    queue = [i for i in batch if i not in errors] + queue
                    continue
                message = next((e.error for e in entries if e.error), None) or f"HTTP {answer.status_code}"
                failure = SiteMetadata(status=FAILED, error=f"arXiv: {message}", http_status=answer.status_code)
                for arxiv_id in batch:
                    self.done("arxiv", by_id[arxiv_id], failure)
                continue
            found = {e.arxiv_id: e for e in entries if not e.error}
            for arxiv_id in batch:
                entry = found.get(arxiv_id)
                if entry is not None:
                    metadata = arxiv.to_metadata(entry)
                    metadata.http_status = answer.status_code
                elif arxiv_id in errors:
                    metadata = SiteMetadata(status=DEAD, error=f"arXiv: {errors[arxiv_id]}", http_status=answer.status_code)
                else:
                    metadata = SiteMetadata(status=DEAD, error="arXiv: no such paper", http_status=answer.status_code)
                self.done("arxiv", by_id[arxiv_id], metadata)

    # -- Crossref / DataCite

    def crossref(self, rows: list[dict]) -> None:
        from harvester.sites import crossref

        spacer = self.spacer("crossref", self.settings.per_host_delay)
        headers = {"Accept": "application/json"}
        for index, row in enumerate(rows):
            spacer.wait()
            answer = self.get(crossref.crossref_url(self.settings, row["doi"]), headers)
            if isinstance(answer, SiteMetadata):
                self.done("crossref", row, answer)
                continue
            outcome = crossref.classify(answer.status_code, answer.headers)
            if outcome is None:
                metadata = crossref.parse_crossref(answer.body)
            elif outcome.status == DEAD:
                # Not a Crossref DOI: DataCite registers datasets, software, Zenodo and arXiv's own DOIs.
                fallback = self.get(crossref.datacite_url(self.settings, row["doi"]), {"Accept": "application/vnd.api+json"})
                if isinstance(fallback, SiteMetadata):
                    metadata = fallback
                else:
                    second = crossref.classify(fallback.status_code, fallback.headers)
                    if second is None:
                        metadata = crossref.parse_datacite(fallback.body)
                    elif second.status == DEAD:
                        metadata = SiteMetadata(status=DEAD, error="DOI not found at Crossref or DataCite", http_status=404)
                    else:
                        metadata = second
            else:
                metadata = outcome
            if metadata.status == DEFERRED:
                self.defer_rest("crossref", rows[index:], metadata)
                return
            self.done("crossref", row, metadata)

    # -- GitHub

    def github(self, rows: list[dict]) -> None:
        from harvester.sites import github

        spacer = self.spacer("github", self.settings.per_host_delay)
        for index, row in enumerate(rows):
            spacer.wait()
            answer = self.get(github.repo_url(self.settings, row["repo"]), github.request_headers(self.settings))
            if isinstance(answer, SiteMetadata):
                self.done("github", row, answer)
                continue
            outcome = github.classify(answer.status_code, answer.headers, answer.body, now=self.now().timestamp())
            if outcome is not None:
                if outcome.status == DEFERRED:
                    self.defer_rest("github", rows[index:], outcome)
                    return
                self.done("github", row, outcome)
                continue
            metadata = github.parse_repo(answer.body, requested=row["repo"])
            metadata.http_status = answer.status_code
            stop = False
            if metadata.status == OK:
                name = metadata.meta.get("repo", row["repo"])
                spacer.wait()
                readme = self.get(github.readme_url(self.settings, name), github.request_headers(self.settings, raw=True))
                if not isinstance(readme, SiteMetadata):
                    if readme.status_code == 200:
                        github.add_readme(metadata, github.parse_readme(readme.body, readme.headers.get("content-type")))
                    else:
                        limited = github.classify(readme.status_code, readme.headers, readme.body, now=self.now().timestamp())
                        # The repo's own answer is good; a rate limit on its README stops GitHub for this run.
                        stop = limited is not None and limited.status == DEFERRED
                        if stop:
                            self.done("github", row, metadata)
                            self.defer_rest("github", rows[index + 1 :], limited)
                            return
            self.done("github", row, metadata)

    # -- Hugging Face

    def huggingface(self, rows: list[dict]) -> None:
        from harvester.sites import huggingface

        spacer = self.spacer("huggingface", self.settings.per_host_delay)
        for index, row in enumerate(rows):
            spacer.wait()
            answer = self.get(huggingface.api_url(self.settings, row["hf_id"]))
            if isinstance(answer, SiteMetadata):
                self.done("huggingface", row, answer)
                continue
            outcome = huggingface.classify(answer.status_code, answer.headers)
            if outcome is not None:
                if outcome.status == DEFERRED:
                    self.defer_rest("huggingface", rows[index:], outcome)
                    return
                self.done("huggingface", row, outcome)
                continue
            metadata = huggingface.parse_api(answer.body, row["hf_id"])
            metadata.http_status = answer.status_code
            if metadata.status == OK:
                spacer.wait()
                card = self.get(huggingface.card_url(self.settings, row["hf_id"]))
                if not isinstance(card, SiteMetadata) and card.status_code == 200:
                    huggingface.add_card(metadata, card.body.decode("utf-8", "replace"))
            self.done("huggingface", row, metadata)

    # -- YouTube, Telegram, Habr: one request each

    def _simple(self, adapter: str, rows: list[dict], url_for, classify, parse, page: bool = False, interval: float | None = None) -> None:
        spacer = self.spacer(adapter, self.settings.per_host_delay if interval is None else interval)
        for index, row in enumerate(rows):
            url = url_for(row)
            if url is None:
                self.done(adapter, row, SiteMetadata(status=FAILED, error="no request URL for this item"))
                continue
            spacer.wait()
            answer = self.get(url, page=page)
            if isinstance(answer, SiteMetadata):
                self.done(adapter, row, answer)
                continue
            outcome = classify(answer.status_code, answer.headers)
            if outcome is not None:
                if outcome.status == DEFERRED:
                    self.defer_rest(adapter, rows[index:], outcome)
                    return
                self.done(adapter, row, outcome)
                continue
            metadata = parse(answer.body, row)
            metadata.http_status = answer.status_code
            self.done(adapter, row, metadata)

    def youtube(self, rows: list[dict]) -> None:
        from harvester.sites import youtube

        self._simple(
            "youtube", rows, lambda row: youtube.oembed_url(self.settings, row["url"]), youtube.classify, lambda body, row: youtube.parse_oembed(body)
        )

    def telegram(self, rows: list[dict]) -> None:
        from harvester.sites import telegram

        self._simple(
            "telegram",
            rows,
            lambda row: telegram.embed_url(self.settings, row["url"]),
            telegram.classify,
            lambda body, row: telegram.parse_embed(body, row["url"]),
        )

    def habr(self, rows: list[dict]) -> None:
        from harvester.sites import habr

        # The item's own URL: an untrusted link, so it goes through the guarded page client.
        self._simple("habr", rows, lambda row: row["url"], habr.classify, lambda body, row: habr.parse_article(body), page=True)


def _deferral(answer: Answer, site: str) -> SiteMetadata:
    from harvester.fetch import parse_retry_after

    wait = parse_retry_after(answer.headers.get("retry-after"))
    return SiteMetadata(status=DEFERRED, retry_after=wait, error=f"{site}: HTTP {answer.status_code}", http_status=answer.status_code)


def run(
    db: sqlite_utils.Database,
    settings,
    client: httpx.Client | None = None,
    limit: int | None = None,
    kind: str | None = None,
    *,
    adapters: Iterable[str] | None = None,
    ids: Iterable[str] | None = None,
    force: bool = False,
    retry_failed: bool = False,
    refresh: bool = False,
    page_client: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], datetime] | None = None,
    progress: Callable[[str, dict, SiteMetadata], None] | None = None,
) -> MetadataStats:
    """Describe due items through their site adapters; merge works, record relations. Returns the counts.

    ``client`` (a blocking ``httpx.Client``) talks to the configured APIs; by
    default one with the settings' User-Agent and timeouts. ``page_client``
    fetches item pages (Habr): by default one behind the private-address
    guard; when only ``client`` is given it serves both (tests).
    ``sleep``/``clock`` pace the requests (tests pass fakes); ``now`` gives
    the time written into the database.
    """
    now = now or (lambda: datetime.now(timezone.utc))
    stats = MetadataStats()
    stats.merged += merge_duplicates(db)
    work = iter_pending(
        db, now(), adapters=adapters, kind=kind, limit=limit, ids=ids, force=force,
        retry_failed=retry_failed, refresh=refresh,
    )
    own_client = client is None
    own_page_client = page_client is None and client is None
    runner = None
    try:
        for grouped in work:
            if runner is None:  # clients only when there is work
                if client is None:
                    client = _api_client(settings)
                if page_client is None:
                    page_client = client if not own_page_client else _page_client(settings)
                runner = _Run(db, settings, client, page_client, sleep, clock, now, stats, progress)
            for adapter in ADAPTERS:
                rows = _still_there(db, grouped.get(adapter) or [])
                if rows:
                    logger.info("%s: %d items", adapter, len(rows))
                    runner.describe(adapter, rows)
                    if adapter in NAMING_ADAPTERS:
                        # A DOI arXiv just named merges before Crossref is asked about it.
                        stats.merged += merge_duplicates(db)
    finally:
        if runner is not None:
            if own_client:
                client.close()
            if own_page_client and page_client is not client:
                page_client.close()
    stats.merged += merge_duplicates(db)
    stats.relations += link_relations(db, _iso(now()))
    return stats


def _still_there(db, rows: list[dict]) -> list[dict]:
    """The rows whose items were not merged away earlier in this run."""
    if not rows:
        return rows
    ids = {row["id"] for row in rows}
    present = {r[0] for r in db.execute("SELECT id FROM items WHERE id IN (SELECT value FROM json_each(?))", [json.dumps(sorted(ids))])}
    return [row for row in rows if row["id"] in present]


def _api_client(settings) -> httpx.Client:
    """The APIs' base URLs are the user's own configuration (mirrors, local servers), so not guarded."""
    return httpx.Client(
        headers={"User-Agent": settings.user_agent},
        timeout=httpx.Timeout(connect=settings.connect_timeout, read=settings.read_timeout, write=settings.read_timeout, pool=None),
        follow_redirects=False,
        max_redirects=settings.max_redirects,
        trust_env=False,
    )


def _page_client(settings) -> httpx.Client:
    from harvester.fetch import make_sync_client

    return make_sync_client(settings)


# ---------------------------------------------------------------- writing


def _json_list(value) -> list:
    try:
        loaded = json.loads(value) if value else []
    except ValueError:
        return []
    return loaded if isinstance(loaded, list) else []


def _json_object(value) -> dict:
    try:
        loaded = json.loads(value) if value else {}
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=isinstance(value, dict))


def merge_site_tags(current: list[str], previous_site_tags: list[str], site_tags: list[str]) -> list[str]:
    """The user's tags kept in order, the site's old tags replaced by its new ones."""
    kept = [t for t in current if t not in previous_site_tags or t in site_tags]
    return kept + [t for t in dict.fromkeys(site_tags) if t not in kept]


def _defer_wait(retry_after: float | None) -> timedelta:
    if not retry_after or math.isnan(retry_after) or retry_after < 0:
        return DEFAULT_DEFER
    return timedelta(seconds=min(retry_after, MAX_DEFER.total_seconds()))


def write_metadata(db, row: dict, metadata: SiteMetadata, now: datetime, *, adapter: str, stats: MetadataStats | None = None) -> str:
    """Write one adapter outcome into ``items`` (and rename/merge when the site says so). Returns the item id."""
    metadata = clean_metadata(metadata)
    when = _iso(now)
    item_id = row["id"]
    attempts = row.get("attempts") or 0
    status = metadata.status
    if status == DEFERRED:
        wait = _defer_wait(metadata.retry_after)
        db.execute(
            "UPDATE items SET next_retry_at = ?, last_error = ? WHERE id = ?",
            [_iso(now + wait), metadata.error, item_id],
        )
        return item_id
    if status in (FAILED, DEAD, SKIPPED):
        retry = None
        if status == FAILED:
            retry = _iso(now + RETRY_BACKOFF[min(attempts, len(RETRY_BACKOFF) - 1)])
        db.execute(
            "UPDATE items SET fetch_status = ?, last_error = ?, http_status = COALESCE(?, http_status),"
            " attempts = ?, fetched_at = ?, next_retry_at = ? WHERE id = ?",
            [status, metadata.error, metadata.http_status, attempts + 1, when, retry, item_id],
        )
        return item_id

    # ok
    if metadata.moved_to and adapter in MOVABLE:
        item_id = _rename_repo(db, row, adapter, metadata.moved_to, when, stats)
        row = dict(row, **_row(db, item_id))
    current = _row(db, item_id)
    meta = _json_object(current.get("meta"))
    previous_site_tags = meta.get("site_tags") or []
    # The keys the site gave last time and no longer gives go (an abstract withdrawn); the
    # others' stay. Remembered in site_keys, as its tags are in site_tags.
    for key in set(meta.get("site_keys") or []) - set(metadata.meta):
        meta.pop(key, None)
    meta.update(metadata.meta)
    meta["site_keys"] = sorted(metadata.meta)
    meta["adapter"] = adapter
    if metadata.tags:
        meta["site_tags"] = list(dict.fromkeys(metadata.tags))
    else:
        meta.pop("site_tags", None)
    cites = {}
    if metadata.cited_arxiv_ids:
        cites["arxiv"] = metadata.cited_arxiv_ids
    if metadata.cited_dois:
        cites["doi"] = metadata.cited_dois
    if cites:
        meta["cites"] = cites
    else:
        meta.pop("cites", None)
    tags = merge_site_tags(_json_list(current.get("tags")), previous_site_tags, metadata.tags)
    updates: dict = {
        "fetch_status": OK,
        "last_error": None,
        "next_retry_at": None,
        "fetched_at": when,
        "attempts": attempts + 1,
        "http_status": metadata.http_status or 200,
        "meta": _dumps(meta),
        "tags": _dumps(tags),
    }
    if metadata.title and current.get("title_source") not in KEPT_TITLE_SOURCES:
        updates["title"] = metadata.title
        updates["title_source"] = API_TITLE_SOURCE
    # What the site says now replaces what it said before, a field it no longer gives included
    # (a refresh must drop a date or description the record dropped). An item holding a
    # published version's record (see merge_items) keeps what that record gave, and its
    # journal's date beats the preprint's.
    holds_published_version = adapter != "crossref" and _published_version(meta)
    for name in ADAPTER_FIELDS:
        value = getattr(metadata, name)
        if name == "authors":
            value = _dumps(value) if value else None
        if name == "published" and holds_published_version and _dated_by_journal(meta):
            continue
        if value not in (None, ""):
            updates[name] = value
        elif not holds_published_version:
            updates[name] = None
    # The DOI of an arXiv paper's published version: the item carries both identifiers.
    if adapter == "arxiv" and metadata.doi and not current.get("doi"):
        updates["doi"] = metadata.doi
    assignments = ", ".join(f"{name} = ?" for name in updates)
    db.execute(f"UPDATE items SET {assignments} WHERE id = ?", [*updates.values(), item_id])
    return item_id


def _published_version(meta: dict) -> bool:
    """Whether ``meta`` holds a DOI registry's record of the work (Crossref's or DataCite's)."""
    return bool(meta.get("registration_agency") and meta.get("type"))


def _dated_by_journal(meta: dict) -> bool:
    """Whether that record names where the work was published: then its date is the work's."""
    return _published_version(meta) and bool(meta.get("container"))


def _row(db, item_id: str) -> dict:
    cursor = db.execute(f"SELECT {ROW_COLUMNS} FROM items WHERE id = ?", [item_id])
    columns = [d[0] for d in cursor.description]
    values = cursor.fetchone()
    return dict(zip(columns, values)) if values else {}


# The adapters whose answer names the repository anew (``moved_to``): renamed on GitHub or the
# Hub, or spelled in another letter case on the Hub, which reads ids in any case. Its URL's
# start and the item's column for it.
MOVABLE = {"github": ("https://github.com/", "repo"), "huggingface": ("https://huggingface.co/", "hf_id")}


def _rename_repo(db, row: dict, adapter: str, new_repo: str, when: str, stats: MetadataStats | None) -> str:
    """A renamed repository: the item follows (new URL and ``repo`` or ``hf_id``, the old URL an alias). Returns the item id."""
    site, column = MOVABLE[adapter]
    new_url = site + new_repo
    if new_url == row["url"]:
        return row["id"]
    other = db.execute("SELECT id FROM items WHERE url = ?", [new_url]).fetchone()
    if other is not None:
        # Both names were linked: one item, under the current name.
        merge_items(db, keep_id=other[0], drop_id=row["id"], when=when)
        if stats is not None:
            stats.merged += 1
        return other[0]
    db.execute(f"UPDATE items SET url = ?, {column} = ? WHERE id = ?", [new_url, new_repo, row["id"]])
    db.execute(
        "INSERT OR REPLACE INTO aliases(url, item_id, added_at) VALUES (?, ?, ?)", [row["url"], row["id"], when]
    )
    if stats is not None:
        stats.renamed += 1
    return row["id"]


# ---------------------------------------------------------------- one work, many URLs

def merge_items(db, keep_id: str, drop_id: str, when: str | None = None) -> None:
    """Fold item ``drop_id`` into ``keep_id``: one work, every mention, both identifiers.

    * mentions move (a mention's id hashes its item, so it is re-derived; a
      post that mentioned both URLs keeps both mentions, distinct by URL);
    * relations, aliases, events, the full text and Zotero keys move (where
      ``keep`` has its own text or key, that one stays);
    * identifiers and empty fields are filled from ``drop``; ``meta`` merges
      (``keep``'s fields win, but the published version's Crossref ``type``
      wins, for the exports, and so does its date when it names its journal); user state merges: tags united, notes joined,
      the higher priority, the further status (read beats unread);
    * ``drop``'s URL becomes an alias of ``keep``; ``drop`` is deleted.

    Runs in the caller's transaction if there is one.
    """
    from .db import mention_id_for, mentions_written
    from .state import merged_state

    if keep_id == drop_id:
        return
    when = when or _iso(datetime.now(timezone.utc))
    cursor = db.execute("SELECT * FROM items WHERE id IN (?, ?)", [keep_id, drop_id])
    columns = [d[0] for d in cursor.description]
    rows = {values[0]: dict(zip(columns, values)) for values in cursor}
    if keep_id not in rows or drop_id not in rows:
        return
    keep, drop = rows[keep_id], rows[drop_id]
    with db.atomic():
        # Mentions: re-keyed to the kept item.
        for mention_id, post_id, url in db.execute(
            "SELECT id, post_id, url FROM mentions WHERE item_id = ?", [drop_id]
        ).fetchall():
            new_id = mention_id_for(keep_id, post_id, url)
            exists = db.execute("SELECT 1 FROM mentions WHERE id = ?", [new_id]).fetchone()
            if exists:
                db.execute("DELETE FROM mentions WHERE id = ?", [mention_id])
            else:
                db.execute("UPDATE mentions SET id = ?, item_id = ? WHERE id = ?", [new_id, keep_id, mention_id])
        # Relations, both ends; a relation between the two items disappears.
        db.execute("DELETE FROM relations WHERE (item_id = ? AND related_id = ?) OR (item_id = ? AND related_id = ?)", [keep_id, drop_id, drop_id, keep_id])
        db.execute("UPDATE OR IGNORE relations SET item_id = ? WHERE item_id = ?", [keep_id, drop_id])
        db.execute("UPDATE OR IGNORE relations SET related_id = ? WHERE related_id = ?", [keep_id, drop_id])
        db.execute("DELETE FROM relations WHERE item_id = ? OR related_id = ?", [drop_id, drop_id])
        db.execute("UPDATE aliases SET item_id = ? WHERE item_id = ?", [keep_id, drop_id])
        db.execute(
            "INSERT OR REPLACE INTO aliases(url, item_id, added_at) VALUES (?, ?, ?)", [drop["url"], keep_id, when]
        )
        db.execute("UPDATE events SET item_id = ? WHERE item_id = ?", [keep_id, drop_id])
        if db["texts"].exists():
            db.execute("UPDATE OR IGNORE texts SET item_id = ? WHERE item_id = ?", [keep_id, drop_id])
            db.execute("DELETE FROM texts WHERE item_id = ?", [drop_id])
        if db["zotero_items"].exists():
            db.execute("UPDATE OR IGNORE zotero_items SET item_id = ? WHERE item_id = ?", [keep_id, drop_id])
            db.execute("DELETE FROM zotero_items WHERE item_id = ?", [drop_id])

        updates: dict = {}
        for name in ("arxiv_id", "doi", "repo", "hf_id", "title", "summary", "description", "authors", "published",
                     "site_name", "language", "reading_minutes", "word_count"):
            if name in keep and keep[name] in (None, "", "[]") and drop.get(name) not in (None, "", "[]"):
                updates[name] = drop[name]
                if name == "title":
                    updates["title_source"] = drop.get("title_source")
        keep_meta, drop_meta = _json_object(keep.get("meta")), _json_object(drop.get("meta"))
        if drop_meta:
            merged_meta = {**drop_meta, **keep_meta}
            if _published_version(drop_meta):
                merged_meta["type"] = drop_meta["type"]  # the published version's type
                if _dated_by_journal(drop_meta) and drop.get("published"):
                    # Cited as published in a journal or proceedings: its date, not the preprint's.
                    updates["published"] = drop["published"]
            for own in ("site_tags", "site_keys"):  # what keep's site gave: drop's record is not its to replace
                merged_meta.pop(own, None)
                if keep_meta.get(own):
                    merged_meta[own] = keep_meta[own]
            updates["meta"] = _dumps(merged_meta)
        updates.update(merged_state(keep, drop, drop_site_tags=drop_meta.get("site_tags") or []))
        if keep.get("added_at") and drop.get("added_at") and drop["added_at"] < keep["added_at"]:
            updates["added_at"] = drop["added_at"]
        db.execute("DELETE FROM items WHERE id = ?", [drop_id])
        if updates:
            assignments = ", ".join(f"{name} = ?" for name in updates)
            db.execute(f"UPDATE items SET {assignments} WHERE id = ?", [*updates.values(), keep_id])
        mentions_written(db, [keep_id])
    logger.info("merged %s into %s", drop_id, keep_id)


# Pairs (keep, drop): the arXiv item and the DOI item of one work.
DUPLICATES_SQL = """
SELECT paper.id, other.id FROM items AS paper JOIN items AS other ON other.doi = paper.doi AND other.id != paper.id
WHERE paper.arxiv_id IS NOT NULL AND paper.doi IS NOT NULL AND other.arxiv_id IS NULL
UNION
SELECT paper.id, other.id FROM items AS other JOIN items AS paper ON paper.arxiv_id = json_extract(other.meta, '$.arxiv_id')
WHERE other.arxiv_id IS NULL AND other.doi IS NOT NULL AND other.meta LIKE '%"arxiv_id"%' AND paper.id != other.id
"""


def merge_duplicates(db) -> int:
    """Merge every DOI item into the arXiv item of the same work. Returns how many were merged."""
    merged = 0
    seen: set[str] = set()
    for keep_id, drop_id in db.execute(DUPLICATES_SQL).fetchall():
        if keep_id in seen and drop_id in seen or drop_id in seen:
            continue
        still = db.execute("SELECT COUNT(*) FROM items WHERE id IN (?, ?)", [keep_id, drop_id]).fetchone()[0]
        if still != 2:
            continue
        doi = db.execute("SELECT doi FROM items WHERE id = ?", [drop_id]).fetchone()[0]
        merge_items(db, keep_id, drop_id)
        if doi:
            db.execute("UPDATE items SET doi = ? WHERE id = ? AND doi IS NULL", [doi, keep_id])
        seen.add(drop_id)
        merged += 1
    return merged


# ---------------------------------------------------------------- relations

CODE_KINDS = ("repo", "model", "dataset")
MAX_PAPERS_PER_POST = 1
MAX_REPOS_PER_POST = 2

CITES_SQL = """
INSERT OR IGNORE INTO relations(item_id, related_id, relation, source, added_at)
SELECT code.id, paper.id, 'code-for', CASE WHEN code.repo IS NOT NULL THEN 'readme' ELSE 'card' END, :when
FROM items AS code, json_each(code.meta, '$.cites.{key}') AS cited
JOIN items AS paper ON paper.{column} = cited.value
WHERE code.kind IN ('repo', 'model', 'dataset') AND code.meta LIKE '%"cites"%'
  AND json_type(code.meta, '$.cites.{key}') = 'array' AND paper.id != code.id AND paper.kind = 'paper'
"""

# One pass over the paper and repo mentions, grouped by post. A self-join of
# those rows on post_id gets no index from SQLite's planner and is quadratic:
# it had not finished in 6 minutes on a million-item database; this takes 4 s.
SAME_POST_SQL = """
WITH per_post AS (
    SELECT json_group_array(DISTINCT items.id) FILTER (WHERE items.kind = 'paper') AS papers,
           json_group_array(DISTINCT items.id) FILTER (WHERE items.kind = 'repo') AS repos
    FROM mentions JOIN items ON items.id = mentions.item_id
    WHERE items.kind IN ('paper', 'repo')
    GROUP BY mentions.post_id
)
INSERT OR IGNORE INTO relations(item_id, related_id, relation, source, added_at)
SELECT repo.value, paper.value, 'same-post', 'post', :when
FROM per_post, json_each(per_post.repos) AS repo, json_each(per_post.papers) AS paper
WHERE json_array_length(per_post.papers) BETWEEN 1 AND :max_papers
  AND json_array_length(per_post.repos) BETWEEN 1 AND :max_repos
"""


def link_relations(db, when: str) -> int:
    """Record paper <-> code relations from cited ids and shared posts. Returns how many are new."""
    before = db.execute("SELECT COUNT(*) FROM relations").fetchone()[0]
    with db.atomic():
        db.execute(CITES_SQL.format(key="arxiv", column="arxiv_id"), {"when": when})
        db.execute(CITES_SQL.format(key="doi", column="doi"), {"when": when})
        db.execute(SAME_POST_SQL, {"when": when, "max_papers": MAX_PAPERS_PER_POST, "max_repos": MAX_REPOS_PER_POST})
    return db.execute("SELECT COUNT(*) FROM relations").fetchone()[0] - before


RELATION_ORDER = ("code-for", "same-post")


def related_items(db, item_id: str, limit: int | None = None) -> list[dict]:
    """Items related to ``item_id``, either direction: ``id``, ``kind``, ``title``, ``url``,
    ``role`` (``code`` when the other item is code for this one, ``paper`` when this one
    is code for it) and ``relations`` (e.g. ``["code-for", "same-post"]``); code-for
    first, then the most recently related. ``limit``: the first that many (a paper every
    digest links can have thousands of same-post repos; :func:`count_related` counts them):
    they are chosen off the relations alone, and only they are looked up in ``items``."""
    rank = "CASE relation " + " ".join(f"WHEN '{name}' THEN {n}" for n, name in enumerate(RELATION_ORDER))
    rank += f" ELSE {len(RELATION_ORDER)} END"
    rows = db.execute(
        f"""WITH related(other_id, relation, role, added_at) AS (
            SELECT related_id, relation, 'paper', added_at FROM relations WHERE item_id = :item
            UNION ALL
            SELECT item_id, relation, 'code', added_at FROM relations WHERE related_id = :item
        ), chosen AS (
            SELECT other_id, MIN(role) AS role, json_group_array(DISTINCT relation) AS relations,
                   MIN({rank}) AS first_relation, MAX(added_at) AS latest
            FROM related GROUP BY other_id
            ORDER BY first_relation, latest DESC, other_id
            LIMIT :limit
        )
        SELECT items.id, items.kind, items.title, items.url, chosen.role, chosen.relations
        FROM chosen JOIN items ON items.id = chosen.other_id
        ORDER BY chosen.first_relation, chosen.latest DESC, chosen.other_id""",
        {"item": item_id, "limit": -1 if limit is None else limit},
    ).fetchall()
    order = {name: n for n, name in enumerate(RELATION_ORDER)}
    return [
        {"id": id_, "kind": kind, "title": title, "url": url, "role": role,
         "relations": sorted(json.loads(relations), key=lambda name: (order.get(name, len(order)), name))}
        for id_, kind, title, url, role, relations in rows
    ]


def count_related(db, item_id: str) -> int:
    """How many items :func:`related_items` gives for ``item_id``, all of them."""
    return db.execute(
        "SELECT COUNT(*) FROM (SELECT related_id AS other_id FROM relations WHERE item_id = ?"
        " UNION SELECT item_id FROM relations WHERE related_id = ?)"
        " WHERE EXISTS (SELECT 1 FROM items WHERE items.id = other_id)",
        [item_id, item_id],
    ).fetchone()[0]
