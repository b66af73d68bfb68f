"""Full-text search in Russian and English."""

import json

import pytest

from queue_fixtures import builder, db_path, run  # noqa: F401


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
    assert found(db_path, "трансформер", "--status", "unread") == []
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


def test_unbalanced_quote_message(items, db_path):
    result = run("search", "--db", db_path, '"unbalanced')
    assert (result.exit_code, result.output) == (1, "Error: unbalanced quote in search query\n")


def test_plain_output(items, db_path):
    result = run("search", "--db", db_path, "cuda")
    assert result.output == f"{items['repo']}  repo     unread    https://github.com/a/b\n    A tiny [CUDA] kernel library\n"
