"""`list` filters, sorting and CSV; the stable JSON fields stay."""

import csv
import io
import json
from datetime import date, timedelta

import pytest

from queue_fixtures import builder, db_path, run  # noqa: F401

STABLE = {"id", "url", "kind", "title", "status", "mentions", "channels", "first_seen", "domain",
          "arxiv_id", "doi", "repo", "hf_id", "added_at"}


@pytest.fixture
def items(builder):
    ids = {}
    ids["a"] = builder.item("https://github.com/x/a", "repo", "Alpha", added_days_ago=3)
    builder.mention(ids["a"], "chan1", 3)
    builder.mention(ids["a"], "chan2", 2)
    ids["b"] = builder.item("https://example.org/b", "article", "beta", added_days_ago=1)
    builder.mention(ids["b"], "chan2", 400)
    return ids


def listed(db_path, *args):
    result = run("list", "--db", db_path, "--json", *args)
    assert result.exit_code == 0, result.output
    return [item["title"] for item in json.loads(result.output)]


def test_fields_are_a_superset(items, db_path):
    (first, _) = json.loads(run("list", "--db", db_path, "--json").output)
    assert set(first) >= STABLE | {"priority", "tags", "score"}


def _commands_with_json_and_csv() -> list[str]:
    from readinglist.cli import cli

    return [name for name, command in cli.commands.items()
            if {"--json", "--csv"} <= {opt for param in command.params for opt in getattr(param, "opts", [])}]


@pytest.mark.parametrize("command", _commands_with_json_and_csv())
@pytest.mark.parametrize("flags", [["--json", "--csv"], ["--csv", "--json"]])
@pytest.mark.parametrize("database", ["items", "missing"])
def test_json_and_csv_together_are_refused(items, db_path, tmp_path, command, flags, database):
    """`list --json --csv` printed JSON as if --csv were not given; it is one error, before the database is opened."""
    from click.testing import CliRunner

    from readinglist.cli import cli

    target = db_path if database == "items" else str(tmp_path / "missing.db")
    result = CliRunner().invoke(cli, [command, *flags, "--db", target], prog_name="readinglist")
    assert (result.exit_code, result.output) == (
        1, f"Error: give --json or --csv, not both (see 'readinglist {command} --help')\n")
    assert not (tmp_path / "missing.db").exists()


def test_only_list_has_json_and_csv():
    assert _commands_with_json_and_csv() == ["list"]


def test_filters(items, db_path):
    assert listed(db_path, "--channel", "chan1") == ["Alpha"]
    assert listed(db_path, "--domain", "example.org") == ["beta"]
    run("tag", "--db", db_path, items["b"], "+later")
    assert listed(db_path, "--tag", "later") == ["beta"]
    month_ago = (date.today() - timedelta(days=30)).isoformat()
    assert listed(db_path, "--since", month_ago) == ["Alpha"]  # beta was first seen 400 days ago
    assert run("list", "--db", db_path, "--since", "yesterday").output == (
        "Error: --since: invalid date 'yesterday' (use YYYY-MM-DD)\n"
    )


@pytest.mark.parametrize("spelling", ["%Y-%m-%d", "%Y%m%d", "%G-W%V-%u"])
def test_since_takes_every_iso_spelling_of_a_date(items, db_path, spelling):
    """20240101 and 2024-W01-1 are dates too: they select what 2024-01-01 does, not nothing."""
    month_ago = (date.today() - timedelta(days=30)).strftime(spelling)
    assert listed(db_path, "--since", month_ago) == ["Alpha"]


SITES = ["https://docs.cohere.ai/docs/intro", "https://пример.рф/статья", "https://github.com/a/b",
         "https://www.bbc.co.uk/news/1", "https://example.org/c"]


@pytest.mark.parametrize(
    "domain, listed_url",
    [
        ("docs.cohere.ai", "https://docs.cohere.ai/docs/intro"),
        ("cohere.ai", "https://docs.cohere.ai/docs/intro"),
        ("Docs.Cohere.AI", "https://docs.cohere.ai/docs/intro"),
        ("пример.рф", "https://xn--e1afmkfd.xn--p1ai/%D1%81%D1%82%D0%B0%D1%82%D1%8C%D1%8F"),
        ("www.ПРИМЕР.рф", "https://xn--e1afmkfd.xn--p1ai/%D1%81%D1%82%D0%B0%D1%82%D1%8C%D1%8F"),
        ("xn--e1afmkfd.xn--p1ai", "https://xn--e1afmkfd.xn--p1ai/%D1%81%D1%82%D0%B0%D1%82%D1%8C%D1%8F"),
        ("www.github.com", "https://github.com/a/b"),
        ("https://github.com/x/y", "https://github.com/a/b"),
        ("news.bbc.co.uk", "https://bbc.co.uk/news/1"),
        ("co.uk", None),
        ("localhost", None),
    ],
)
def test_domain_is_matched_as_items_store_it(db_path, domain, listed_url):
    # Items store the registered domain in ASCII (identify()); the filter compared the value as typed.
    for url in SITES:
        assert run("add", "--db", db_path, url).exit_code == 0
    result = run("list", "--db", db_path, "--json", "--domain", domain)
    assert [item["url"] for item in json.loads(result.output)] == ([listed_url] if listed_url else [])


def test_sorts(items, db_path):
    assert listed(db_path, "--sort", "mentions") == ["Alpha", "beta"]
    assert listed(db_path, "--sort", "added") == ["beta", "Alpha"]
    assert listed(db_path, "--sort", "title") == ["Alpha", "beta"]
    assert listed(db_path, "--sort", "score") == ["Alpha", "beta"]


def test_csv(items, db_path):
    rows = list(csv.DictReader(io.StringIO(run("list", "--db", db_path, "--csv").output)))
    assert [(row["title"], row["channels"]) for row in rows] == [("Alpha", "chan1|chan2"), ("beta", "chan2")]


@pytest.mark.parametrize("title", ['=HYPERLINK("http://evil", "x")', "-2+3", "+1", "@SUM(A1)"])
def test_csv_cells_never_start_a_formula(items, builder, db_path, title):
    # list --csv had no guard at all; it shares the export's, which leaves numbers (a negative score) alone.
    builder.db.execute("UPDATE items SET title = ? WHERE id = ?", [title, items["b"]])
    builder.db.conn.commit()
    rows = {row["id"]: row for row in csv.DictReader(io.StringIO(run("list", "--db", db_path, "--csv").output))}
    assert rows[items["b"]]["title"] == "'" + title
    scores = [row["score"] for row in rows.values()]
    assert any(score.startswith("-") for score in scores) and all(float(score) < 100 for score in scores)


# Text from the web that a terminal would act on: retitle the window, recolour, clear the screen, overwrite the line.
HOSTILE = "\x1b]0;PWNED\x07\x1b[31mRed\x1b[0m"


@pytest.fixture
def hostile(builder):
    item_id = builder.item("https://example.com/x", "article", HOSTILE + " title", summary="Red\x9b2J summary\rover",
                           tags='["t\\u001b[1m"]')
    builder.mention(item_id, "chan\x1b[5m\u202e", 1, "Red context\x08\x08\u2067")
    builder.db.conn.commit()
    return item_id


def _no_controls(output: str, shown: str) -> None:
    from readinglist.render import TERMINAL_CONTROLS

    assert TERMINAL_CONTROLS.findall(output) == [] and shown in output
    assert not set(output) & {"\u202e", "\u2067"}  # bidi controls, which reorder what a terminal shows


@pytest.mark.parametrize(
    "args",
    [["list"], ["next"], ["show", "{id}"], ["search", "red"], ["stats"], ["read", "{id}"], ["tag", "{id}", "+x"],
     ["add", "https://example.com/x"]],
)
def test_plain_output_sends_no_control_characters(hostile, db_path, args):
    result = run(*[arg.format(id=hostile) for arg in args], "--db", db_path)
    assert result.exit_code == 0, result.output
    _no_controls(result.output, "chan[5m" if args == ["stats"] else "Red")


@pytest.mark.parametrize("command", ["list", "next", "show", "search", "stats"])
def test_terminal_output_sends_no_control_characters(hostile, builder, capsys, command):
    from readinglist import cli, queue, render, search

    db = builder.db
    printers = {
        "list": lambda: cli._print_table(queue.list_items(db, queue.ListFilter(status="all"))),
        "next": lambda: render.print_next(queue.next_items(db), True),
        "show": lambda: render.print_show(queue.show_item(db, hostile), True),
        "search": lambda: render.print_search(search.search(db, "red"), True),
        "stats": lambda: render.print_stats(queue.queue_stats(db), True),
    }
    printers[command]()
    _no_controls(capsys.readouterr().out, "chan[5m" if command == "stats" else "Red")


FORGED_CHANNEL = "ML news\n   - FakeChannel, 2024-03-02: forged mention"
FORGED_FORWARD = "Some Channel\n2. https://evil.example/forged-item\n   why: mentioned by 9 channels"


@pytest.mark.parametrize(
    "args, line",
    [
        (["next"], "   - ML news - FakeChannel, 2024-03-02: forged mention (from Some Channel 2. https://evil.example/forged-item"
                   " why: mentioned by 9 channels), 2024-05-31: ctx"),
        (["show", "{id}"], "  - ML news - FakeChannel, 2024-03-02: forged mention (from Some Channel 2. https://evil.example/forged-item"
                           " why: mentioned by 9 channels), 2024-05-31: ctx"),
        (["stats"], "top channels: ML news - FakeChannel, 2024-03-02: forged mention 1"),
    ],
    ids=["next", "show", "stats"],
)
def test_a_stored_name_with_newlines_prints_on_one_line(builder, db_path, args, line):
    # Names written by an older version (a JSON export's chat name and forwarded_from were not collapsed).
    item_id = builder.item("https://example.com/x", "article", "X")
    post_id = builder.mention(item_id, FORGED_CHANNEL, 1, "ctx", forwarded_from=FORGED_FORWARD)
    builder.db.execute("UPDATE posts SET date = '2024-05-31T10:00:00+00:00' WHERE id = ?", [post_id])
    builder.db.conn.commit()
    result = run(*[arg.format(id=item_id) for arg in args], "--db", db_path)
    assert result.exit_code == 0, result.output
    assert line in result.output.splitlines()
    assert not any(text.lstrip().startswith(("- FakeChannel", "2. https://evil", "why: mentioned by 9")) for text in result.output.splitlines())


@pytest.mark.parametrize("count, footer", [(0, "0 items"), (1, "1 item"), (2, "2 items")])
def test_the_list_table_on_a_terminal_counts_its_items(capsys, count, footer):
    from readinglist.cli import _print_table

    _print_table([{"id": f"{n:012x}", "kind": "article", "mentions": 1, "title": None, "url": f"https://example.com/{n}"}
                  for n in range(count)])
    assert capsys.readouterr().out.splitlines()[-1] == footer


@pytest.mark.parametrize(
    "column, typed, stored",
    [
        ("tags", "LLM", "LLM"),  # stored as typed: taken as it is
        ("tags", "Llm", "llm"),  # else equal ignoring case: the spelling on most items
        ("tags", "#машинное ОБУЧЕНИЕ", "Машинное обучение"),
        ("tags", "#missing", "missing"),
        ("channels", "@TestChan", "testchan"),
        ("channels", "t.me/testchan", "testchan"),
        ("channels", "ml заметки", "ML заметки"),
        ("channels", "@ML заметки", "ML заметки"),  # a channel known by its title, typed with '@'
        ("channels", "@ml ЗАМЕТКИ", "ML заметки"),
        ("channels", "#ML заметки", "ML заметки"),
        ("channels", "@nobody", "nobody"),
        ("channels", "@no such title", "no such title"),
        ("tags", "@llm", "llm"),
    ],
)
def test_stored_value(builder, column, typed, stored):
    from readinglist.queue import stored_value

    for n, tags in enumerate(['["LLM"]', '["llm", "Машинное обучение"]', '["llm"]']):
        item_id = builder.item(f"https://example.com/{n}", tags=tags)
        builder.mention(item_id, ["testchan", "ML заметки", "testchan"][n], 1)
    assert stored_value(builder.db, column, typed) == stored


@pytest.mark.parametrize("command", ["list", "next"])
@pytest.mark.parametrize("typed", ["ML заметки", "ml ЗАМЕТКИ", "#ML заметки", "@ML заметки", "@ml заметки"])
def test_a_channel_known_by_its_title_is_found_with_a_leading_at(builder, db_path, command, typed):
    # An export chat or a text dump names a channel by its title; README: a leading '@' is ignored.
    wanted = builder.item("https://example.com/a", title="A")
    builder.mention(wanted, "ML заметки", 1)
    builder.mention(builder.item("https://example.com/b", title="B"), "testchan", 1)
    builder.db.conn.commit()
    result = run(command, "--db", db_path, "--channel", typed, "--json")
    assert (result.exit_code, [item["id"] for item in json.loads(result.output)]) == (0, [wanted])


@pytest.mark.parametrize(
    "typed, numbers",
    [("LLM", [0, 1, 2]), ("llm", [0, 1, 2]), ("#llm", [0, 1, 2]), ("#LLM", [0, 1, 2]), ("papers", [3]),
     ("#Papers", [3]), ("машинное обучение", [1]), ("nothing", []),
     ("распределенное_обучение", [4]), ("#Распределённое_Обучение", [4]), ("ёлка", [5]), ("Елка", [5])],
)
def test_a_tag_names_every_spelling_of_it(builder, typed, numbers):
    """A hashtag (stored folded), a tag typed by hand (as typed) and one typed with '#' are one tag; ё is е."""
    from readinglist import export, queue

    ids = [
        builder.item(f"https://example.com/{n}", tags=tags)
        for n, tags in enumerate(
            ['["LLM"]', '["llm", "Машинное обучение"]', '["llm"]', '["#Papers"]', '["распределённое_обучение"]', '["Елка"]']
        )
    ]
    wanted = sorted(ids[n] for n in numbers)
    assert sorted(item["id"] for item in queue.list_items(builder.db, queue.ListFilter(status="all", tag=typed))) == wanted
    assert sorted(item["id"] for item in queue.next_items(builder.db, queue.NextFilter(n=10, tag=typed))) == wanted
    records = export.select_items(builder.db, status="all", tag=typed)
    assert sorted(record.id for record in records) == wanted
