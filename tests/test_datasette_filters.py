"""Views of one channel or tag on items: ``?_channel=``, ``?_tag=`` and the old ``?…__arraycontains=`` links.

Rows come off item_channels / item_tags, facets and the row count off
item_facet_counts and item_facet_pairs (migrations m009, m010), all kept by
triggers. Every test compares what Datasette shows with the items table read
afresh (json lists in Python, FTS5 for a search).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from urllib.parse import quote, urlencode, urlsplit

import pytest
from click.testing import CliRunner
from datasette_fixtures import as_list, client, client_with_other_database, list_ids  # noqa: F401  (fixtures)
from queue_fixtures import Builder

from readinglist import datasette_plugin
from readinglist.cli import cli
from readinglist.db import open_db
from readinglist.metadata import merge_items

FACETS = ("kind", "status", "domain", "tags", "channels")
COLUMNS = ("kind", "status", "domain")
ODD_CHANNEL = "O'Reilly & \"Sons\" <script>alert(1)</script>"
ODD_TAG = "ярлык & <b>bold</b> 'q'"


def truth(db_path, query: list[tuple[str, str]]) -> dict:
    """Rows (ids with rank keys), count and facets of a view, straight from items."""
    db = open_db(db_path)
    rows = [dict(r) for r in db.query("SELECT id, kind, status, domain, tags, channels, rank_key FROM items")]
    search = [v for k, v in query if k == "_search"]
    if search:
        from readinglist.search import _index_lookups, fts_query

        # As `readinglist search` reads the query (word forms, prefixes), straight from FTS5.
        matched = {r[0] for r in db.execute(
            "SELECT search_docs.item_id FROM search_docs_fts JOIN search_docs ON search_docs.id = search_docs_fts.rowid"
            " WHERE search_docs_fts MATCH ?", [fts_query(search[0], **_index_lookups(db))])}
        rows = [r for r in rows if r["id"] in matched]
    db.conn.close()
    for key, value in query:
        if key in COLUMNS:
            rows = [r for r in rows if r[key] == value]
        elif key in ("_channel", "channels__arraycontains"):
            rows = [r for r in rows if value in {str(v) for v in as_list(r["channels"])}]
        elif key in ("_tag", "tags__arraycontains"):
            rows = [r for r in rows if value in {str(v) for v in as_list(r["tags"])}]
    facets = {c: dict(Counter(r[c] for r in rows if r[c] is not None)) for c in COLUMNS}
    for array in ("tags", "channels"):
        facets[array] = dict(Counter(str(v) for r in rows for v in set(as_list(r[array])) if v is not None))
    return {"ids": {r["id"] for r in rows}, "count": len(rows), "facets": facets,
            "rank_keys": sorted((r["rank_key"] for r in rows), key=lambda k: (k is None, -(k or 0)))}


def shown(client, query: list[tuple[str, str]]) -> dict:
    data = client.json("/readinglist/items.json?" + urlencode(query + [("_facet_size", "max"), ("_size", "max")]))
    assert not data.get("facets_timed_out")
    rank = data["columns"].index("rank_key")
    return {
        "ids": {row[0] for row in data["rows"]},
        "count": data["filtered_table_rows_count"],
        "facets": {name: {r["value"]: r["count"] for r in f["results"]} for name, f in data["facet_results"].items()},
        "rank_keys": [row[rank] for row in data["rows"]],
    }


VIEWS = [
    [("_channel", "ml_channel")],
    [("_channel", "Нейроканал")],
    [("_channel", "other_channel"), ("status", "unread")],
    [("_channel", "ml_channel"), ("kind", "repo"), ("domain", "github.com")],
    [("_channel", "nobody")],
    [("_tag", "llm")],
    [("_tag", "llm"), ("kind", "paper")],
    [("_tag", "classic"), ("status", "read")],
    [("_channel", "ml_channel"), ("_tag", "llm")],
    [("_channel", "ml_channel"), ("_channel", "Нейроканал")],
    [("_channel", "ml_channel"), ("_channel", "Нейроканал"), ("_tag", "llm"), ("kind", "paper")],
    [("_channel", "ml_channel"), ("_tag", "llm"), ("_search", "transformers")],
    [("_channel", "ml_channel"), ("_search", "attention")],
    [("_tag", "llm"), ("_search", "transformers")],
    [("_channel", "Нейроканал"), ("_search", "трансформ*"), ("kind", "paper")],
]


def assert_views_exact(client, db_path, views=VIEWS) -> None:
    for query in views:
        got, expected = shown(client, query), truth(db_path, query)
        assert set(got["facets"]) == set(FACETS), query
        assert got["facets"] == expected["facets"], query
        assert (got["ids"], got["count"]) == (expected["ids"], expected["count"]), query
        assert got["rank_keys"] == expected["rank_keys"], query  # sorted by rank_key, like the table


def run(*args, input=None):
    result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize("drive_limit", [0, 20_000])
def test_views_match_the_items_table(client, db_path, list_ids, monkeypatch, drive_limit):
    # 0: every view walks the table in rank_key order and looks rows up; else
    # the value's own rows drive the query. Same rows either way.
    monkeypatch.setattr(datasette_plugin, "DRIVE_LIMIT", drive_limit)
    monkeypatch.setattr(datasette_plugin, "DRIVE_LIMIT_COUNTED_BY_SQL", drive_limit)
    assert_views_exact(client, db_path)
    assert shown(client, [("_channel", "ml_channel")])["count"] == 3


def test_views_follow_every_kind_of_change(client, db_path, list_ids):
    ids = list_ids
    run("tag", ids["paper"], "-llm", "+vision", "--db", str(db_path))
    run("tag", ids["video"], "+vision", "+llm", "--db", str(db_path))
    run("read", ids["repo"], "--db", str(db_path))
    views = VIEWS + [[("_tag", "vision")], [("_tag", "vision"), ("_channel", "other_channel")], [("_tag", "web")]]
    assert_views_exact(client, db_path, views)
    for data in ({"item_id": ids["article"], "tag": "+web"}, {"item_id": ids["repo"], "tag": "web"}):
        assert client.write("add_tag", data).status_code == 302
    assert client.write("mark_unread", {"item_id": ids["repo"]}).status_code == 302
    assert shown(client, [("_tag", "web")])["count"] == 2
    assert_views_exact(client, db_path, views)
    run("harvest", "-", "--db", str(db_path), "--channel", "ml_channel", "--quiet",
        input="See https://habr.com/ru/articles/1/ and https://github.com/new/repo\n")
    assert shown(client, [("_channel", "ml_channel")])["count"] == 5
    assert_views_exact(client, db_path, views)
    db = open_db(db_path)
    merge_items(db, ids["paper"], ids["doi_paper"])
    with db.conn:
        for table in ("mentions", "events"):
            db.execute(f"DELETE FROM {table} WHERE item_id = ?", [ids["repo"]])
        db.execute("DELETE FROM items WHERE id = ?", [ids["repo"]])
        db.execute("UPDATE items SET kind = 'paper', domain = 'arxiv.org' WHERE id = ?", [ids["video"]])
    db.conn.close()
    assert_views_exact(client, db_path, views)


def test_count_and_facets_come_from_the_kept_tables(client, db_path, list_ids):
    # Proof that the counted path serves one-value views: counts changed
    # behind the triggers' back show up; with another filter Datasette counts
    # the rows themselves and shows the truth.
    db = open_db(db_path)
    with db.conn:
        db.execute("UPDATE item_facet_counts SET n = n + 100 WHERE facet = 'channels' AND value = 'ml_channel'")
        db.execute("UPDATE item_facet_pairs SET n = n + 100 WHERE facet = 'channels' AND value = 'ml_channel'"
                   " AND other_value = 'llm'")
    db.conn.close()
    view = shown(client, [("_channel", "ml_channel")])
    # llm in ml_channel: a paper and a repo, two (kind, status, domain) rows of 100 + 1 each.
    assert view["count"] == 303 and view["facets"]["tags"]["llm"] == 202 and len(view["ids"]) == 3
    view = shown(client, [("_channel", "ml_channel"), ("fetch_status", "ok")])
    assert view["count"] == 1 and view["facets"]["tags"] == {"llm": 1, "classic": 1}


def test_facet_values_link_to_the_parameters(client, list_ids):
    data = client.json("/readinglist/items.json?_channel=ml_channel&kind=paper")
    channels = {r["value"]: r for r in data["facet_results"]["channels"]["results"]}
    assert channels["ml_channel"]["selected"] is True
    assert channels["ml_channel"]["toggle_url"] == "http://localhost/readinglist/items.json?kind=paper"
    assert channels["Нейроканал"]["selected"] is False
    assert channels["Нейроканал"]["toggle_url"] == (
        "http://localhost/readinglist/items.json?_channel=ml_channel&kind=paper&_channel=" + quote("Нейроканал"))
    tags = {r["value"]: r for r in data["facet_results"]["tags"]["results"]}
    assert tags["llm"]["toggle_url"].endswith("?_channel=ml_channel&kind=paper&_tag=llm")
    kind = data["facet_results"]["kind"]["results"]
    assert [(r["value"], r["selected"]) for r in kind] == [("paper", True)]
    assert kind[0]["toggle_url"].endswith("/readinglist/items.json?_channel=ml_channel")
    # Datasette's own facet queries (another filter) get the same links.
    data = client.json("/readinglist/items.json?_channel=ml_channel&fetch_status=ok")
    tags = {r["value"]: r for r in data["facet_results"]["tags"]["results"]}
    assert tags["llm"]["toggle_url"].endswith("?_channel=ml_channel&fetch_status=ok&_tag=llm")
    assert data["facet_results"]["channels"]["results"][0]["selected"] is True
    # The page says what it shows; the filter form keeps the channel.
    page = client.get("/readinglist/items?_channel=ml_channel&_tag=llm").text
    assert "2 rows" in page and 'where channel is "ml_channel" and tag is "llm"' in page.replace("&#34;", '"')
    assert '<input type="hidden" name="_channel" value="ml_channel">' in page
    assert "These facets timed out" not in page


@pytest.mark.parametrize(
    "old, new",
    [
        ("channels__arraycontains=ml_channel", "_channel=ml_channel"),
        ("tags__arraycontains=llm&kind=paper", "_tag=llm&kind=paper"),
        (f"channels__arraycontains={quote('Нейроканал')}&tags__arraycontains=llm", f"_channel={quote('Нейроканал')}&_tag=llm"),
        ("tags__arraycontains=llm&_search=attention", "_tag=llm&_search=attention"),
    ],
)
def test_old_arraycontains_links_work(client, list_ids, old, new):
    # The same page: rows, count, facets and links (only the time taken differs).
    got, expected = client.json(f"/readinglist/items.json?{old}"), client.json(f"/readinglist/items.json?{new}")
    del got["query_ms"], expected["query_ms"]
    assert got == expected
    got, expected = client.get(f"/readinglist/items?{old}"), client.get(f"/readinglist/items?{new}")
    assert got.status_code == expected.status_code == 200
    assert re.sub(r"[\d.]+ ?ms", "", got.text) == re.sub(r"[\d.]+ ?ms", "", expected.text)


def test_datasettes_filter_form_and_other_tables(client, list_ids):
    # The filter form redirects to ?channels__arraycontains=, which is then ours.
    response = client.get("/readinglist/items?_filter_column=channels&_filter_op=arraycontains&_filter_value=ml_channel")
    assert response.status_code == 302
    data = client.json(response.headers["location"].replace("/readinglist/items?", "/readinglist/items.json?"))
    assert data["filtered_table_rows_count"] == 3 and "item_channels" in data["query"]["sql"]
    # Other tables and pages keep Datasette's filter.
    data = client.json("/readinglist/posts.json?hashtags__arraycontains=x")
    assert "json_each" in data["query"]["sql"] and data["filtered_table_rows_count"] == 0
    row = client.get(f"/readinglist/items/{list_ids['paper']}.json?channels__arraycontains=x")
    assert row.status_code == 200


def test_odd_names_are_escaped(client, db_path, list_ids):
    b = Builder(str(db_path))
    b._posts = 100
    b.mention(list_ids["paper"], ODD_CHANNEL, 1, "odd channel")
    b.mention(list_ids["video"], ODD_CHANNEL, 1, "odd channel")
    b.db.execute("UPDATE items SET tags = json_array(?, 'llm') WHERE id = ?", [ODD_TAG, list_ids["video"]])
    b.db.conn.commit()
    b.db.conn.close()
    views = [[("_channel", ODD_CHANNEL)], [("_tag", ODD_TAG)], [("_channel", ODD_CHANNEL), ("_tag", ODD_TAG)],
             [("channels__arraycontains", ODD_CHANNEL)], [("_tag", ODD_TAG), ("kind", "video")]]
    assert_views_exact(client, db_path, views)
    assert shown(client, [("_channel", ODD_CHANNEL)])["count"] == 2
    page = client.get("/readinglist/items?" + urlencode([("_channel", ODD_CHANNEL), ("_tag", ODD_TAG)])).text
    assert "<script>alert(1)</script>" not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;b&gt;bold&lt;/b&gt;" in page
    # Following a facet link leads to the view it names.
    data = client.json("/readinglist/items.json?_tag=llm")
    odd = [r for r in data["facet_results"]["channels"]["results"] if r["value"] == ODD_CHANNEL]
    link = urlsplit(odd[0]["toggle_url"])
    followed = client.json(f"{link.path}?{link.query}")
    assert followed["filtered_table_rows_count"] == 2
    assert {r["value"]: r["selected"] for r in followed["facet_results"]["channels"]["results"]}[ODD_CHANNEL] is True


def test_other_databases_are_left_alone(tmp_path, db_path, list_ids):
    with client_with_other_database(
        db_path, tmp_path / "other.db", "CREATE TABLE items (id TEXT PRIMARY KEY, channels TEXT)",
        [("a", '["x"]'), ("b", '["y"]')],
    ) as c:
        assert c.json("/other/items.json?channels__arraycontains=x")["filtered_table_rows_count"] == 1
        assert c.json("/other/items.json?_channel=x")["filtered_table_rows_count"] == 2  # not a filter there


def test_a_status_change_leaves_the_pairs_alone(client, db_path, list_ids):
    """Pairs are per (kind, domain): marking a popular item read must not rewrite its k^2 pairs."""

    def pairs():
        db = open_db(db_path)
        try:
            return sorted(db.execute("SELECT * FROM item_facet_pairs").fetchall())
        finally:
            db.conn.close()

    before = pairs()
    assert before  # the fixture's items share channels and tags
    run("read", list_ids["paper"], list_ids["repo"], "--db", str(db_path))
    assert client.write("mark_unread", {"item_id": list_ids["repo"]}).status_code == 302
    assert pairs() == before
    # A status with one channel or tag: its tags and channels facets are counted
    # over the rows (a channel's unread ones: its pairs less its other rows), exactly.
    assert_views_exact(client, db_path, [
        [("_channel", "ml_channel"), ("status", "read")],
        [("_channel", "ml_channel"), ("status", "unread")],
        [("_channel", "ml_channel"), ("status", "unread"), ("kind", "repo")],
        [("_channel", "ml_channel"), ("status", "unread"), ("kind", "paper"), ("domain", "arxiv.org")],
        [("_channel", "ml_channel"), ("status", "archived")],
        [("_channel", "Нейроканал"), ("status", "unread")],
        [("_tag", "llm"), ("status", "read"), ("kind", "paper")],
    ])


def cli_ids(db_path, *args) -> set[str]:
    result = CliRunner().invoke(cli, [*args, "--db", str(db_path), "--json"])
    assert result.exit_code == 0, result.output
    return {item["id"] for item in json.loads(result.output)}


@pytest.mark.parametrize(
    "param, typed, stored",
    [
        ("_tag", "LLM", "llm"),
        ("_tag", "#llm", "llm"),
        ("_tag", " #Classic ", "classic"),
        ("_channel", "ML_Channel", "ml_channel"),
        ("_channel", "@ml_channel", "ml_channel"),
        ("_channel", "https://t.me/s/ml_channel", "ml_channel"),
        ("_channel", "нейроКАНАЛ", "Нейроканал"),
        ("_channel", "@Other_Channel", "other_channel"),
    ],
)
def test_a_tag_or_channel_is_read_as_stored(client, db_path, list_ids, param, typed, stored):
    # Hashtags are stored case-folded without '#', t.me channels by username: values as typed found nothing.
    expected = shown(client, [(param, stored)])
    assert expected["count"] > 0
    assert shown(client, [(param, typed)]) == expected
    option = "--tag" if param == "_tag" else "--channel"
    assert cli_ids(db_path, "list", "--status", "all", option, typed) == expected["ids"]
    assert cli_ids(db_path, "next", "-n", "50", option, typed) == cli_ids(db_path, "next", "-n", "50", option, stored)
    if option == "--tag":
        exported = CliRunner().invoke(cli, ["export", "--db", str(db_path), "-f", "json", "--tag", typed]).output
        assert {row["id"] for row in json.loads(exported)} == expected["ids"] - {list_ids["channel"]}
