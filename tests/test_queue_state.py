"""Item lookup and state changes: read, unread, archive, skip, priority, tag, note."""

import json
from pathlib import Path

from queue_fixtures import builder, db_path, run  # noqa: F401
from readinglist.db import open_db
from readinglist.state import AmbiguousItem, ItemNotFound, resolve_item

import pytest


@pytest.fixture
def paper(builder):
    item_id = builder.item("https://arxiv.org/abs/1706.03762", "paper", "Attention Is All You Need")
    builder.mention(item_id, "ML заметки", 2, "Разбор статьи")
    return item_id


def events(db_path):
    return [tuple(row) for row in open_db(db_path).execute("SELECT item_id, action, value FROM events ORDER BY id")]


def test_resolve_by_id_prefix_and_url_variants(builder, paper):
    db = builder.db
    for ref in (paper, paper[:4], paper.upper(), "arxiv.org/pdf/1706.03762v2", "http://www.arxiv.org/abs/1706.03762v5",
                "https://arxiv.org/abs/1706.03762"):
        assert resolve_item(db, ref).id == paper, ref
    with pytest.raises(ItemNotFound):
        resolve_item(db, paper[:3])  # too short for a prefix
    with pytest.raises(ItemNotFound):
        resolve_item(db, "github.com/nobody/nothing")


@pytest.mark.parametrize(
    "ref, message",
    [
        ("SHORT", "'SHORT' is too short for an id prefix (it needs 4+ characters)"),
        ("a", "'a' is too short for an id prefix (it needs 4+ characters)"),
        ("0z", "no item matches '0z'"),
        ("0000", "no item matches '0000'"),
    ],
)
@pytest.mark.parametrize("command", ["read", "show"])
def test_a_prefix_under_four_characters_is_too_short(builder, paper, db_path, ref, message, command):
    """A 3-character prefix of a listed item said 'no item matches', as if there were none."""
    ref = paper[:3] if ref == "SHORT" else ref
    result = run(command, "--db", db_path, ref)
    assert (result.exit_code, result.output) == (1, f"Error: {message.replace('SHORT', ref)}\n")
    assert events(db_path) == []


def test_ambiguous_prefix(builder):
    ids = sorted(builder.item(f"https://example.org/{n}") for n in range(400))
    prefix = next(ids[i][:4] for i in range(len(ids) - 1) if ids[i][:4] == ids[i + 1][:4])
    matching = [i for i in ids if i.startswith(prefix)]
    with pytest.raises(AmbiguousItem):
        resolve_item(builder.db, prefix)
    result = run("read", "--db", builder.path, prefix)
    assert result.exit_code == 1
    shown = ", ".join(matching[:3]) + (", ..." if len(matching) > 3 else "")
    assert result.output == f"Error: '{prefix}' is ambiguous: matches {len(matching)} items ({shown})\n"


def test_read_unread_archive(builder, paper, db_path):
    result = run("read", "--db", db_path, paper[:6])
    assert (result.exit_code, result.output) == (0, f"Marked read: {paper} Attention Is All You Need\n")
    row = open_db(db_path)["items"].get(paper)
    assert row["status"] == "read" and row["read_at"]
    result = run("unread", "--db", db_path, "arxiv.org/pdf/1706.03762v2")
    assert result.output == f"Marked unread: {paper} Attention Is All You Need\n"
    assert open_db(db_path)["items"].get(paper)["read_at"] is None
    assert run("archive", "--db", db_path, paper).output == f"Archived: {paper} Attention Is All You Need\n"
    assert open_db(db_path)["items"].get(paper)["status"] == "archived"
    assert events(db_path) == [(paper, "read", None), (paper, "unread", None), (paper, "archive", None)]


def test_unknown_id_changes_nothing(builder, paper, db_path):
    result = run("read", "--db", db_path, paper, "zzzz")
    assert (result.exit_code, result.output) == (1, "Error: no item matches 'zzzz'\n")
    assert open_db(db_path)["items"].get(paper)["status"] == "unread"
    assert events(db_path) == []


def test_skip_priority_note_tag(builder, paper, db_path):
    result = run("skip", "--db", db_path, paper, "--until", "2999-01-02")
    assert result.output == f"Snoozed until 2999-01-02: {paper} Attention Is All You Need\n"
    assert run("next", "--db", db_path).output.startswith("Nothing to read")
    assert run("skip", "--db", db_path, paper, "--until", "2000-01-01").exit_code == 1
    assert run("skip", "--db", db_path, paper, "--until", "someday").output == (
        "Error: invalid date 'someday' (use YYYY-MM-DD, tomorrow, +N or +N days)\n"
    )
    assert run("priority", "--db", db_path, paper, "high").output == f"Priority high: {paper} Attention Is All You Need\n"
    assert run("note", "--db", db_path, paper, "section 3").output == f"Note saved: {paper} Attention Is All You Need\n"
    result = run("tag", "--db", db_path, paper, "+llm", "+to-try")
    assert (result.exit_code, result.output) == (0, f"Tags [llm, to-try]: {paper} Attention Is All You Need\n")
    assert run("tag", "--db", db_path, paper, "-to-try").output == f"Tags [llm]: {paper} Attention Is All You Need\n"
    row = open_db(db_path)["items"].get(paper)
    assert (row["priority"], row["note"], json.loads(row["tags"]), row["snoozed_until"]) == (
        "high", "section 3", ["llm"], "2999-01-02"
    )
    assert [e[1:] for e in events(db_path)] == [
        ("skip", "2999-01-02"), ("priority", "high"), ("note", "section 3"),
        ("tag", "+llm"), ("tag", "+to-try"), ("tag", "-to-try"),
    ]


@pytest.mark.parametrize(
    "stored, changes, after, logged",
    [
        (["llm"], ["-LLM"], [], ["-LLM"]),                                   # a hashtag is stored case-folded
        (["llm"], ["-#llm"], [], ["-#llm"]),
        (["распределённое_обучение"], ["-распределенное_обучение"], [], ["-распределенное_обучение"]),
        (["llm"], ["+LLM"], ["llm"], []),                                     # the same tag: nothing new, nothing logged
        ([], ["+LLM", "+llm", "+#Llm"], ["LLM"], ["+LLM"]),                   # one tag, however often given
        (["llm", "Papers"], ["-papers", "+rag"], ["llm", "rag"], ["-papers", "+rag"]),
        (["llm"], ["-llama"], ["llm"], []),                                   # not there: nothing to remove
        (["llm"], ["-llm", "-LLM"], [], ["-llm"]),
    ],
)
def test_a_tag_change_names_the_tag_in_any_spelling(builder, paper, db_path, stored, changes, after, logged):
    builder.db.execute("UPDATE items SET tags = ? WHERE id = ?", [json.dumps(stored, ensure_ascii=False), paper])
    builder.db.conn.commit()
    result = run("tag", "--db", db_path, paper, *changes)
    assert (result.exit_code, result.output) == (0, f"Tags [{', '.join(after)}]: {paper} Attention Is All You Need\n")
    assert [value for _, action, value in events(db_path) if action == "tag"] == logged


@pytest.mark.parametrize(
    "changes, message",
    [
        # `tag` takes one item: a second one given as to `read` was added as a tag named after it.
        (["{other}", "+llm"], "'{other}' is no tag change: tag takes one item, then +tag or -tag (+{other} adds it as a tag)"),
        (["llm"], "'llm' is no tag change: tag takes one item, then +tag or -tag (+llm adds it as a tag)"),
        (["#llm"], "'#llm' is no tag change: tag takes one item, then +tag or -tag (+#llm adds it as a tag)"),
        (["+"], "invalid tag '+' (use +tag or -tag)"),
        (["+#"], "invalid tag '+#' (use +tag or -tag)"),
        (["--x"], "invalid tag '--x' (use +tag or -tag)"),
    ],
)
def test_a_tag_change_needs_its_sign(builder, paper, db_path, changes, message):
    other = builder.item("https://example.com/p314", "article", "Other")
    args = [change.format(other=other) for change in changes]
    result = run("tag", "--db", db_path, paper, *args)
    assert (result.exit_code, result.output) == (1, f"Error: {message.format(other=other)}\n")
    assert [json.loads(row[0]) for row in open_db(db_path).execute("SELECT tags FROM items ORDER BY id")] == [[], []]
    assert events(db_path) == []


@pytest.mark.parametrize(
    "until, days",
    [("tomorrow", 1), ("+3", 3), ("+3d", 3), ("+3 days", 3), ("+1 day", 1), ("+10days", 10), (" +2 Days ", 2)],
)
def test_skip_until_a_number_of_days(builder, paper, db_path, until, days):
    """--help says "+N days": it was refused, only +N and +Nd were read."""
    from datetime import date, timedelta

    day = (date.today() + timedelta(days=days)).isoformat()
    result = run("skip", "--db", db_path, paper, "--until", until)
    assert (result.exit_code, result.output) == (0, f"Snoozed until {day}: {paper} Attention Is All You Need\n")


@pytest.mark.parametrize("until", ["+3 weeks", "3 days", "+ days", "-3", "+3 dayss"])
def test_skip_until_something_else_lists_the_forms(builder, paper, db_path, until):
    result = run("skip", "--db", db_path, paper, "--until", until)
    assert (result.exit_code, result.output) == (
        1, f"Error: invalid date '{until}' (use YYYY-MM-DD, tomorrow, +N or +N days)\n")
    assert events(db_path) == []


def _skip_examples() -> list[str]:
    """The --until values of the examples in ``skip --help``."""
    import re

    return re.findall(r"readinglist skip .*--until (\S+|\"[^\"]*\")", run("skip", "--help").output)


@pytest.mark.parametrize("until", _skip_examples())
def test_the_examples_of_skip_help_work(builder, paper, db_path, until):
    """The example's --until 2025-01-31 was refused once that day had passed."""
    result = run("skip", "--db", db_path, paper, "--until", until.strip('"'))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Snoozed until ")


def test_skip_help_has_examples_of_until():
    assert len(_skip_examples()) == 3


@pytest.mark.parametrize("until", ["+99999999", "+2920000d", "+" + "9" * 30])
def test_skip_past_the_last_day_is_one_error_line(builder, paper, db_path, until):
    result = run("skip", "--db", db_path, paper, "--until", until)
    assert (result.exit_code, result.output) == (1, f"Error: invalid date '{until}' (the last day is 9999-12-31)\n")
    assert events(db_path) == []


def test_show_has_mentions_and_history(builder, paper, db_path):
    run("read", "--db", db_path, paper)
    result = run("show", "--db", db_path, paper, "--json")
    data = json.loads(result.output)
    assert data["status"] == "read"
    assert [m["context"] for m in data["mentions"]] == ["Разбор статьи"]
    assert [e["action"] for e in data["history"]] == ["read"]
    plain = run("show", "--db", db_path, paper).output
    assert "mentions (1):\n  - ML заметки, " in plain and "history (1):" in plain
    assert run("show", "--db", db_path, "nope").output == "Error: no item matches 'nope'\n"


@pytest.mark.parametrize("column", ["summary", "note", "title"])
def test_show_prints_each_field_on_one_line(builder, paper, db_path, column):
    # A page's own line breaks printed as they were let web text add lines that read as fields.
    builder.db.execute(f"UPDATE items SET {column} = ? WHERE id = ?", ["First line.\nstatus: read\n\n  Third.", paper])
    builder.db.conn.commit()
    lines = run("show", "--db", db_path, paper).output.splitlines()
    assert f"{column}: First line. status: read Third." in lines
    assert [line for line in lines if line.startswith("status: ")] == ["status: unread"]


@pytest.mark.parametrize(
    "gives_it_twice",
    ["PDF: https://arxiv.org/pdf/2405.14852v2 и страница https://arxiv.org/abs/2405.14852",
     "Статья arXiv:2405.14852, она же https://arxiv.org/abs/2405.14852"],
)
def test_a_post_that_gives_an_item_twice_is_one_mention(tmp_path, gives_it_twice):
    # Two mention rows (one per URL as written), one post: show, next and Zotero notes list it once.
    from readinglist.export import select_items

    db_path = str(tmp_path / "twice.db")
    dump = f"Chan\n1 subscribers\nDownload Telegram\n{gives_it_twice}\n👍1\nЕщё раз https://arxiv.org/abs/2405.14852\n👍1\n"
    assert run("harvest", "-", "--db", db_path, "-q", input=dump).exit_code == 0
    assert open_db(db_path).execute("SELECT COUNT(*), COUNT(DISTINCT post_id) FROM mentions").fetchone() == (3, 2)
    # The dump's posts are undated: listed in the order of their ids.
    contexts = sorted(["Ещё раз https://arxiv.org/abs/2405.14852", gives_it_twice])
    shown = run("show", "--db", db_path, "arxiv.org/abs/2405.14852").output
    listed = shown.split("mentions (2):\n", 1)[1].split("history (0):\n")[0]
    assert sorted(listed.splitlines()) == [f"  - Chan: {context}" for context in contexts]
    queued = run("next", "--db", db_path).output
    assert sorted(line for line in queued.splitlines() if line.startswith("   - ")) == [f"   - Chan: {context}" for context in contexts]
    (record,) = select_items(open_db(db_path), with_mentions=True)
    assert sorted(mention.text for mention in record.mentions) == contexts


@pytest.mark.parametrize(
    "args, shown, header",
    [((), 20, "mentions (latest 20 of 25):"), (("--mentions", "3"), 3, "mentions (latest 3 of 25):"),
     (("--mentions", "0"), 25, "mentions (25):")],
)
def test_show_pages_mentions_latest_first(builder, paper, db_path, args, shown, header):
    for day in range(24):
        builder.mention(paper, f"chan{day}", day + 3, f"context {day}")
    data = json.loads(run("show", "--db", db_path, paper, "--json", *args).output)
    assert data["mention_count"] == 25
    assert len(data["mentions"]) == shown
    dates = [m["date"] for m in data["mentions"]]
    assert dates == sorted(dates, reverse=True)
    assert data["mentions"][0]["context"] == "Разбор статьи"  # 2 days ago: the latest
    assert header in run("show", "--db", db_path, paper, *args).output


def test_add_manual(db_path):
    result = run("add", "--db", db_path, "arxiv.org/pdf/2401.12345v2", "--note", "from a talk")
    assert result.exit_code == 0
    item_id = result.output.split()[1]
    assert result.output == f"Added: {item_id} https://arxiv.org/abs/2401.12345\n"
    assert run("add", "--db", db_path, "https://arxiv.org/abs/2401.12345").output.startswith("Already listed: ")
    db = open_db(db_path)
    assert db.execute("SELECT COUNT(*) FROM posts WHERE source = 'manual'").fetchone()[0] == 1
    assert db["items"].get(item_id)["mention_posts"] == 1
    assert run("add", "--db", db_path, "not a url").exit_code == 1


@pytest.mark.parametrize(
    "first_note, set_note, again, output, note",
    [
        # A note written with `note` survives a later `add --note`: the new one goes below it.
        (None, "read section 3 first", "recommended at the meetup", "Already listed (note added to its note)",
         "read section 3 first\nrecommended at the meetup"),
        ("from a talk", None, "recommended at the meetup", "Already listed (note added to its note)",
         "from a talk\nrecommended at the meetup"),
        ("from a talk", None, "from a talk", "Already listed", "from a talk"),  # said again: once
        ("from a talk", None, None, "Already listed", "from a talk"),
        (None, None, "recommended at the meetup", "Already listed (note added to its note)", "recommended at the meetup"),
    ],
)
def test_add_with_a_note_to_an_item_already_listed_keeps_its_note(db_path, first_note, set_note, again, output, note):
    first = run("add", "--db", db_path, "arxiv.org/abs/1706.03762", *(["--note", first_note] if first_note else []))
    item_id = first.output.split()[1]
    if set_note:
        run("note", "--db", db_path, item_id, set_note)
    result = run("add", "--db", db_path, "https://arxiv.org/pdf/1706.03762v5", *(["--note", again] if again else []))
    assert (result.exit_code, result.output) == (0, f"{output}: {item_id} https://arxiv.org/abs/1706.03762\n")
    assert open_db(db_path)["items"].get(item_id)["note"] == note
    noted = [value for _, action, value in events(db_path) if action == "note"]
    assert noted == [v for v in (set_note, note if output.endswith("its note)") else None) if v]


@pytest.mark.parametrize(
    "added, posts",
    [
        ("https://github.com/new/name", 2),  # the URL a renamed repo took
        ("github.com/old/name", 1),  # the URL it had (the same manual post)
        ("doi.org/10.5555/3295222.3295349", 2),  # a URL merged into it
    ],
)
def test_add_finds_the_item_a_url_was_renamed_or_merged_into(db_path, added, posts):
    """The item keeps the id of its first URL: adding another of its URLs made a second item, or failed (UNIQUE items.url)."""
    created = run("add", "--db", db_path, "https://github.com/old/name").output.split()[1]
    db = open_db(db_path)
    db.execute("UPDATE items SET url = 'https://github.com/new/name', repo = 'new/name'")
    db.conn.executemany(
        "INSERT INTO aliases(url, item_id, added_at) VALUES (?, ?, '2026-01-01')",
        [("https://github.com/old/name", created), ("https://doi.org/10.5555/3295222.3295349", created)],
    )
    db.conn.commit()
    result = run("add", "--db", db_path, added)
    assert (result.exit_code, result.output) == (0, f"Already listed: {created} https://github.com/new/name\n")
    assert db.execute("SELECT id, mention_posts FROM items").fetchall() == [(created, posts)]


@pytest.mark.parametrize(
    "text",
    ["mailto:authors@arxiv.org", "someone@huggingface.co", "mailto:a@b.example?subject=paper",
     "someone@huggingface.co/path", "tel:+123", "javascript:alert(1)"],
)
def test_add_refuses_what_is_no_web_link(db_path, text):
    """An e-mail address was added as its mail domain's home page (https://arxiv.org/)."""
    result = run("add", "--db", db_path, text)
    assert (result.exit_code, result.output) == (1, f"Error: {text}: not a web link\n")
    assert not Path(db_path).exists()  # nothing added, not even an empty database


@pytest.mark.parametrize(
    "text, url",
    [("example.org:8080/notes", "https://example.org:8080/notes"), ("github.com/a/b@main", "https://github.com/a/b@main"),
     ("https://someone@example.org/page", "https://example.org/page")],
)
def test_add_still_takes_a_bare_host_with_a_port_or_an_at_in_the_path(db_path, text, url):
    result = run("add", "--db", db_path, text)
    assert (result.exit_code, result.output.split()[-1]) == (0, url)
