"""Facets, search and by_channel at scale (migration m009): exact counts however the list changes.

Facets on items filtered by nothing but kind, status and domain are summed
from ``item_facet_counts``; ``by_channel`` reads ``item_channels``; triggers on
items keep both. Every test compares what Datasette shows with a GROUP BY over
items (or, for channels, over mentions and posts) computed afresh.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from urllib.parse import urlencode, urlsplit

import pytest
from click.testing import CliRunner
from datasette_fixtures import as_list, client, client_with_other_database, list_ids  # noqa: F401  (fixtures)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from queue_fixtures import SEARCH_SHAPES, Builder, days_ago, every_shape_item

from readinglist import datasette_plugin
from readinglist.cli import cli
from readinglist.db import open_db, rebuild_datasette_speed, rebuild_datasette_tags
from readinglist.metadata import merge_items

FACETS = ("kind", "status", "domain", "tags", "channels")
COLUMNS = ("kind", "status", "domain")


def items_rows(db_path) -> list[dict]:
    db = open_db(db_path)
    rows = [dict(r) for r in db.query("SELECT id, kind, status, domain, tags, channels FROM items")]
    db.conn.close()
    return rows


def ground_truth(db_path, filters: dict) -> dict[str, dict]:
    """Facet counts over the items matching ``filters`` (exact column matches), straight from items."""
    rows = [r for r in items_rows(db_path) if all(r[c] == v for c, v in filters.items())]
    counts = {c: Counter(r[c] for r in rows if r[c] is not None) for c in COLUMNS}
    for array in ("tags", "channels"):
        counts[array] = Counter(str(v) for r in rows for v in set(as_list(r[array])) if v is not None)
    return {name: dict(counter) for name, counter in counts.items()}


def shown(client, query: str = "") -> tuple[dict[str, dict], int]:
    """The facet counts and row count a page shows (a facet that timed out is missing from its JSON)."""
    data = client.json(f"/readinglist/items.json?_facet_size=max&{query}")
    facets = {name: {r["value"]: r["count"] for r in f["results"]} for name, f in data["facet_results"].items()}
    return facets, data["filtered_table_rows_count"]


VIEWS = [
    {},
    {"kind": "article"},
    {"kind": "paper"},
    {"status": "unread"},
    {"status": "read"},
    {"domain": "arxiv.org"},
    {"domain": "example.com", "status": "unread"},
    {"kind": "article", "status": "unread", "domain": "example.com"},
    {"kind": "nothing-has-this"},
]


def assert_facets_exact(client, db_path) -> None:
    for filters in VIEWS:
        query = "&".join(f"{c}={v}" for c, v in filters.items())
        facets, count = shown(client, query)
        expected = ground_truth(db_path, filters)
        assert set(facets) == set(FACETS)
        assert facets == expected, filters
        assert count == sum(expected["kind"].values())


KEPT_TABLES = ("item_facet_counts", "item_channels", "item_tags", "item_facet_pairs")  # migrations m009, m010


def kept_tables_equal_a_recount(db) -> None:
    """What the triggers kept equals a recount from scratch."""
    kept = {table: sorted(db.execute(f"SELECT * FROM {table}").fetchall()) for table in KEPT_TABLES}
    with db.conn:
        rebuild_datasette_speed(db)
        rebuild_datasette_tags(db)
    assert kept == {table: sorted(db.execute(f"SELECT * FROM {table}").fetchall()) for table in KEPT_TABLES}


def assert_counts_table_exact(db_path) -> None:
    db = open_db(db_path)
    kept_tables_equal_a_recount(db)
    db.conn.close()


def test_facets_match_a_group_by(client, db_path):
    assert_facets_exact(client, db_path)
    assert_counts_table_exact(db_path)


def test_facets_are_read_from_the_counts_table(client, db_path, list_ids):
    # Proof that the counted path serves these pages: a count changed behind
    # the triggers' back shows up; with another filter Datasette's own facet
    # queries run and show the truth.
    db = open_db(db_path)
    with db.conn:
        db.execute("UPDATE item_facet_counts SET n = n + 100 WHERE facet = 'tags' AND value = 'classic'")
    db.conn.close()
    assert shown(client)[0]["tags"]["classic"] == 101
    assert shown(client, "kind=paper")[0]["tags"]["classic"] == 101
    assert shown(client, "fetch_status=ok")[0]["tags"] == {"llm": 1, "classic": 1}
    assert shown(client, "kind__not=video")[0]["tags"]["classic"] == 1


@pytest.mark.parametrize(
    "query, expected_kind",
    [
        ("fetch_status=ok", {"paper": 1}),
        ("tags__arraycontains=llm&fetch_status=ok", {"paper": 1}),
        ("_channel=ml_channel&fetch_status=ok", {"paper": 1}),
        ("kind=paper&kind=repo", {}),
        ("_search=attention", {"paper": 1, "article": 1}),
    ],
)
def test_other_filters_get_datasettes_own_facets(client, list_ids, query, expected_kind):
    facets, count = shown(client, query)
    assert set(facets) == set(FACETS)
    assert facets["kind"] == expected_kind
    assert count == sum(expected_kind.values())


def test_facet_links_and_truncation(client, list_ids):
    data = client.json("/readinglist/items.json?kind=article&_facet_size=1")
    kind = data["facet_results"]["kind"]
    assert [(r["value"], r["count"], r["selected"]) for r in kind["results"]] == [("article", 5, True)]
    assert kind["results"][0]["toggle_url"].endswith("/readinglist/items.json?_facet_size=1")
    status = data["facet_results"]["status"]
    assert status["truncated"] is True and status["results"][0]["value"] == "unread"
    assert "kind=article" in status["results"][0]["toggle_url"] and "status=unread" in status["results"][0]["toggle_url"]
    tags = client.json("/readinglist/items.json?_facet_size=1")["facet_results"]["tags"]
    assert tags["results"][0]["value"] == "llm"
    assert tags["results"][0]["toggle_url"].endswith("/readinglist/items.json?_facet_size=1&_tag=llm")
    # The HTML page shows the same facets, none timed out.
    page = client.get("/readinglist/items?kind=article").text
    assert "These facets timed out" not in page
    assert 'data-column="channels"' in page and 'data-column="tags"' in page


def run(*args, input=None):
    result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def test_counts_follow_every_kind_of_change(client, db_path, list_ids):
    ids = list_ids
    # New items (with a NULL domain and duplicate and malformed tags too).
    b = Builder(str(db_path))
    b._posts = 100  # past the fixture's posts
    new = b.item("https://example.org/new", "dataset", "A new dataset", tags='["data", "data", "llm"]')
    odd = b.item("https://example.org/odd", "post", "Odd tags", tags="not json")
    b.db.execute("UPDATE items SET domain = NULL WHERE id = ?", [odd])
    b.mention(new, "fresh_channel", 1, "a dataset", forwarded_from="ml_channel")
    b.db.conn.commit()
    b.db.conn.close()
    assert_facets_exact(client, db_path)
    # The CLI: read, unread, archive, tags.
    run("read", ids["paper"], ids["video"], "--db", str(db_path))
    run("archive", ids["article"], "--db", str(db_path))
    run("unread", ids["video"], "--db", str(db_path))
    run("tag", ids["paper"], "-llm", "+vision", "--db", str(db_path))
    run("tag", ids["repo"], "+vision", "--db", str(db_path))
    assert_facets_exact(client, db_path)
    # The writable canned queries.
    for query, data in (
        ("mark_read", {"item_id": ids["repo"]}),
        ("mark_unread", {"item_id": ids["read"]}),
        ("add_tag", {"item_id": ids["hostile"], "tag": "+web"}),
        ("add_tag", {"item_id": ids["hostile"], "tag": "web"}),  # already there: unchanged
    ):
        response = client.write(query, data)
        assert response.status_code == 302, response.text
    assert_facets_exact(client, db_path)
    assert shown(client)[0]["tags"]["web"] == 1
    # A harvest: a new channel for an existing item, and a new item.
    run("harvest", "-", "--db", str(db_path), "--channel", "piped", "--quiet",
        input="See https://github.com/huggingface/transformers and https://github.com/new/repo\n")
    facets = shown(client)[0]
    assert facets["channels"]["piped"] == 2
    assert_facets_exact(client, db_path)
    # Merges delete an item; a plain DELETE too.
    db = open_db(db_path)
    merge_items(db, ids["paper"], ids["doi_paper"])
    with db.conn:
        db.execute("DELETE FROM mentions WHERE item_id = ?", [ids["hostile"]])
        db.execute("DELETE FROM events WHERE item_id = ?", [ids["hostile"]])
        db.execute("DELETE FROM items WHERE id = ?", [ids["hostile"]])
        db.execute("UPDATE items SET kind = 'paper', domain = 'arxiv.org' WHERE id = ?", [ids["video"]])
    db.conn.close()
    assert_facets_exact(client, db_path)
    assert_counts_table_exact(db_path)


def by_channel_truth(db_path, channel: str) -> list[str]:
    """The by_channel query as it was before item_channels: straight from mentions and posts."""
    db = open_db(db_path)
    got = [r[0] for r in db.execute(
        """SELECT items.id FROM items WHERE items.id IN (
            SELECT mentions.item_id FROM posts JOIN mentions ON mentions.post_id = posts.id WHERE posts.channel = :c
            UNION SELECT mentions.item_id FROM posts JOIN mentions ON mentions.post_id = posts.id
            WHERE posts.forwarded_from = :c)
        ORDER BY items.status = 'unread' DESC, items.rank_key DESC, items.id""",
        {"c": channel},
    )]
    db.conn.close()
    return got


CHANNELS = ("ml_channel", "Нейроканал", "other_channel", "piped", "nobody")


def test_by_channel_follows_changes_in_order(client, db_path, list_ids):
    def check():
        for channel in CHANNELS:
            got = [r["id"] for r in client.json(f"/readinglist/by_channel.json?channel={channel}&_shape=array")]
            assert got == by_channel_truth(db_path, channel), channel

    check()
    run("read", list_ids["repo"], "--db", str(db_path))
    run("priority", list_ids["video"], "high", "--db", str(db_path))
    run("harvest", "-", "--db", str(db_path), "--channel", "piped", "--quiet",
        input="https://habr.com/ru/articles/1/ and https://github.com/huggingface/transformers\n")
    check()
    db = open_db(db_path)
    merge_items(db, list_ids["paper"], list_ids["video"])
    db.conn.close()
    check()


def test_search_looks_at_the_most_recent_matches(client, db_path, monkeypatch):
    b = Builder(str(db_path))
    added = [b.item(f"https://example.net/{n}", "article", f"Mamba variant {n}") for n in range(5)]
    b.db.conn.commit()
    b.db.conn.close()
    every = {r["id"] for r in client.json("/readinglist/items.json?_search=mamba&_shape=array")}
    assert every == set(added)
    page = client.get("/readinglist/items?_search=mamba").text
    assert "most recently added" not in page
    monkeypatch.setattr(datasette_plugin, "SEARCH_WINDOW", 3)
    data = client.json("/readinglist/items.json?_search=mamba&_facet_size=max")
    assert {r[0] for r in data["rows"]} == set(added[-3:])
    assert data["filtered_table_rows_count"] == 3
    assert data["facet_results"]["kind"]["results"][0]["count"] == 3
    assert "the 3 most recently added matches" in client.get("/readinglist/items?_search=mamba").text
    # An empty search is no filter; the search box is there either way.
    page = client.get("/readinglist/items?_search=").text
    assert 'name="_search"' in page
    assert client.json("/readinglist/items.json?_search=")["filtered_table_rows_count"] == 15


def walk_pages(client, query: dict) -> tuple[list[str], int]:
    """Every row id of a table view, page after page along ``next_url``; and the row count it shows."""
    url = "/readinglist/items.json?" + urlencode(query)
    ids = []
    while url:
        data = client.json(url)
        ids += [row[0] for row in data["rows"]]
        url = data["next_url"] and urlsplit(data["next_url"])._replace(scheme="", netloc="").geturl()
    return ids, data["filtered_table_rows_count"]


@pytest.mark.parametrize("size", [1, 2, 3, 100])
@pytest.mark.parametrize("extra", [{}, {"status": "unread"}, {"_sort": "kind"}, {"_sort_desc": "title"}])
def test_search_pages_show_every_match_once(client, db_path, size, extra):
    # Equal rank keys are common (same added_at, no mentions): the first page must break ties by id as the next ones do.
    b = Builder(str(db_path))
    same_time = days_ago(3)
    added = [b.item(f"https://example.net/tie/{n}", "article", "Mamba tie", added_at=same_time) for n in range(8)]
    b.db.conn.commit()
    b.db.conn.close()
    ids, count = walk_pages(client, {"_search": "mamba", "_size": size, "_nofacet": 1, **extra})
    assert sorted(ids) == sorted(added) and count == len(added)


@pytest.mark.parametrize("first, second", list(itertools.permutations(SEARCH_SHAPES, 2)))
def test_search_box_combines_every_query_shape(client, db_path, first, second):
    b = Builder(str(db_path))
    wanted = every_shape_item(b)
    b.db.conn.close()
    query = {"_search": f"{SEARCH_SHAPES[first]} {SEARCH_SHAPES[second]}"}
    rows = client.json("/readinglist/items.json?" + urlencode({**query, "_shape": "array"}))
    assert [row["id"] for row in rows] == [wanted]
    assert client.get("/readinglist/items?" + urlencode(query)).status_code == 200


@pytest.mark.parametrize(
    "text, roles",
    [
        ('"', set()),
        ('""', set()),
        ('" "', set()),
        ("***", set()),
        ('"the transformer', {"paper"}),
        ('transformer"', {"paper", "repo"}),  # a word: its forms too (the transformers library)
        ("NEAR(", set()),
        ("title:x OR", set()),
        ("'", set()),
        ("\\", set()),
        ("- + ^", set()),
        ("-attention", set()),  # only words to leave out: nothing to find
        ("NOT attention", set()),
    ],
)
def test_whatever_is_typed_in_the_search_box_is_a_page(client, list_ids, text, roles):
    # Never an FTS5 syntax error (HTTP 400): a stray quote is closed, no words match nothing.
    query = urlencode({"_search": text})
    rows = client.json(f"/readinglist/items.json?{query}&_shape=array")
    assert {row["id"] for row in rows} == {list_ids[role] for role in roles}
    assert client.get(f"/readinglist/items?{query}").status_code == 200


def search_truth(db_path, query: str, filters: dict) -> dict[str, dict]:
    """Facet counts over the items a search matches (every match: the window is larger than this list)."""
    db = open_db(db_path)
    matched = {r[0] for r in db.execute(
        "SELECT search_docs.item_id FROM search_docs_fts JOIN search_docs ON search_docs.id = search_docs_fts.rowid"
        " WHERE search_docs_fts MATCH ?", [query])}
    db.conn.close()
    rows = [r for r in items_rows(db_path) if r["id"] in matched and all(r[c] == v for c, v in filters.items())]
    counts = {c: Counter(r[c] for r in rows if r[c] is not None) for c in COLUMNS}
    for array in ("tags", "channels"):
        counts[array] = Counter(str(v) for r in rows for v in set(as_list(r[array])) if v is not None)
    return {name: dict(counter) for name, counter in counts.items()}


@pytest.mark.parametrize(
    "search, filters",
    [("attention", {}), ("трансформ*", {}), ("link", {"status": "unread"}), ("attention", {"kind": "paper"}),
     ("nothingmatchesthis", {})],
)
def test_facets_of_a_search_match_a_group_by(client, db_path, list_ids, search, filters):
    query = "&".join([f"_search={search}"] + [f"{c}={v}" for c, v in filters.items()])
    facets, count = shown(client, query)
    expected = search_truth(db_path, search, filters)
    assert set(facets) == set(FACETS)
    assert facets == expected
    assert count == sum(expected["kind"].values())


def test_internal_tables_are_hidden(client):
    tables = {t["name"]: t for t in client.json("/readinglist.json")["tables"]}
    assert all(tables[table]["hidden"] for table in KEPT_TABLES)


def test_other_databases_keep_datasettes_facets(tmp_path, db_path, list_ids):
    # The counted facets are for the reading list's items only.
    with client_with_other_database(
        db_path, tmp_path / "other.db", "CREATE TABLE items (id TEXT PRIMARY KEY, kind TEXT, tags TEXT)",
        [("a", "x", '["t"]'), ("b", "x", "[]"), ("c", "y", '["t"]')],
    ) as c:
        data = c.json("/other/items.json?_facet=kind&_facet_array=tags")
        facets = {name: {r["value"]: r["count"] for r in f["results"]} for name, f in data["facet_results"].items()}
        assert facets == {"kind": {"x": 2, "y": 1}, "tags": {"t": 2}}


# Any mix of changes, several columns in one UPDATE too (triggers on one
# statement may fire in any order): the kept tables always equal a recount.
LISTS = st.one_of(
    st.just("not json"), st.just('{"a": 1}'), st.just("[1, null, [2]]"),
    st.lists(st.sampled_from(["a", "b", "c", "d"]), max_size=4).map(json.dumps),
)
CHANGES = st.fixed_dictionaries(
    {},
    optional={
        "kind": st.sampled_from(["paper", "repo", "article"]),
        "status": st.sampled_from(["unread", "read", "archived"]),
        "domain": st.sampled_from(["a.org", "b.org", None]),
        "tags": LISTS,  # NOT NULL
        "channels": st.one_of(st.none(), LISTS),
        "priority": st.sampled_from(["high", "normal", "low"]),
        "rank_key": st.sampled_from([None, 1.0, 2.0]),
    },
)
OPS = st.lists(
    st.tuples(st.sampled_from(["insert", "update", "delete"]), st.integers(0, 5), CHANGES), min_size=1, max_size=25
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_kept_tables_equal_a_recount_after_any_changes(tmp_path_factory, ops):
    db = open_db(tmp_path_factory.mktemp("ops") / "r.db")
    for op, n, changes in ops:
        item_id = f"item{n}"
        exists = db.execute("SELECT 1 FROM items WHERE id = ?", [item_id]).fetchone()
        if op == "insert" and not exists:
            db.execute(
                "INSERT INTO items(id, url, kind, status, added_at, domain, tags, channels)"
                " VALUES (?, ?, ?, ?, '2024-01-01', ?, ?, ?)",
                [item_id, f"https://x/{n}", changes.get("kind", "paper"), changes.get("status", "unread"),
                 changes.get("domain"), changes.get("tags", "[]"), changes.get("channels")],
            )
        elif op == "update" and changes:
            sets = ", ".join(f"{column} = ?" for column in changes)
            db.execute(f"UPDATE items SET {sets} WHERE id = ?", [*changes.values(), item_id])
        elif op == "delete":
            db.execute("DELETE FROM items WHERE id = ?", [item_id])
    kept_tables_equal_a_recount(db)
    db.conn.close()


# The harvest's usual change: an item gains a channel or a hashtag (m011's
# cheaper triggers), sometimes a value it already had, sometimes in both lists at once.
GROWTH = st.lists(
    st.tuples(st.integers(0, 3), st.sampled_from(["tags", "channels", "both"]), st.sampled_from(["a", "b", "c", "d"])),
    min_size=1, max_size=30,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=GROWTH)
def test_kept_tables_equal_a_recount_as_lists_grow(tmp_path_factory, steps):
    db = open_db(tmp_path_factory.mktemp("grow") / "r.db")
    for n in range(4):
        db.execute(
            "INSERT INTO items(id, url, kind, status, added_at, domain, tags, channels)"
            " VALUES (?, ?, 'paper', 'unread', '2024-01-01', 'a.org', '[]', ?)",
            [f"item{n}", f"https://x/{n}", None if n == 3 else "[]"],
        )
    for n, columns, value in steps:
        grown = ("tags", "channels") if columns == "both" else (columns,)
        sets = ", ".join(f"{column} = json_insert(COALESCE({column}, '[]'), '$[#]', :value)" for column in grown)
        db.execute(f"UPDATE items SET {sets} WHERE id = :id", {"value": value, "id": f"item{n}"})
    kept_tables_equal_a_recount(db)
    db.conn.close()
