"""The fetch stage on a database: what is selected, what each outcome writes, retries, refresh, resume."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest

from fetch_server import LocalServer, Reply, add_items, exploding_extract, fake_extract, html_page, minimal_pdf
from readinglist import fetching
from readinglist.queue import ListFilter, list_items
from harvester.settings import Settings

SETTINGS = Settings(allow_private=True, per_host_delay=0.0, respect_robots=False, attempts=2, read_timeout=2.0)
HTML = {"Content-Type": "text/html; charset=utf-8"}
RUSSIAN_TITLE = "Трансформеры для чайников: внимание — это всё"
RUSSIAN_TEXT = (
    "Механизм внимания позволяет модели смотреть на все слова предложения сразу. "
    "Так трансформер понимает, какие слова связаны между собой и насколько сильно. "
    "Благодаря этому модели обучаются быстрее, чем рекуррентные сети, и лучше переводят тексты. "
    "В этой статье мы разберём устройство трансформера шаг за шагом на простых примерах.\n"
) * 6


async def no_sleep(seconds: float) -> None:
    pass


def run(db, extractor=fake_extract, **options):
    with ThreadPoolExecutor(2) as executor:
        return fetching.run(
            db, options.pop("settings", SETTINGS), site_metadata=False, sleep=no_sleep, extractor=extractor,
            executor=executor, workers=2, **options,
        )


def row(db, item_id):
    return db["items"].get(item_id)


@pytest.fixture
def server():
    with LocalServer() as running:
        yield running


def test_each_outcome_is_written(fresh_db, server):
    urls = {
        "ok": server.add("/article", Reply(200, html_page("A fine article", "Word " * 500), {**HTML, "ETag": '"e1"'})),
        "dead": server.add("/gone", Reply(410, b"")),
        "failed": server.add("/down", Reply(503, b"")),
        "image": server.add("/cat.png", Reply(200, b"\x89PNG\r\n\x1a\n" + bytes(64), {"Content-Type": "image/png"})),
        "moved": server.add("/old", Reply(301, b"", {"Location": "/article"})),
    }
    ids = dict(zip(urls, add_items(fresh_db, urls.values())))
    stats = run(fresh_db)
    assert stats.summary() == "Fetched 5 items: 3 ok, 1 failed, 1 dead, 0 skipped."

    ok = row(fresh_db, ids["ok"])
    assert (ok["fetch_status"], ok["http_status"], ok["final_url"], ok["content_type"]) == ("ok", 200, urls["ok"], HTML["Content-Type"])
    assert (ok["title"], ok["title_source"], ok["etag"], ok["attempts"], ok["last_error"]) == ("A fine article", "page", '"e1"', 1, None)
    assert (json.loads(ok["authors"]), ok["published"], ok["site_name"], ok["language"]) == (["Test Author"], "2024-05-01", "Local", "en")
    assert (ok["word_count"], ok["reading_minutes"], ok["description"]) == (506, 2, "A description.")
    assert ok["summary"].startswith("A fine article A fine article Word")
    assert ok["fetched_at"] and ok["next_retry_at"] is None
    text = fresh_db["texts"].get(ids["ok"])["text"]
    assert text.startswith("A fine article") and text.count("Word") == 500

    dead = row(fresh_db, ids["dead"])
    assert (dead["fetch_status"], dead["http_status"], dead["last_error"], dead["next_retry_at"]) == ("dead", 410, "HTTP 410 Gone", None)

    failed = row(fresh_db, ids["failed"])
    assert (failed["fetch_status"], failed["http_status"], failed["attempts"]) == ("failed", 503, 2)
    assert failed["last_error"] == "HTTP 503 Service Unavailable"
    retry_at = datetime.fromisoformat(failed["next_retry_at"])
    assert timedelta(minutes=59) < retry_at - datetime.now(timezone.utc) <= timedelta(hours=1)

    image = row(fresh_db, ids["image"])
    assert (image["fetch_status"], image["content_type"], image["title"], image["word_count"]) == ("ok", "image/png", None, None)
    assert fresh_db["texts"].count == 2  # the article and the redirected one; never the image

    moved = row(fresh_db, ids["moved"])
    assert (moved["fetch_status"], moved["final_url"]) == ("ok", urls["ok"])


def test_a_meta_refresh_stub_stores_the_page_it_sends_to(fresh_db, server):
    article = server.add("/2024/article", Reply(200, html_page("The article", "Word " * 300), HTML))
    stub = b"<html><head><meta http-equiv='refresh' content='0; url=/2024/article'><title>Redirecting</title></head></html>"
    [item_id] = add_items(fresh_db, [server.add("/article", Reply(200, stub, HTML))])
    assert run(fresh_db).summary() == "Fetched 1 item: 1 ok, 0 failed, 0 dead, 0 skipped."
    item = row(fresh_db, item_id)
    assert (item["fetch_status"], item["final_url"], item["title"], item["word_count"]) == ("ok", article, "The article", 304)
    assert fresh_db["texts"].get(item_id)["text"].count("Word") == 300


def test_a_page_title_replaces_guesses_but_not_better_sources(fresh_db, server):
    urls = [server.add(f"/t{index}", Reply(200, html_page(f"Page title {index}"), HTML)) for index in range(4)]
    ids = add_items(fresh_db, urls)
    for item_id, (title, source) in zip(ids, [(None, None), ("anchor text", "anchor"), ("Card title", "preview"), ("From arXiv", "arxiv")]):
        fresh_db["items"].update(item_id, {"title": title, "title_source": source})
    run(fresh_db)
    titles = [(row(fresh_db, i)["title"], row(fresh_db, i)["title_source"]) for i in ids]
    assert titles == [("Page title 0", "page"), ("Page title 1", "page"), ("Page title 2", "page"), ("From arXiv", "arxiv")]


def test_windows_1251_page_declared_utf8_gets_its_russian_title(fresh_db, server):
    # The real extractor: the declared charset is wrong, the bytes are windows-1251.
    body = html_page(RUSSIAN_TITLE, RUSSIAN_TEXT, charset="cp1251").replace(b"charset='cp1251'", b"charset='utf-8'")
    url = server.add("/ru", Reply(200, body, {"Content-Type": "text/html; charset=utf-8"}))
    (item_id,) = add_items(fresh_db, [url])
    run(fresh_db, extractor=fetching.extract_page)
    item = row(fresh_db, item_id)
    assert (item["title"], item["language"], item["fetch_status"]) == (RUSSIAN_TITLE, "ru", "ok")
    assert item["summary"].startswith("Механизм внимания позволяет модели")
    assert "трансформер понимает" in fresh_db["texts"].get(item_id)["text"]


def test_pdf_gets_title_authors_and_text(fresh_db, server):
    pdf = minimal_pdf("Attention Is All You Need", "The dominant sequence transduction models are based on recurrent networks.")
    url = server.add("/paper.pdf", Reply(200, pdf, {"Content-Type": "application/pdf"}))
    (item_id,) = add_items(fresh_db, [url], kind="paper")
    run(fresh_db, extractor=fetching.extract_page)
    item = row(fresh_db, item_id)
    assert (item["title"], json.loads(item["authors"]), item["content_type"]) == (
        "Attention Is All You Need", ["Ada Lovelace"], "application/pdf",
    )
    assert fresh_db["texts"].get(item_id)["text"].startswith("The dominant sequence transduction")


def test_failed_items_wait_for_their_retry_time(fresh_db, server):
    url = server.add("/down", [Reply(503, b""), Reply(503, b""), Reply(200, html_page("Up again"), HTML)])
    (item_id,) = add_items(fresh_db, [url])
    assert run(fresh_db).failed == 1
    assert run(fresh_db).total == 0  # not yet
    assert server.hits["/down"] == 2
    past = (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat(timespec="seconds")
    fresh_db["items"].update(item_id, {"next_retry_at": past})
    assert run(fresh_db).ok == 1
    item = row(fresh_db, item_id)
    assert (item["fetch_status"], item["attempts"], item["last_error"], item["next_retry_at"]) == ("ok", 3, None, None)


def test_retry_failed_takes_failed_dead_and_skipped_now(fresh_db, server):
    urls = [server.add(path, Reply(200, html_page(path), HTML)) for path in ("/a", "/b", "/c", "/d")]
    ids = add_items(fresh_db, urls)
    future = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat(timespec="seconds")
    for item_id, status in zip(ids, ["failed", "dead", "skipped", "ok"]):
        fresh_db["items"].update(item_id, {"fetch_status": status, "next_retry_at": future if status == "failed" else None})
    assert run(fresh_db).total == 0
    stats = run(fresh_db, retry_failed=True)
    assert (stats.total, stats.ok) == (3, 3)
    assert server.hits["/d"] == 0


def test_refresh_sends_validators_and_keeps_an_unchanged_page(fresh_db, server):
    url = server.add("/page", [Reply(200, html_page("First"), {**HTML, "ETag": '"v1"'}), Reply(304, b"")])
    (item_id,) = add_items(fresh_db, [url])
    run(fresh_db)
    stats = run(fresh_db, refresh=True)
    assert stats.summary() == "Fetched 1 item: 1 ok (1 unchanged), 0 failed, 0 dead, 0 skipped."
    _, headers, _ = server.requests[-1]
    assert headers["If-None-Match"] == '"v1"'
    item = row(fresh_db, item_id)
    assert (item["fetch_status"], item["title"], item["http_status"], item["attempts"]) == ("ok", "First", 200, 2)
    assert fresh_db["texts"].get(item_id)["text"].startswith("First")


def test_a_failed_refresh_keeps_the_page(fresh_db, server):
    url = server.add("/page", [Reply(200, html_page("First"), HTML), Reply(500, b"")])
    (item_id,) = add_items(fresh_db, [url])
    run(fresh_db)
    assert run(fresh_db, refresh=True).failed == 1
    item = row(fresh_db, item_id)
    assert (item["fetch_status"], item["title"], item["last_error"]) == ("ok", "First", "HTTP 500 Internal Server Error")


def test_kind_limit_and_never_fetched_kinds(fresh_db, server):
    papers = add_items(fresh_db, [server.add(f"/paper{i}", Reply(200, html_page("P"), HTML)) for i in range(3)], kind="paper")
    add_items(fresh_db, [server.add("/article", Reply(200, html_page("A"), HTML))])
    add_items(fresh_db, [server.add("/channel", Reply(200, b""))], kind="channel")
    add_items(fresh_db, [server.add("/unresolved", Reply(200, b""))], kind="unresolved")
    assert run(fresh_db, kind="paper", limit=2).ok == 2
    assert sum(row(fresh_db, i)["fetch_status"] == "ok" for i in papers) == 2
    assert run(fresh_db).total == 2  # the last paper and the article
    assert server.hits["/channel"] == server.hits["/unresolved"] == 0


def test_selection_interleaves_hosts():
    candidates = [fetching.Candidate(str(i), f"http://{host}/{i}", "article", "pending", 0) for i, host in enumerate("aaabbc")]
    assert [c.url for c in fetching.interleave_by_host(candidates)] == [
        "http://a/0", "http://b/3", "http://c/5", "http://a/1", "http://b/4", "http://a/2",
    ]


def ranked_backlog(db, count: int) -> list[str]:
    """``count`` pending items on three hosts, best-ranked first (each added a day after the next)."""
    urls = [f"http://{'abc'[i % 3]}.example/p{i}" for i in range(count)]
    ids = add_items(db, urls)
    for day, item_id in enumerate(ids):
        db.execute("UPDATE items SET added_at = ? WHERE id = ?", [f"2024-05-{count - day:02d}T00:00:00+00:00", item_id])
    db.conn.commit()
    assert [r["id"] for r in db.query("SELECT id FROM items ORDER BY rank_key DESC")] == ids
    return ids


@pytest.mark.parametrize("limit", [None, 7, 9, 30])
def test_a_long_backlog_is_read_a_chunk_at_a_time_in_rank_order(fresh_db, limit):
    ids = ranked_backlog(fresh_db, 20)
    chosen = [c.id for c in fetching.iter_candidates(fresh_db, limit=limit, chunk=3)]
    wanted = ids[:limit]
    assert len(chosen) == len(set(chosen)) == len(wanted)
    # Each chunk of three is interleaved by host, and the chunks come in rank order.
    assert [set(chosen[i : i + 3]) for i in range(0, len(chosen), 3)] == [set(wanted[i : i + 3]) for i in range(0, len(wanted), 3)]
    assert fetching.count_candidates(fresh_db, limit=limit) == len(wanted)


@pytest.mark.parametrize("outcome", ["ok", "failed", "dead", "skipped"])
def test_items_written_while_the_backlog_is_read_come_back_once(fresh_db, outcome):
    # The run writes each result while later chunks are still to be read: the new status moves the rank key.
    ids = ranked_backlog(fresh_db, 20)
    fresh_db.execute("UPDATE items SET rank_key = NULL WHERE id IN (?, ?, ?, ?)", ids[-4:])  # no key (an old row)
    fresh_db.conn.commit()
    seen = []
    for candidate in fetching.iter_candidates(fresh_db, retry_failed=True, refresh=True, chunk=3):
        seen.append(candidate.id)
        fresh_db.execute("UPDATE items SET fetch_status = ? WHERE id = ?", [outcome, candidate.id])
    assert sorted(seen) == sorted(ids) and len(seen) == 20
    assert set(seen[-4:]) == set(ids[-4:])  # keyless items last


def test_a_run_over_many_chunks_fetches_each_item_once(fresh_db, server, monkeypatch):
    monkeypatch.setattr(fetching, "CANDIDATE_CHUNK", 4)
    urls = [server.add(f"/c{i}", Reply(200 if i % 5 else 404, html_page(f"Page {i}"), HTML)) for i in range(23)]
    add_items(fresh_db, urls)
    stats = run(fresh_db, settings=SETTINGS.with_changes(concurrency=3), retry_failed=True)
    assert (stats.total, stats.ok, stats.dead) == (23, 18, 5)
    assert [server.hits[f"/c{i}"] for i in range(23)] == [1] * 23


class Interrupt(Exception):
    pass


def test_an_interrupted_run_resumes_without_refetching_what_was_stored(fresh_db, server):
    urls = [server.add(f"/p{i}", Reply(200, html_page(f"Page {i}"), HTML, delay=0.05)) for i in range(30)]
    ids = add_items(fresh_db, urls)

    def stop_after_ten(stats):
        if stats.done == 10:
            raise Interrupt

    with pytest.raises(Interrupt):
        run(fresh_db, settings=SETTINGS.with_changes(concurrency=4), on_result=stop_after_ten)
    stored = {i for i in ids if row(fresh_db, i)["fetch_status"] == "ok"}
    assert len(stored) == 10
    second = run(fresh_db)
    assert second.ok == 20
    assert all(row(fresh_db, i)["fetch_status"] == "ok" for i in ids)
    assert fresh_db["texts"].count == 30
    hits_of = {url: server.hits["/" + url.split("/", 3)[3]] for url in urls}
    assert all(hits_of[url] == 1 for item_id, url in zip(ids, urls) if item_id in stored)
    # At most what was in flight was fetched twice: the window (2 x concurrency), the queue and the extractors.
    assert sum(hits_of.values()) <= 30 + 2 * 4 + 3 * 2


def test_an_extraction_error_fails_the_item_not_the_run(fresh_db, server):
    good = server.add("/good", Reply(200, html_page("Good"), HTML))
    bad = server.add("/explode", Reply(200, html_page("Bad"), HTML))
    good_id, bad_id = add_items(fresh_db, [good, bad])
    stats = run(fresh_db, extractor=exploding_extract)
    assert (stats.ok, stats.failed) == (1, 1)
    assert row(fresh_db, bad_id)["last_error"] == "extraction failed: ValueError: cannot parse this page"
    assert row(fresh_db, good_id)["fetch_status"] == "ok"


def test_fetch_status_moves_the_rank_and_list_json_shows_fetch_fields(fresh_db, server):
    url = server.add("/a", Reply(200, html_page("Ranked"), HTML))
    (item_id,) = add_items(fresh_db, [url])
    before = row(fresh_db, item_id)["rank_key"]
    run(fresh_db)
    after = row(fresh_db, item_id)["rank_key"]
    assert after == pytest.approx(before + 0.3)  # the not-fetched penalty is gone
    (listed,) = list_items(fresh_db, ListFilter(status="all"))
    assert {key: listed[key] for key in ("fetch_status", "http_status", "final_url", "authors", "published", "site_name",
                                         "language", "word_count", "reading_minutes", "description", "error")} == {
        "fetch_status": "ok", "http_status": 200, "final_url": url, "authors": ["Test Author"], "published": "2024-05-01",
        "site_name": "Local", "language": "en", "word_count": 4, "reading_minutes": 1, "description": "A description.",
        "error": None,
    }
    assert listed["summary"] == "Ranked Ranked Some text." and listed["tags"] == []


def test_a_deferred_pending_item_waits_for_its_retry_time(fresh_db):
    now = datetime.now(timezone.utc)
    ids = add_items(fresh_db, ["http://a.example/deferred", "http://a.example/due", "http://a.example/fresh"])
    fresh_db.execute("UPDATE items SET next_retry_at = ? WHERE id = ?", [(now + timedelta(hours=1)).isoformat(timespec="seconds"), ids[0]])
    fresh_db.execute("UPDATE items SET next_retry_at = ? WHERE id = ?", [(now - timedelta(hours=1)).isoformat(timespec="seconds"), ids[1]])
    fresh_db.conn.commit()
    assert sorted(c.id for c in fetching.select_candidates(fresh_db, now=now)) == sorted(ids[1:])


def committed_ok(db) -> int:
    """ok items as another connection (Datasette, the CLI) sees them."""
    import sqlite3

    other = sqlite3.connect(db.conn.execute("PRAGMA database_list").fetchone()[2], timeout=0.1)
    try:
        return other.execute("SELECT count(*) FROM items WHERE fetch_status = 'ok'").fetchone()[0]
    finally:
        other.close()


def test_results_are_committed_in_groups(fresh_db, server, monkeypatch):
    monkeypatch.setattr(fetching, "COMMIT_EVERY", 3)
    monkeypatch.setattr(fetching, "COMMIT_INTERVAL", 60.0)
    urls = [server.add(f"/g{i}", Reply(200, html_page(f"Page {i}"), HTML)) for i in range(10)]
    add_items(fresh_db, urls)
    seen = {}

    def look(stats):
        seen[stats.done] = committed_ok(fresh_db)

    run(fresh_db, settings=SETTINGS.with_changes(concurrency=1), on_result=look)
    # The callback runs after each write: groups of three are committed, the rest at the end.
    assert seen == {1: 0, 2: 0, 3: 3, 4: 3, 5: 3, 6: 6, 7: 6, 8: 6, 9: 9, 10: 9}
    assert committed_ok(fresh_db) == 10


def test_a_slow_trickle_of_results_does_not_keep_the_write_lock(fresh_db, server, monkeypatch):
    import sqlite3
    import threading
    import time

    monkeypatch.setattr(fetching, "COMMIT_INTERVAL", 0.05)
    fast = server.add("/fast", Reply(200, html_page("Fast"), HTML))
    slow = server.add("/slow", Reply(200, html_page("Slow"), HTML, delay=1.5))
    add_items(fresh_db, [fast, slow])
    outcome = {}
    path = fresh_db.conn.execute("PRAGMA database_list").fetchone()[2]

    def write_from_elsewhere():
        time.sleep(0.4)  # the fast page is written, the slow one is still on its way
        other = sqlite3.connect(path, timeout=0.2)
        try:
            outcome["ok_seen"] = other.execute("SELECT count(*) FROM items WHERE fetch_status = 'ok'").fetchone()[0]
            with other:
                other.execute("UPDATE items SET note = 'written meanwhile' WHERE url = ?", [slow])
            outcome["wrote"] = True
        except sqlite3.OperationalError as error:
            outcome["wrote"] = str(error)
        finally:
            other.close()

    writer = threading.Thread(target=write_from_elsewhere)
    writer.start()
    stats = run(fresh_db, settings=SETTINGS.with_changes(concurrency=2, per_host=2))
    writer.join()
    assert stats.ok == 2
    assert outcome == {"ok_seen": 1, "wrote": True}
    assert fresh_db.execute("SELECT note FROM items WHERE url = ?", [slow]).fetchone()[0] == "written meanwhile"


def test_a_write_that_fails_leaves_no_half_item_and_keeps_the_others(fresh_db, server):
    import sqlite3

    urls = [server.add(f"/w{i}", Reply(200, html_page(f"Page {i}", "Word " * 50), HTML)) for i in range(6)]
    ids = add_items(fresh_db, urls)
    # The last page fetched cannot have its text stored (as on a full disk): its UPDATE went through first.
    failing = fetching.select_candidates(fresh_db)[-1].id
    fresh_db.execute(
        f"CREATE TRIGGER fail_one BEFORE INSERT ON texts WHEN NEW.item_id = '{failing}'"
        " BEGIN SELECT RAISE(ABORT, 'no space left (simulated)'); END"
    )
    with pytest.raises(sqlite3.IntegrityError, match="no space left"):
        run(fresh_db, settings=SETTINGS.with_changes(concurrency=1))
    assert row(fresh_db, failing)["fetch_status"] == "pending"
    ok = [i for i in ids if row(fresh_db, i)["fetch_status"] == "ok"]
    assert ok and committed_ok(fresh_db) == len(ok)  # what was written before the error is kept
    # No half item: every item with its status written has its text, and no other has one.
    assert {r["item_id"] for r in fresh_db["texts"].rows} == set(ok)
    fresh_db.execute("DROP TRIGGER fail_one")
    assert run(fresh_db).ok == 6 - len(ok)
    assert fresh_db["texts"].count == 6


@pytest.mark.parametrize("retry_after", ["999999999999", "9" * 400], ids=["past-year-9999", "float-infinity"])
def test_a_retry_after_past_any_date_waits_the_longest_retry_and_the_run_goes_on(fresh_db, server, retry_after):
    ok_url = server.add("/fine", Reply(200, html_page("Fine"), HTML))
    limited_url = server.add("/limited", Reply(429, b"", {"Retry-After": retry_after}))
    ok_id, limited_id = add_items(fresh_db, [ok_url, limited_url])
    assert run(fresh_db).summary() == "Fetched 2 items: 1 ok, 1 failed, 0 dead, 0 skipped."
    limited = row(fresh_db, limited_id)
    assert (limited["fetch_status"], limited["http_status"]) == ("failed", 429)
    wait = datetime.fromisoformat(limited["next_retry_at"]) - datetime.now(timezone.utc)
    assert fetching.RETRY_MAX - timedelta(minutes=1) < wait <= fetching.RETRY_MAX
    assert row(fresh_db, ok_id)["fetch_status"] == "ok"


def huge_count_extract(body: bytes, url: str, content_type: str | None, charset: str | None) -> dict:
    """A page whose word count SQLite cannot hold (OverflowError on binding), on URLs containing 'huge'."""
    fields = fake_extract(body, url, content_type, charset)
    return {**fields, "word_count": 2**70} if "huge" in url else fields


def test_an_item_whose_result_cannot_be_stored_fails_alone(fresh_db, server):
    urls = [server.add(path, Reply(200, html_page(path), HTML)) for path in ("/a", "/huge", "/b")]
    ids = add_items(fresh_db, urls)
    assert run(fresh_db, extractor=huge_count_extract).summary() == "Fetched 3 items: 2 ok, 1 failed, 0 dead, 0 skipped."
    huge = row(fresh_db, ids[1])
    assert (huge["fetch_status"], huge["title"], huge["next_retry_at"] is not None) == ("failed", None, True)
    assert huge["last_error"] == "could not store the result: OverflowError: Python int too large to convert to SQLite INTEGER"
    assert [row(fresh_db, i)["fetch_status"] for i in (ids[0], ids[2])] == ["ok", "ok"]
    assert fresh_db["texts"].count == 2


def test_limit_counts_the_pages_not_the_site_items_left_out(fresh_db, server):
    # Site items (here a deferred arXiv paper, best ranked) belong to the site stage: --limit counts pages only.
    urls = [server.add(f"/l{i}", Reply(200, html_page(f"Page {i}"), HTML)) for i in range(3)]
    add_items(fresh_db, urls)
    fresh_db["items"].insert({"id": "arxivdeferrd", "url": "https://arxiv.org/abs/2401.00001", "kind": "paper",
                              "arxiv_id": "2401.00001", "status": "unread", "added_at": "2026-01-01T00:00:00+00:00",
                              "priority": "high"})
    chosen = fetching.select_candidates(fresh_db, limit=2, skip_site_items=True)
    assert len(chosen) == 2 and all(c.url in urls for c in chosen)


def article_page(head: str = "") -> bytes:
    body = "".join(f"<p>{RUSSIAN_TEXT.strip()} Абзац {n}.</p>" for n in range(3))
    return (f"<!doctype html><html lang='ru'><head><meta charset='utf-8'><title>{RUSSIAN_TITLE}</title>{head}</head>"
            f"<body><article><h1>{RUSSIAN_TITLE}</h1>{body}</article></body></html>").encode()


DESCRIBED = (
    "<meta name='author' content='Анна Петрова'>"
    "<meta property='article:published_time' content='2024-03-05T10:00:00Z'>"
    "<meta name='description' content='Как устроен трансформер.'>"
    "<meta property='og:site_name' content='Хабр-подобный блог'>"
)


@pytest.mark.parametrize(
    "field, stored",
    [("authors", '["Анна Петрова"]'), ("published", "2024-03-05"), ("description", "Как устроен трансформер."),
     ("site_name", "Хабр-подобный блог")],
)
def test_a_refreshed_page_replaces_what_it_no_longer_says(fresh_db, server, field, stored):
    url = server.add("/post", [Reply(200, article_page(DESCRIBED), HTML), Reply(200, article_page(), HTML)])
    (item_id,) = add_items(fresh_db, [url])
    run(fresh_db, extractor=fetching.extract_page)
    assert str(row(fresh_db, item_id)[field]).startswith(stored)
    assert run(fresh_db, refresh=True, extractor=fetching.extract_page).ok == 1
    item = row(fresh_db, item_id)
    # With no og:site_name nothing names the site: its host ("127.0.0.1:port", trafilatura's guess) is the domain's.
    assert item[field] is None
    assert (item["title"], item["language"]) == (RUSSIAN_TITLE, "ru")


def test_a_refresh_that_reads_no_text_keeps_what_the_page_said(fresh_db, server):
    # The page became an image (a site now serving a placeholder): nothing readable replaces the article.
    url = server.add("/post", [Reply(200, article_page(DESCRIBED), HTML),
                               Reply(200, b"\x89PNG\r\n\x1a\n" + bytes(64), {"Content-Type": "image/png"})])
    (item_id,) = add_items(fresh_db, [url])
    run(fresh_db, extractor=fetching.extract_page)
    before = row(fresh_db, item_id)
    assert run(fresh_db, refresh=True, extractor=fetching.extract_page).ok == 1
    after = row(fresh_db, item_id)
    assert after["content_type"] == "image/png"
    assert {name: after[name] for name in fetching.PAGE_FIELDS} == {name: before[name] for name in fetching.PAGE_FIELDS}
