"""metadata.yml in action: the items table (facets, sort, search), hidden tables, foreign keys, read-only canned queries."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
import yaml

from datasette_fixtures import Client, client, list_ids  # noqa: F401  (fixtures)
from queue_fixtures import Builder, days_ago
from readinglist import ranking
from readinglist.db import open_db
from readinglist.queue import NextFilter, next_items
from readinglist.search import search as cli_search
from readinglist.serve import build_datasette, load_metadata, metadata_path

ROOT = Path(__file__).resolve().parent.parent


def rows(client, path: str, query: str = "") -> list[dict]:
    """The rows of a table or query page, as JSON objects."""
    return client.json(f"{path}.json?{query}&_shape=array&_size=max")


def test_packaged_metadata_is_the_top_level_file():
    # One source of truth: the package's copy is a link to the repository's metadata.yml.
    assert metadata_path().read_bytes() == (ROOT / "metadata.yml").read_bytes()
    assert load_metadata() == yaml.safe_load((ROOT / "metadata.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A database as harvesting the seeds, a dump from stdin and readinglist add leave it."""
    from click.testing import CliRunner

    from conftest import SEEDS
    from readinglist.cli import cli

    path = tmp_path_factory.mktemp("stored") / "stored.db"
    runner = CliRunner()
    for args, stdin in ((["harvest", str(SEEDS)], None), (["harvest", "-"], "См. https://example.com/from-stdin\n"),
                        (["add", "https://example.org/added"], None)):
        result = runner.invoke(cli, [*args, "--db", str(path)], input=stdin)
        assert result.exit_code == 0, result.output
    db = open_db(path)
    yield db
    db.close()


@pytest.mark.parametrize(
    "table, column, sql",
    [
        ("mentions", "via", "SELECT DISTINCT via FROM mentions"),
        ("items", "title_source", "SELECT DISTINCT title_source FROM items WHERE title_source IS NOT NULL"),
        ("items", "kind", "SELECT DISTINCT kind FROM items"),
        ("items", "status", "SELECT DISTINCT status FROM items"),
        ("items", "fetch_status", "SELECT DISTINCT fetch_status FROM items"),
        # Tags that no one set: the hashtags of the posts.
        ("items", "tags", "SELECT 'hashtags' FROM items WHERE tags != '[]' AND NOT EXISTS"
                          " (SELECT 1 FROM events WHERE events.item_id = items.id AND action = 'tag') LIMIT 1"),
        ("posts", "source", "SELECT DISTINCT CASE WHEN source IN ('<stdin>', 'manual') THEN source ELSE 'path' END FROM posts"),
    ],
)
def test_metadata_names_what_is_stored(stored, table, column, sql):
    # mentions.via listed "url, anchor, bare identifier" (never stored; text, preview, reference, manual missing),
    # items.tags said "Your tags" (it holds the posts' hashtags), posts.source had no <stdin> and no manual.
    described = load_metadata()["databases"]["readinglist"]["tables"][table]["columns"][column]
    words = {word.rstrip(".") for word in re.split(r"[\s,:;()\"]+", described)}
    values = {value for (value,) in stored.execute(sql)}
    assert values and values <= words, f"{table}.{column}: {described!r} does not name {sorted(values - words)}"


def test_metadata_says_posts_are_every_post_read(stored):
    # "Telegram posts that linked to items": most stored posts link to nothing.
    unlinked = stored.execute("SELECT COUNT(*) FROM posts WHERE id NOT IN (SELECT post_id FROM mentions)").fetchone()[0]
    assert unlinked > 0
    assert load_metadata()["databases"]["readinglist"]["tables"]["posts"]["description"].startswith(
        "Every post read (from Telegram exports, t.me pages and text dumps), whether it links to anything or not")


def test_queue_query_uses_the_ranking_constants():
    sql = load_metadata()["databases"]["readinglist"]["queries"]["queue"]["sql"]
    assert f"{ranking.DECAY_PER_DAY!r} * (julianday('now') - {ranking.EPOCH_JD})" in sql


def test_title_description_source_license(client):
    page = client.get("/").text
    assert "Reading list" in page
    assert "Telegram channel posts harvested by readinglist" in page
    assert "Apache-2.0" in page
    assert client.json("/-/metadata.json")["databases"]["readinglist"]["tables"]["items"]["label_column"] == "title"


def test_items_default_sort_is_the_queue_score(client, db_path):
    got = [row["id"] for row in rows(client, "/readinglist/items", "_col=rank_key")]
    db = open_db(db_path)
    expected = [r[0] for r in db.execute("SELECT id FROM items ORDER BY rank_key DESC, id")]
    assert got == expected


def test_items_facets(client, list_ids):
    data = client.json("/readinglist/items.json?_facet_size=50")
    facets = data["facet_results"]
    assert set(facets) == {"kind", "status", "domain", "tags", "channels"}
    counts = {name: {r["value"]: r["count"] for r in facet["results"]} for name, facet in facets.items()}
    assert counts["kind"] == {"article": 5, "paper": 2, "repo": 1, "video": 1, "channel": 1}
    assert counts["status"] == {"unread": 9, "read": 1}
    assert counts["tags"] == {"llm": 2, "classic": 1}
    assert counts["channels"] == {"ml_channel": 3, "Нейроканал": 2, "other_channel": 2}
    assert counts["domain"]["arxiv.org"] == 1


@pytest.mark.parametrize(
    "query, expected",
    [
        ("_facet_array=tags&tags__arraycontains=llm", {"paper", "repo"}),
        ("channels__arraycontains=Нейроканал", {"paper", "article"}),
        ("kind=paper", {"paper", "doi_paper"}),
        ("status=read", {"read"}),
    ],
)
def test_faceted_views(client, list_ids, query, expected):
    got = {row["id"] for row in rows(client, "/readinglist/items", query)}
    assert got == {list_ids[role] for role in expected}


@pytest.mark.parametrize(
    "query, expected",
    [
        ("attention", {"paper", "hostile"}),  # titles
        ("трансформ*", {"paper", "article"}),  # a prefix query, as in `readinglist search`: a post's context, a title
        ('"must read"', {"paper"}),  # a phrase from a post's context
        ("transformers library", {"repo"}),  # terms ANDed
        ("nothing-like-this", set()),
        # The operators a user may type, as in `readinglist search` (they were searched as words).
        ("attention AND must", {"paper"}),
        ("attention OR diffusion", {"paper", "hostile", "video"}),
        ("attention -must", {"hostile"}),
        ("attention NOT must", {"hostile"}),
    ],
)
def test_search_uses_the_readinglist_index(client, db_path, list_ids, query, expected):
    got = {row["id"] for row in rows(client, "/readinglist/items", urlencode({"_search": query}))}
    roles = {v: k for k, v in list_ids.items()}
    assert {roles[i] for i in got} == expected
    # The very same items as the CLI's search finds.
    assert got == {row["id"] for row in cli_search(open_db(db_path), query)}


def test_search_box_is_shown_and_keeps_the_query(client):
    page = client.get("/readinglist/items?_search=attention").text
    assert 'name="_search"' in page
    assert 'value="attention"' in page


def test_unbalanced_quote_does_not_fail(client):
    assert client.get('/readinglist/items?_search="attention').status_code == 200


def test_internal_tables_are_hidden(client):
    data = client.json("/readinglist.json")
    hidden = {t["name"] for t in data["tables"] if t["hidden"]}
    visible = {t["name"] for t in data["tables"] if not t["hidden"]}
    assert {"events", "_sqlite_migrations", "search_docs", "search_docs_fts", "texts"} <= hidden
    assert {t for t in hidden if t.startswith("search_docs_fts_")} == {
        "search_docs_fts_config", "search_docs_fts_data", "search_docs_fts_docsize", "search_docs_fts_idx"
    }
    assert {"items", "posts", "mentions"} <= visible
    # The write view is not even listed for anonymous visitors.
    assert "item_actions" not in {v["name"] for v in data["views"]}


def test_mentions_link_to_items_and_posts(client, list_ids):
    data = client.json(f"/readinglist/mentions.json?item_id={list_ids['paper']}&_labels=on&_shape=array")
    assert len(data) == 2
    assert {row["item_id"]["label"] for row in data} == {"Attention Is All You Need"}
    assert {row["post_id"]["label"] for row in data} == {"ml_channel", "Нейроканал"}
    page = client.get(f"/readinglist/items/{list_ids['paper']}").text
    assert "2 rows" in page and "from item_id in mentions" in page


def test_queue_query_matches_readinglist_next(client, db_path):
    got = rows(client, "/readinglist/queue")
    expected = next_items(open_db(db_path), NextFilter(n=100))
    assert [row["id"] for row in got] == [item["id"] for item in expected]
    assert [row["score"] for row in got] == pytest.approx([item["score"] for item in expected], abs=0.002)


def test_queue_leaves_out_what_next_leaves_out(client, list_ids):
    got = {row["id"] for row in rows(client, "/readinglist/queue")}
    for role in ("dead", "snoozed", "channel", "read"):
        assert list_ids[role] not in got
    assert list_ids["paper"] in got


@pytest.mark.parametrize(
    "channel, expected",
    [
        ("ml_channel", ["repo", "paper", "video"]),  # the video was forwarded from ml_channel
        ("Нейроканал", ["paper", "article"]),
        ("nobody", []),
    ],
)
def test_by_channel(client, list_ids, channel, expected):
    got = [row["id"] for row in rows(client, "/readinglist/by_channel", f"channel={channel}")]
    assert sorted(got) == sorted(list_ids[role] for role in expected)
    assert len(got) == len(set(got))


def test_papers(client, list_ids):
    got = {row["id"]: row for row in rows(client, "/readinglist/papers")}
    assert set(got) == {list_ids["paper"], list_ids["doi_paper"]}
    assert got[list_ids["paper"]]["arxiv_id"] == "1706.03762"
    assert got[list_ids["doi_paper"]]["doi"] == "10.1000/xyz"


def test_dead_links(client, list_ids):
    got = rows(client, "/readinglist/dead_links")
    assert [(row["id"], row["http_status"], row["last_error"]) for row in got] == [(list_ids["dead"], 404, "HTTP 404")]


def test_read_this_week(client, list_ids):
    # The read event 30 days ago does not count; the one 2 days ago does.
    got = rows(client, "/readinglist/read_this_week")
    assert [row["id"] for row in got] == [list_ids["read"]]


def test_read_this_week_forgets_a_read_undone(client, list_ids, db_path):
    from readinglist import state
    from readinglist.db import open_db
    from readinglist.queue import queue_stats

    db = open_db(db_path)
    state.mark_read(db, [list_ids["paper"]])
    state.mark_unread(db, [list_ids["paper"]])
    got = [row["id"] for row in rows(client, "/readinglist/read_this_week")]
    assert got == [list_ids["read"]]
    assert queue_stats(db)["read_this_week"] == len(got)


def test_canned_query_pages_render(client):
    for name in ("queue", "by_channel", "papers", "dead_links", "read_this_week"):
        response = client.get(f"/readinglist/{name}")
        assert response.status_code == 200, name
        assert "<table" in response.text or name == "by_channel"


def test_read_only_queries_are_not_writable():
    queries = load_metadata()["databases"]["readinglist"]["queries"]
    for name in ("queue", "by_channel", "papers", "dead_links", "read_this_week"):
        assert not queries[name].get("write"), name
    assert json.dumps(queries).count('"write": true') == 4


def test_paper_code_relations_are_browsable(client, db_path, list_ids):
    db = open_db(db_path)
    db.execute(
        "INSERT INTO relations(item_id, related_id, relation, source, added_at) VALUES (?, ?, 'code-for', 'readme', '2026-01-01')",
        [list_ids["repo"], list_ids["paper"]],
    )
    db.conn.commit()
    (row,) = rows(client, "/readinglist/item_relations")
    assert (row["item_title"], row["relation"], row["related_title"]) == (
        "huggingface/transformers", "code-for", "Attention Is All You Need"
    )
    assert "Paper ↔ code" in client.get("/readinglist/item_relations").text
    assert "item_relations" in client.get("/readinglist").text


TIED_ROWS = 40
PAGE_SIZE = 7
# Sorted pages whose sort column has many equal values and NULLs: the posts of a
# text dump (no dates: the default order, by date, is all one tie) and items
# sorted by any column but the default.
SORTED_PAGES = [
    ("posts", {}),
    ("items", {"_sort": "title"}),
    ("items", {"_sort": "added_at"}),
    ("items", {"_sort_desc": "reading_minutes"}),
    ("items", {"_sort_desc": "title"}),
    ("items", {}),
]


def build_ties(db_path) -> dict[str, set[str]]:
    """Items with few distinct titles, one added_at and reading times (a third NULL), each in a dateless post."""
    b = Builder(str(db_path))
    same_time = days_ago(3)
    items = [
        b.item(f"https://example.org/tie/{n}", "article", None if n % 3 == 0 else f"Same title {n % 2}",
               added_at=same_time, reading_minutes=None if n % 3 == 1 else 5)
        for n in range(TIED_ROWS)
    ]
    posts = [b.mention(item_id, "dumpchannel", 1) for item_id in items]
    b.db.execute("UPDATE posts SET date = NULL")
    b.db.conn.commit()
    b.db.conn.close()
    return {"items": set(items), "posts": set(posts)}


@pytest.mark.parametrize("table, query", SORTED_PAGES)
def test_next_links_show_every_row_exactly_once(db_path, table, query):
    expected = build_ties(db_path)[table]
    client = Client(build_datasette(db_path))
    try:
        url, ids = f"/readinglist/{table}.json?" + urlencode({**query, "_shape": "objects", "_size": PAGE_SIZE}), []
        while url:
            data = client.json(url)
            ids += [row["id"] for row in data["rows"]]
            url = data["next_url"] and urlsplit(data["next_url"])._replace(scheme="", netloc="").geturl()
    finally:
        client.close()
    assert sorted(ids) == sorted(expected)


@pytest.mark.parametrize("table, query", SORTED_PAGES)
def test_streamed_csv_has_every_row_exactly_once(db_path, table, query):
    expected = build_ties(db_path)[table]
    # Datasette streams the CSV a page (of default_page_size rows) after another, along the same next keys.
    client = Client(build_datasette(db_path, settings={"default_page_size": PAGE_SIZE}))
    try:
        response = client.get(f"/readinglist/{table}.csv?" + urlencode({**query, "_stream": "on"}))
    finally:
        client.close()
    assert response.status_code == 200
    ids = [row["id"] for row in csv.DictReader(io.StringIO(response.text))]
    assert sorted(ids) == sorted(expected)
