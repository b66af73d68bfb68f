"""Full-text search over titles, summaries and the context of the posts that mention items.

``search_docs`` holds one row per item (its title, summary and every mention's
context), kept current by triggers on ``items`` and ``mentions``; it has an
INTEGER primary key so the external-content FTS5 index ``search_docs_fts``
(made by sqlite-utils ``enable_fts`` with its triggers) survives VACUUM.
The tokenizer is ``unicode61 remove_diacritics 2``: Russian and English, case
folded; ``word*`` is a prefix query. Results are ordered by bm25, titles
weighing most.
"""

from __future__ import annotations

import re
import shlex

import sqlite_utils

TOKENIZE = "unicode61 remove_diacritics 2"
# bm25 weights of title, summary, contexts.
WEIGHTS = (10.0, 4.0, 1.0)

TRIGGERS = (
    """CREATE TRIGGER IF NOT EXISTS items_search_insert AFTER INSERT ON items BEGIN
        INSERT INTO search_docs(item_id, title, summary, contexts) VALUES (NEW.id, NEW.title, NEW.summary, '');
    END""",
    """CREATE TRIGGER IF NOT EXISTS items_search_update AFTER UPDATE OF title, summary ON items BEGIN
        UPDATE search_docs SET title = NEW.title, summary = NEW.summary WHERE item_id = NEW.id;
    END""",
    """CREATE TRIGGER IF NOT EXISTS items_search_delete AFTER DELETE ON items BEGIN
        DELETE FROM search_docs WHERE item_id = OLD.id;
    END""",
)


class BadQuery(ValueError):
    """A search query that cannot be parsed (e.g. an unbalanced quote)."""


# An item's search document holds at most this many mention contexts: enough to
# find it, and bounded however often it is mentioned.
MAX_CONTEXTS = 50

CONTEXTS_SQL = f"""COALESCE((SELECT group_concat(context, char(10)) FROM (
    SELECT context FROM mentions WHERE mentions.item_id = {{item}} AND context != ''
    ORDER BY rowid LIMIT {MAX_CONTEXTS})), '')"""


def refresh_contexts(db: sqlite_utils.Database, item_ids) -> None:
    """Rebuild the mention contexts of ``item_ids``' search documents (via ``db.mentions_written``)."""
    ids = list(item_ids)
    db.execute(
        f"UPDATE search_docs SET contexts = {CONTEXTS_SQL.format(item='search_docs.item_id')}"
        f" WHERE item_id IN ({', '.join('?' * len(ids))})",
        ids,
    )


def install(db: sqlite_utils.Database) -> None:
    db["search_docs"].create(
        {"id": int, "item_id": str, "title": str, "summary": str, "contexts": str},
        pk="id",
        if_not_exists=True,
    )
    db["search_docs"].create_index(["item_id"], unique=True, if_not_exists=True)
    for sql in TRIGGERS:
        db.execute(sql)
    db.execute(
        """INSERT INTO search_docs(item_id, title, summary, contexts)
        SELECT items.id, items.title, items.summary, {contexts}
        FROM items WHERE items.id NOT IN (SELECT item_id FROM search_docs)""".format(
            contexts=CONTEXTS_SQL.format(item="items.id")
        )
    )
    if not db["search_docs_fts"].exists():
        db["search_docs"].enable_fts(["title", "summary", "contexts"], create_triggers=True, tokenize=TOKENIZE)


_TERM = re.compile(r"^(.*?)(\*?)$", re.S)


def fts_query(query: str) -> str:
    """A user query as a safe FTS5 query: every term quoted, ``term*`` kept as a prefix query.

    Terms are ANDed; ``"two words"`` is a phrase. Raises :class:`BadQuery`.
    """
    try:
        terms = shlex.split(query, posix=True)
    except ValueError:
        raise BadQuery("unbalanced quote in search query") from None
    parts = []
    for term in terms:
        body, star = _TERM.match(term).groups()
        body = body.strip()
        if not body or not re.search(r"\w", body):
            continue
        parts.append('"' + body.replace('"', '""') + '"' + star)
    if not parts:
        raise BadQuery("empty search query")
    return " ".join(parts)


def search(
    db: sqlite_utils.Database,
    query: str,
    *,
    status: str = "all",
    kind: str | None = None,
    limit: int = 50,
) -> list[dict]:
    """Items matching ``query``, best first: dicts with id, url, kind, title, status, rank and snippet."""
    match = fts_query(query)
    clauses, params = ["search_docs_fts MATCH ?"], [match]
    if status != "all":
        clauses.append("items.status = ?")
        params.append(status)
    if kind:
        clauses.append("items.kind = ?")
        params.append(kind)
    sql = f"""
        SELECT items.id, items.url, items.kind, items.title, items.status, items.domain,
               bm25(search_docs_fts, {", ".join(map(str, WEIGHTS))}) AS rank,
               snippet(search_docs_fts, -1, '[', ']', '…', 12) AS snippet
        FROM search_docs_fts
        JOIN search_docs ON search_docs.id = search_docs_fts.rowid
        JOIN items ON items.id = search_docs.item_id
        WHERE {" AND ".join(clauses)}
        ORDER BY rank, items.id
        LIMIT ?
    """
    params.append(limit)
    try:
        cursor = db.execute(sql, params)
    except Exception as error:  # sqlite3.OperationalError: fts5 syntax error
        raise BadQuery(f"cannot search for {query!r} ({error})") from None
    columns = [d[0] for d in cursor.description]
    rows = [dict(zip(columns, row)) for row in cursor]
    for row in rows:
        row["rank"] = round(row["rank"], 4)
    return rows
