"""Exporting the reading list: which items, as what records, in which format.

:func:`select_items` reads the database once and returns plain
:class:`~readinglist.export.records.Record` objects carrying everything a
writer needs (citation key, parsed authors, dates with their fallbacks, tags
with the posts' hashtags, summary). Writers are pure functions
``list[Record] -> str``, registered in :data:`FORMATS`.
"""

from __future__ import annotations

import importlib
import json
import os
import secrets
import stat
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from .records import Mention, Record, build_record

# Kinds that are not works to cite: left out unless asked for with --kind.
NOT_EXPORTED = ("channel", "unresolved")
MENTIONS_PER_ITEM = 50  # the latest mentions a record carries when asked for them


@dataclass(frozen=True)
class Format:
    name: str
    module: str
    function: str
    extension: str
    description: str
    listed: bool = False  # the records need what `readinglist list --json` has (select_items(with_listed=True))

    def write(self, records: list[Record]) -> str:
        module = importlib.import_module(f"{__name__}.{self.module}")
        return getattr(module, self.function)(records)


FORMATS = {
    f.name: f
    for f in (
        Format("bibtex", "bibtex", "write_bibtex", ".bib", "BibTeX (bibtex, natbib, Pandoc)"),
        Format("biblatex", "bibtex", "write_biblatex", ".bib", "BibLaTeX (biber)"),
        Format("ris", "ris", "write_ris", ".ris", "RIS (Zotero, EndNote, Mendeley)"),
        Format("csljson", "csljson", "write_csljson", ".json", "CSL-JSON (Zotero, Pandoc, citeproc)"),
        Format("json", "tabular", "write_json", ".json", "JSON: every field of every record", listed=True),
        Format("csv", "tabular", "write_csv", ".csv", "CSV with a header row", listed=True),
        Format("netscape", "netscape", "write_netscape", ".html", "Netscape bookmarks HTML (browsers, read-later apps)"),
    )
}


def export(db: sqlite_utils.Database, format_name: str, **filters) -> tuple[str, int]:
    """The items matching ``filters`` written in ``format_name``; and how many there are."""
    records = select_items(db, **filters, with_listed=FORMATS[format_name].listed)
    return FORMATS[format_name].write(records), len(records)


class ExportError(Exception):
    """An export that must not be written where it was asked to go."""


SQLITE_HEADER = b"SQLite format 3\x00"
# What SQLite keeps beside a database while it is open; writing over one loses commits.
DATABASE_COMPANIONS = ("-wal", "-shm", "-journal")


def write_file(path: str | os.PathLike, text: str, *, database: sqlite_utils.Database | None = None) -> None:
    """Write ``text`` (UTF-8) to ``path`` in full or not at all: into a new file beside it, renamed over it.

    The rename replaces a file by another, so what the old one was is carried
    over: an existing file keeps its mode (a new one gets the umask's, as any
    new file), and a symlink stays a symlink, its target written. What is not
    a regular file (a device such as /dev/null, a FIFO, /dev/stdout) cannot be
    replaced and is written as it is. Refuses (ExportError) to write over
    ``database`` or any other SQLite database. Raises OSError.
    """
    try:
        status = os.stat(path)
    except FileNotFoundError:
        status = None
    _check_not_a_database(path, status, database)
    if status is not None and not _replaceable(path, status):
        with open(path, "w", encoding="utf-8") as out:
            out.write(text)
        return
    target = Path(os.path.realpath(path))
    mode = stat.S_IMODE(status.st_mode) if status is not None else None
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    # 0o666 less the umask, as open() would create the file.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with open(descriptor, "w", encoding="utf-8") as out:
            out.write(text)
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _replaceable(path: str | os.PathLike, status: os.stat_result) -> bool:
    """Whether ``path`` is a regular file a new one may be renamed over.

    /dev/stdout and /proc/self/fd/N are links to whatever the descriptor is
    (a pipe, a file opened for appending): renaming over what they resolve to
    is not writing to the descriptor, so they are written as they are.
    """
    absolute = os.path.abspath(path)
    return stat.S_ISREG(status.st_mode) and not absolute.startswith(("/dev/", "/proc/"))


def _check_not_a_database(path, status: os.stat_result | None, database: sqlite_utils.Database | None) -> None:
    """ExportError if ``path`` is ``database`` (by any name, links included), a file it keeps beside it, or an SQLite file."""
    if status is None:
        return
    if database is not None:
        main = next((row[2] for row in database.execute("PRAGMA database_list") if row[1] == "main"), "")
        for name in (main, *(main + suffix for suffix in DATABASE_COMPANIONS if main)):
            try:
                other = os.stat(name)
            except OSError:
                continue
            if (other.st_dev, other.st_ino) == (status.st_dev, status.st_ino):
                raise ExportError(f"{os.fspath(path)}: is the database; choose another output file")
    if stat.S_ISREG(status.st_mode):  # reading a FIFO to look at it would wait for a writer
        try:
            with open(path, "rb") as existing:
                header = existing.read(len(SQLITE_HEADER))
        except OSError:
            return  # unreadable: writing it will say why, if it fails too
        if header == SQLITE_HEADER:
            raise ExportError(f"{os.fspath(path)}: is an SQLite database; choose another output file")


def _where(db: sqlite_utils.Database, status: str | None, kind: str | None, tag: str | None, channel: str | None) -> tuple[str, list]:
    clauses, params = [], []
    if status and status != "all":
        clauses.append("items.status = ?")
        params.append(status)
    if kind:
        clauses.append("items.kind = ?")
        params.append(kind)
    else:
        clauses.append(f"items.kind NOT IN ({', '.join('?' * len(NOT_EXPORTED))})")
        params += list(NOT_EXPORTED)
    if tag:
        from ..queue import stored_values

        clauses.append(
            "EXISTS (SELECT 1 FROM json_each(COALESCE(items.tags, '[]'))"
            " WHERE json_each.value IN (SELECT value FROM json_each(?)))"
        )
        params.append(json.dumps(stored_values(db, "tags", tag), ensure_ascii=False))
    if channel:
        from ..queue import channel_filter

        clause, channel_params = channel_filter(db, channel)
        clauses.append(clause)
        params += channel_params
    return " AND ".join(clauses), params


ITEMS_SQL = """
SELECT * FROM (
    SELECT items.*,
        (SELECT MIN(posts.date) FROM mentions JOIN posts ON posts.id = mentions.post_id
         WHERE mentions.item_id = items.id) AS first_mentioned
    FROM items WHERE {where}
) {since}
ORDER BY added_at, id
"""

HASHTAGS_SQL = """
SELECT DISTINCT mentions.item_id, lower(tag.value)
FROM export_ids
JOIN mentions ON mentions.item_id = export_ids.id
JOIN posts ON posts.id = mentions.post_id,
json_each(CASE WHEN json_valid(posts.hashtags) THEN posts.hashtags ELSE '[]' END) AS tag
WHERE posts.hashtags IS NOT NULL AND posts.hashtags != '[]' AND tag.type = 'text'
"""

MENTIONS_SQL = """
SELECT mentions.item_id, mentions.post_id, posts.channel, posts.date, posts.permalink,
       COALESCE(NULLIF(mentions.context, ''), posts.text, '')
FROM export_ids
JOIN mentions ON mentions.item_id = export_ids.id
JOIN posts ON posts.id = mentions.post_id
ORDER BY mentions.item_id, posts.date DESC, posts.id
"""


def select_items(
    db: sqlite_utils.Database,
    status: str | None = "all",
    kind: str | None = None,
    tag: str | None = None,
    since: str | None = None,
    channel: str | None = None,
    *,
    with_mentions: bool = False,
    with_listed: bool = False,
    ids: list[str] | None = None,
    store_keys: bool = True,
) -> list[Record]:
    """The records of the items matching the filters, ordered by citation key.

    ``since`` (YYYY-MM-DD) keeps items first seen on or after that day, and
    ``channel`` those mentioned in (or forwarded from) a channel, as
    ``readinglist list --since`` and ``--channel`` do. Channels and unresolved references are
    left out unless ``kind`` asks for them. ``with_mentions`` loads the latest
    posts that mentioned each item (for Zotero notes); ``with_listed`` the
    item as ``readinglist list --json`` shows it (for the JSON and CSV
    exports: one more query over the mentions). Citation keys missing
    for the selected items are assigned and stored (see ``citekeys``); with
    ``store_keys=False`` (a read-only database) they are assigned only.
    """
    from ..queue import listed_items
    from .citekeys import assign, base_key

    where, params = _where(db, status, kind, tag, channel)
    if ids is not None:
        where += " AND items.id IN (SELECT value FROM json_each(?))"
        params.append(json.dumps(ids))
    since_sql = ""
    if since:
        since_sql = "WHERE COALESCE(first_mentioned, added_at) >= ?"
        params.append(since)
    cursor = db.execute(ITEMS_SQL.format(where=where, since=since_sql), params)
    columns = [d[0] for d in cursor.description]
    rows = [dict(zip(columns, row)) for row in cursor]
    if not rows:
        return []

    db.execute("CREATE TEMP TABLE IF NOT EXISTS export_ids (id TEXT PRIMARY KEY)")
    db.execute("DELETE FROM temp.export_ids")
    db.conn.executemany("INSERT OR IGNORE INTO temp.export_ids(id) VALUES (?)", [(row["id"],) for row in rows])
    hashtags: dict[str, list[str]] = defaultdict(list)
    for item_id, tag_name in db.execute(HASHTAGS_SQL):
        hashtags[item_id].append(tag_name)
    mentions: dict[str, list[Mention]] = defaultdict(list)
    if with_mentions:
        previous = None
        for item_id, post_id, channel, date, permalink, text in db.execute(MENTIONS_SQL):
            # A post that gives an item twice (abs and pdf URLs, a link and its title) is one mention.
            if (item_id, post_id) != previous and len(mentions[item_id]) < MENTIONS_PER_ITEM:
                mentions[item_id].append(Mention(channel=channel, date=date, permalink=permalink, text=text or ""))
            previous = (item_id, post_id)
    db.execute("DELETE FROM temp.export_ids")
    listed = listed_items(db, [row["id"] for row in rows]) if with_listed else {}

    records = [build_record(row, "", hashtags.get(row["id"], ()), mentions.get(row["id"], ()), listed.get(row["id"], {})) for row in rows]
    # Rows come in the order items were added, which is the order new keys are handed out.
    keys = assign(db, [(record.id, base_key(record.authors, record.year, record.title, record.repo or record.hf_id)) for record in records], store=store_keys)
    for record in records:
        record.citekey = keys[record.id]
    records.sort(key=lambda record: record.citekey)
    return records
