"""Usage errors are bad input too: one `Error: ...` line naming it, exit status 1, nothing stored changes."""

from __future__ import annotations

import gc
import sqlite3

import pytest
from click.testing import CliRunner

from readinglist import db as database
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


def _short_flags() -> dict[str, set]:
    """Each short flag of the group -> what it means in each command: a count (-n), else its long option."""
    import click

    from readinglist.cli import MAX_COUNT

    meanings: dict[str, set] = {}

    def walk(group):
        for command in group.commands.values():
            if isinstance(command, click.Group):
                walk(command)
                continue
            for option in (param for param in command.params if isinstance(param, click.Option)):
                is_count = isinstance(option.type, click.IntRange) and option.type.max == MAX_COUNT
                meaning = "a count" if is_count else "/".join(name for name in option.opts if name.startswith("--"))
                for flag in (name for name in option.opts + option.secondary_opts if not name.startswith("--")):
                    meanings.setdefault(flag, set()).add(meaning)

    walk(cli)
    return meanings


@pytest.mark.parametrize("flag, meanings", [pytest.param(*pair, id=pair[0]) for pair in sorted(_short_flags().items())])
def test_a_short_flag_means_one_thing_in_every_command(flag, meanings):
    """-c was --channel in list but --collection in zotero push; -n a count but --dry-run; -m two things."""
    assert len(meanings) == 1, f"{flag} means {sorted(meanings)}"


HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    "args, option, least",
    [
        (["next", "-n", HUGE], "'-n'", 1),
        (["show", "0000", "--mentions", HUGE], "'--mentions' / '-n'", 0),
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
def test_input_named_in_an_error_is_one_printable_line(fresh_db, db_path, tmp_path, args, message):
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
def test_ctrl_c_outside_a_command_s_own_handler_exits_130(fresh_db, db_path, monkeypatch, args, interrupted):
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


# ------------------------------------------------------------------ database errors: one line naming the file

PAPER = "https://arxiv.org/abs/1706.03762"
WRITES = [["read", "ID"], ["unread", "ID"], ["archive", "ID"], ["skip", "ID"], ["priority", "ID", "high"],
          ["tag", "ID", "+x"], ["note", "ID", "hi"], ["add", "https://example.com/new"]]
READS = [["list"], ["stats"], ["next"], ["show", "ID"], ["search", "attention"]]
LOCKED = "database is locked (another process is writing; try again)"


@pytest.fixture
def listed(db_path):
    """A database with one item; returns the item's id."""
    assert invoke("add", PAPER, "--db", str(db_path)).exit_code == 0
    return database.item_id_for(PAPER)


def run_on(db_path, item_id, args):
    return invoke(*[item_id if arg == "ID" else arg for arg in args], "--db", str(db_path))


@pytest.fixture
def read_only(monkeypatch):
    """Every database the CLI opens is opened read-only, as SQLite opens a file the user cannot write
    (the tests may run as root, who can write any file)."""

    class ReadOnlyFile(database.Database):
        def __init__(self, path, **kwargs):
            super().__init__(sqlite3.connect(f"file:{path}?mode=ro", uri=True), **kwargs)

    monkeypatch.setattr(database, "Database", ReadOnlyFile)


@pytest.mark.parametrize("args", WRITES, ids=lambda args: args[0])
def test_a_read_only_database_is_one_error_line(db_path, listed, read_only, args):
    result = run_on(db_path, listed, args)
    assert (result.exit_code, result.output) == (1, f"Error: {db_path}: read-only database\n")


def test_a_read_only_database_pushes_nothing_to_zotero(db_path, listed, read_only, monkeypatch):
    """The push could not record what it created in Zotero, so the next push would create it again."""
    monkeypatch.setenv("ZOTERO_API_KEY", "key")
    monkeypatch.setenv("READINGLIST_ZOTERO_API", "http://127.0.0.1:9")  # never reached
    result = invoke("zotero", "push", "--library-id", "1", "--db", str(db_path))
    assert (result.exit_code, result.output) == (1, f"Error: {db_path}: read-only database\n")


@pytest.mark.parametrize("args", READS, ids=lambda args: args[0])
def test_a_read_only_database_can_be_read(db_path, listed, read_only, args):
    assert run_on(db_path, listed, args).exit_code == 0


@pytest.mark.parametrize("args", [["export", "-f", "bibtex"], ["zotero", "push", "--library-id", "1", "--dry-run"]],
                         ids=["export", "zotero push --dry-run"])
def test_a_read_only_database_exports_without_storing_keys(db_path, listed, read_only, args):
    result = invoke(*args, "--db", str(db_path))
    assert result.exit_code == 0 and "arxiv20" in result.stdout  # its key, e.g. arxiv2026
    assert result.stderr == (f"Warning: {db_path}: read-only database: new citation keys are not stored,"
                             " so a later export may change them\n")
    assert sqlite3.connect(db_path).execute("SELECT count(*) FROM citekeys").fetchone() == (0,)


@pytest.mark.parametrize("args", [*WRITES, ["export"]], ids=lambda args: args[0])
def test_a_database_locked_by_another_writer_is_one_error_line(db_path, listed, monkeypatch, args):
    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 10)
    writer = sqlite3.connect(db_path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        result = run_on(db_path, listed, args)
    finally:
        writer.execute("ROLLBACK")
    assert (result.exit_code, result.output) == (1, f"Error: {db_path}: {LOCKED}\n")


@pytest.mark.parametrize("args", [*READS[:-1], *WRITES[:-1], ["export"]], ids=lambda args: args[0])
def test_a_damaged_database_is_one_error_line(db_path, listed, args):
    conn = sqlite3.connect(db_path)
    pages = [page for (page,) in conn.execute("SELECT pageno FROM dbstat WHERE name = 'items' AND pagetype = 'leaf'")]
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(db_path.read_bytes())
    for page in pages:
        data[(page - 1) * page_size:(page - 1) * page_size + 12] = b"\xff" * 12
    db_path.write_bytes(bytes(data))
    result = run_on(db_path, listed, args)
    assert (result.exit_code, result.output) == (1, f"Error: {db_path}: database disk image is malformed\n")


# ------------------------------------------------------------------ a mistyped --db creates nothing

NEEDS_A_DATABASE = [*READS, *WRITES[:-1], ["export"], ["zotero", "push", "--library-id", "1", "--dry-run"],
                    ["fetch"], ["resolve"], ["serve"]]


@pytest.mark.parametrize("args", NEEDS_A_DATABASE, ids=lambda args: " ".join(args[:2]))
def test_a_missing_database_is_not_created(tmp_path, args):
    typo = tmp_path / "readng.db"
    result = run_on(typo, "0123456789ab", args)
    assert (result.exit_code, result.output) == (1, f"Error: {typo}: no such database (run readinglist harvest first)\n")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", [["harvest"], ["harvest", "@"], ["list", "--since", "bad"], ["add", "not a link"],
                                  ["export", "--since", "bad"]], ids=" ".join)
def test_a_usage_error_creates_no_database(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(database.DB_ENV, raising=False)
    result = invoke(*args)
    assert result.exit_code == 1 and result.output.startswith("Error: ")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args, message",
    [(["list", "--since", "bad"], "--since: invalid date 'bad' (use YYYY-MM-DD)"),
     (["export", "--since", "2024-13-01"], "--since: invalid date '2024-13-01' (use YYYY-MM-DD)"),
     (["zotero", "push", "--library-id", "1", "--dry-run", "--since", "soon"], "--since: invalid date 'soon' (use YYYY-MM-DD)"),
     (["skip", "0123456789ab", "--until", "someday"], "invalid date 'someday' (use YYYY-MM-DD, tomorrow, +N or +N days)")],
    ids=lambda value: " ".join(value[:2]) if isinstance(value, list) else None,
)
def test_a_bad_option_is_named_before_a_missing_database(tmp_path, args, message):
    """Fixing the option first, then finding the database missing, would cost the user two runs."""
    result = invoke(*args, "--db", str(tmp_path / "readng.db"))
    assert (result.exit_code, result.output) == (1, f"Error: {message}\n")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", [["harvest", "SEEDS"], ["add", PAPER]], ids=lambda args: args[0])
def test_harvest_and_add_create_the_database(tmp_path, monkeypatch, args):
    from conftest import SEEDS

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(database.DB_ENV, raising=False)
    assert invoke(*[str(SEEDS) if arg == "SEEDS" else arg for arg in args]).exit_code == 0
    result = invoke("list", "--json")
    assert result.exit_code == 0 and result.output != "[]\n"
    assert (tmp_path / "readinglist.db").exists()


# ------------------------------------------------------------------ another application's database is left alone


@pytest.mark.parametrize("table", ["notes", "items"], ids=["other tables", "a clashing items table"])
@pytest.mark.parametrize("args", [["list"], ["stats"], ["read", "0123456789ab"], ["add", PAPER], ["harvest", "SEEDS"]],
                         ids=lambda args: args[0])
def test_another_apps_database_is_refused_untouched(tmp_path, table, args):
    from conftest import SEEDS

    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute(f"CREATE TABLE {table}(id INTEGER PRIMARY KEY, body TEXT)")
    conn.execute(f"INSERT INTO {table}(body) VALUES ('precious')")
    conn.commit()
    conn.close()
    before = other.read_bytes()
    result = invoke(*[str(SEEDS) if arg == "SEEDS" else arg for arg in args], "--db", str(other))
    assert (result.exit_code, result.output) == (1, f"Error: {other}: not a readinglist database (it has other tables)\n")
    assert other.read_bytes() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["other.db"]


# ------------------------------------------------------------------ each problem opening the database says what it is


@pytest.mark.parametrize("args, reason", [
    (["list"], "no such database (run readinglist harvest first)"),
    (["add", PAPER], "cannot create the database: no such directory DIR"),
    (["harvest", "SEEDS"], "cannot create the database: no such directory DIR"),
], ids=lambda value: value[0] if isinstance(value, list) else None)
def test_a_missing_directory_is_named(tmp_path, args, reason):
    from conftest import SEEDS

    missing = tmp_path / "no" / "such" / "r.db"
    result = invoke(*[str(SEEDS) if arg == "SEEDS" else arg for arg in args], "--db", str(missing))
    assert (result.exit_code, result.output) == (1, f"Error: {missing}: {reason.replace('DIR', str(missing.parent))}\n")


def test_a_file_that_is_not_sqlite_is_named(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a database, just some notes\n" * 100)
    result = invoke("list", "--db", str(text))
    assert (result.exit_code, result.output) == (1, f"Error: {text}: not a readinglist database (not an SQLite file)\n")


@pytest.fixture
def rollback_journal(db_path, listed, monkeypatch):
    """The database in rollback-journal mode (restored with sqlite3 .restore, say), another process writing to it."""
    gc.collect()  # closes the connections of the commands run in this process
    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 10)
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE items SET note = note")
    yield
    conn.execute("ROLLBACK")


@pytest.mark.parametrize("args", READS, ids=lambda args: args[0])
def test_a_rollback_journal_database_being_written_can_be_read(db_path, listed, rollback_journal, args):
    assert run_on(db_path, listed, args).exit_code == 0


@pytest.mark.parametrize("args", WRITES[:3], ids=lambda args: args[0])
def test_a_rollback_journal_database_being_written_is_locked(db_path, listed, rollback_journal, args):
    result = run_on(db_path, listed, args)
    assert (result.exit_code, result.output) == (1, f"Error: {db_path}: {LOCKED}\n")


def as_a_user(*command):
    """``command`` run with file modes enforced, as for a normal user (root ignores them)."""
    import os
    import shutil

    if os.geteuid() != 0:
        return list(command)
    if not shutil.which("setpriv"):
        pytest.skip("running as root, and no setpriv to drop the capability to ignore file modes")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", *command]


@pytest.mark.parametrize("args, output", [
    (["list", "--json"], None),
    (["read", "ID"], "Error: DB: read-only directory (SQLite must create its -wal and -shm files beside the database)\n"),
], ids=lambda value: value[0] if isinstance(value, list) else None)
def test_a_database_in_a_read_only_directory(tmp_path, args, output):
    import subprocess
    import sys

    from conftest import ROOT

    directory = tmp_path / "ro"
    directory.mkdir()
    db_path = directory / "r.db"
    assert invoke("add", PAPER, "--db", str(db_path)).exit_code == 0
    gc.collect()  # closes the connections of the commands run in this process, and so their -wal and -shm files
    directory.chmod(0o555)
    try:
        argv = [database.item_id_for(PAPER) if arg == "ID" else arg for arg in args]
        result = subprocess.run(as_a_user(sys.executable, "-m", "readinglist.cli", *argv, "--db", str(db_path)),
                                cwd=ROOT, capture_output=True, text=True)
    finally:
        directory.chmod(0o755)
    if output is None:
        assert (result.returncode, result.stderr) == (0, "") and PAPER in result.stdout
    else:
        assert (result.returncode, result.stderr) == (1, output.replace("DB", str(db_path)))
    assert sorted(path.name for path in directory.iterdir()) == ["r.db"]
