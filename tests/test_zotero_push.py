"""`zotero push` against a local fake Zotero API that checks every request."""

from __future__ import annotations


import pytest
from click.testing import CliRunner

from export_fixtures import build_library, library  # noqa: F401
from fake_zotero import FakeZotero
from readinglist.cli import cli
from readinglist.db import item_id_for
from readinglist.export import select_items
from readinglist.zotero import Library, ZoteroClient, ZoteroError, push

LIBRARY = Library("user", "12345")
TYPES = {
    "https://arxiv.org/abs/1706.03762": "preprint",
    "https://arxiv.org/abs/1810.04805": "preprint",  # a journal reference, but no journal named
    "https://doi.org/10.1038/nature14539": "journalArticle",
    "https://doi.org/10.1109/cvpr.2016.90": "conferencePaper",
    "https://github.com/karpathy/nanogpt": "computerProgram",
    "https://huggingface.co/meta-llama/Llama-2-7b": "computerProgram",
    "https://www.youtube.com/watch?v=kCc8FmEb1nY": "videoRecording",
    "https://habr.com/ru/articles/785432/": "webpage",
    "https://example.org/some_page?id=5&ref=a%20b#frag": "webpage",
}


class Clock:
    """A fake monotonic clock that only sleeping moves."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.now += seconds


@pytest.fixture
def fake():
    server = FakeZotero().start()
    yield server
    server.stop()
    assert server.violations == []


@pytest.fixture
def clock():
    return Clock()


def do_push(db, fake, clock, collection=None, **filters):
    with ZoteroClient(fake.url, fake.api_key, LIBRARY, sleep=clock.sleep, clock=clock) as client:
        return push(db, client, select_items(db, with_mentions=True, **filters), collection)


def by_url(fake):
    return {item["data"]["url"]: item for item in fake.top_items()}


def test_first_push_creates_typed_items_notes_and_the_collection(library, fake, clock):
    report = do_push(library, fake, clock, collection="Reading list")
    assert (report.created, report.updated, report.unchanged, report.failed) == (16, 0, 0, [])
    assert report.collection_created == "Reading list"
    items = by_url(fake)
    assert len(items) == 16
    assert {url: items[url]["data"]["itemType"] for url in TYPES} == TYPES
    collection_key = next(iter(fake.collections))
    assert all(item["data"]["collections"] == [collection_key] for item in items.values())
    # Every request authenticated and versioned; every create with a fresh write token.
    assert all(r["headers"]["zotero-api-key"] == "secret-key" and r["headers"]["zotero-api-version"] == "3" for r in fake.requests)
    tokens = [r["headers"]["zotero-write-token"] for r in fake.writes()]
    assert len(tokens) == len(set(tokens)) == 3  # collection, items, notes
    # The database remembers each item's key and version.
    rows = library.execute("SELECT item_id, zotero_key, version FROM zotero_items WHERE library = 'users/12345'").fetchall()
    assert {row[1] for row in rows} == {item["key"] for item in items.values()}
    assert all(row[2] == fake.items[row[1]]["version"] for row in rows)


def test_item_fields_tags_and_creators(library, fake, clock):
    do_push(library, fake, clock)
    items = by_url(fake)
    paper = items["https://arxiv.org/abs/1706.03762"]["data"]
    assert paper["archiveID"] == "arXiv:1706.03762" and paper["repository"] == "arXiv"
    assert paper["DOI"] == "10.48550/arXiv.1706.03762" and paper["date"] == "2017-06-12"
    assert paper["tags"] == [{"tag": "transformers"}, {"tag": "classic"}, {"tag": "nlp"}]
    assert paper["creators"][6] == {"creatorType": "author", "firstName": "Łukasz", "lastName": "Kaiser"}
    assert paper["extra"] == "Citation Key: vaswani2017attention"
    repo = items["https://github.com/karpathy/nanogpt"]["data"]
    assert repo["creators"] == [{"creatorType": "programmer", "name": "karpathy"}]
    assert (repo["company"], repo["programmingLanguage"], repo["rights"]) == ("GitHub", "Python", "MIT")
    video = items["https://www.youtube.com/watch?v=kCc8FmEb1nY"]["data"]
    assert video["creators"] == [{"creatorType": "director", "name": "Andrej Karpathy"}]
    untitled = items["https://example.org/some_page?id=5&ref=a%20b#frag"]["data"]
    assert untitled["creators"] == [] and "date" not in untitled  # nothing invented in Zotero


def test_child_note_has_summary_and_escaped_mentions(library, fake, clock):
    do_push(library, fake, clock)
    parent = by_url(fake)["https://arxiv.org/abs/1706.03762"]
    notes = [n["data"] for n in fake.notes() if n["data"]["parentItem"] == parent["key"]]
    assert len(notes) == 1
    note = notes[0]["note"]
    assert "<h2>Summary</h2><p>The dominant sequence transduction models" in note
    assert '<a href="https://t.me/ai_notes/101">ai_notes</a> (2023-03-05): Read this again' in note
    assert "Классика: &lt;b&gt;Attention&lt;/b&gt; &amp; all that" in note  # post text is escaped
    assert note.index("ai_notes") < note.index("ml_digest")  # latest first


def test_batches_of_at_most_50(db_path, fake, clock):
    db = build_library(db_path)
    for number in range(70):
        url = f"https://example.com/post-{number}"
        db["items"].insert({"id": item_id_for(url), "url": url, "kind": "article", "domain": "example.com",
                            "status": "unread", "added_at": "2024-07-01", "title": f"Post {number}"})
    report = do_push(db, fake, clock)
    assert report.created == 86
    sizes = [len(r["body"]) for r in fake.writes()]
    assert max(sizes) <= 50 and sum(sizes) == 86 + 8  # items and notes


def _add_posts(db, count):
    for number in range(count):
        url = f"https://example.com/post-{number}"
        db["items"].insert({"id": item_id_for(url), "url": url, "kind": "article", "domain": "example.com",
                            "status": "unread", "added_at": "2024-07-01", "title": f"Post {number}"})
    db.conn.commit()


@pytest.mark.parametrize("count", [26, 62])
def test_every_item_of_a_batch_is_updated_not_just_the_first_page(db_path, fake, clock, count):
    """The API answers 25 items unless asked for more: items 26-50 of each batch were taken as deleted in Zotero."""
    db = build_library(db_path)
    _add_posts(db, count)
    do_push(db, fake, clock, kind="article")
    db.execute("UPDATE items SET tags = '[\"to-zotero\"]' WHERE kind = 'article'")
    db.conn.commit()
    report = do_push(db, fake, clock, kind="article")
    total = count + 6  # and the six articles of the fixture
    assert (report.created, report.updated, report.unchanged, report.skipped, report.failed) == (0, total, 0, [], [])
    tagged = [item for item in fake.top_items() if {"tag": "to-zotero"} in item["data"]["tags"]]
    assert len(tagged) == total


def test_the_collection_is_found_past_the_first_page(library, fake, clock):
    for number in range(130):
        fake.collections[f"C{number:03d}"] = {"key": f"C{number:03d}", "version": 1,
                                              "data": {"name": f"Topic {number}", "parentCollection": False}}
    fake.collections["ZZZZZZZZ"] = {"key": "ZZZZZZZZ", "version": 1,
                                    "data": {"name": "Reading list", "parentCollection": False}}
    report = do_push(library, fake, clock, collection="Reading list", kind="repo")
    assert (report.created, report.collection_created, len(fake.collections)) == (2, None, 131)
    assert all(item["data"]["collections"] == ["ZZZZZZZZ"] for item in fake.top_items())


def test_second_push_changes_nothing_and_sends_no_writes(library, fake, clock):
    do_push(library, fake, clock, collection="Reading list")
    writes = len(fake.writes())
    report = do_push(library, fake, clock, collection="Reading list")
    assert (report.created, report.updated, report.unchanged) == (0, 0, 16)
    assert len(fake.writes()) == writes
    assert len(fake.top_items()) == 16 and len(fake.collections) == 1


def test_re_push_updates_in_place_with_versions(library, fake, clock):
    do_push(library, fake, clock)
    paper_id = item_id_for("https://arxiv.org/abs/1706.03762")
    library.execute("UPDATE items SET title = 'Attention Is All You Need (v7)', tags = '[\"transformers\", \"seminal\"]' WHERE id = ?", [paper_id])
    library.conn.commit()
    before = len(fake.requests)
    report = do_push(library, fake, clock)
    assert (report.created, report.updated, report.unchanged) == (0, 1, 15)
    key_check, get, post = fake.requests[before:]
    assert (key_check["method"], key_check["path"]) == ("GET", "/keys/current")
    key = library.execute("SELECT zotero_key FROM zotero_items WHERE item_id = ?", [paper_id]).fetchone()[0]
    assert (get["method"], get["query"]["itemKey"]) == ("GET", key)
    assert post["headers"]["if-unmodified-since-version"] == "2"  # the library version the GET returned
    assert "zotero-write-token" not in post["headers"]
    [body] = post["body"]
    # Only what changed, with the item's own version (items were written at 1, notes at 2).
    assert {name: body[name] for name in ("key", "version", "title")} == {
        "key": key, "version": 1, "title": "Attention Is All You Need (v7)"}
    assert set(body) == {"key", "version", "title", "tags"}
    assert {t["tag"] for t in body["tags"]} == {"transformers", "classic", "nlp", "seminal"}
    assert len(fake.top_items()) == 16  # updated, not duplicated
    assert fake.items[key]["data"]["title"] == "Attention Is All You Need (v7)"
    stored_version = library.execute("SELECT version FROM zotero_items WHERE item_id = ?", [paper_id]).fetchone()[0]
    assert stored_version == fake.items[key]["version"] == 3


def test_edits_made_in_zotero_are_kept(library, fake, clock):
    do_push(library, fake, clock)
    paper_id = item_id_for("https://doi.org/10.1038/nature14539")
    key = library.execute("SELECT zotero_key FROM zotero_items WHERE item_id = ?", [paper_id]).fetchone()[0]
    fake.edit(key, title="Deep Learning (review)", tags=[{"tag": "mine"}])
    library.execute("UPDATE items SET title = 'Deep learning!', summary = 'A review.' WHERE id = ?", [paper_id])
    library.conn.commit()
    report = do_push(library, fake, clock)
    assert (report.updated, report.merged) == (1, 1)
    data = fake.items[key]["data"]
    assert data["title"] == "Deep Learning (review)"  # the user's edit wins
    assert data["abstractNote"] == "A review."  # our change to a field the user did not touch lands
    assert {"tag": "mine"} in data["tags"]
    # Later pushes keep treating the title as the user's.
    library.execute("UPDATE items SET title = 'Deep learning, again' WHERE id = ?", [paper_id])
    library.conn.commit()
    do_push(library, fake, clock)
    assert fake.items[key]["data"]["title"] == "Deep Learning (review)"


def test_tags_deleted_in_zotero_stay_deleted(library, fake, clock):
    do_push(library, fake, clock)
    paper_id = item_id_for("https://arxiv.org/abs/1706.03762")
    key = library.execute("SELECT zotero_key FROM zotero_items WHERE item_id = ?", [paper_id]).fetchone()[0]
    fake.edit(key, tags=[{"tag": "transformers"}, {"tag": "nlp"}, {"tag": "mine"}])  # "classic" deleted
    library.execute("UPDATE items SET tags = '[\"transformers\", \"seminal\"]' WHERE id = ?", [paper_id])
    library.conn.commit()
    do_push(library, fake, clock)
    assert [tag["tag"] for tag in fake.items[key]["data"]["tags"]] == ["transformers", "nlp", "mine", "seminal"]


def test_version_conflict_refetches_and_retries(library, fake, clock):
    do_push(library, fake, clock)
    paper_id = item_id_for("https://github.com/karpathy/nanogpt")
    key = library.execute("SELECT zotero_key FROM zotero_items WHERE item_id = ?", [paper_id]).fetchone()[0]
    library.execute("UPDATE items SET summary = 'Now with more GPUs.' WHERE id = ?", [paper_id])
    library.conn.commit()
    fake.edit_after_next_fetch(key, extra="Citation Key: karpathy2022nanogpt\nuser note")
    before = len(fake.requests)
    report = do_push(library, fake, clock)
    statuses = [(r["method"], r["headers"].get("if-unmodified-since-version")) for r in fake.requests[before + 1:]]
    # The item: 412, then fetched again and written; then its child note, whose summary changed too.
    assert statuses == [("GET", None), ("POST", "2"), ("GET", None), ("POST", "3"), ("GET", None), ("POST", "4")]
    assert (report.updated, report.notes_updated, report.failed) == (1, 1, [])
    data = fake.items[key]["data"]
    assert data["abstractNote"] == "Now with more GPUs." and data["extra"].endswith("user note")


def test_items_deleted_in_zotero_are_not_recreated(library, fake, clock):
    do_push(library, fake, clock)
    paper_id = item_id_for("https://doi.org/10.1109/cvpr.2016.90")
    key = library.execute("SELECT zotero_key FROM zotero_items WHERE item_id = ?", [paper_id]).fetchone()[0]
    fake.delete(key)
    library.execute("UPDATE items SET title = 'ResNet' WHERE id = ?", [paper_id])
    library.conn.commit()
    report = do_push(library, fake, clock)
    assert report.skipped == ["he2016deep: deleted from Zotero; not recreated"]
    assert len(fake.top_items()) == 15


def test_rate_limits_retry_after_and_backoff(library, fake, clock):
    fake.fail_next(429, {"Retry-After": "7"}, method="POST")
    fake.fail_next(503, method="POST")  # no Retry-After: exponential wait
    report = do_push(library, fake, clock, kind="repo")
    assert report.created == 2
    assert clock.sleeps[:2] == [7.0, 4.0]
    # The retried create reused its write token (no double create), and nothing was duplicated.
    assert len(fake.top_items()) == 2
    fake.backoff_next(30)
    library.execute("UPDATE items SET title = 'nanoGPT!' WHERE repo = 'karpathy/nanogpt'")
    library.conn.commit()
    do_push(library, fake, clock, kind="repo")
    assert clock.sleeps[-1] == 30.0  # the request after the Backoff header waited


def test_retry_after_beyond_the_limit_stops_cleanly(library, fake, clock):
    fake.fail_next(429, {"Retry-After": "3600"})
    with pytest.raises(ZoteroError, match="Zotero asks to wait 3600 s"):
        do_push(library, fake, clock)
    assert library.execute("SELECT COUNT(*) FROM zotero_items").fetchone()[0] == 0


def test_bad_api_key(library, fake, clock):
    with ZoteroClient(fake.url, "wrong", LIBRARY, sleep=clock.sleep, clock=clock) as client:
        with pytest.raises(ZoteroError, match="users/12345: the API key is not valid or cannot write to this library"):
            push(library, client, select_items(library))


# ------------------------------------------------------------------ the command


def cli_run(db_path, *args, env=None):
    return CliRunner().invoke(cli, ["zotero", "push", "--db", str(db_path), *args], env=env or {})


def test_dry_run_lists_what_would_happen(library, db_path, fake, clock):
    result = cli_run(db_path, "--library-id", "12345", "--kind", "repo", "--dry-run")
    assert result.exit_code == 0
    assert result.output == (
        "create     computerProgram  huggingface2018transformers  Transformers: State-of-the-art Machine Learning for Pytorch, TensorFlow, and JAX\n"
        "create     computerProgram  karpathy2022nanogpt  nanoGPT\n"
        "Dry run: 2 to create, 0 to update, 0 unchanged in users/12345.\n"
    )
    do_push(library, fake, clock, kind="repo")
    library.execute("UPDATE items SET title = 'nanoGPT 2' WHERE repo = 'karpathy/nanogpt'")
    library.conn.commit()
    result = cli_run(db_path, "--library-id", "12345", "--kind", "repo", "--dry-run")
    assert result.output.splitlines() == [
        "unchanged  computerProgram  huggingface2018transformers  Transformers: State-of-the-art Machine Learning for Pytorch, TensorFlow, and JAX",
        "update     computerProgram  karpathy2022nanogpt  nanoGPT 2 (title)",
        "Dry run: 0 to create, 1 to update, 1 unchanged in users/12345.",
    ]
    assert len(fake.requests) == 3  # the push's key check, items and note; the dry runs sent nothing


REPOS = (("computerProgram  huggingface2018transformers  Transformers: State-of-the-art Machine Learning for Pytorch,"
          " TensorFlow, and JAX"), "computerProgram  karpathy2022nanogpt  nanoGPT")


@pytest.mark.parametrize(
    "pushed_before, existing, action, changed, would_create, counts",
    [
        (None, False, "create   ", "", True, (2, 0, 0)),
        ([], False, "update   ", " (collections)", True, (0, 2, 0)),
        ([], True, "update   ", " (collections)", False, (0, 2, 0)),
        (["--collection", "Thesis"], True, "unchanged", "", False, (0, 0, 2)),
    ],
    ids=["new-items-new-collection", "pushed-new-collection", "pushed-not-in-the-collection", "pushed-into-it"],
)
def test_a_dry_run_into_a_collection_says_what_the_push_does(library, db_path, fake, pushed_before, existing, action,
                                                             changed, would_create, counts):
    """The dry run left collections out: '0 to update, 5 unchanged' where the push created the collection and
    updated every item to put it there."""
    env = {**PUSH_ENV, "READINGLIST_ZOTERO_API": fake.url}
    if pushed_before is not None:
        assert cli_run(db_path, "--library-id", "12345", "--kind", "repo", *pushed_before, env=env).exit_code == 0
    if existing and not fake.collections:
        fake.collections["THESIS01"] = {"key": "THESIS01", "version": 1,
                                        "data": {"key": "THESIS01", "name": "Thesis", "parentCollection": False}}
    requests = len(fake.requests)
    dry = cli_run(db_path, "--library-id", "12345", "--kind", "repo", "--collection", "Thesis", "--dry-run", env=env)
    create, update, unchanged = counts
    assert (dry.exit_code, dry.output) == (0, "".join(
        [f"{action}  {repo}{changed}\n" for repo in REPOS]
        + ["Would create collection 'Thesis'.\n"] * would_create
        + [f"Dry run into collection 'Thesis': {create} to create, {update} to update, {unchanged} unchanged in users/12345.\n"]
    ))
    assert {r["method"] for r in fake.requests[requests:]} == {"GET"}
    pushed = cli_run(db_path, "--library-id", "12345", "--kind", "repo", "--collection", "Thesis", env=env)
    assert (pushed.exit_code, pushed.output) == (0, "".join(
        ["Created collection 'Thesis'.\n"] * would_create
        + [f"Zotero users/12345: {create} created, {update} updated, {unchanged} unchanged, 0 skipped, 0 failed.\n"]
    ))


@pytest.mark.parametrize(
    "env, message",
    [({"ZOTERO_API_KEY": ""}, "ZOTERO_API_KEY: not set (create a key with write access at https://www.zotero.org/settings/keys)"),
     ({"ZOTERO_API_KEY": "revoked"}, "users/12345: the API key is not valid or cannot write to this library (HTTP 403)")],
    ids=["no-key", "revoked-key"],
)
def test_a_dry_run_into_a_collection_needs_the_key_the_push_needs(library, db_path, fake, env, message):
    result = cli_run(db_path, "--library-id", "12345", "--collection", "Thesis", "--dry-run",
                     env={**PUSH_ENV, "READINGLIST_ZOTERO_API": fake.url, **env})
    assert (result.exit_code, result.output) == (1, f"Error: {message}\n")
    assert fake.writes() == []


@pytest.mark.parametrize("channel", ["--channel", "-c"])
@pytest.mark.parametrize("typed", ["ai_notes", "@AI_Notes", "t.me/ai_notes"])
def test_channel_picks_the_items_to_push_as_in_export(library, db_path, fake, channel, typed):
    """-c is --channel here too (as in list, next and export); --collection has no short flag."""
    result = cli_run(db_path, "--library-id", "12345", channel, typed, "--collection", "Notes", "--dry-run",
                     env={**PUSH_ENV, "READINGLIST_ZOTERO_API": fake.url})
    assert (result.exit_code, result.output) == (0, (
        "create     webpage          exampleorg2023  https://example.org/some_page?id=5&ref=a%20b#frag\n"
        "create     preprint         vaswani2017attention  Attention Is All You Need\n"
        "Would create collection 'Notes'.\n"
        "Dry run into collection 'Notes': 2 to create, 0 to update, 0 unchanged in users/12345.\n"
    ))
    assert [r["method"] for r in fake.requests] == ["GET", "GET"]  # the key and the collections: read, not written


@pytest.mark.parametrize("dry_run", [["--dry-run", "-q"], ["--dry-run"], []], ids=["quiet-dry-run", "dry-run", "push"])
@pytest.mark.parametrize(
    "config, env, message",
    [
        ('[fetch]\nconcurrency = "16"\n', {}, "CONFIG: concurrency: expected an integer >= 1, got '16'"),
        ("", {"READINGLIST_ZOTERO_API": "ftp://nope"}, "READINGLIST_ZOTERO_API: expected an http or https URL, got 'ftp://nope'"),
    ],
    ids=["config-value", "env-zotero-api"],
)
@pytest.mark.parametrize("database", ["library", "missing"])
def test_bad_settings_stop_every_push_before_any_work(library, db_path, tmp_path, fake, dry_run, config, env, message,
                                                       database):
    """The dry run (how a cron job's options are tested) passed settings the push then refused; they come first."""
    path = tmp_path / "config.toml"
    path.write_text(config, encoding="utf-8")
    target = db_path if database == "library" else tmp_path / "missing.db"
    result = cli_run(target, "--library-id", "12345", "--config", str(path), *dry_run,
                     env={"ZOTERO_API_KEY": fake.api_key, **env})
    assert (result.exit_code, result.output) == (1, f"Error: {message.replace('CONFIG', str(path))}\n")
    assert fake.requests == []
    assert not (tmp_path / "missing.db").exists()


@pytest.mark.parametrize("quiet", ["-q", "--quiet"])
def test_a_quiet_dry_run_only_checks(library, db_path, fake, quiet):
    """--quiet is for cron: nothing but errors, also in a dry run."""
    result = cli_run(db_path, "--library-id", "12345", "--dry-run", quiet)
    assert (result.exit_code, result.output) == (0, "")
    assert cli_run(db_path, "--library-id", "me", "--dry-run", quiet).output == (
        "Error: --library-id: 'me' is not a Zotero library ID (digits)\n")
    assert fake.requests == []


@pytest.mark.parametrize(
    "quiet, stdout, stderr",
    [
        ([], "Zotero users/12345: 0 created, 0 updated, 15 unchanged, 1 skipped, 0 failed.\n",
         "Skipped he2016deep: deleted from Zotero; not recreated\n"),
        (["--quiet"], "", ""),
    ],
)
def test_quiet_leaves_out_items_deleted_in_zotero(library, db_path, fake, clock, quiet, stdout, stderr):
    do_push(library, fake, clock)
    paper_id = item_id_for("https://doi.org/10.1109/cvpr.2016.90")
    fake.delete(library.execute("SELECT zotero_key FROM zotero_items WHERE item_id = ?", [paper_id]).fetchone()[0])
    library.execute("UPDATE items SET title = 'ResNet' WHERE id = ?", [paper_id])  # so the push sends it
    library.conn.commit()
    result = cli_run(db_path, "--library-id", "12345", *quiet, env={**PUSH_ENV, "READINGLIST_ZOTERO_API": fake.url})
    assert (result.exit_code, result.stdout, result.stderr) == (0, stdout, stderr)


def test_push_command(library, db_path, fake):
    env = {"ZOTERO_API_KEY": "secret-key", "READINGLIST_ZOTERO_API": fake.url, "READINGLIST_CONFIG": ""}
    result = cli_run(db_path, "--library-id", "12345", "--collection", "ML", "--kind", "paper", env=env)
    assert result.exit_code == 0, result.output
    assert result.output == (
        "Created collection 'ML'.\n"
        "Zotero users/12345: 6 created, 0 updated, 0 unchanged, 0 skipped, 0 failed.\n"
    )
    again = cli_run(db_path, "--library-id", "12345", "--collection", "ML", "--kind", "paper", env=env)
    assert again.output == "Zotero users/12345: 0 created, 0 updated, 6 unchanged, 0 skipped, 0 failed.\n"


@pytest.mark.parametrize(
    "args, env, message",
    [
        (["--library-id", "12345"], {}, "Error: ZOTERO_API_KEY: not set (create a key with write access at https://www.zotero.org/settings/keys)\n"),
        (["--library-id", "me"], {"ZOTERO_API_KEY": "k"}, "Error: --library-id: 'me' is not a Zotero library ID (digits)\n"),
    ],
)
def test_user_errors(library, db_path, args, env, message):
    result = cli_run(db_path, *args, env={"ZOTERO_API_KEY": "", **env})
    assert result.exit_code == 1
    assert result.output == message


def test_wrong_key_is_one_error_line(library, db_path, fake):
    env = {"ZOTERO_API_KEY": "nope", "READINGLIST_ZOTERO_API": fake.url, "READINGLIST_CONFIG": ""}
    result = cli_run(db_path, "--library-id", "12345", env=env)
    assert result.exit_code == 1
    assert result.output == "Error: users/12345: the API key is not valid or cannot write to this library (HTTP 403)\n"


NO_WRITE = "Error: users/12345: the API key cannot write to this library (allow it at https://www.zotero.org/settings/keys)\n"


@pytest.mark.parametrize(
    "key, user_id, access, message",
    [
        ("revoked", 12345, None, "Error: users/12345: the API key is not valid or cannot write to this library (HTTP 403)\n"),
        ("secret-key", 12345, {"user": {"library": True, "notes": True, "write": False}}, NO_WRITE),
        ("secret-key", 12345, {"groups": {"all": {"library": True, "write": True}}}, NO_WRITE),
        ("secret-key", 999, None, "Error: users/12345: the API key belongs to user 999, not to this library\n"),
    ],
    ids=["revoked", "read-only", "groups-only", "another-users"],
)
def test_a_key_that_cannot_write_stops_a_push_that_has_nothing_to_send(library, db_path, fake, key, user_id, access,
                                                                       message):
    """With nothing changed the push sent no request, and a revoked key was reported as '5 unchanged', exit 0."""
    env = {**PUSH_ENV, "READINGLIST_ZOTERO_API": fake.url}
    assert cli_run(db_path, "--library-id", "12345", "--kind", "repo", env=env).exit_code == 0
    fake.user_id, fake.key_access = user_id, access or fake.key_access
    writes = len(fake.writes())
    result = cli_run(db_path, "--library-id", "12345", "--kind", "repo", env={**env, "ZOTERO_API_KEY": key})
    assert (result.exit_code, result.output) == (1, message)
    assert len(fake.writes()) == writes


@pytest.mark.parametrize(
    "groups, allowed",
    [({"98765": {"library": True, "write": True}}, True), ({"all": {"library": True, "write": True}}, True),
     ({"98765": {"library": True, "write": False}}, False), ({"11111": {"library": True, "write": True}}, False), ({}, False)],
)
def test_a_group_library_needs_a_key_that_can_write_to_the_group(clock, groups, allowed):
    server = FakeZotero(library="groups/98765").start()
    server.key_access = {"user": {"library": True, "write": True}, "groups": groups}
    try:
        with ZoteroClient(server.url, server.api_key, Library("group", "98765"), sleep=clock.sleep, clock=clock) as client:
            if allowed:
                client.check_access()
            else:
                with pytest.raises(ZoteroError, match="^groups/98765: the API key cannot write to this library"):
                    client.check_access()
    finally:
        server.stop()
    assert server.violations == []


@pytest.mark.parametrize(
    "key, reason",
    [("kéy", "it holds a non-ASCII character"), ("secret\nkey", "it holds a line break"), ("sec ret", "it holds a space")],
)
def test_a_malformed_key_is_one_error_line_that_does_not_show_it(library, db_path, fake, key, reason):
    # A non-ASCII key crashed the push with a UnicodeEncodeError traceback.
    env = {"ZOTERO_API_KEY": key, "READINGLIST_ZOTERO_API": fake.url, "READINGLIST_CONFIG": ""}
    result = cli_run(db_path, "--library-id", "12345", env=env)
    assert (result.exit_code, result.output) == (1, f"Error: ZOTERO_API_KEY: not a valid token ({reason})\n")
    assert fake.requests == []


PUSH_ENV = {"ZOTERO_API_KEY": "secret-key", "READINGLIST_CONFIG": ""}


@pytest.mark.parametrize("filters", [[], ["--kind", "paper"], ["--status", "read"], ["--tag", "transformers"]])
def test_dry_run_after_a_push_has_nothing_to_do(library, db_path, fake, filters):
    # The dry run built notes without the "Mentioned in Telegram" section and saw every mentioned item's note as changed.
    pushed = cli_run(db_path, "--library-id", "12345", *filters, env={**PUSH_ENV, "READINGLIST_ZOTERO_API": fake.url})
    assert pushed.exit_code == 0, pushed.output
    lines = cli_run(db_path, "--library-id", "12345", *filters, "--dry-run").output.splitlines()
    assert [line.split()[0] for line in lines[:-1]] == ["unchanged"] * (len(lines) - 1)
    assert lines[-1] == f"Dry run: 0 to create, 0 to update, {len(lines) - 1} unchanged in users/12345."


@pytest.mark.parametrize(
    "url, note_written",
    [("https://arxiv.org/abs/1706.03762", "notes_updated"), ("https://example.net/bare", "notes_created")],
)
def test_a_change_to_the_note_alone_counts_as_an_update(library, db_path, fake, clock, url, note_written):
    assert cli_run(db_path, "--library-id", "12345", env={**PUSH_ENV, "READINGLIST_ZOTERO_API": fake.url}).exit_code == 0
    assert CliRunner().invoke(cli, ["note", "--db", str(db_path), url, "read section 3 first"]).exit_code == 0
    dry = cli_run(db_path, "--library-id", "12345", "--dry-run").output.splitlines()
    assert [line.split()[0] for line in dry[:-1]].count("update") == 1
    assert dry[-1] == "Dry run: 0 to create, 1 to update, 15 unchanged in users/12345."
    report = do_push(library, fake, clock)
    assert getattr(report, note_written) == 1
    assert report.summary() == "Zotero users/12345: 0 created, 1 updated, 15 unchanged, 0 skipped, 0 failed."
    notes = [item for item in fake.items.values() if item["data"]["itemType"] == "note"]
    assert sum("read section 3 first" in note["data"]["note"] for note in notes) == 1
    assert do_push(library, fake, clock).summary() == "Zotero users/12345: 0 created, 0 updated, 16 unchanged, 0 skipped, 0 failed."


@pytest.mark.parametrize(
    "user_type, item_type, journal",
    [(None, "journalArticle", "Nature"), ("book", "book", None)],
    ids=["ours: sent with the new type's fields", "the user's: kept, common fields only"],
)
def test_an_item_whose_type_changed_since_the_last_push_is_updated(library, fake, clock, user_type, item_type, journal):
    """A preprint later published in a journal (its DOI's Crossref record merged in) changes type."""
    do_push(library, fake, clock)
    paper_id = item_id_for("https://arxiv.org/abs/1706.03762")
    key = library.execute("SELECT zotero_key FROM zotero_items WHERE item_id = ?", [paper_id]).fetchone()[0]
    assert fake.items[key]["data"]["itemType"] == "preprint"
    if user_type:
        fake.edit(key, itemType=user_type)
    library.execute(
        "UPDATE items SET title = 'Attention (journal)', meta = json_set(COALESCE(meta, '{}'), '$.container', 'Nature') WHERE id = ?",
        [paper_id],
    )
    library.conn.commit()
    report = do_push(library, fake, clock)
    assert (report.updated, report.failed, fake.violations) == (1, [], [])
    data = fake.items[key]["data"]
    assert (data["itemType"], data["title"], data.get("publicationTitle"), data.get("repository")) == (
        item_type, "Attention (journal)", journal, None
    )
