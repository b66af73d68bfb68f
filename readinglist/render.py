"""Printing the queue: rich panels and tables on a terminal, plain text when piped.

Titles, summaries and contexts come from the web: on a terminal they are
wrapped in ``rich.text.Text`` so ``[bold]`` in a title prints literally, and
whatever is printed goes through :func:`printable` first, so no control
character in them reaches the terminal.
"""

from __future__ import annotations

import csv
import io
import re

import click

from .queue import reading_url

SNIPPET_CHARS = 160
# C0 control characters (but tab and newline, which lay text out), DEL and C1.
# A terminal acts on them: ESC and CSI start sequences that retitle the window,
# recolour, move the cursor or make links; CR and backspace overwrite what
# was printed. Rich's Text keeps them. And the bidi controls, which make a
# channel name or title show its characters in another order than they are
# (a channel name stored by an export is kept as the chat had it); the set of
# harvester.extract.BIDI_CONTROLS, which cleans web text as it is stored.
TERMINAL_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def count_of(number: int, noun: str) -> str:
    """A count and its noun, plural unless it is one: ``1 item``, ``2 items``, ``0 new papers``.

    The one helper of every summary line (harvest, fetch, resolve, export, list, stats).
    """
    return f"{number} {noun}" + ("" if number == 1 else "s")


def printable(data):
    """``data`` (a string, or lists and dicts holding strings) with :data:`TERMINAL_CONTROLS` removed.

    Dict keys too: ``stats`` counts by channel name.
    """
    if isinstance(data, str):
        return TERMINAL_CONTROLS.sub("", data)
    if isinstance(data, dict):
        return {printable(key): printable(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [printable(value) for value in data]
    return data


def printable_line(text: str) -> str:
    """``text`` as :func:`printable` makes it, on one line: for file names and other
    input in ``Error: ...`` lines, where a newline would start a second, forged line."""
    return " ".join(printable(text).splitlines())


def _snippet(text: str | None, limit: int = SNIPPET_CHARS) -> str:
    """``text`` on one bounded line: a context, or a name (a newline in one would print a forged line)."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _minutes(item: dict) -> str:
    return f"{item['reading_minutes']} min" if item.get("reading_minutes") is not None else "? min"


def _mention_line(mention: dict) -> str:
    # Names stored by an older version may hold newlines: one line each, whatever the database says.
    where = _snippet(mention["channel"]) or "manual"
    if _snippet(mention.get("forwarded_from")):
        where += f" (from {_snippet(mention['forwarded_from'])})"
    day = (mention["date"] or "")[:10]
    head = f"{where}, {day}" if day else where
    context = _snippet(mention["context"])
    return f"{head}: {context}" if context else head


def next_lines(items: list[dict]) -> list[str]:
    lines = []
    for rank, item in enumerate(items, 1):
        lines.append(f"{rank}. {item['title'] or item['url']}")
        lines.append(f"   {item['kind']} · {item['domain']} · {_minutes(item)} · {item['id']}")
        if item["title"]:
            lines.append(f"   {reading_url(item['url'], item.get('final_url'))}")
        if item.get("summary"):
            lines.append(f"   {_snippet(item['summary'], 240)}")
        lines.append(f"   why: {item['reason']}")
        lines.extend(f"   - {_mention_line(m)}" for m in item["mentions"])
    return lines


def print_next(items: list[dict], tty: bool) -> None:
    items = printable(items)
    if not items:
        click.echo("Nothing to read: the queue is empty (or everything is filtered out).")
        return
    if not tty:
        click.echo("\n".join(next_lines(items)))
        return
    from rich.console import Console, Group
    from rich.panel import Panel
    from rich.text import Text

    console = Console()
    for rank, item in enumerate(items, 1):
        body = [Text(f"{item['kind']} · {item['domain']} · {_minutes(item)} · ", style="dim") + Text(item["id"], style="bold cyan")]
        body.append(Text(reading_url(item["url"], item.get("final_url")), style="blue underline"))
        if item.get("summary"):
            body.append(Text(_snippet(item["summary"], 400)))
        body.append(Text("why: ", style="bold") + Text(item["reason"]))
        body.extend(Text("• " + _mention_line(m), style="dim") for m in item["mentions"])
        console.print(Panel(Group(*body), title=Text(f"{rank}. {item['title'] or item['url']}"), title_align="left"))


SHOW_FIELDS = (
    "id", "url", "kind", "title", "domain", "status", "priority", "tags", "note", "score", "reason",
    "reading_minutes", "fetch_status", "language", "summary", "snoozed_until", "read_at", "added_at",
    "mention_posts", "mention_channels", "last_mentioned", "arxiv_id", "doi", "repo", "hf_id", "title_source",
)


def _value(value) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return "" if value is None else str(value)


def _line_value(value) -> str:
    """``value`` on one line: a summary's or note's own line breaks as spaces, so
    every line of ``show`` is one ``key: value`` (web text cannot add a key)."""
    return " ".join(_value(value).split())


# Bookkeeping in meta that says nothing to a reader, and the whole abstract, which the summary shortens.
META_HIDDEN = frozenset({"adapter", "site_tags", "site_keys", "cites", "abstract"})


def _meta_value(meta: dict) -> str:
    """``meta`` on one line: ``stars=120; license=MIT; topics=a, b`` (a value's own line breaks are spaces)."""
    return "; ".join(
        f"{key}={_line_value(value)}"
        for key, value in meta.items() if key not in META_HIDDEN and value not in (None, "", [])
    )


def _related_line(related: dict) -> str:
    """``code: 1a2b3c4d5e6f owner/repo: description (code-for, same-post)``."""
    return f"{related['role']}: {related['id']} {related['title'] or related['url']} ({', '.join(related['relations'])})"


def show_lines(item: dict) -> list[str]:
    keys = list(SHOW_FIELDS) + [
        k for k in item if k not in SHOW_FIELDS and k not in ("mentions", "history", "mention_count", "meta", "related", "related_count")
    ]
    lines = [f"{key}: {_line_value(item[key])}" for key in keys if key in item and item[key] not in (None, "", [])]
    if item.get("meta"):
        lines.append(f"meta: {_meta_value(item['meta'])}")
    if item.get("related"):
        lines.append(f"related ({_related_shown(item)}):")
        lines.extend(f"  - {_related_line(related)}" for related in item["related"])
    lines.append(f"mentions ({_mentions_shown(item)}):")
    lines.extend(f"  - {_mention_line(m)}" for m in item["mentions"])
    lines.append(f"history ({len(item['history'])}):")
    lines.extend(
        f"  {event['time']}  {event['action']}" + (f" {event['value']}" if event["value"] else "")
        for event in item["history"]
    )
    return lines


def print_show(item: dict, tty: bool) -> None:
    item = printable(item)
    if not tty:
        click.echo("\n".join(show_lines(item)))
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, show_header=False)
    table.add_column(style="bold")
    table.add_column()
    for key in SHOW_FIELDS:
        if item.get(key) not in (None, "", []):
            table.add_row(key, Text(_value(item[key])))
    if item.get("meta"):
        table.add_row("meta", Text(_meta_value(item["meta"])))
    console = Console()
    console.print(table)
    if item.get("related"):
        console.print(Text(f"Related ({_related_shown(item)})", style="bold"))
        for related in item["related"]:
            console.print(Text("  • " + _related_line(related)))
    console.print(Text(f"Mentions ({_mentions_shown(item)})", style="bold"))
    for mention in item["mentions"]:
        console.print(Text("  • " + _mention_line(mention)))
    console.print(Text(f"History ({len(item['history'])})", style="bold"))
    for event in item["history"]:
        console.print(Text(f"  {event['time']}  {event['action']} {event['value'] or ''}".rstrip()))


def search_lines(results: list[dict]) -> list[str]:
    lines = []
    for row in results:
        lines.append(f"{row['id']}  {row['kind']:<10}  {row['status']:<8}  {row['title'] or row['url']}")
        snippet = _snippet(row["snippet"])
        if snippet:
            lines.append(f"    {snippet}")
    return lines


def print_search(results: list[dict], tty: bool) -> None:
    results = printable(results)
    if not results:
        click.echo("No matches.")
        return
    if not tty:
        click.echo("\n".join(search_lines(results)))
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table("id", "kind", "status", "title / snippet", box=None, header_style="bold")
    for row in results:
        shown = Text(row["title"] or row["url"])
        shown.append("\n" + _snippet(row["snippet"]), style="dim")
        table.add_row(row["id"], row["kind"], row["status"], shown)
    Console().print(table)


def stats_lines(data: dict) -> list[str]:
    backlog = data["backlog"]
    lines = [
        f"items: {data['items']}",
        "by status: " + ", ".join(f"{k} {v}" for k, v in data["by_status"].items()) + f" (snoozed {data['snoozed']})",
        "by kind: " + ", ".join(f"{k} {v}" for k, v in data["by_kind"].items()),
        "top channels: " + ", ".join(f"{_snippet(k)} {v}" for k, v in data["by_channel"].items()),
        "top domains: " + ", ".join(f"{k or '(none)'} {v}" for k, v in data["by_domain"].items()),
        f"read: {data['read_this_week']} this week, {data['read_this_month']} this month",
        f"backlog: {count_of(backlog['items'], 'item')}, {backlog['minutes']} min known, {backlog['unknown_length']} of unknown length",
    ]
    return lines


def print_stats(data: dict, tty: bool) -> None:
    data = printable(data)
    if not tty:
        click.echo("\n".join(stats_lines(data)))
        return
    from rich.console import Console
    from rich.text import Text

    console = Console()
    for line in stats_lines(data):
        key, _, rest = line.partition(": ")
        console.print(Text(key + ": ", style="bold") + Text(rest))


CSV_FIELDS = ("id", "url", "kind", "title", "status", "priority", "tags", "mentions", "channels", "first_seen", "domain", "score", "added_at")


def items_csv(items: list[dict]) -> str:
    from .export.tabular import csv_cell  # the export's formula guard

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for item in items:
        writer.writerow([csv_cell(item[f]) for f in CSV_FIELDS])
    return out.getvalue()


def _related_shown(item: dict) -> str:
    shown, total = len(item["related"]), item.get("related_count", len(item["related"]))
    return str(total) if shown == total else f"first {shown} of {total}"


def _mentions_shown(item: dict) -> str:
    shown, total = len(item["mentions"]), item.get("mention_count", len(item["mentions"]))
    return str(total) if shown == total else f"latest {shown} of {total}"
