"""Full-text search over titles, summaries, the user's notes and the context of the posts that mention items.

``search_docs`` holds one row per item (its title, summary, note and every
mention's context), kept current by triggers on ``items`` and by
``db.mentions_written``; it has an
INTEGER primary key so the external-content FTS5 index ``search_docs_fts``
(made by sqlite-utils ``enable_fts`` with its triggers) survives VACUUM.
The tokenizer is ``unicode61 remove_diacritics 2``: Russian and English, case
folded; ``word*`` is a prefix query; ``еще`` finds ``ещё`` and the other
way round (:func:`yo_spellings`, on the query side). A word finds its other
forms: ``трансформеры`` finds ``трансформеров``, ``expert`` finds ``Experts``
(:func:`word_forms`, Snowball stemmers, also on the query side: the index holds
words as written, and the query asks for those of them that share the word's
stem). Results are ordered by bm25, titles weighing most.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

import snowballstemmer
import sqlite_utils

TOKENIZE = "unicode61 remove_diacritics 2"
# The indexed columns of search_docs, and their bm25 weights: the note is the user's own words about the item.
COLUMNS = ("title", "summary", "contexts", "note")
WEIGHTS = (10.0, 4.0, 1.0, 4.0)

TRIGGER_NAMES = ("items_search_insert", "items_search_update", "items_search_delete")
TRIGGERS = (
    """CREATE TRIGGER IF NOT EXISTS items_search_insert AFTER INSERT ON items BEGIN
        INSERT INTO search_docs(item_id, title, summary, contexts, note) VALUES (NEW.id, NEW.title, NEW.summary, '', NEW.note);
    END""",
    """CREATE TRIGGER IF NOT EXISTS items_search_update AFTER UPDATE OF title, summary, note ON items BEGIN
        UPDATE search_docs SET title = NEW.title, summary = NEW.summary, note = NEW.note WHERE item_id = NEW.id;
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


def refresh_contexts(db: sqlite_utils.Database, item_ids, *, changed: bool = False) -> None:
    """Rebuild the mention contexts of ``item_ids``' search documents (via ``db.mentions_written``).

    ``changed``: contexts already indexed changed, so even a full document is rebuilt.
    """
    ids = list(item_ids)
    # A document that already holds MAX_CONTEXTS contexts keeps them: new
    # mentions come later in rowid order. Skipping it spares FTS5 re-indexing
    # the documents of the most mentioned items in every batch.
    full = "0" if changed else f"length(contexts) - length(replace(contexts, char(10), '')) >= {MAX_CONTEXTS - 1}"
    db.execute(
        f"UPDATE search_docs SET contexts = {CONTEXTS_SQL.format(item='search_docs.item_id')}"
        f" WHERE item_id IN ({', '.join('?' * len(ids))}) AND NOT ({full})",
        ids,
    )


def install(db: sqlite_utils.Database) -> None:
    """The search documents of every item, their index, and the triggers that keep both current."""
    db["search_docs"].create(
        {"id": int, "item_id": str, "title": str, "summary": str, "contexts": str, "note": str},
        pk="id",
        if_not_exists=True,
    )
    db["search_docs"].create_index(["item_id"], unique=True, if_not_exists=True)
    for sql in TRIGGERS:
        db.execute(sql)
    db.execute(
        """INSERT INTO search_docs(item_id, title, summary, contexts, note)
        SELECT items.id, items.title, items.summary, {contexts}, items.note
        FROM items WHERE items.id NOT IN (SELECT item_id FROM search_docs)""".format(
            contexts=CONTEXTS_SQL.format(item="items.id")
        )
    )
    if not db["search_docs_fts"].exists():
        _create_index(db)


def _create_index(db: sqlite_utils.Database) -> None:
    """The FTS5 index of ``search_docs`` (external content) and its triggers, as sqlite-utils' ``enable_fts`` makes
    them, filled from the documents.

    Statement by statement: ``enable_fts`` runs ``executescript``, which commits
    the transaction a migration runs in.
    """
    columns = ", ".join(f'"{column}"' for column in COLUMNS)
    old = ", ".join(f'old."{column}"' for column in COLUMNS)
    new = ", ".join(f'new."{column}"' for column in COLUMNS)
    db.execute(
        f'CREATE VIRTUAL TABLE "search_docs_fts" USING FTS5 ({columns}, tokenize=\'{TOKENIZE}\', content="search_docs")'
    )
    db.execute("INSERT INTO search_docs_fts(search_docs_fts) VALUES ('rebuild')")
    db.execute(
        f'CREATE TRIGGER "search_docs_ai" AFTER INSERT ON "search_docs" BEGIN'
        f' INSERT INTO "search_docs_fts" (rowid, {columns}) VALUES (new.rowid, {new}); END'
    )
    db.execute(
        f'CREATE TRIGGER "search_docs_ad" AFTER DELETE ON "search_docs" BEGIN'
        f' INSERT INTO "search_docs_fts" ("search_docs_fts", rowid, {columns}) VALUES (\'delete\', old.rowid, {old}); END'
    )
    db.execute(
        f'CREATE TRIGGER "search_docs_au" AFTER UPDATE ON "search_docs" BEGIN'
        f' INSERT INTO "search_docs_fts" ("search_docs_fts", rowid, {columns}) VALUES (\'delete\', old.rowid, {old});'
        f' INSERT INTO "search_docs_fts" (rowid, {columns}) VALUES (new.rowid, {new}); END'
    )


def index_notes(db: sqlite_utils.Database) -> None:
    """Make a search index of an earlier version hold each item's note (migration m016).

    Its documents get a ``note`` column; the FTS5 index is made again with it
    (FTS5 cannot add a column) and its rank set; the triggers on ``items``
    copy the note from then on.
    """
    if "note" not in db["search_docs"].columns_dict:
        db["search_docs"].add_column("note", str)
        db.execute(
            "UPDATE search_docs SET note = (SELECT items.note FROM items WHERE items.id = search_docs.item_id)"
            " WHERE item_id IN (SELECT id FROM items WHERE note IS NOT NULL)"
        )
    for name in TRIGGER_NAMES:
        db.execute(f"DROP TRIGGER IF EXISTS {name}")
    for sql in TRIGGERS:
        db.execute(sql)
    indexed = [row[1] for row in db.execute("PRAGMA table_info(search_docs_fts)")]
    if indexed != list(COLUMNS):
        for name in ("search_docs_ai", "search_docs_ad", "search_docs_au"):
            db.execute(f'DROP TRIGGER IF EXISTS "{name}"')
        db.execute("DROP TABLE IF EXISTS search_docs_fts")
        _create_index(db)
    set_rank(db)


_TERM = re.compile(r"^(.*?)(\*?)$", re.S)
_ONE_TOKEN = re.compile(r"^\w+$")
# A prefix that expands to more terms than this is left to FTS5's own prefix query.
MAX_PREFIX_TERMS = 50
# An FTS5 query that matches nothing (an empty phrase): what a query with no words asks for.
MATCH_NOTHING = '""'


# A term: what lies between spaces, where a "quoted part" may hold spaces (as a POSIX shell splits words).
_TERM_TEXT = re.compile(r'(?:"[^"]*"|[^ \t\r\n"])+')


def split_terms(query: str, *, close_quotes: bool = False) -> list[tuple[str, bool]]:
    """The terms of a user query, each with whether it was quoted: split at spaces, ``"two words"`` kept together.

    Only double quotes group, and are dropped: an apostrophe (``Stanford's``)
    is part of its word, and a backslash escapes nothing. An unbalanced quote
    raises :class:`BadQuery`, or with ``close_quotes`` is closed at the end of the query.
    """
    if query.count('"') % 2:
        if not close_quotes:
            raise BadQuery("unbalanced quote in search query")
        query += '"'
    return [(term.replace('"', ""), '"' in term) for term in _TERM_TEXT.findall(query)]


# Russian writes ё as е as often as not, and the tokenizer keeps them apart.
_YO_AS_E = str.maketrans("ёЁ", "еЕ")


def yo_as_e(text: str) -> str:
    """``text`` with every ё written е: the one spelling of words that Russian writes either way."""
    return text.translate(_YO_AS_E)


def name_key(name: str) -> str:
    """What a tag or channel name is compared by: case, ё written е and a leading '#' or '@' do not count
    (``#LLM`` is ``llm``, ``распределенное`` is ``распределённое``, ``@ML заметки`` is the channel ``ML заметки``)."""
    return yo_as_e(name.strip().lstrip("#@").strip().casefold())


def yo_spellings(text: str) -> list[str]:
    """``text`` as typed, with every ё written е, and with each one е of that written ё.

    A search for ``еще`` finds ``ещё`` and the other way round: the index
    holds words as they were written. Linear in the number of е: one ё a
    word is how Russian spells it (two in a phrase are matched as typed).
    """
    plain = yo_as_e(text)
    spellings = [text, plain]
    for index, letter in enumerate(plain):
        if letter in "еЕ":
            spellings.append(plain[:index] + ("ё" if letter == "е" else "Ё") + plain[index + 1 :])
    return list(dict.fromkeys(spellings))


_STEMMERS: dict[str, object] = {}
_CYRILLIC_WORD = re.compile(r"^[а-яё]+$")
_LATIN_WORD = re.compile(r"^[a-z]+$")
# A stem shorter than this finds too many unrelated words (бы, on, из-...): such a word is matched as typed.
MIN_STEM = 3

# The endings the Snowball Russian stemmer takes off, by part of speech: a stem plus
# those of its word's kind spells every form it can stand for.
_ADJECTIVE = "ее ие ые ое ими ыми ей ий ый ой ем им ым ом его ого ему ому их ых ую юю ая яя ою ею".split()
_RUSSIAN_ENDINGS = (
    frozenset(  # nouns
        "а ев ов ие ье е иями ями ами еи ии и ией ей ой ий й иям ям ием ем ам ом о у ах иях ях ы ь ию ью ю ия ья я"
        " ость ости остью остей остям остями остях".split() + [""]
    ),
    frozenset(_ADJECTIVE + ["н" + ending for ending in _ADJECTIVE] + ["нн" + ending for ending in _ADJECTIVE]),
    frozenset(  # verbs, reflexive ones too
        "ла на ете йте ли й л ем н ло но ет ют ны ть ешь нно ила ыла ена ейте уйте ите или ыли ей уй ил ыл им ым ен ило"
        " ыло ено ят ует уют ит ыт ены ить ыть ишь ую ю ал ял ать ять ает яет ают яют".split()
        + [ending + "ся" for ending in "ть ет ют ит ят л ла ли ло ешь ишь ать ять ает яет ают яют ить".split()]
    ),
)
_ENGLISH_ENDINGS = ("", "s", "es", "ed", "ing", "er", "ers", "ly", "e", "ation", "ations")
# The spellings of a word's forms asked of the index, at most: a stem with many е is
# also asked with a ё in place of each, until this many.
MAX_FORM_SPELLINGS = 200


def word_stem(word: str) -> str | None:
    """The Snowball stem of a folded Russian or English word (ё read as е); None for anything else."""
    if _CYRILLIC_WORD.match(word):
        language = "russian"
    elif _LATIN_WORD.match(word):
        language = "english"
    else:
        return None
    stemmer = _STEMMERS.get(language)
    if stemmer is None:
        stemmer = _STEMMERS[language] = snowballstemmer.stemmer(language)
    return stemmer.stemWord(word)


def word_forms(word: str) -> list[str]:
    """The spellings that share a folded word's Snowball stem (``речь``: речи, речью, …), the word first.

    Spelled out from the stem and the endings the stemmer takes off, and kept
    only when they stem back to it; most are not words, and the index is asked
    which are (see :func:`_index_lookups`). A stem shorter than
    :data:`MIN_STEM`, or a word of neither language, has no other forms.
    """
    stem = word_stem(word)
    if stem is None or len(stem) < MIN_STEM:
        return [word]
    if _CYRILLIC_WORD.match(word):
        ending = yo_as_e(word)[len(stem):]
        kinds = [endings for endings in _RUSSIAN_ENDINGS if ending in endings] or _RUSSIAN_ENDINGS
        endings = sorted(set().union(*kinds))
        spellings = set()
        # The index holds words as written: объём's forms may be spelled with ё.
        for stem_spelling in yo_spellings(stem):
            if len(spellings) + len(endings) > MAX_FORM_SPELLINGS:
                break
            spellings |= {stem_spelling + ending for ending in endings}
    else:
        # English stems can end unlike the word: study -> studi, use -> use (using), run -> run (running).
        bases = {stem, word}
        if stem.endswith("i"):
            bases.add(stem[:-1] + "y")
        if stem.endswith("e"):
            bases.add(stem[:-1])
        spellings = {base + ending for base in bases for ending in _ENGLISH_ENDINGS}
        spellings |= {stem + stem[-1] + ending for ending in ("ing", "ed", "er")}
        if stem.endswith("i"):
            spellings |= {stem[:-1] + ending for ending in ("ies", "ied", "ying")}
    return [word] + sorted(form for form in spellings - {word} if word_stem(yo_as_e(form)) == stem)


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _any_of(alternatives: list[str]) -> str:
    return alternatives[0] if len(alternatives) == 1 else "(" + " OR ".join(alternatives) + ")"


def _expanded(prefixes: list[str], expand) -> list[str] | None:
    """The indexed terms that start with any of ``prefixes``; None: leave them to FTS5's prefix query."""
    if expand is None or not all(_ONE_TOKEN.match(prefix) for prefix in prefixes):
        return None
    words: list[str] = []
    for prefix in prefixes:
        found = expand(prefix)
        if found is None:
            return None
        words += found
    words = list(dict.fromkeys(words))
    return words if 0 < len(words) <= MAX_PREFIX_TERMS else None


# Operators a query may use, written in capitals and not quoted ("OR" is the word or).
OPERATORS = ("AND", "OR", "NOT")


@dataclass
class _Group:
    """Terms of a query that any one of fits (``a OR b``); ``negated``: items with it are left out."""

    terms: list[str]
    negated: bool = False


def _groups(terms: list[tuple[str, bool]]) -> list[_Group]:
    """The terms of a query (:func:`split_terms`) grouped by its operators.

    ``OR`` joins the terms on either side of it into one group (``llm
    attention OR rope``: llm, and attention or rope), but not a term left
    out; ``AND`` says what terms side by side say; ``NOT word`` and
    ``-word`` leave out what has the word. An operator where it joins
    nothing (first or last, ``AND`` alone) is a word.
    """
    groups: list[_Group] = []
    join = negate = False
    for index, (text, quoted) in enumerate(terms):
        following = index + 1 < len(terms)
        operator = text if not quoted and text in OPERATORS else None
        if operator in ("AND", "OR") and following and groups:
            join = join or (operator == "OR" and not groups[-1].negated)
            continue
        if operator == "NOT" and following:
            negate = True
            continue
        negated = negate
        if not quoted and len(text) > 1 and text.startswith("-"):
            text, negated = text[1:], True
        if join and not negated:
            groups[-1].terms.append(text)
        else:
            groups.append(_Group([text], negated))
        join = negate = False
    return groups


def _term_query(term: str, expand, forms) -> str | None:
    """One term as FTS5 query text: its spellings, prefix terms or word forms (see :func:`fts_query`); None if it has no word."""
    body, star = _TERM.match(term).groups()
    body = body.strip()
    if not body or not re.search(r"\w", body):
        return None
    spellings = yo_spellings(body)
    words = _expanded(spellings, expand) if star else None
    if not star and forms is not None and _ONE_TOKEN.match(body):
        words = list(dict.fromkeys([spelling.lower() for spelling in spellings] + (forms(body) or [])))
        words = words if len(words) > len(spellings) else None
    if words:
        return "(" + " OR ".join(map(_quoted, words)) + ")"
    return _any_of([_quoted(spelling) + star for spelling in spellings])


def fts_query(query: str, expand=None, *, forgiving: bool = False, forms=None) -> str:
    """A user query as a safe FTS5 query: every term quoted, ``term*`` kept as a prefix query.

    Terms are ANDed; ``a OR b``, ``NOT word`` and ``-word`` are the
    operators a user may type (:func:`_groups`), and are built here, so no
    text typed is FTS5 syntax; ``"two words"`` is a phrase; a term with е or ё is any of
    its :func:`yo_spellings`. ``expand(prefix)`` may return the indexed terms
    that start with a one-word prefix ([] for none, None for too many), to
    query them as an OR instead (FTS5 materializes a prefix's whole doclist; an
    OR of terms streams). ``forms(word)`` may return the indexed forms of a
    one-word term (see :func:`_index_lookups`), asked for as an OR with the
    word's own spellings. Raises :class:`BadQuery`; ``forgiving`` (a search
    box: whatever is typed gives results or none, never an error) closes an
    unbalanced quote and makes a query with no words to find :data:`MATCH_NOTHING`.
    """
    found, left_out = [], []
    for group in _groups(split_terms(query, close_quotes=forgiving)):
        alternatives = list(dict.fromkeys(filter(None, (_term_query(term, expand, forms) for term in group.terms))))
        if alternatives:
            (left_out if group.negated else found).append(_any_of(alternatives))
    if not found:
        if forgiving:
            return MATCH_NOTHING
        if left_out:
            raise BadQuery("nothing to find: a search needs a word besides the ones it leaves out (-word, NOT word)")
        raise BadQuery("empty search query")
    # An explicit AND: FTS5 allows the implicit one between phrases only, not next to an (... OR ...) group.
    match = " AND ".join(found)
    if left_out:
        # FTS5's NOT is binary (a NOT b), so what is left out follows what is found.
        match = (f"({match})" if len(found) > 1 else match) + "".join(f" NOT {part}" for part in left_out)
    return match

def _index_lookups(db: sqlite_utils.Database) -> dict:
    """``expand`` and ``forms`` for :func:`fts_query`: what the index holds of a prefix, of a word's forms."""
    db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_vocab USING fts5vocab(main, search_docs_fts, 'row')")

    def expand(prefix: str) -> list[str] | None:
        # unicode61 folds case; where Python folds differently nothing is found
        # and (when no spelling of the prefix finds anything) the query falls
        # back to FTS5's prefix search, which is always right.
        folded = prefix.lower()
        words = [
            row[0]
            for row in db.execute(
                "SELECT term FROM temp.search_vocab WHERE term >= ? AND term < ? LIMIT ?",
                [folded, folded + "\U0010ffff", MAX_PREFIX_TERMS + 1],
            )
        ]
        return words if len(words) <= MAX_PREFIX_TERMS else None

    def forms(word: str) -> list[str]:
        # Asked one by one: a MATCH that stops at its first row costs a fraction of a
        # millisecond, where the vocabulary table counts every row of a common word.
        return [
            form for form in word_forms(word.lower())[1:]
            if db.execute("SELECT 1 FROM search_docs_fts WHERE search_docs_fts MATCH ? LIMIT 1", [_quoted(form)]).fetchone()
        ]

    return {"expand": expand, "forms": forms}


def _prefix_expander(db: sqlite_utils.Database):
    """``expand`` for :func:`fts_query` (see :func:`_index_lookups`)."""
    return _index_lookups(db)["expand"]


# bm25 costs a lookup per matching row. A query that matches a large share of
# the list ("model" in an ML reading list) is ranked among the most recently
# added RANK_WINDOW matches first; the window widens only while it yields
# fewer results than asked for and older matches remain.
RANK_WINDOW = 10_000
WINDOW_GROWTH = 8


def search(
    db: sqlite_utils.Database,
    query: str,
    *,
    status: str = "all",
    kind: str | None = None,
    limit: int = 50,
    window: int = RANK_WINDOW,
) -> list[dict]:
    """Items matching ``query``, best first: dicts with id, url, kind, title, status, rank and snippet.

    Ranked by bm25 (title weighing most, see :data:`WEIGHTS`) among the
    ``window`` most recently added matches; see :data:`RANK_WINDOW`.
    """
    match = fts_query(query, **_index_lookups(db))
    filters, filter_params = [], []
    if status != "all":
        filters.append("items.status = ?")
        filter_params.append(status)
    if kind:
        filters.append("items.kind = ?")
        filter_params.append(kind)
    join = ""
    if filters:
        join = "JOIN search_docs ON search_docs.id = search_docs_fts.rowid JOIN items ON items.id = search_docs.item_id"
    try:
        top: list[tuple[int, float]] = []
        while True:
            floor = db.execute(
                "SELECT rowid FROM search_docs_fts WHERE search_docs_fts MATCH ? ORDER BY rowid DESC LIMIT 1 OFFSET ?",
                [match, window - 1],
            ).fetchone()
            clauses = ["search_docs_fts MATCH ?"] + filters
            params: list = [match] + filter_params
            if floor is not None:
                clauses.append("search_docs_fts.rowid >= ?")
                params.append(floor[0])
            top = db.execute(
                f"SELECT search_docs_fts.rowid, search_docs_fts.rank FROM search_docs_fts {join}"
                f" WHERE {' AND '.join(clauses)} ORDER BY search_docs_fts.rank, search_docs_fts.rowid LIMIT ?",
                params + [limit],
            ).fetchall()
            if floor is None or len(top) >= limit:
                break
            window *= WINDOW_GROWTH
        if not top:
            return []
        # Snippets and item fields for the chosen rows only.
        rowids = [rowid for rowid, _ in top]
        cursor = db.execute(
            f"""
            SELECT search_docs_fts.rowid, items.id, items.url, items.kind, items.title, items.status, items.domain,
                   snippet(search_docs_fts, -1, '[', ']', '…', 12) AS snippet
            FROM search_docs_fts
            JOIN search_docs ON search_docs.id = search_docs_fts.rowid
            JOIN items ON items.id = search_docs.item_id
            WHERE search_docs_fts MATCH ? AND search_docs_fts.rowid IN ({", ".join("?" * len(rowids))})
            """,
            [match, *rowids],
        )
    except sqlite3.OperationalError as error:
        if error.sqlite_errorname != "SQLITE_ERROR":
            raise  # not the query's fault: a locked, read-only or damaged database
        raise BadQuery(f"cannot search for {query!r} ({error})") from None
    columns = [d[0] for d in cursor.description]
    found = {row[0]: dict(zip(columns[1:], row[1:])) for row in cursor}
    rows = []
    for rowid, rank in top:
        row = found[rowid]
        rows.append({**{k: row[k] for k in ("id", "url", "kind", "title", "status", "domain")},
                     "rank": round(rank, 4), "snippet": row["snippet"]})
    return rows


RANK_SQL = f"bm25({', '.join(map(str, WEIGHTS))})"


def set_rank(db: sqlite_utils.Database) -> None:
    """Make FTS5's ``rank`` the weighted bm25 (stored in the index's config table)."""
    current = db.execute("SELECT v FROM search_docs_fts_config WHERE k = 'rank'").fetchone()
    if current is None or current[0] != RANK_SQL:
        db.execute("INSERT INTO search_docs_fts(search_docs_fts, rank) VALUES('rank', ?)", [RANK_SQL])
