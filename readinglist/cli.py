"""The ``readinglist`` command. It parses options and prints; the work is in the library."""

from __future__ import annotations

import functools
import json
import logging
import sqlite3
import sys

import click

from harvester.settings import at_least
from harvester.sources import FORMAT_NAMES

from . import db as database

# Keep imports here light: heavier modules (the pipeline, identity, rich) are
# imported inside the commands that need them, so `readinglist next` starts fast.
STATUSES = ("unread", "read", "archived", "all")
SORTS = ("mentions", "score", "added", "title")
PRIORITIES = ("high", "normal", "low")

KINDS = ("paper", "repo", "model", "dataset", "video", "article", "post", "channel", "unresolved")
PROGRESS_MIN_BYTES = 1_000_000
# The exit status after Ctrl-C (128 + SIGINT), as a shell reports it.
INTERRUPTED = 130
# The most a count option (-n, --limit, --mentions) takes: more than any reading list
# holds, and far below what SQLite and itertools.islice can take (a bigger number
# overflowed them with a traceback).
MAX_COUNT = 1_000_000


def count_range(least: int = 1) -> click.IntRange:
    """The type of every count option: ``least`` to :data:`MAX_COUNT`."""
    return click.IntRange(least, MAX_COUNT)


def _checked_date(ctx, param, value):
    """An ``--since`` value as YYYY-MM-DD, checked while the options are read: before the database is opened."""
    return None if value is None else _iso_date(value, param.opts[0])


def _checked_day(ctx, param, value):
    """An ``--until`` value as a date (it may be relative: tomorrow, +N), checked before the database is opened."""
    from .state import QueueError, parse_day

    try:
        return None if value is None else parse_day(value)
    except QueueError as error:
        raise click.ClickException(str(error)) from None


def _one_output_format(ctx, param, value):
    """--json and --csv together are refused while the options are read (before the database is opened)."""
    if value and any(ctx.params.get(name) for name in ("as_json", "as_csv") if name != param.name):
        raise click.UsageError("give --json or --csv, not both", ctx=ctx)
    return value


def since_option(help: str):
    return click.option("--since", metavar="DATE", callback=_checked_date, help=help)


def _iso_date(value: str, option: str) -> str:
    """``value`` as YYYY-MM-DD, or ``Error: ...``.

    Every ISO 8601 date Python reads is taken (20240101, 2024-W01-1 too), but
    spelled YYYY-MM-DD: the filters compare it as text with stored ISO times.
    """
    from datetime import date

    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise click.ClickException(f"{option}: invalid date {value!r} (use YYYY-MM-DD)") from None


# ``--db PATH`` as a path: for commands that hand the file to something else (serve).
db_path_option = click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False),
    envvar=database.DB_ENV,
    default=database.DEFAULT_DB,
    show_default=True,
    help=f"SQLite database (or set ${database.DB_ENV}).",
)


def db_option(command):
    """``--db PATH``, shared by every command that opens the database: the command gets ``db``.

    The database must exist: only harvest and add create one. Commands that check
    more than click does (harvest, add, fetch, resolve) take ``db_path`` instead and
    call ``_open`` once their own arguments and settings are checked.
    """

    @db_path_option
    @functools.wraps(command)
    def wrapper(*args, db_path, **kwargs):
        return command(*args, db=_open(db_path), **kwargs)

    return wrapper


def quiet_option(command):
    return click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors (for cron).")(command)


def config_option(command):
    """``--config PATH``: the TOML settings file; the command gets ``settings`` (flags applied by it)."""

    @click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        help="TOML config file (default: config.toml in the user config directory, or $READINGLIST_CONFIG).",
    )
    @functools.wraps(command)
    def wrapper(*args, config_path, **kwargs):
        return command(*args, config_path=config_path, **kwargs)

    return wrapper


def load_settings(config_path, **flags):
    """Settings from ``flags`` (None = not given), the environment and the config file; errors -> ``Error: ...``."""
    from .config import ConfigError
    from .config import load_settings as load

    try:
        return load(config_path, flags)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None


DB_PATH_KEY = "readinglist.db_path"


def _open(path: str, create: bool = False):
    # Kept for OneLineErrors: an SQLite error while a command runs names this file.
    click.get_current_context().meta[DB_PATH_KEY] = path
    try:
        return database.open_db(path, create=create)
    except database.UnusableDatabase as error:
        raise click.ClickException(str(error)) from None
    except sqlite3.Error as error:
        raise click.ClickException(f"{path}: {database.explain(error, path)}") from None
    except OSError as error:
        raise click.ClickException(f"{path}: cannot open database ({error.strerror or error})") from None


class OneLineErrors(click.Group):
    """A click group whose usage errors (a bad option value, an unknown option)
    are one ``Error: ...`` line with exit status 1, like every other input error;
    so are SQLite errors (a locked, read-only or damaged database): ``Error: <db>: <why>``.

    Every error message is made one printable line: it names the input (a file
    name, a channel, a value), and a control character in it would reach the
    terminal (retitle it) and a newline would forge a second ``Error:`` line."""

    def make_context(self, *args, **kwargs):
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as error:
            raise _one_line(error) from None

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.UsageError as error:
            raise _one_line(error) from None
        except click.ClickException as error:
            from .render import printable_line

            error.message = printable_line(error.message)
            raise
        except sqlite3.Error as error:
            from .render import printable_line

            raise click.ClickException(printable_line(_database_error(ctx, error))) from None
        except KeyboardInterrupt:
            # Ctrl-C outside a command's own handler (opening the database, a query):
            # click would print "Aborted!" and exit 1 as for an error; 130 is the shell's code for it.
            click.echo("Interrupted.", err=True)
            raise click.exceptions.Exit(INTERRUPTED) from None


def _database_error(ctx: click.Context, error: sqlite3.Error) -> str:
    path = ctx.meta.get(DB_PATH_KEY)
    return f"{path or 'database'}: {database.explain(error, path)}"


def _one_line(error: click.UsageError) -> click.ClickException:
    from .render import printable_line

    if isinstance(error, click.exceptions.NoArgsIsHelpError):
        return error  # a bare group: click prints its help
    command = error.ctx.command_path if error.ctx is not None else "readinglist"
    return click.ClickException(printable_line(f"{error.format_message().rstrip('.')} (see '{command} --help')"))


def _echo_line(line: str, err: bool = False) -> None:
    """A line naming input (a file name) or holding web text: see render.printable_line."""
    from .render import printable_line

    click.echo(printable_line(line), err=err)


@click.group(cls=OneLineErrors)
@click.version_option(package_name="readinglist")
@click.option("--verbose", "-v", is_flag=True, help="Log what each stage does, to stderr.")
def cli(verbose: bool):
    """Harvest links from Telegram ML channels into a reading list.

    \b
    Quick start:
        readinglist harvest seeds/          # or @channel, a Telegram export, a t.me page
        readinglist list
        readinglist fetch                   # titles, authors, reading time, summaries
        readinglist next                    # what to read now, and why
        readinglist serve                   # browse in Datasette
        readinglist export -f bibtex -o reading.bib
    """
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


@cli.command()
@click.argument("paths", nargs=-1)
@click.option("--format", "-f", "format_name", type=click.Choice(FORMAT_NAMES), help="Force an input format instead of detecting it.")
@click.option("--channel", "-c", help="Channel name for the posts, overriding what the input says.")
@click.option("--channels", "channel_list", type=click.Path(dir_okay=False), help="Read the public channels listed in this file live.")
@since_option("Live channels: stop at posts older than DATE (YYYY-MM-DD).")
@click.option("--limit", "-n", type=count_range(), help="Live channels: at most N new posts per channel.")
@click.option("--allow-private/--no-allow-private", default=None,
              help="Let requests reach private addresses (tests, mirrors), or not, whatever the environment and config say.")
@config_option
@quiet_option
@db_path_option
def harvest(db_path, paths, format_name, channel, channel_list, since, limit, allow_private, config_path, quiet):
    """Harvest the links of posts in PATHS into the database.

    PATHS are files, directories (walked; files of unknown format are skipped)
    or - for stdin. Formats are detected from the content: Telegram Desktop
    JSON (result.json) and HTML exports, saved t.me/s/<channel> pages, and
    plain-text or Markdown dumps.

    A PATH of the form @name or https://t.me/s/name reads that public channel
    live from t.me, page by page, down to the newest post the last run saw
    (or --since, or --limit posts), unless a file or directory of that name
    exists. --channels FILE reads every channel
    listed in FILE (one per line, # comments).

    Harvesting the same input again changes nothing.

    \b
    Examples:
        readinglist harvest seeds/
        readinglist harvest ~/Downloads/Telegram\\ Desktop/ChatExport/result.json
        cat notes.md | readinglist harvest - --channel notes
        readinglist harvest @boris_again --since 2026-01-01
        readinglist harvest --channels seeds/channels.txt
    """
    import os

    from harvester.sources.live import channel_name

    def live(path: str) -> bool:
        # An existing file or directory is read as one, even named like a channel (wget -x saves t.me/s/name).
        return (path.startswith("@") or "t.me/" in path) and not os.path.exists(path)

    channels = []
    for ref in filter(live, paths):
        if channel_name(ref) is None:
            raise click.ClickException(f"{ref}: not a public channel name or t.me/s/ link")
        channels.append(channel_name(ref))
    paths = tuple(path for path in paths if not live(path))
    if channel_list:
        channels += _read_channel_list(channel_list)
    if not paths and not channels:
        raise click.UsageError("give PATHS to harvest, @channel names, or --channels FILE")
    since_day = None
    if since:
        from datetime import date

        since_day = date.fromisoformat(since)
    from .live import harvest_channels
    from .pipeline import HarvestStats, expand_inputs, harvest as run_harvest, nothing_readable

    # Settings are read (and checked) before any work and before the database is created, whether or not
    # live channels need them: a bad config stops nothing half-way, and every run says it is bad.
    settings = load_settings(config_path, allow_private=allow_private)
    inputs = expand_inputs(paths)
    unreadable = None if channels else nothing_readable(inputs)
    if unreadable is not None:  # only missing files: nothing to store, so no (empty) database is created
        _report(unreadable, quiet)
        return
    if channels or os.path.exists(db_path):
        db = _open(db_path, create=True)
    else:  # created by the first post stored: files that hold none (unknown format, unreadable) make no database
        def db():
            return _open(db_path, create=True)

    stats = HarvestStats()
    try:
        if paths:
            total = sum(input_file.size for input_file in inputs)
            show_progress = not quiet and total >= PROGRESS_MIN_BYTES and sys.stderr.isatty()
            if show_progress:
                stats = _harvest_with_progress(db, paths, format_name, channel, total)
            else:
                stats = run_harvest(db, paths, format=format_name, channel=channel)
        if channels:
            stats = harvest_channels(db, channels, settings, since=since_day, limit=limit, stats=stats)
    except KeyboardInterrupt:
        click.echo("Interrupted: every finished batch is saved; run the same command again to continue.", err=True)
        sys.exit(INTERRUPTED)
    except sqlite3.Error as error:
        raise click.ClickException(f"{_database_error(click.get_current_context(), error)} (every finished batch is saved)") from None
    _report(stats, quiet)


def _read_channel_list(path: str) -> list[str]:
    from harvester.errors import SourceError
    from harvester.sources.live import read_channel_list

    try:
        with open(path, encoding="utf-8") as handle:
            return read_channel_list(handle.read(), path)
    except SourceError as error:
        raise click.ClickException(str(error)) from None
    except (OSError, UnicodeDecodeError) as error:
        raise click.ClickException(f"{path}: cannot read channel list ({getattr(error, 'strerror', None) or error})") from None


def _harvest_with_progress(db, paths, format_name, channel, total):
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

    columns = ("[progress.description]{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=True) as progress:
        task = progress.add_task("Harvesting", total=total)
        from .pipeline import harvest as run_harvest

        return run_harvest(
            db, paths, format=format_name, channel=channel, on_progress=lambda n: progress.advance(task, n)
        )


def _report(stats, quiet: bool) -> None:
    if not quiet:  # a notice, not an error: cron would mail it every day
        for path in stats.channel_lists:
            _echo_line(f"Skipped {path}: a channel list, not posts (read its channels with --channels {path})", err=True)
    for error in stats.errors:
        _echo_line(f"Error: {error}", err=True)
    if not quiet:
        click.echo(stats.summary())
    if stats.errors:
        sys.exit(1)


@cli.command(name="list")
@click.option("--status", "-s", type=click.Choice(STATUSES), default="unread", show_default=True)
@click.option("--kind", "-k", type=click.Choice(KINDS), help="Only items of this kind.")
@click.option("--channel", "-c", help="Only items mentioned in (or forwarded from) this channel.")
@click.option("--tag", "-t", help="Only items with this tag.")
@click.option("--domain", "-d", help="Only items on this site, e.g. github.com (docs.cohere.ai means cohere.ai).")
@since_option("Only items first seen on or after DATE (YYYY-MM-DD).")
@click.option("--sort", type=click.Choice(SORTS), default="mentions", show_default=True)
@click.option("--json", "as_json", is_flag=True, callback=_one_output_format,
              help="Print a JSON array (stable field names, for scripts).")
@click.option("--csv", "as_csv", is_flag=True, callback=_one_output_format, help="Print CSV with a header row.")
@db_option
def list_(db, status, kind, channel, tag, domain, since, sort, as_json, as_csv):
    """List the items of the reading list, most mentioned first.

    \b
    Examples:
        readinglist list
        readinglist list --kind paper --status all
        readinglist list --channel "ML заметки" --since 2024-01-01 --sort score
        readinglist list --csv > reading.csv
        readinglist list --json | jq '.[] | select(.mentions > 1) | .url'
    """
    from .queue import ListFilter, list_items

    items = list_items(db, ListFilter(status=status, kind=kind, channel=channel, tag=tag, domain=domain, since=since, sort=sort))
    if as_json:
        click.echo(json.dumps(items, ensure_ascii=False, indent=2))
    elif as_csv:
        from .render import items_csv

        click.echo(items_csv(items), nl=False)
    elif sys.stdout.isatty():
        _print_table(items)
    else:
        from .render import printable

        for item in printable(items):
            click.echo(_plain_line(item))


def _plain_line(item: dict) -> str:
    shown = f"{item['title']}  {item['url']}" if item["title"] else item["url"]
    return f"{item['id']}  {item['kind']:<10}  {item['mentions']:>3}  {shown}"


def _print_table(items: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from .render import count_of, printable

    table = Table("id", "kind", "mentions", "title / url", box=None, header_style="bold")
    for item in printable(items):
        # Titles come from the web: Text() renders them literally, never as markup.
        shown = Text(item["title"] or item["url"])
        if item["title"]:
            shown.append("\n" + item["url"], style="dim")
        table.add_row(item["id"], item["kind"], str(item["mentions"]), shown)
    Console().print(table)
    Console().print(count_of(len(items), "item"))


# ------------------------------------------------------------------ the queue


def user_errors(command):
    """Domain errors (unknown id, ambiguous prefix, bad query) -> ``Error: ...``, exit 1."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from .search import BadQuery
        from .state import QueueError

        try:
            return command(*args, **kwargs)
        except (QueueError, BadQuery) as error:
            raise click.ClickException(str(error)) from None

    return wrapper


def _echo_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _echo_label(line: str) -> None:
    """A line naming an item: its title came from the web (see render.printable)."""
    from .render import printable

    click.echo(printable(line))


def _confirm(verb: str, items) -> None:
    for item in items:
        _echo_label(f"{verb}: {item.label}")


@cli.command()
@click.argument("refs", nargs=-1, required=True, metavar="ID...")
@db_option
@user_errors
def read(db, refs):
    """Mark items read. ID is an id, a unique id prefix (4+ characters) or a URL.

    \b
    Examples:
        readinglist read 3f2a9c1b
        readinglist read arxiv.org/pdf/1706.03762v2 https://github.com/a/b
    """
    from .state import mark_read

    _confirm("Marked read", mark_read(db, refs))


@cli.command()
@click.argument("refs", nargs=-1, required=True, metavar="ID...")
@db_option
@user_errors
def unread(db, refs):
    """Put items back in the queue (unread, not snoozed).

    \b
    Example:
        readinglist unread 3f2a9c1b
    """
    from .state import mark_unread

    _confirm("Marked unread", mark_unread(db, refs))


@cli.command()
@click.argument("refs", nargs=-1, required=True, metavar="ID...")
@db_option
@user_errors
def archive(db, refs):
    """Archive items: they never come up again.

    \b
    Example:
        readinglist archive 3f2a9c1b 77aa0e21
    """
    from .state import archive as archive_items

    _confirm("Archived", archive_items(db, refs))


@cli.command()
@click.argument("refs", nargs=-1, required=True, metavar="ID...")
@click.option("--until", metavar="DATE", callback=_checked_day,
              help="Snooze until DATE: YYYY-MM-DD, tomorrow, or N days from today (+N, +N days). Default: tomorrow.")
@db_option
@user_errors
def skip(db, refs, until):
    """Snooze items: they leave the queue until a date (default tomorrow).

    \b
    Examples:
        readinglist skip 3f2a9c1b
        readinglist skip 3f2a9c1b --until +7
        readinglist skip 3f2a9c1b 77aa0e21 --until "+2 days"
        readinglist skip 3f2a9c1b --until 2099-12-31
    """
    from .state import skip as skip_items

    items, day = skip_items(db, refs, until)
    _confirm(f"Snoozed until {day.isoformat()}", items)


@cli.command()
@click.argument("ref", metavar="ID")
@click.argument("level", type=click.Choice(PRIORITIES))
@db_option
@user_errors
def priority(db, ref, level):
    """Set an item's priority: high, normal or low.

    \b
    Example:
        readinglist priority 3f2a9c1b high
    """
    from .state import set_priority

    _confirm(f"Priority {level}", set_priority(db, [ref], level))


@cli.command(context_settings={"ignore_unknown_options": True})
@click.argument("ref", metavar="ID")
@click.argument("changes", nargs=-1, required=True, type=click.UNPROCESSED, metavar="+TAG|-TAG...")
@db_option
@user_errors
def tag(db, ref, changes):
    """Add (+tag) and remove (-tag) tags of one item.

    Every change starts with + or -. A tag is named as --tag names it: -LLM
    removes the hashtag llm; +LLM adds nothing to an item tagged llm.

    \b
    Example:
        readinglist tag 3f2a9c1b +llm +to-try -later
    """
    from .state import tag as tag_item

    item, tags = tag_item(db, ref, changes)
    _echo_label(f"Tags [{', '.join(tags)}]: {item.label}")


@cli.command()
@click.argument("ref", metavar="ID")
@click.argument("text")
@db_option
@user_errors
def note(db, ref, text):
    """Attach a note to an item ("" removes it).

    \b
    Example:
        readinglist note 3f2a9c1b "read section 3 first"
    """
    from .state import set_note

    _confirm("Note saved", set_note(db, [ref], text))


@cli.command(name="next")
@click.option("-n", "count", type=count_range(), default=5, show_default=True, help="How many items.")
@click.option("--kind", "-k", type=click.Choice(KINDS), help="Only items of this kind.")
@click.option("--max-minutes", "-m", type=click.FloatRange(min=0), help="Only items that take at most this long to read.")
@click.option("--channel", "-c", help="Only items mentioned in this channel.")
@click.option("--tag", "-t", help="Only items with this tag.")
@click.option("--lang", type=click.Choice(("ru", "en")), help="Only items in this language.")
@click.option("--open", "open_", is_flag=True, help="Open them in the browser (marks nothing read).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, with a `reason` per item.")
@db_option
@user_errors
def next_(db, count, kind, max_minutes, channel, tag, lang, open_, as_json):
    """What to read next: the best-ranked unread items, and why.

    The score combines priority, how many channels and posts mentioned the
    item, how recent the latest mention is, and whether it was fetched; see
    "Ranking" in the README.

    \b
    Examples:
        readinglist next
        readinglist next -n 3 --kind paper --max-minutes 20
        readinglist next --channel "ML заметки" --open
    """
    from .queue import NextFilter, next_items
    from .render import print_next

    items = next_items(db, NextFilter(n=count, kind=kind, max_minutes=max_minutes, channel=channel, tag=tag, lang=lang))
    if as_json:
        _echo_json(items)
    else:
        print_next(items, sys.stdout.isatty())
    if open_:
        import webbrowser

        from .queue import reading_url

        for item in items:
            webbrowser.open(reading_url(item["url"], item["final_url"]))


@cli.command()
@click.argument("ref", metavar="ID")
# -n: a count, as everywhere (-m is next's --max-minutes).
@click.option("--mentions", "-n", type=count_range(0), default=20, show_default=True,
              help="How many of the latest mentions to show (0: all).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@db_option
@user_errors
def show(db, ref, mentions, as_json):
    """Everything about one item: fields, the posts that mentioned it, its history.

    Shows the latest 20 mentions; --mentions N changes that (0: all).

    \b
    Examples:
        readinglist show 3f2a9c1b
        readinglist show arxiv.org/abs/1706.03762 --json
        readinglist show 3f2a9c1b --mentions 0
    """
    from .queue import show_item
    from .render import print_show
    from .state import resolve_item

    item = show_item(db, resolve_item(db, ref).id, mentions=mentions or None)
    if as_json:
        _echo_json(item)
    else:
        print_show(item, sys.stdout.isatty())


@cli.command()
@click.argument("query")
@click.option("--status", "-s", type=click.Choice(STATUSES), default="all", show_default=True)
@click.option("--kind", "-k", type=click.Choice(KINDS), help="Only items of this kind.")
@click.option("--limit", "-n", type=count_range(), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@db_option
@user_errors
def search(db, query, status, kind, limit, as_json):
    """Full-text search in titles, summaries, your notes and the posts that mention items.

    Every word must be found (AND may be written too); a OR b finds either
    (OR joins the words next to it: llm attention OR rope is llm and one of
    the others); -word or NOT word leaves out what has the word. Operators
    are written in capitals; quoted ("OR") they are words. "two words" is a
    phrase (only double quotes group: Stanford's is one word); word* matches
    a prefix. Russian and English, other forms of a word too,
    case-insensitive, ё and е alike; best matches first (bm25). A query
    that starts with - follows --: readinglist search -- '-survey llm'.

    \b
    Examples:
        readinglist search трансформ*
        readinglist search 'attention OR nanogpt'
        readinglist search 'llm -survey'
        readinglist search '"attention is all"' --kind paper --json
    """
    from .render import print_search
    from .search import search as run_search

    results = run_search(db, query, status=status, kind=kind, limit=limit)
    if as_json:
        _echo_json(results)
    else:
        print_search(results, sys.stdout.isatty())


@cli.command()
@click.argument("url")
@click.option("--note", "note_text", help="A note to attach (an item already listed keeps its note; this one is added below it).")
@db_path_option
@user_errors
def add(db_path, url, note_text):
    """Add a link by hand (recorded as a post from source 'manual').

    \b
    Example:
        readinglist add arxiv.org/abs/2401.12345 --note "from a talk"
    """
    from .state import add_url, web_link

    web_link(url)  # a bad link creates no database
    added = add_url(_open(db_path, create=True), url, note_text)
    if added.created:
        _echo_label(f"Added: {added.item.label}")
    else:
        _echo_label(f"Already listed{' (note added to its note)' if added.note_added else ''}: {added.item.label}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@db_option
def stats(db, as_json):
    """Counts by status, kind, channel and domain; what you read lately; time left.

    \b
    Examples:
        readinglist stats
        readinglist stats --json | jq .backlog
    """
    from .queue import queue_stats
    from .render import print_stats

    data = queue_stats(db)
    if as_json:
        _echo_json(data)
    else:
        print_stats(data, sys.stdout.isatty())


# ------------------------------------------------------------------ fetching (issue 3)


@cli.command()
@click.option("--limit", "-n", type=count_range(), help="Fetch at most N items (best-ranked first).")
@click.option("--kind", "-k", type=click.Choice(KINDS), help="Only items of this kind.")
@click.option("--retry-failed", is_flag=True, help="Also retry failed, dead and skipped items now.")
@click.option("--refresh", is_flag=True, help="Fetch ok items again (conditional GET: unchanged pages cost a 304).")
# The flags' ranges are the settings' own (harvester/settings.py), as for the config file.
@click.option("--concurrency", type=click.IntRange(min=at_least("concurrency")), help="Requests in flight at once (default 32).")
@click.option("--per-host", type=click.IntRange(min=at_least("per_host")), help="Requests in flight per host (default 2).")
@click.option("--ignore-robots/--respect-robots", default=None,
              help="Do not read robots.txt, or do, whatever the environment and config say.")
@click.option("--allow-private/--no-allow-private", default=None,
              help="Let links reach private and loopback addresses, or not, whatever the environment and config say.")
@click.option("--summarizer", type=click.Choice(["extractive", "llm"]), default="extractive", show_default=True,
              help="Who writes summaries: offline sentence extraction, or a model through the optional llm library.")
@click.option("--model", "llm_model", metavar="NAME", help="The llm model for --summarizer llm (see `llm models`).")
@config_option
@quiet_option
@db_path_option
def fetch(db_path, limit, kind, retry_failed, refresh, concurrency, per_host, ignore_robots, allow_private, summarizer,
          llm_model, config_path, quiet):
    """Fetch the links of the reading list: title, authors, date, language, reading time, summary.

    Fetches pending items, and failed ones whose retry time has come, many at
    once but at most --per-host at a time per site, honouring robots.txt.
    Links that resolve to private or loopback addresses are refused. Each
    result is saved as it arrives: after Ctrl-C (or a crash) run it again to
    continue. Items that fail stay listed with their error and are retried by
    later runs; 404/410 links are marked dead.

    \b
    Examples:
        readinglist fetch
        readinglist fetch --limit 50 --kind article
        readinglist fetch --retry-failed --concurrency 8
        readinglist fetch --refresh --quiet          # from cron
        readinglist fetch --summarizer llm --model gpt-4o-mini
    """
    from .fetching import run as run_fetch

    if summarizer == "llm":
        from harvester.summarize import SummarizerUnavailable, check_llm_model

        if not llm_model:
            raise click.UsageError("--summarizer llm needs --model NAME")
        try:
            check_llm_model(llm_model)
        except SummarizerUnavailable as error:
            raise click.ClickException(str(error)) from None
    elif llm_model:
        raise click.UsageError("--model goes with --summarizer llm")

    settings = load_settings(
        config_path,
        concurrency=concurrency,
        per_host=per_host,
        respect_robots=None if ignore_robots is None else not ignore_robots,
        allow_private=allow_private,
    )
    options = dict(limit=limit, kind=kind, retry_failed=retry_failed, refresh=refresh, llm_model=llm_model)
    db = _open(db_path)  # after the options and settings: their errors come first
    try:
        if not quiet and sys.stderr.isatty():
            stats = _fetch_with_progress(db, settings, options)
        else:
            stats = run_fetch(db, settings, **options)
    except database.AlreadyRunning as running:
        _not_now(running, quiet)
        return
    except KeyboardInterrupt:
        click.echo("Interrupted: every finished item is saved; run the same command again to continue.", err=True)
        sys.exit(INTERRUPTED)
    if not quiet:
        metadata_line = _metadata_summary(stats.metadata)
        if metadata_line:
            click.echo(metadata_line)
        click.echo(stats.summary())
        if stats.references is not None and (stats.references.tried or stats.references.new_references):
            click.echo(stats.references.summary())


def _not_now(running, quiet: bool) -> None:
    """Another fetch or resolve holds the database: cron's next run, started while a long one goes on,
    does nothing and says so (exit 0; nothing under --quiet)."""
    if not quiet:
        _echo_line(f"Nothing done: {running}; it fetches what this run would have.")


def _fetch_with_progress(db, settings, options):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from .fetching import run as run_fetch

    columns = (
        TextColumn("Fetching"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[counts]}"),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=True, console=Console(stderr=True)) as progress:
        task = progress.add_task("fetch", total=None, counts="", rate="")

        def on_result(stats):
            speed = progress.tasks[0].speed
            progress.update(
                task,
                completed=stats.done,
                counts=f"ok {stats.ok}  failed {stats.failed}  dead {stats.dead}  skipped {stats.skipped}",
                rate=f"{speed:.1f}/s" if speed else "",
            )

        return run_fetch(db, settings, on_start=lambda total: progress.update(task, total=total), on_result=on_result, **options)


def _metadata_summary(stats) -> str | None:
    """One line for the site metadata stage (issue 4), when it did anything."""
    if stats is None:
        return None
    counts = {name: getattr(stats, name, 0) or 0 for name in ("ok", "failed", "dead", "deferred", "skipped")}
    if not any(counts.values()):
        return None
    line = f"Site metadata: {counts['ok']} ok, {counts['failed']} failed, {counts['dead']} dead"
    # Rate-limited or refused items are worth a word: otherwise the run looks like it did nothing.
    line += "".join(f", {counts[name]} {name}" for name in ("deferred", "skipped") if counts[name])
    return line + "."


# ------------------------------------------------------------------ site metadata and references (issue 4)


@cli.command()
@click.option("--limit", "-n", type=count_range(), help="Try at most N cited titles this run (most mentioned first).")
@config_option
@quiet_option
@db_path_option
def resolve(db_path, limit, config_path, quiet):
    """Put papers that posts cite by title (no link) on the list.

    Finds titles that posts cite without a link ("Title" + "Name et al.",
    Markdown headers, quoted titles, "paper: Title", link cards with no URL),
    keeps each as an `unresolved` item, and looks it up on arXiv, then Crossref
    and OpenAlex. A match is accepted only when the titles agree and the
    author the post names is among the paper's authors; the paper's item then
    takes over the mentions. Titles with no sure match stay unresolved (listed,
    never queued) and are retried after 7, 30 and 90 days.

    \b
    Examples:
        readinglist resolve
        readinglist resolve --limit 20
        readinglist list --status all --json | jq '.[] | select(.kind == "unresolved")'
    """
    from .references import run as run_resolve

    settings = load_settings(config_path)
    db = _open(db_path)  # after the settings: their errors come first
    try:
        if not quiet and sys.stderr.isatty():
            stats = _resolve_with_progress(db, settings, limit)
        else:
            stats = run_resolve(db, settings, limit=limit)
    except database.AlreadyRunning as running:
        _not_now(running, quiet)
        return
    except KeyboardInterrupt:
        click.echo("Interrupted: every finished title is saved; run the same command again to continue.", err=True)
        sys.exit(INTERRUPTED)
    if not quiet:
        for found in stats.resolved_items:
            _echo_label(f"Resolved: {found['title']} -> {found['url']}")
        click.echo(stats.summary())


def _resolve_with_progress(db, settings, limit):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from .references import run as run_resolve

    with Progress(TextColumn("Resolving"), BarColumn(), MofNCompleteColumn(), transient=True, console=Console(stderr=True)) as progress:
        task = progress.add_task("resolve", total=None)
        return run_resolve(
            db, settings, limit=limit, on_progress=lambda done, total: progress.update(task, completed=done, total=total)
        )


# ------------------------------------------------------------------ Datasette (issue 6)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (localhost only by default).")
@click.option("--port", "-p", type=click.IntRange(1, 65535), default=8001, show_default=True)
@click.option("--metadata", "metadata_path", type=click.Path(dir_okay=False), help="Datasette metadata file (default: the packaged metadata.yml).")
@db_path_option
def serve(host, port, metadata_path, db_path):
    """Browse, facet and search the reading list in Datasette; mark items read.

    Prints the URL and a one-time link that signs you in as the owner (only
    the owner can change anything); with a password set by set-password you
    can also sign in at /-/login as "owner". Anyone else can only read.
    Ctrl-C stops the server (exit status 0).

    \b
    Examples:
        readinglist serve
        readinglist serve --port 8080 --db ~/reading.db
    """
    from .serve import (
        ServeError, build_datasette, is_loopback, listen, load_metadata, load_password_hash, run, sign_in_lines,
    )

    _open(db_path).conn.close()  # migrated, so the views and triggers the UI uses exist
    try:
        metadata = load_metadata(metadata_path)
        password_hash = load_password_hash()
        sock = listen(host, port)
    except ServeError as error:
        raise click.ClickException(str(error)) from None
    ds = build_datasette(db_path, metadata=metadata, password_hash=password_hash)
    url_host = f"[{host}]" if ":" in host else host
    base_url = f"http://{url_host}:{port}"
    _echo_line(f"Serving {db_path} at {base_url}/")
    for line in sign_in_lines(ds, base_url, password_hash is not None):
        click.echo(line)
    if not is_loopback(host):
        click.echo(f"Warning: listening on {host}: anyone who can reach it can read the list.", err=True)
    run(ds, sock)


@cli.command(name="set-password")
def set_password():
    """Set the owner's password for signing in to readinglist serve at /-/login.

    Only a salted PBKDF2 hash is stored, in the user config directory
    (~/.config/readinglist/datasette-password.json on Linux, or
    $READINGLIST_PASSWORD_FILE). The user name is "owner".

    \b
    Example:
        readinglist set-password
    """
    from .serve import ServeError, save_password

    password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        path = save_password(password)
    except ServeError as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:
        raise click.ClickException(f"{error.filename}: cannot save the password ({error.strerror})") from None
    _echo_line(f'Password saved (hash only) to {path}. Sign in as "owner" at /-/login after readinglist serve.')


# ------------------------------------------------------------------ exports and Zotero (issue 7)

EXPORT_FORMATS = ("bibtex", "biblatex", "ris", "csljson", "json", "csv", "netscape")


def export_filters(command):
    """``--status``, ``--kind``, ``--channel``, ``--tag``, ``--since``: which items ``export`` and ``zotero push`` take."""
    for option in reversed(
        (
            click.option("--status", "-s", type=click.Choice(STATUSES), default="all", show_default=True),
            click.option("--kind", "-k", type=click.Choice(KINDS), help="Only items of this kind (channels only if asked)."),
            click.option("--channel", "-c", help="Only items mentioned in (or forwarded from) this channel."),
            click.option("--tag", "-t", help="Only items with this tag."),
            since_option("Only items first seen on or after DATE (YYYY-MM-DD)."),
        )
    ):
        command = option(command)
    return command


def _select_records(db, status, kind, channel, tag, since, **extra):
    from .export import select_items

    try:
        return select_items(db, status=status, kind=kind, channel=channel, tag=tag, since=since, **extra)
    except sqlite3.OperationalError as error:
        if not getattr(error, "sqlite_errorname", "").startswith("SQLITE_READONLY"):
            raise
    # A read-only database can still be exported; only the new citation keys cannot be kept.
    records = select_items(db, status=status, kind=kind, channel=channel, tag=tag, since=since, store_keys=False, **extra)
    click.echo(f"Warning: {db.path}: read-only database: new citation keys are not stored, so a later export may change them", err=True)
    return records


@cli.command()
@click.option("--format", "-f", "format_name", type=click.Choice(EXPORT_FORMATS), default="bibtex", show_default=True)
@export_filters
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), help="Write to FILE (default: stdout).")
@quiet_option
@db_option
def export(db, format_name, status, kind, channel, tag, since, output, quiet):
    """Export the reading list for reference managers, LaTeX, Pandoc and browsers.

    Formats: bibtex, biblatex (.bib), ris, csljson (Zotero, Pandoc, citeproc),
    json and csv (every field), netscape (bookmarks HTML). Citation keys are
    authorYEARfirstword and stay the same across exports. Channels are left
    out unless --kind channel.

    \b
    Examples:
        readinglist export -o reading.bib
        readinglist export --format biblatex --kind paper --status read -o papers.bib
        readinglist export -f csljson --since 2024-01-01 > items.json
        readinglist export -f ris --tag llm -o llm.ris
        readinglist export -f csv --channel @boris_again -o boris.csv
        readinglist export -f netscape -o bookmarks.html
    """
    from .export import FORMATS, ExportError, write_file

    records = _select_records(db, status, kind, channel, tag, since, with_listed=FORMATS[format_name].listed)
    text = FORMATS[format_name].write(records)
    if not output or output == "-":
        click.echo(text, nl=False)
        return
    try:
        write_file(output, text, database=db)
    except ExportError as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:
        raise click.ClickException(f"{output}: cannot write ({error.strerror or error})") from None
    if not quiet:
        from .render import count_of

        _echo_line(f"Exported {count_of(len(records), 'item')} to {output} ({format_name}).", err=True)


@cli.group()
def zotero():
    """Zotero: push the reading list into a Zotero library (Web API v3)."""


@zotero.command(name="push")
@click.option("--library-id", required=True, help="Your Zotero user ID or the group ID (digits; see zotero.org/settings/keys).")
@click.option("--library-type", type=click.Choice(("user", "group")), default="user", show_default=True)
# No short flags: -c is --channel and -n a count in every other command.
@click.option("--collection", metavar="NAME", help="Put the items in this collection (created if missing).")
@click.option("--dry-run", is_flag=True,
              help="Show what would be created or updated; write nothing (with --collection, read whether it exists). "
                   "With --quiet, only check (print nothing but errors).")
@export_filters
@quiet_option
@config_option
@db_path_option
def zotero_push(db_path, library_id, library_type, collection, dry_run, status, kind, channel, tag, since, quiet, config_path):
    """Create or update the items in a Zotero library, with a child note each.

    The API key comes from $ZOTERO_API_KEY (never a flag: it would land in the
    shell history); it needs write access. Pushing again updates items,
    never duplicates them; edits made in Zotero are kept. The base URL is
    $READINGLIST_ZOTERO_API (default https://api.zotero.org).

    \b
    Examples:
        export ZOTERO_API_KEY=...
        readinglist zotero push --library-id 123456 --dry-run
        readinglist zotero push --library-id 123456 --collection "Reading list" --status read
        readinglist zotero push --library-id 98765 --library-type group --kind paper
    """
    import os

    from .zotero import Library, ZoteroClient, ZoteroError, collection_to_plan, plan, push

    if not library_id.strip().isdigit():
        raise click.ClickException(f"--library-id: {library_id!r} is not a Zotero library ID (digits)")
    library = Library(library_type, library_id.strip())
    # Checked before any work, the dry run's too: it is how a cron job's options are tested.
    settings = load_settings(config_path)
    db = _open(db_path)  # after the options and settings: their errors come first
    if not dry_run:
        # Items pushed but not recorded would be created again by the next push.
        database.require_writable(db)
    # The note lists the posts that mentioned the item: the dry run compares it with the pushed one too.
    records = _select_records(db, status, kind, channel, tag, since, with_mentions=True)

    def client() -> ZoteroClient:
        api_key = os.environ.get("ZOTERO_API_KEY", "").strip()
        if not api_key:
            raise click.ClickException(
                "ZOTERO_API_KEY: not set (create a key with write access at https://www.zotero.org/settings/keys)")
        import httpx

        timeout = httpx.Timeout(settings.total_timeout, connect=settings.connect_timeout, read=settings.read_timeout)
        return ZoteroClient(settings.zotero_api, api_key, library, timeout=timeout, user_agent=settings.user_agent)

    if dry_run:
        collections, creates_collection = [], False
        if collection:  # whether it exists is Zotero's to say: read, never written
            try:
                with client() as reader:
                    collections, creates_collection = collection_to_plan(reader, collection)
            except ZoteroError as error:
                raise click.ClickException(str(error)) from None
        actions = plan(db, library, records, collections)
        if quiet:
            return
        for action in actions:
            changed = f" ({', '.join(action.changed)})" if action.changed else ""
            title = " ".join((action.record.title_or_url).split())
            _echo_line(f"{action.action:<9}  {action.item_type:<15}  {action.record.citekey}  {title}{changed}")
        if creates_collection:
            click.echo(f"Would create collection {collection!r}.")
        counts = {name: sum(a.action == name for a in actions) for name in ("create", "update", "unchanged")}
        where = f" into collection {collection!r}" if collection else ""
        click.echo(
            f"Dry run{where}: {counts['create']} to create, {counts['update']} to update, "
            f"{counts['unchanged']} unchanged in {library.key}."
        )
        return
    try:
        with client() as writer:
            report = push(db, writer, records, collection)
    except ZoteroError as error:
        raise click.ClickException(str(error)) from None
    if not quiet:  # items deleted in Zotero: a notice on every push, not an error
        for line in report.skipped:
            _echo_line(f"Skipped {line}", err=True)
    for line in report.failed:
        _echo_line(f"Error: {line}", err=True)
    if not quiet:
        if report.collection_created:
            click.echo(f"Created collection {report.collection_created!r}.")
        click.echo(report.summary())
    if report.failed:
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    cli()
