"""Fault injection: the fetch stage through servers that fail in every way a real web does.

Four local hosts (127.0.0.1-4) answer from one seeded fault plan: 5xx,
connection resets, stalls past the read timeout, truncated bodies
(Content-Length larger than what is sent, then close), 429 storms with
Retry-After (every request in a window gets one), gone pages (404/410), and
a few "bad" URLs that fail almost every time. 2,000 items (CI) or 10,000
(``READINGLIST_SOAK=long``) are fetched with small timeouts and a no-op
retry sleep. Every item must end ``ok``, ``failed`` (retryable: an error
and a next_retry_at) or ``dead``, exactly as the requests it was served
say; nothing pending, nothing stored twice, no URL requested more than
``Settings.attempts`` times. ``pytest -s`` prints the figures.
"""

from __future__ import annotations

import os
import random
import socket
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest

import fetch_server
from fetch_server import LocalServer, add_items, fake_extract, html_page
from harvester.settings import Settings
from readinglist import fetching
from readinglist.db import open_db

LONG = os.environ.get("READINGLIST_SOAK") == "long"
ITEMS = 10_000 if LONG else 2_000
HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4")
SEED = 20240501
ATTEMPTS = 4
RETRY_AFTER = 3  # seconds a 429 asks for (the injected sleep records it, never waits)
STALL = 5.0  # seconds a stalled answer sits, sending nothing, before it hangs up: past READ_TIMEOUT
# Generous: on a loaded machine (other test runs on 2 cores) a healthy answer can take a second or more.
READ_TIMEOUT = 2.0
STORM_EVERY, STORM_LENGTH = 400, 40  # requests 400-439, 800-839, ... are all 429
# Per-request fault odds for an ordinary URL; "bad" URLs (5%) fail with 85% odds; 3% of URLs are gone.
FAULTS = (("5xx", 0.10), ("reset", 0.07), ("stall", 0.04), ("truncated", 0.07))
BAD_URLS, BAD_ODDS, GONE_URLS = 0.05, 0.85, 0.03
TRANSIENT = {"5xx", "reset", "stall", "truncated", "429"}

SETTINGS = Settings(
    allow_private=True,  # the servers are on loopback
    concurrency=32,
    per_host=8,
    per_host_delay=0.0,
    connect_timeout=30.0,
    read_timeout=READ_TIMEOUT,
    total_timeout=30.0,
    attempts=ATTEMPTS,
    max_retry_after=60.0,
)


class FaultPlan:
    """Decides each answer from (seed, path, how many times the path was asked), plus global 429 storms."""

    def __init__(self, seed: int):
        self.seed = seed
        self.lock = threading.Lock()
        self.requests = 0
        self.served: dict[str, list[str]] = defaultdict(list)  # path -> what each request got
        self.healthy = False  # once set, every page answers 200 (the retry run)

    def kind_of_path(self, path: str) -> str:
        roll = random.Random(f"{self.seed}:{path}").random()
        return "gone" if roll < GONE_URLS else "bad" if roll < GONE_URLS + BAD_URLS else "ordinary"

    def decide(self, path: str) -> str:
        with self.lock:
            number = self.requests
            self.requests += 1
            count = len(self.served[path])
        kind = self.kind_of_path(path)
        if kind == "gone":
            answer = "gone"
        elif self.healthy:
            answer = "200"
        elif number % STORM_EVERY < STORM_LENGTH and number >= STORM_EVERY:
            answer = "429"
        else:
            rng = random.Random(f"{self.seed}:{path}:{count}")
            roll = rng.random()
            if kind == "bad":
                answer = rng.choice([name for name, _ in FAULTS]) if roll < BAD_ODDS else "200"
            else:
                answer = "200"
                for name, odds in FAULTS:
                    if roll < odds:
                        answer = name
                        break
                    roll -= odds
        with self.lock:
            self.served[path].append(answer)
        return answer

    def __call__(self, handler) -> None:
        path = handler.path
        if path == "/robots.txt":
            return send(handler, 404, b"no robots here", "text/plain")
        answer = self.decide(path)
        body = html_page(f"Page {path}", f"Text of the page at {path}. " * 20)
        try:
            if answer == "200":
                send(handler, 200, body, "text/html; charset=utf-8")
            elif answer == "gone":
                send(handler, random.Random(path).choice([404, 410]), b"gone", "text/plain")
            elif answer == "5xx":
                send(handler, random.Random(path).choice([500, 502, 503, 504]), b"server error", "text/plain")
            elif answer == "429":
                send(handler, 429, b"slow down", "text/plain", {"Retry-After": str(RETRY_AFTER)})
            elif answer == "reset":
                fetch_server.reset_connection(handler)
            elif answer == "stall":
                # The client has given up by now. Nothing is sent even so: on a loaded machine
                # its timer may not have fired yet, and a late page would then count as ok.
                time.sleep(STALL)
                handler.close_connection = True
            elif answer == "truncated":
                handler.send_response(200)
                handler.send_header("Content-Type", "text/html; charset=utf-8")
                handler.send_header("Content-Length", str(len(body) + 500))
                handler.end_headers()
                handler.wfile.write(body[: len(body) // 2])
                handler.wfile.flush()
                handler.close_connection = True
                handler.connection.shutdown(socket.SHUT_RDWR)
        except OSError:  # the client hung up (a stall it timed out on)
            handler.close_connection = True


def send(handler, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


class Sleeps:
    """The retry waits asked for, recorded instead of slept."""

    def __init__(self):
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def expected_outcome(served: list[str]) -> str:
    if served and served[-1] == "gone":
        return "dead"
    if served and served[-1] == "200":
        return "ok"
    return "failed"


@pytest.fixture
def servers(monkeypatch):
    # 32 connections open at once: a listen backlog of 5 would add SYN retries (connect timeouts) of its own.
    monkeypatch.setattr(fetch_server._QuietServer, "request_queue_size", 256)
    plan = FaultPlan(SEED)
    running = [LocalServer(host) for host in HOSTS]
    for server in running:
        server.default = plan
        server.__enter__()
    yield plan, running
    for server in running:
        server.__exit__(None, None, None)


def test_every_item_ends_ok_failed_or_dead_through_injected_faults(servers, db_path):
    plan, running = servers
    urls = [running[i % len(running)].url(f"/page/{i}") for i in range(ITEMS)]
    db = open_db(db_path)
    ids = add_items(db, urls)
    path_of = {item_id: "/" + url.split("/", 3)[3] for item_id, url in zip(ids, urls)}
    sleeps = Sleeps()

    started = time.monotonic()
    with ThreadPoolExecutor(2) as executor:  # the faults are on the network side; threads keep it quick
        stats = fetching.run(db, SETTINGS, site_metadata=False, sleep=sleeps, extractor=fake_extract, executor=executor)
    seconds = time.monotonic() - started

    rows = {
        row[0]: row[1:]
        for row in db.execute("SELECT id, fetch_status, attempts, next_retry_at, last_error, fetched_at, http_status FROM items")
    }
    outcomes = Counter(status for status, *_ in rows.values())
    served = Counter(answer for answers in plan.served.values() for answer in answers)
    print(
        f"\nfault injection: {ITEMS} items over {len(HOSTS)} hosts in {seconds:.1f} s;"
        f" {sum(served.values())} requests served: {dict(sorted(served.items()))};"
        f" outcomes: {dict(sorted(outcomes.items()))}; retry waits: {len(sleeps.waits)}"
    )

    # Nothing stuck, nothing lost, nothing twice.
    assert len(rows) == ITEMS
    assert set(outcomes) <= {"ok", "failed", "dead"}, outcomes
    assert (stats.total, stats.ok, stats.failed, stats.dead, stats.skipped) == (
        ITEMS, outcomes["ok"], outcomes["failed"], outcomes["dead"], 0
    )
    assert db.execute("SELECT COUNT(*), COUNT(DISTINCT url) FROM items").fetchone() == (ITEMS, ITEMS)
    assert db.execute("SELECT COUNT(*), COUNT(DISTINCT item_id) FROM texts").fetchone() == (outcomes["ok"], outcomes["ok"])
    assert db.execute("SELECT COUNT(*) FROM texts JOIN items ON items.id = texts.item_id WHERE fetch_status = 'ok'").fetchone() == (
        outcomes["ok"],
    )
    # Every fault kind was really injected, and every outcome happened.
    assert all(served[kind] > 0 for kind in TRANSIENT | {"gone", "200"}), served
    assert outcomes["ok"] > 0 and outcomes["failed"] > 0 and outcomes["dead"] > 0

    for item_id, (status, attempts, next_retry_at, last_error, fetched_at, http_status) in rows.items():
        answers = plan.served[path_of[item_id]]
        # Retries are bounded: no URL was asked more than `attempts` times, and the item counts what it asked.
        assert 1 <= len(answers) <= ATTEMPTS, (item_id, answers)
        assert attempts == len(answers), (item_id, attempts, answers)
        # The outcome is exactly what the server's answers imply.
        assert status == expected_outcome(answers), (item_id, status, answers)
        if status == "ok":
            assert answers.count("200") == 1 and set(answers[:-1]) <= TRANSIENT
            assert (last_error, next_retry_at, http_status) == (None, None, 200)
        elif status == "failed":
            # Retryable: every try hit a transient fault, the error is kept and a retry time set later.
            assert len(answers) == ATTEMPTS and set(answers) <= TRANSIENT, answers
            assert last_error
            assert datetime.fromisoformat(next_retry_at) > datetime.fromisoformat(fetched_at)
            if answers[-1] == "429":
                assert http_status == 429 and "HTTP 429" in last_error
        else:
            assert answers == ["gone"] and http_status in (404, 410) and next_retry_at is None

    # Every retry waited (recorded, not slept), and a 429 wait is what Retry-After said.
    retries = sum(attempts - 1 for _, attempts, *_ in rows.values())
    assert len(sleeps.waits) == retries
    retried_429s = sum(answers[:-1].count("429") for answers in plan.served.values())
    assert sleeps.waits.count(float(RETRY_AFTER)) >= retried_429s > 0
    assert max(sleeps.waits) <= 31

    # "failed" means retryable: once the servers recover, --retry-failed turns every failed item ok.
    failed = {item_id for item_id, row in rows.items() if row[0] == "failed"}
    plan.healthy = True
    with ThreadPoolExecutor(2) as executor:
        again = fetching.run(db, SETTINGS, site_metadata=False, retry_failed=True, sleep=sleeps, extractor=fake_extract,
                             executor=executor)
    assert (again.total, again.ok, again.failed, again.dead) == (len(failed) + outcomes["dead"], len(failed), 0, outcomes["dead"])
    after = dict(db.execute("SELECT id, fetch_status FROM items"))
    assert all(after[item_id] == "ok" for item_id in failed)
    assert Counter(after.values()) == {"ok": outcomes["ok"] + len(failed), "dead": outcomes["dead"]}
    assert db.execute("SELECT COUNT(*), COUNT(DISTINCT item_id) FROM texts").fetchone() == (
        outcomes["ok"] + len(failed), outcomes["ok"] + len(failed)
    )
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
