"""Full-text search in Russian and English."""

import itertools
import json
from datetime import datetime, timezone

import pytest

from queue_fixtures import SEARCH_SHAPES, builder, db_path, every_shape_item, run  # noqa: F401
from readinglist.db import item_id_for


@pytest.fixture
def items(builder):
    ids = {}
    ids["attention"] = builder.item("https://arxiv.org/abs/1706.03762", "paper", "Attention Is All You Need")
    builder.mention(ids["attention"], "ML заметки", 2, "Разбор статьи про Трансформеры и внимание")
    ids["habr"] = builder.item("https://habr.com/ru/articles/1/", "article", "Трансформер своими руками")
    ids["repo"] = builder.item("https://github.com/a/b", "repo", None)
    builder.mention(ids["repo"], "Data Digest", 1, "A tiny CUDA kernel library")
    return ids


def found(db_path, *args):
    result = run("search", "--db", db_path, "--json", *args)
    assert result.exit_code == 0, result.output
    return [row["id"] for row in json.loads(result.output)]


def test_russian_prefix_and_case_folding(items, db_path):
    assert sorted(found(db_path, "трансформ*")) == sorted([items["attention"], items["habr"]])
    # A title match outranks a context match (bm25 weights).
    assert found(db_path, "ТРАНСФОРМ*")[0] == items["habr"]
    assert found(db_path, "внимание") == [items["attention"]]


def test_english_and_context(items, db_path):
    assert found(db_path, "attention") == [items["attention"]]
    assert found(db_path, "cuda kernel") == [items["repo"]]
    assert found(db_path, '"kernel library"') == [items["repo"]]
    assert found(db_path, "cuda", "--kind", "paper") == []


def test_status_filter_and_updates(items, db_path, builder):
    run("read", "--db", db_path, items["habr"])
    assert found(db_path, "руками", "--status", "unread") == []
    builder.db.execute("UPDATE items SET summary = 'diffusion models explained' WHERE id = ?", [items["repo"]])
    builder.db.conn.commit()
    assert found(db_path, "diffusion") == [items["repo"]]


@pytest.mark.parametrize("query", ['"unbalanced', "AND", "NEAR(", "title:x OR", "***"])
def test_hostile_queries_never_traceback(items, db_path, query):
    result = run("search", "--db", db_path, query)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code in (0, 1)
    if result.exit_code == 1:
        assert result.output.startswith("Error: ")


@pytest.mark.parametrize(
    "query, roles",
    [
        ("attention AND статьи", ["attention"]),            # AND is the default: it was searched as a word
        ("attention OR cuda", ["attention", "repo"]),
        ("cuda OR attention OR руками", ["attention", "habr", "repo"]),
        ("трансформ* -cuda", ["attention", "habr"]),
        ("трансформ* -статьи", ["habr"]),                   # a word left out in any of its forms (статья)
        ("трансформ* NOT статьи", ["habr"]),
        ("трансформ* -attention OR руками", ["habr"]),      # OR does not join a word left out: трансформ* and руками
        ("трансформ* руками OR cuda", ["habr"]),            # OR joins the words next to it
        ("tiny OR OR cuda", ["repo"]),
        ('attention "OR" cuda', []),                        # quoted, a word
        ("attention OR", []),                               # last, a word: "or" is in no item
        ("AND", []),
    ],
)
def test_search_operators(items, db_path, query, roles):
    assert sorted(found(db_path, query)) == sorted(items[role] for role in roles)


@pytest.mark.parametrize("query", ["-attention", "NOT attention", "-attention -cuda"])
def test_a_search_of_only_words_to_leave_out_is_an_error(items, db_path, query):
    assert sorted(found(db_path, "--", "-survey attention")) == [items["attention"]]
    result = run("search", "--db", db_path, "--", query)  # a query that starts with '-' follows '--'
    assert (result.exit_code, result.output) == (
        1, "Error: nothing to find: a search needs a word besides the ones it leaves out (-word, NOT word)\n"
    )


def test_unbalanced_quote_message(items, db_path):
    result = run("search", "--db", db_path, '"unbalanced')
    assert (result.exit_code, result.output) == (1, "Error: unbalanced quote in search query\n")


@pytest.mark.parametrize("first, second", list(itertools.permutations(SEARCH_SHAPES, 2)))
def test_every_query_shape_combines_with_every_other(builder, db_path, first, second):
    # FTS5 has no implicit AND next to an ( ... OR ... ) group: a prefix expanded to a few terms broke any query with it.
    wanted = every_shape_item(builder)
    assert found(db_path, f"{SEARCH_SHAPES[first]} {SEARCH_SHAPES[second]}") == [wanted]


@pytest.mark.parametrize(
    "query, finds",
    [
        ("Stanford's", True),
        ("\"Stanford's tiny\"", True),
        ("stanford's gpt", True),
        ("'alpaca'", True),
        ("it's", False),
        ("back\\slash", False),
    ],
)
def test_only_double_quotes_group(builder, db_path, query, finds):
    # An apostrophe is part of its word (shlex's single quotes made "Stanford's" an unbalanced quote).
    wanted = every_shape_item(builder)
    assert found(db_path, query) == ([wanted] if finds else [])


def test_plain_output(items, db_path):
    result = run("search", "--db", db_path, "cuda")
    assert result.output == f"{items['repo']}  repo        unread    https://github.com/a/b\n    A tiny [CUDA] kernel library\n"


@pytest.fixture
def many(builder):
    """Twelve English and Russian items, oldest first; every one matches "model*"/"модел*"."""
    ids = []
    for n in range(12):
        word = ["model", "models", "modeling", "модель", "модели", "модельный"][n % 6]
        ids.append(builder.item(f"https://example.com/{n}", "article", f"{word} number {n}", added_days_ago=30 - n))
    return ids


@pytest.mark.parametrize("prefix", ["model*", "модел*", "МОДЕЛ*", "mod*", "м*", "num*"])
def test_prefix_expansion_finds_what_fts5_prefix_finds(many, builder, prefix):
    from readinglist import search

    db = builder.db
    expanded = {row["id"] for row in search.search(db, prefix, limit=100)}
    native = {
        row[0]
        for row in db.execute(
            "SELECT search_docs.item_id FROM search_docs_fts JOIN search_docs ON search_docs.id = search_docs_fts.rowid"
            " WHERE search_docs_fts MATCH ?",
            [search.fts_query(prefix)],
        )
    }
    assert expanded == native and native


def test_prefix_expansion_uses_an_or_of_indexed_terms(many, builder):
    from readinglist import search

    expand = search._prefix_expander(builder.db)
    assert expand("модел") == ["модели", "модель", "модельный"]
    assert search.fts_query("модел* number", expand=expand) == '("модели" OR "модель" OR "модельный") AND "number"'
    assert expand("zzz") == []


def test_ranking_window_widens_until_enough_results(many, builder):
    from readinglist import search

    db = builder.db
    # Only the two oldest items are read: a window of the 2 newest matches holds none of them.
    db.execute("UPDATE items SET status = 'read' WHERE id IN (?, ?)", many[:2])
    db.conn.commit()
    found_ids = [row["id"] for row in search.search(db, "number", status="read", limit=5, window=2)]
    assert sorted(found_ids) == sorted(many[:2])
    # Without filters, a small window ranks the newest matches only.
    newest = [row["id"] for row in search.search(db, "number", limit=2, window=2)]
    assert sorted(newest) == sorted(many[-2:])


@pytest.fixture
def yo(builder):
    """Russian words written with ё and with е."""
    return {
        "ещё": builder.item("https://example.com/yo", "article", "Ещё раз про трансформеры"),
        "еще": builder.item("https://example.com/ye", "article", "Еще раз про внимание"),
        "ёлка": builder.item("https://example.com/tree", "article", "Новогодняя ёлка"),
    }


@pytest.mark.parametrize(
    "query, expected",
    [
        ("еще", {"ещё", "еще"}),
        ("ещё", {"ещё", "еще"}),
        ("ЕЩЁ", {"ещё", "еще"}),
        ('"еще раз"', {"ещё", "еще"}),
        ("ещё трансформеры", {"ещё"}),
        ("ещё*", {"ещё", "еще"}),
        ("елка", {"ёлка"}),
        ("елк*", {"ёлка"}),
        ("новогодняя ёлка", {"ёлка"}),
    ],
)
def test_yo_and_ye_are_one_letter(yo, db_path, query, expected):
    # The index keeps words as written: "еще" did not find "ещё". Each term is any of its ё/е spellings.
    assert sorted(found(db_path, query)) == sorted(yo[name] for name in expected)


def test_yo_spellings_grow_with_the_number_of_ye():
    from readinglist.search import yo_spellings

    assert yo_spellings("ещё") == ["ещё", "еще", "ёще"]
    assert yo_spellings("model") == ["model"]
    assert len(yo_spellings("перечень переменных")) == 2 + 5


@pytest.fixture
def inflected(builder):
    ids = {}
    ids["speech"] = builder.item("https://habr.com/ru/articles/2/", "article", "Применение трансформеров для распознавания речи")
    ids["moe"] = builder.item("https://example.org/moe", "article", "Mixture of Experts, explained")
    ids["quant"] = builder.item("https://example.org/quant", "article", "Квантизация моделей на практике")
    ids["adjective"] = builder.item("https://example.org/adj", "article", "Трансформерный подход к задаче")
    ids["studies"] = builder.item("https://example.org/studies", "article", "Case studies in retrieval")
    ids["hedgehog"] = builder.item("https://example.org/yo", "article", "Ёжики в тумане")
    return ids


@pytest.mark.parametrize(
    "query, expected",
    [
        ("трансформеры", ["speech"]),          # трансформеров
        ("трансформер", ["speech"]),           # not трансформерный: another word, another stem
        ("речь", ["speech"]),                  # речи
        ("квантизацию", ["quant"]),            # Квантизация
        ("модель", ["quant"]),                 # моделей
        ("expert", ["moe"]),                   # Experts
        ("explain", ["moe"]),                  # explained
        ("study", ["studies"]),                # a stem unlike the word: studi
        ("ежик", ["hedgehog"]),                # Ёжики: forms and ё together
        ('"трансформеры для"', []),            # a phrase is matched as written
        ("трансформеры речь", ["speech"]),
        ("expertise", []),
    ],
)
def test_a_word_finds_its_other_forms(inflected, db_path, query, expected):
    assert sorted(found(db_path, query)) == sorted(inflected[name] for name in expected)


def test_word_forms_are_an_or_of_indexed_terms(inflected, builder):
    from readinglist import search

    lookups = search._index_lookups(builder.db)
    assert lookups["forms"]("трансформеры") == ["трансформеров"]
    assert search.fts_query("речь tiny", **lookups) == '("речь" OR "рёчь" OR "речи") AND "tiny"'
    assert lookups["forms"]("на") == []  # too short a stem to mean anything: matched as typed


# ------------------------------------------------------------------ notes: in items.note only, and searchable


@pytest.mark.parametrize(
    "steps, query, finds",
    [
        ([("note", "zebra crossing")], "zebra", True),                        # a note set with `note` is found
        ([("note", "zebra crossing"), ("note", "")], "zebra", False),         # ... and not once removed
        ([("note", "zebra crossing"), ("note", "horse")], "zebra", False),
        ([("note", "zebra crossing"), ("note", "horse")], "horse", True),
        ([("add", "old private note")], "private", True),
        ([("add", "old private note"), ("note", "")], "private", False),      # it lived on as the manual mention's context
        ([("add", "old private note"), ("note", "new words")], "private", False),
        ([("add", "old private note"), ("note", "")], "notes", False),        # nor by another form of a word of it
    ],
)
def test_a_note_is_found_while_it_is_the_items_note(db_path, steps, query, finds):
    run("add", "--db", db_path, "example.com/paper")
    for command, text in steps:
        args = ["add", "example.com/paper", "--note", text] if command == "add" else ["note", "example.com/paper", text]
        assert run(args[0], "--db", db_path, *args[1:]).exit_code == 0
    assert len(found(db_path, query)) == (1 if finds else 0)


@pytest.mark.parametrize("command", ["show", "next"])
def test_a_removed_note_is_not_shown_as_a_mention(db_path, command):
    run("add", "--db", db_path, "example.com/paper", "--note", "old private note")
    assert "old private note" in run("show", "--db", db_path, "example.com/paper").output  # as the note
    run("note", "--db", db_path, "example.com/paper", "")
    output = run(command, "--db", db_path, *(["example.com/paper"] if command == "show" else [])).output
    (mention,) = [line.strip() for line in output.splitlines() if line.strip().startswith("- manual")]
    assert mention == f"- manual, {datetime.now(timezone.utc).date().isoformat()}"
    assert "note:" not in output


# What the version before m016 made: an index without notes, and `add --note` copying the note into its mention.
BEFORE_M016_TRIGGERS = (
    """CREATE TRIGGER items_search_insert AFTER INSERT ON items BEGIN
        INSERT INTO search_docs(item_id, title, summary, contexts) VALUES (NEW.id, NEW.title, NEW.summary, '');
    END""",
    """CREATE TRIGGER items_search_update AFTER UPDATE OF title, summary ON items BEGIN
        UPDATE search_docs SET title = NEW.title, summary = NEW.summary WHERE item_id = NEW.id;
    END""",
    """CREATE TRIGGER items_search_delete AFTER DELETE ON items BEGIN
        DELETE FROM search_docs WHERE item_id = OLD.id;
    END""",
)


@pytest.fixture
def before_m016(items, builder, db_path):
    """A database as the version before m016 left it: notes added with `add --note` (one removed since, one
    replaced, one kept), one set with `note`, a channel's mention, and the search index of that version."""
    from readinglist import search
    from readinglist.db import open_db

    for url, added_note, note in [
        ("example.com/removed", "old private note", None),
        ("example.com/replaced", "first thoughts", "second thoughts"),
        ("example.com/kept", "keep this one", "keep this one"),
        ("example.com/noted", None, "zebra crossing"),
    ]:
        run("add", "--db", db_path, url)
        db = builder.db
        db.execute(
            "UPDATE mentions SET context = ? WHERE via = 'manual' AND url = ?", [added_note or "", url]
        )
        db.execute("UPDATE items SET note = ? WHERE url = ?", [note, "https://" + url])
        db.conn.commit()
    db = open_db(db_path)
    for name in search.TRIGGER_NAMES + ("search_docs_ai", "search_docs_ad", "search_docs_au"):
        db.execute(f"DROP TRIGGER {name}")
    db.execute("DROP TABLE search_docs_fts")
    db.execute("ALTER TABLE search_docs DROP COLUMN note")
    db.execute(f"UPDATE search_docs SET contexts = {search.CONTEXTS_SQL.format(item='search_docs.item_id')}")
    for sql in BEFORE_M016_TRIGGERS:
        db.execute(sql)
    db["search_docs"].enable_fts(["title", "summary", "contexts"], create_triggers=True, tokenize=search.TOKENIZE)
    db.execute("INSERT INTO search_docs_fts(search_docs_fts, rank) VALUES ('rank', 'bm25(10.0, 4.0, 1.0)')")
    db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm016_notes_searchable'")
    db.conn.commit()
    assert db.execute("SELECT COUNT(*) FROM search_docs_fts WHERE search_docs_fts MATCH 'private'").fetchone() == (1,)
    db.conn.close()
    return items


@pytest.mark.parametrize(
    "query, finds",
    [
        ("private", []),                         # removed: it lived on as the manual mention's context
        ("first", []),                           # replaced by `note`
        ("second", ["example.com/replaced"]),    # the note now, never indexed before
        ("zebra", ["example.com/noted"]),
        ('"keep this one"', ["example.com/kept"]),
        ("Разбор", ["arxiv.org/abs/1706.03762"]),  # a channel's context stays
        ("cuda", ["github.com/a/b"]),
    ],
)
def test_migration_m016_indexes_notes_and_clears_copied_ones(before_m016, db_path, query, finds):
    assert sorted(found(db_path, query)) == sorted(item_id_for("https://" + url) for url in finds)
    show = run("show", "--db", db_path, "example.com/removed").output
    assert [line for line in show.splitlines() if line.startswith("  - manual")] == [f"  - manual, {datetime.now(timezone.utc).date().isoformat()}"]
    # The index now follows the note: set, changed and removed.
    run("note", "--db", db_path, "example.com/removed", "quokka")
    assert len(found(db_path, "quokka")) == 1
    run("note", "--db", db_path, "example.com/removed", "")
    assert found(db_path, "quokka") == []
