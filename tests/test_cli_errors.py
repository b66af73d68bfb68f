"""Usage errors are bad input too: one `Error: ...` line naming it, exit status 1, nothing stored changes."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from readinglist.cli import cli


def invoke(*args):
    return CliRunner().invoke(cli, list(args), prog_name="readinglist")


@pytest.mark.parametrize(
    "args, message",
    [
        (["list", "--db", "DB", "--status", "bogus"],
         "Invalid value for '--status' / '-s': 'bogus' is not one of 'unread', 'read', 'archived', 'all'"
         " (see 'readinglist list --help')"),
        (["next", "--db", "DB", "-n", "many"], "Invalid value for '-n': 'many' is not a valid integer range"
         " (see 'readinglist next --help')"),
        (["fetch", "--db", "DB", "--concurrency", "0"], "Invalid value for '--concurrency': 0 is not in the range x>=1"
         " (see 'readinglist fetch --help')"),
        (["list", "--db", "DB", "--bogus"], "No such option '--bogus' (see 'readinglist list --help')"),
        (["--bogus"], "No such option '--bogus'. Did you mean '--verbose'? (see 'readinglist --help')"),
        (["lsit"], "No such command 'lsit'. Did you mean 'list'? (see 'readinglist --help')"),
        (["harvest", "--db", "DB"], "give PATHS to harvest, @channel names, or --channels FILE (see 'readinglist harvest --help')"),
        (["zotero", "push", "--db", "DB", "--bogus"], "No such option '--bogus' (see 'readinglist zotero push --help')"),
    ],
)
def test_usage_errors_are_one_line(db_path, args, message):
    result = invoke(*[str(db_path) if arg == "DB" else arg for arg in args])
    assert (result.exit_code, result.output) == (1, f"Error: {message}\n")


HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    "args, option, least",
    [
        (["next", "-n", HUGE], "'-n'", 1),
        (["show", "0000", "--mentions", HUGE], "'--mentions' / '-m'", 0),
        (["search", "model", "-n", HUGE], "'--limit' / '-n'", 1),
        (["fetch", "-n", HUGE], "'--limit' / '-n'", 1),
        (["resolve", "-n", HUGE], "'--limit' / '-n'", 1),
        (["harvest", "@channel", "--limit", HUGE], "'--limit' / '-n'", 1),
    ],
)
def test_a_count_past_a_million_is_refused(db_path, args, option, least):
    """SQLite and islice overflowed on it with a traceback: it is refused before any work."""
    result = invoke(*args, "--db", str(db_path))
    assert (result.exit_code, result.output) == (
        1,
        f"Error: Invalid value for {option}: {HUGE} is not in the range {least}<=x<=1000000"
        f" (see 'readinglist {args[0]} --help')\n",
    )


# A file name as senders name attachments: it retitles the terminal and forges a second error line.
FORGED = "result\x1b]0;pwned\x07\nError: fake.json"
SHOWN = "result]0;pwned Error: fake.json"


@pytest.mark.parametrize(
    "args, message",
    [
        (["harvest", "--channels", "DIR/FORGED"], "DIR/SHOWN: cannot read channel list (No such file or directory)"),
        (["export", "-o", "DIR/FORGED/x.bib"], "DIR/SHOWN/x.bib: cannot write (No such file or directory)"),
    ],
)
def test_input_named_in_an_error_is_one_printable_line(db_path, tmp_path, args, message):
    def named(text):
        return text.replace("DIR", str(tmp_path)).replace("FORGED", FORGED).replace("SHOWN", SHOWN)

    result = invoke(*map(named, args), "--db", str(db_path))
    assert (result.exit_code, result.stderr) == (1, f"Error: {named(message)}\n")


def test_a_file_met_in_a_folder_is_named_on_one_printable_line(db_path, tmp_path):
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / FORGED).write_text('{"name": "x", "type": "personal_chat", "messages": [ {"id": 1, ')
    result = invoke("harvest", str(tmp_path / "export"), "--db", str(db_path))
    assert (result.exit_code, result.stderr) == (1, f"Error: {tmp_path / 'export' / SHOWN}: truncated JSON at byte 63\n")


@pytest.mark.parametrize(
    "args, interrupted",
    [
        (["list"], "readinglist.queue.list_items"),
        (["stats"], "readinglist.queue.queue_stats"),
        (["export"], "readinglist.export.select_items"),
    ],
)
def test_ctrl_c_outside_a_command_s_own_handler_exits_130(db_path, monkeypatch, args, interrupted):
    """Not click's "Aborted!" and exit status 1, as for an error."""

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(interrupted, ctrl_c)
    result = invoke(*args, "--db", str(db_path))
    assert (result.exit_code, result.output) == (130, "Interrupted.\n")


def test_a_usage_error_changes_nothing_stored(db_path):
    assert invoke("add", "https://arxiv.org/abs/1706.03762", "--db", str(db_path)).exit_code == 0
    before = invoke("list", "--json", "--db", str(db_path)).output
    assert invoke("read", "--bogus", "--db", str(db_path)).exit_code == 1
    assert invoke("list", "--json", "--db", str(db_path)).output == before


def test_help_and_version_are_not_errors():
    assert invoke("--help").exit_code == 0
    assert invoke("list", "--help").exit_code == 0
    assert invoke("--version").exit_code == 0
