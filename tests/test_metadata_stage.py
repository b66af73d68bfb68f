"""The site metadata stage: which items, what is written, failures, retries, and the fetch stage's call."""

from __future__ import annotations

import json
import re

import pytest

from harvester.sites import adapter_for
from readinglist import metadata
from sites_helpers import NOW, FakeTime, add_item, fixture_bytes, item, local_page_client, run_stage, settings_for


@pytest.mark.parametrize(
    "row, expected",
    [
        ({"url": "https://arxiv.org/abs/2401.00001", "arxiv_id": "2401.00001", "doi": "10.1/x"}, "arxiv"),
        ({"url": "https://doi.org/10.1/x", "doi": "10.1/x"}, "crossref"),
        ({"url": "https://github.com/a/b", "repo": "a/b"}, "github"),
        ({"url": "https://huggingface.co/a/b", "hf_id": "a/b"}, "huggingface"),
        ({"url": "https://youtube.com/watch?v=kCc8FmEb1nY"}, "youtube"),
        ({"url": "https://youtube.com/playlist?list=PL1"}, None),
        ({"url": "https://t.me/channel/12"}, "telegram"),
        ({"url": "https://t.me/channel"}, None),
        ({"url": "https://habr.com/ru/articles/840000/"}, "habr"),
        ({"url": "https://habr.com/ru/companies/acme/articles/840000/"}, "habr"),
        ({"url": "https://habr.com/ru/hubs/python/"}, None),
        ({"url": "https://example.com/post"}, None),
    ],
)
def test_adapter_for(row, expected):
    assert adapter_for(row) == expected


def test_which_items_are_due(fresh_db):
    due = add_item(fresh_db, "https://arxiv.org/abs/2401.00001")
    retry_due = add_item(fresh_db, "https://arxiv.org/abs/2401.00002", fetch_status="failed", attempts=1, next_retry_at="2026-03-01T11:00:00+00:00")
    add_item(fresh_db, "https://arxiv.org/abs/2401.00003", fetch_status="failed", attempts=1, next_retry_at="2026-03-01T13:00:00+00:00")
    # However often it failed, like a page item: settings.attempts is per request, not a lifetime cap.
    often_failed = add_item(fresh_db, "https://arxiv.org/abs/2401.00004", fetch_status="failed", attempts=40,
                            next_retry_at="2026-02-20T12:00:00+00:00")
    add_item(fresh_db, "https://arxiv.org/abs/2401.00005", fetch_status="ok")
    add_item(fresh_db, "https://arxiv.org/abs/2401.00006", fetch_status="dead")
    deferred = add_item(fresh_db, "https://arxiv.org/abs/2401.00007", next_retry_at="2026-03-01T12:30:00+00:00")
    add_item(fresh_db, "https://example.com/article")
    repo = add_item(fresh_db, "https://github.com/a/b")
    work = metadata.pending_items(fresh_db, NOW)
    expected = {"arxiv": sorted([due, retry_due, often_failed]), "github": [repo]}
    assert {k: sorted(r["id"] for r in v) for k, v in work.items()} == expected
    assert list(metadata.pending_items(fresh_db, NOW, kind="repo")) == ["github"]
    assert sum(map(len, metadata.pending_items(fresh_db, NOW, limit=1).values())) == 1
    assert list(metadata.pending_items(fresh_db, NOW, adapters=["github"])) == ["github"]
    forced = metadata.pending_items(fresh_db, NOW, ids=[deferred])
    assert [r["id"] for r in forced["arxiv"]] == [deferred]


@pytest.mark.parametrize(
    "flags, expected",
    [
        ({}, []),
        ({"retry_failed": True}, ["failed-often", "dead", "skipped", "failed-later"]),
        ({"refresh": True}, ["ok"]),
        ({"retry_failed": True, "refresh": True}, ["failed-often", "dead", "skipped", "failed-later", "ok"]),
    ],
)
def test_retry_failed_and_refresh_take_items_back(fresh_db, flags, expected):
    ids = {
        "failed-often": add_item(fresh_db, "https://arxiv.org/abs/2401.00004", fetch_status="failed", attempts=40,
                                 next_retry_at="2026-03-04T12:00:00+00:00"),
        "dead": add_item(fresh_db, "https://arxiv.org/abs/2401.00006", fetch_status="dead"),
        "skipped": add_item(fresh_db, "https://habr.com/ru/articles/840000/", fetch_status="skipped"),
        "failed-later": add_item(fresh_db, "https://github.com/a/b", fetch_status="failed", attempts=1,
                                 next_retry_at="2026-03-01T13:00:00+00:00"),
        "ok": add_item(fresh_db, "https://huggingface.co/a/b", fetch_status="ok"),
    }
    add_item(fresh_db, "https://example.com/article", fetch_status="dead")  # no adapter: never the site stage's
    work = metadata.pending_items(fresh_db, NOW, **flags)
    assert sorted(row["id"] for rows in work.values() for row in rows) == sorted(ids[name] for name in expected)


WAITS = "Nothing due: 1 item waits for its retry time, at 2999-01-01 00:00 UTC; --retry-failed retries it now."
ALL_DONE = "Nothing to fetch (every item is fetched; --retry-failed or --refresh fetch again)."


@pytest.mark.parametrize(
    "status, flag, first_line",
    [("failed", "--retry-failed", WAITS), ("dead", "--retry-failed", ALL_DONE), ("ok", "--refresh", ALL_DONE)],
)
def test_fetch_flags_send_site_items_to_their_adapter(httpserver, db_path, tmp_path, status, flag, first_line):
    """`fetch --retry-failed` / `--refresh` ask the API again; the generic page fetcher never takes a site's item."""
    from click.testing import CliRunner

    from readinglist.cli import cli
    from readinglist.db import open_db

    db = open_db(db_path)
    item_id = add_item(db, "https://doi.org/10.1000/example.lora.2022", fetch_status=status, attempts=9,
                       next_retry_at="2999-01-01T00:00:00+00:00", summary="Kept until the API answers.")
    db.conn.close()
    httpserver.expect_request("/crossref/works/10.1000/example.lora.2022").respond_with_data(fixture_bytes("crossref_work.json"))
    config = tmp_path / "config.toml"
    config.write_text(f'per_host_delay = 0\n[urls]\ncrossref_api = "{httpserver.url_for("/crossref")}"\n')
    env = {"READINGLIST_ALLOW_PRIVATE": "", "READINGLIST_CONFIG": ""}
    runner = CliRunner()
    first = runner.invoke(cli, ["fetch", "--db", str(db_path), "--config", str(config)], env=env)
    assert first.exit_code == 0, first.output
    assert first.output.splitlines() == [first_line]
    result = runner.invoke(cli, ["fetch", "--db", str(db_path), "--config", str(config), flag], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:2] == ["Site metadata: 1 ok, 0 failed, 0 dead.", "No other pages to fetch."]
    row = item(open_db(db_path), item_id)
    assert (row["fetch_status"], row["title_source"]) == ("ok", "api")
    assert row["summary"].startswith("We propose Low-Rank Adaptation, or LoRA")
    # Only the API was asked: doi.org itself was never fetched as a page.
    assert [request.path for request, _ in httpserver.log] == ["/crossref/works/10.1000/example.lora.2022"]


@pytest.mark.parametrize("source, replaced", [("anchor", True), ("preview", True), ("page", True), (None, True), ("user", False)])
def test_api_title_overrides_guesses(httpserver, fresh_db, source, replaced):
    item_id = add_item(fresh_db, "https://doi.org/10.1000/example.lora.2022", title="Guessed title")
    fresh_db.execute("UPDATE items SET title_source = ? WHERE id = ?", [source, item_id])
    httpserver.expect_request("/crossref/works/10.1000/example.lora.2022").respond_with_data(fixture_bytes("crossref_work.json"))
    run_stage(fresh_db, settings_for(httpserver))
    row = item(fresh_db, item_id)
    if replaced:
        assert (row["title"], row["title_source"]) == ("LoRA: Low-Rank Adaptation of Large Language Models", "api")
    else:
        assert (row["title"], row["title_source"]) == ("Guessed title", "user")


def test_meta_merges_with_what_is_there(httpserver, fresh_db):
    item_id = add_item(fresh_db, "https://doi.org/10.1000/example.lora.2022", meta=json.dumps({"og_type": "article", "type": "old"}))
    httpserver.expect_request("/crossref/works/10.1000/example.lora.2022").respond_with_data(fixture_bytes("crossref_work.json"))
    run_stage(fresh_db, settings_for(httpserver))
    meta = item(fresh_db, item_id)["meta"]
    assert meta["og_type"] == "article" and meta["type"] == "proceedings-article" and meta["adapter"] == "crossref"


@pytest.mark.parametrize("attempts_setting", [1, 4])
def test_failures_back_off_and_are_never_given_up(httpserver, fresh_db, attempts_setting):
    """Like a page item, a failed site item waits longer each time (1 h, 6 h, 1 day, then 3 days
    over and over) and is asked again once its time has come; ``attempts`` is tries per request."""
    item_id = add_item(fresh_db, "https://doi.org/10.1000/flaky")
    httpserver.expect_request("/crossref/works/10.1000/flaky").respond_with_data("boom", status=500)
    settings = settings_for(httpserver, attempts=attempts_setting)
    waits = ["2026-03-01T13:00:00+00:00", "2026-03-01T18:00:00+00:00", "2026-03-02T12:00:00+00:00",
             "2026-03-04T12:00:00+00:00", "2026-03-04T12:00:00+00:00", "2026-03-04T12:00:00+00:00"]
    for attempt, retry_at in enumerate(waits, 1):
        stats = run_stage(fresh_db, settings)
        row = item(fresh_db, item_id)
        assert (stats.failed, row["fetch_status"], row["attempts"], row["next_retry_at"]) == (1, "failed", attempt, retry_at)
        assert run_stage(fresh_db, settings).total == 0  # not before its time
        fresh_db.execute("UPDATE items SET next_retry_at = ? WHERE id = ?", ["2026-03-01T11:00:00+00:00", item_id])
    assert len(httpserver.log) == len(waits)


@pytest.mark.parametrize("retry_after", ["999999999999", "9" * 400], ids=["past-year-9999", "float-infinity"])
def test_a_retry_after_past_any_date_defers_for_the_longest_wait_and_the_run_goes_on(httpserver, fresh_db, retry_after):
    limited = add_item(fresh_db, "https://doi.org/10.1000/limited")
    video = add_item(fresh_db, "https://youtu.be/kCc8FmEb1nY")
    httpserver.expect_request("/crossref/works/10.1000/limited").respond_with_data("slow down", status=429, headers={"Retry-After": retry_after})
    httpserver.expect_request("/oembed").respond_with_data(fixture_bytes("youtube_oembed.json"))
    stats = run_stage(fresh_db, settings_for(httpserver))
    assert (stats.deferred, stats.ok) == (1, 1)
    row = item(fresh_db, limited)
    assert (row["fetch_status"], row["next_retry_at"]) == ("pending", "2026-03-04T12:00:00+00:00")  # NOW + 3 days
    assert item(fresh_db, video)["fetch_status"] == "ok"


def test_an_answer_that_cannot_be_stored_fails_its_item_alone(httpserver, fresh_db, monkeypatch):
    """A Habr page claiming 10^20 minutes of reading: SQLite cannot hold the number (OverflowError).
    The adapter no longer believes such a claim; with its cap lifted it stands for any answer that cannot be stored."""
    from harvester.sites import habr

    monkeypatch.setattr(habr, "MAX_CLAIMED_MINUTES", 10**30)
    article = add_item(fresh_db, "https://habr.com/ru/articles/840000/")
    video = add_item(fresh_db, "https://youtu.be/kCc8FmEb1nY")
    page = fixture_bytes("habr_article.html").decode().replace(">12 мин<", f">{10**20} мин<").encode()
    httpserver.expect_request("/ru/articles/840000/").respond_with_data(page, content_type="text/html; charset=utf-8")
    httpserver.expect_request("/oembed").respond_with_data(fixture_bytes("youtube_oembed.json"))
    with local_page_client(httpserver) as pages:
        stats = run_stage(fresh_db, settings_for(httpserver), page_client=pages)
    assert (stats.failed, stats.ok) == (1, 1)
    row = item(fresh_db, article)
    assert (row["fetch_status"], row["title"], row["next_retry_at"]) == ("failed", None, "2026-03-01T13:00:00+00:00")
    assert row["last_error"] == "could not store the habr answer: OverflowError: Python int too large to convert to SQLite INTEGER"
    assert item(fresh_db, video)["fetch_status"] == "ok"


RLO, PDF, ESC, CSI = "\u202e", "\u202c", "\x1b", "\x9b"
HOSTILE_REPO = {
    **json.loads(fixture_bytes("github_repo.json")),
    "description": f"Fast {RLO}fdp.exe{PDF} code{ESC}]0;pwned\x07\n",
    "owner": {"login": f"micro{RLO}soft"},
    "topics": [f"{RLO}lora", f"{ESC}[5m", "\u2066ok\u2069"],
    "language": f"Py{CSI}31mthon",
    "license": {"spdx_id": None, "name": f"MIT{RLO}\nLicense"},
}


@pytest.mark.parametrize(
    "url, path, answer, field, stored",
    [
        ("https://youtu.be/kCc8FmEb1nY", "/oembed", {"title": f"Lecture 3 {RLO}fdp.exe{PDF} {ESC}[5mBLINK", "author_name": "x"},
         "title", "Lecture 3 fdp.exe [5mBLINK"),
        ("https://youtu.be/kCc8FmEb1nY", "/oembed", {"title": "t", "author_name": f"Evil{RLO}\nChannel{ESC}"}, "authors", ["Evil Channel"]),
        ("https://github.com/microsoft/lora", "/github/repos/microsoft/lora", HOSTILE_REPO, "title",
         "microsoft/LoRA: Fast fdp.exe code]0;pwned"),
        ("https://github.com/microsoft/lora", "/github/repos/microsoft/lora", HOSTILE_REPO, "description", "Fast fdp.exe code]0;pwned"),
        ("https://github.com/microsoft/lora", "/github/repos/microsoft/lora", HOSTILE_REPO, "authors", ["microsoft"]),
        ("https://github.com/microsoft/lora", "/github/repos/microsoft/lora", HOSTILE_REPO, "tags", ["lora", "[5m", "ok"]),
        ("https://github.com/microsoft/lora", "/github/repos/microsoft/lora", HOSTILE_REPO, "meta",
         {"language": "Py31mthon", "license": "MIT License", "topics": ["lora", "[5m", "ok"]}),
    ],
    ids=["oembed-title", "oembed-author", "github-title", "github-description", "github-owner", "github-topics", "github-meta"],
)
def test_site_text_loses_control_and_bidi_characters(httpserver, fresh_db, url, path, answer, field, stored):
    """Whatever adapter wrote it: an uploader's RIGHT-TO-LEFT OVERRIDE would show "fdp.exe" as "exe.pdf"."""
    item_id = add_item(fresh_db, url)
    httpserver.expect_request(path).respond_with_json(answer)
    httpserver.expect_request(path + "/readme").respond_with_data("", status=404)
    assert run_stage(fresh_db, settings_for(httpserver)).ok == 1
    value = item(fresh_db, item_id)[field]
    if field == "meta":
        value = {key: value[key] for key in stored}
    assert value == stored


def test_unreachable_api_fails_the_items(fresh_db):
    item_id = add_item(fresh_db, "https://doi.org/10.1000/x")
    from harvester.settings import Settings

    # Port 9 (discard) on localhost: nothing listens, the connection is refused.
    stats = run_stage(fresh_db, Settings(crossref_api="http://127.0.0.1:9", per_host_delay=0.0))
    row = item(fresh_db, item_id)
    assert stats.failed == 1 and row["fetch_status"] == "failed" and row["last_error"].startswith("network error")


def test_oversized_body_fails(httpserver, fresh_db):
    item_id = add_item(fresh_db, "https://doi.org/10.1000/big")
    httpserver.expect_request("/crossref/works/10.1000/big").respond_with_data(b"x" * 5000)
    stats = run_stage(fresh_db, settings_for(httpserver, max_bytes=1000))
    assert stats.failed == 1 and "larger than 1000 bytes" in item(fresh_db, item_id)["last_error"]


def test_stats_summary():
    stats = metadata.MetadataStats()
    for status in ("ok", "ok", "dead", "deferred"):
        stats.count("github", status)
    stats.merged = 1
    assert stats.summary() == "Site metadata: 2 ok, 1 dead, 0 failed, 1 deferred, 1 merged."
    assert stats.as_dict()["by_adapter"] == {"github": {"ok": 2, "dead": 1, "deferred": 1}}


@pytest.mark.parametrize("relations, end", [(1, "1 new relation."), (2, "2 new relations.")])
def test_stats_summary_counts_relations_in_words(relations, end):
    stats = metadata.MetadataStats()
    stats.relations = relations
    assert stats.summary() == f"Site metadata: 0 ok, 0 dead, 0 failed, 0 deferred, {end}"


def test_fetch_stage_runs_site_metadata_first(httpserver, fresh_db):
    """The generic fetch stage (readinglist/fetching.py) calls ``metadata.run`` before its own work."""
    from readinglist import fetching

    item_id = add_item(fresh_db, "https://doi.org/10.1000/example.lora.2022")
    httpserver.expect_request("/crossref/works/10.1000/example.lora.2022").respond_with_data(fixture_bytes("crossref_work.json"))
    stats = fetching.run(fresh_db, settings_for(httpserver))
    assert stats.metadata.ok == 1
    row = item(fresh_db, item_id)
    assert row["fetch_status"] == "ok" and row["title_source"] == "api"


@pytest.mark.parametrize(
    "status, headers, line, fetch_status",
    [
        (200, {}, "Site metadata: 1 ok, 0 failed, 0 dead.", "ok"),
        (429, {"Retry-After": "60"}, "Site metadata: 0 ok, 0 failed, 0 dead, 1 deferred.", "pending"),
    ],
)
def test_fetch_cli_trusts_configured_apis_and_reports_deferrals(httpserver, db_path, tmp_path, status, headers, line, fetch_status):
    """An API base URL on a private address is the user's own setting: no --allow-private needed for it."""
    from click.testing import CliRunner

    from readinglist.cli import cli
    from readinglist.db import open_db

    db = open_db(db_path)
    item_id = add_item(db, "https://doi.org/10.1000/example.lora.2022")
    db.conn.close()
    body = fixture_bytes("crossref_work.json") if status == 200 else b"slow down"
    httpserver.expect_request("/crossref/works/10.1000/example.lora.2022").respond_with_data(body, status=status, headers=headers)
    config = tmp_path / "config.toml"
    config.write_text(f'per_host_delay = 0\n[urls]\ncrossref_api = "{httpserver.url_for("/crossref")}"\n')
    env = {"READINGLIST_ALLOW_PRIVATE": "", "READINGLIST_CONFIG": ""}
    result = CliRunner().invoke(cli, ["fetch", "--db", str(db_path), "--config", str(config), "--kind", "paper"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == line
    assert item(open_db(db_path), item_id)["fetch_status"] == fetch_status


# ---------------------------------------------------------------- a long backlog, a chunk at a time


def queue_order(db) -> list[str]:
    return [row[0] for row in db.execute("SELECT id FROM items ORDER BY rank_key DESC, id")]


@pytest.mark.parametrize("limit", [None, 3, 5])
def test_due_items_are_read_a_chunk_at_a_time_in_queue_order(fresh_db, limit):
    urls = [f"https://github.com/owner/repo{n}" for n in range(4)] + [
        "https://arxiv.org/abs/2401.00001", "https://youtube.com/watch?v=kCc8FmEb1nY", "https://t.me/channel/12",
    ]
    ids = [add_item(fresh_db, url, priority=("high" if n % 3 == 0 else "normal")) for n, url in enumerate(urls)]
    add_item(fresh_db, "https://example.com/article")  # no adapter: not the site stage's
    order = [item_id for item_id in queue_order(fresh_db) if item_id in ids]
    assert order != ids  # the priorities reorder them: queue order is not insertion order
    chunks = list(metadata.iter_pending(fresh_db, NOW, limit=limit, chunk=2))
    assert all(sum(map(len, grouped.values())) <= 2 for grouped in chunks)
    read = [[row["id"] for rows in grouped.values() for row in rows] for grouped in chunks]
    # Chunks follow each other in queue order; within one, rows are grouped by adapter.
    taken = order[:limit]
    assert [sorted(chunk, key=order.index) for chunk in read] == [taken[i : i + 2] for i in range(0, len(taken), 2)]
    assert "rank_key" not in chunks[0][next(iter(chunks[0]))][0]


def github_items(db, count: int) -> list[str]:
    return [add_item(db, f"https://github.com/owner/repo{n}") for n in range(count)]


def test_a_run_over_many_chunks_asks_each_item_once_at_the_apis_pace(httpserver, fresh_db, monkeypatch):
    monkeypatch.setattr(metadata, "SELECT_CHUNK", 2)
    ids = github_items(fresh_db, 5)
    httpserver.expect_request(re.compile("/github/repos/owner/repo.")).respond_with_json({"message": "Not Found"}, status=404)
    fake = FakeTime()
    stats = run_stage(fresh_db, settings_for(httpserver, per_host_delay=0.5), fake=fake)
    assert stats.dead == 5
    assert sorted(request.path for request, _ in httpserver.log) == [f"/github/repos/owner/repo{n}" for n in range(5)]
    # One pace across chunks: every request after the first waited, not only those inside a chunk.
    assert fake.sleeps == [pytest.approx(0.5)] * 4
    assert all(item(fresh_db, item_id)["fetch_status"] == "dead" for item_id in ids)


def test_a_deferral_holds_for_the_rest_of_the_run_across_chunks(httpserver, fresh_db, monkeypatch):
    monkeypatch.setattr(metadata, "SELECT_CHUNK", 2)
    ids = github_items(fresh_db, 5)
    httpserver.expect_request(re.compile("/github/repos/owner/repo.")).respond_with_json(
        {"message": "API rate limit exceeded"}, status=403, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "0"}
    )
    stats = run_stage(fresh_db, settings_for(httpserver))
    assert (stats.deferred, len(httpserver.log)) == (5, 1)  # GitHub is asked once, not once per chunk
    assert all(item(fresh_db, item_id)["fetch_status"] == "pending" for item_id in ids)


@pytest.mark.parametrize(
    "dropped, field",
    [(("issued", "published"), "published"), (("abstract",), "summary"), (("author",), "authors"),
     (("language",), "language")],
)
def test_a_refresh_drops_what_the_record_no_longer_gives(httpserver, fresh_db, dropped, field):
    """A wrong date stored from an older answer must not outlive the record that no longer says it."""
    record = json.loads(fixture_bytes("crossref_work.json"))
    for key in dropped:
        del record["message"][key]
    path = "/crossref/works/10.1000/example.lora.2022"
    httpserver.expect_ordered_request(path).respond_with_data(fixture_bytes("crossref_work.json"))
    httpserver.expect_ordered_request(path).respond_with_json(record)
    item_id = add_item(fresh_db, "https://doi.org/10.1000/example.lora.2022")
    run_stage(fresh_db, settings_for(httpserver))
    assert item(fresh_db, item_id)[field] not in (None, [])
    run_stage(fresh_db, settings_for(httpserver), refresh=True)
    row = item(fresh_db, item_id)
    assert (row["fetch_status"], row[field]) == ("ok", None)
    assert row["title"] == "LoRA: Low-Rank Adaptation of Large Language Models"


def test_a_refresh_drops_the_sites_own_keys_it_no_longer_gives(httpserver, fresh_db):
    """meta.abstract is what the exports cite: a withdrawn abstract must not outlive the record."""
    record = json.loads(fixture_bytes("crossref_work.json"))
    del record["message"]["abstract"]
    path = "/crossref/works/10.1000/example.lora.2022"
    httpserver.expect_ordered_request(path).respond_with_data(fixture_bytes("crossref_work.json"))
    httpserver.expect_ordered_request(path).respond_with_json(record)
    item_id = add_item(fresh_db, "https://doi.org/10.1000/example.lora.2022", meta=json.dumps({"og_type": "article"}))
    run_stage(fresh_db, settings_for(httpserver))
    assert "abstract" in item(fresh_db, item_id)["meta"]
    run_stage(fresh_db, settings_for(httpserver), refresh=True)
    meta = item(fresh_db, item_id)["meta"]
    assert "abstract" not in meta
    assert (meta["og_type"], meta["type"]) == ("article", "proceedings-article")  # not the site's, and still given


def test_a_long_abstract_is_kept_whole_in_meta(httpserver, fresh_db):
    """The exports cite meta.abstract; cleaning it for display must not cut it."""
    record = json.loads(fixture_bytes("crossref_work.json"))
    sentence = "We measure how low-rank adapters change the model's behaviour on long inputs. "
    record["message"]["abstract"] = f"<jats:p>{sentence * 40}</jats:p>"
    httpserver.expect_request("/crossref/works/10.1000/example.lora.2022").respond_with_json(record)
    item_id = add_item(fresh_db, "https://doi.org/10.1000/example.lora.2022")
    run_stage(fresh_db, settings_for(httpserver))
    row = item(fresh_db, item_id)
    assert row["meta"]["abstract"] == (sentence * 40).strip()
    assert len(row["summary"]) <= 600 < len(row["meta"]["abstract"])
