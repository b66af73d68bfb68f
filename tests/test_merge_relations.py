"""One work, many URLs (arXiv <-> DOI merges) and paper <-> code relations, and how show/list carry them."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from readinglist.cli import cli
from readinglist.db import mention_id_for, open_db
from readinglist.metadata import link_relations, merge_items, related_items
from readinglist.state import resolve_item
from sites_helpers import add_item, add_post, fixture_bytes, item, run_stage, settings_for

DOI = "10.1000/example.lora.2022"
ARXIV_FEED = fixture_bytes("arxiv_two_entries.atom.xml")


def _serve_arxiv(httpserver):
    httpserver.expect_request("/api/query").respond_with_data(ARXIV_FEED, content_type="application/atom+xml")


def test_arxiv_and_doi_items_merge(httpserver, fresh_db):
    paper = add_item(fresh_db, "https://arxiv.org/abs/2106.09685", tags='["llm"]')
    journal = add_item(fresh_db, f"https://doi.org/{DOI}", tags='["peft"]', note="journal version", status="read", read_at="2026-02-02T00:00:00+00:00")
    both = add_post(fresh_db, [paper, journal], channel="a")
    add_post(fresh_db, [journal], channel="b")
    fresh_db.execute("INSERT INTO events(item_id, time, action, value) VALUES (?, '2026-02-02T00:00:00+00:00', 'read', NULL)", [journal])
    _serve_arxiv(httpserver)
    httpserver.expect_request(f"/crossref/works/{DOI}").respond_with_data(fixture_bytes("crossref_work.json"))
    stats = run_stage(fresh_db, settings_for(httpserver))
    assert stats.merged == 1
    assert item(fresh_db, journal) == {}
    row = item(fresh_db, paper)
    assert (row["arxiv_id"], row["doi"]) == ("2106.09685", DOI)
    assert row["tags"] == ["llm", "peft"] and row["note"] == "journal version" and row["status"] == "read"
    assert row["mention_posts"] == 2 and row["mention_channels"] == 2
    mentions = fresh_db.execute("SELECT post_id, url FROM mentions WHERE item_id = ? ORDER BY post_id, url", [paper]).fetchall()
    assert len(mentions) == 3 and sum(1 for post_id, _ in mentions if post_id == both) == 2
    assert fresh_db.execute("SELECT COUNT(*) FROM mentions WHERE item_id = ?", [journal]).fetchone()[0] == 0
    assert fresh_db.execute("SELECT item_id FROM events WHERE action = 'read'").fetchone()[0] == paper
    assert fresh_db.execute("SELECT url, item_id FROM aliases").fetchall() == [(f"https://doi.org/{DOI}", paper)]
    assert resolve_item(fresh_db, f"https://doi.org/{DOI}").id == paper
    assert resolve_item(fresh_db, f"doi.org/{DOI.upper()}").id == paper
    # Crossref was never asked: the DOI item was merged before its turn.
    assert [request.path for request, _ in httpserver.log] == ["/api/query"]


def test_crossref_preprint_relation_merges(httpserver, fresh_db):
    paper = add_item(fresh_db, "https://arxiv.org/abs/2106.09685", fetch_status="ok", title="LoRA", title_source="api")
    journal = add_item(fresh_db, f"https://doi.org/{DOI}")
    add_post(fresh_db, [journal])
    httpserver.expect_request(f"/crossref/works/{DOI}").respond_with_data(fixture_bytes("crossref_work.json"))
    stats = run_stage(fresh_db, settings_for(httpserver))
    assert stats.ok == 1 and stats.merged == 1
    row = item(fresh_db, paper)
    assert row["doi"] == DOI and row["title"] == "LoRA"
    assert row["meta"]["type"] == "proceedings-article" and row["mention_posts"] == 1


def test_reharvested_doi_item_merges_again(httpserver, fresh_db):
    paper = add_item(fresh_db, "https://arxiv.org/abs/2106.09685", fetch_status="ok", doi=DOI)
    fresh_db.execute("INSERT INTO aliases(url, item_id, added_at) VALUES (?, ?, '2026-01-01')", [f"https://doi.org/{DOI}", paper])
    again = add_item(fresh_db, f"https://doi.org/{DOI}")  # a later harvest met the DOI link again
    add_post(fresh_db, [again])
    stats = run_stage(fresh_db, settings_for(httpserver))
    assert stats.merged == 1 and httpserver.log == []
    assert item(fresh_db, again) == {} and item(fresh_db, paper)["mention_posts"] == 1


def test_mention_id_collision(fresh_db):
    keep = add_item(fresh_db, "https://arxiv.org/abs/2106.09685")
    drop = add_item(fresh_db, f"https://doi.org/{DOI}")
    post = add_post(fresh_db, [keep], written=["https://doi.org/x"])
    # The same post wrote the same URL for the other item: its moved mention would get the same id.
    fresh_db["mentions"].insert({"id": mention_id_for(drop, post, "https://doi.org/x"), "item_id": drop, "post_id": post, "url": "https://doi.org/x"})
    merge_items(fresh_db, keep, drop)
    assert fresh_db.execute("SELECT id FROM mentions").fetchall() == [(mention_id_for(keep, post, "https://doi.org/x"),)]
    assert item(fresh_db, keep)["mention_posts"] == 1


def test_readme_citation_relates_code_to_paper(httpserver, fresh_db):
    paper = add_item(fresh_db, "https://arxiv.org/abs/2106.09685", fetch_status="ok", title="LoRA paper")
    qlora = add_item(fresh_db, "https://arxiv.org/abs/2305.14314", fetch_status="ok", title="QLoRA paper")
    repo = add_item(fresh_db, "https://github.com/microsoft/LoRA")
    httpserver.expect_request("/github/repos/microsoft/lora").respond_with_data(fixture_bytes("github_repo.json"))
    httpserver.expect_request("/github/repos/microsoft/LoRA/readme").respond_with_data(fixture_bytes("github_readme.md"))
    stats = run_stage(fresh_db, settings_for(httpserver))
    assert stats.relations == 2
    assert sorted(fresh_db.execute("SELECT item_id, related_id, relation, source FROM relations").fetchall()) == sorted(
        [(repo, paper, "code-for", "readme"), (repo, qlora, "code-for", "readme")]
    )
    assert [(r["id"], r["role"], r["relations"]) for r in related_items(fresh_db, paper)] == [(repo, "code", ["code-for"])]
    # A paper added later is linked on the next run, without asking GitHub again.
    journal = add_item(fresh_db, f"https://doi.org/{DOI}", fetch_status="ok")
    assert link_relations(fresh_db, "2026-03-02T00:00:00+00:00") == 1
    assert (repo, journal, "code-for") in [tuple(r[:3]) for r in fresh_db.execute("SELECT item_id, related_id, relation FROM relations")]


def test_same_post_relations(fresh_db):
    paper = add_item(fresh_db, "https://arxiv.org/abs/2405.14852", fetch_status="ok")
    repo = add_item(fresh_db, "https://github.com/vahe1994/aqlm", fetch_status="ok")
    add_post(fresh_db, [paper, repo])
    # A digest: two papers and three repos say nothing about which code goes with which paper.
    digest = [add_item(fresh_db, url, fetch_status="ok") for url in (
        "https://arxiv.org/abs/2401.00001", "https://arxiv.org/abs/2401.00002",
        "https://github.com/a/one", "https://github.com/a/two", "https://github.com/a/three")]
    add_post(fresh_db, digest)
    assert link_relations(fresh_db, "2026-03-01T00:00:00+00:00") == 1
    assert fresh_db.execute("SELECT item_id, related_id, relation, source FROM relations").fetchall() == [(repo, paper, "same-post", "post")]
    assert link_relations(fresh_db, "2026-03-01T00:00:00+00:00") == 0
    assert [(r["id"], r["role"]) for r in related_items(fresh_db, repo)] == [(paper, "paper")]
    # Datasette's view of the same rows, with both titles.
    assert fresh_db.execute("SELECT item_kind, relation, related_kind, related_url FROM item_relations").fetchall() == [
        ("repo", "same-post", "paper", "https://arxiv.org/abs/2405.14852")
    ]


SAME_POST_URLS = {
    "P1": "https://arxiv.org/abs/2401.00001", "P2": "https://arxiv.org/abs/2401.00002",
    "R1": "https://github.com/a/one", "R2": "https://github.com/a/two", "R3": "https://github.com/a/three",
    "A": "https://example.org/blog/post",
}


@pytest.mark.parametrize(
    "posts, expected",
    [
        ([["P1", "R1"]], {("R1", "P1")}),
        ([["P1", "R1", "R2"]], {("R1", "P1"), ("R2", "P1")}),
        ([["P1", "R1", "R2", "R3"]], set()),  # a list of repos: which one is the paper's code?
        ([["P1", "P2", "R1"]], set()),
        ([["P1", "P1", "R1"]], {("R1", "P1")}),  # one paper written twice is still one paper
        ([["P1", "R1", "R1", "R2"]], {("R1", "P1"), ("R2", "P1")}),
        ([["P1", "A"], ["R1"]], set()),  # not in the same post
        ([["P1", "R1"], ["P1", "R1", "P2"], ["P2", "R2"]], {("R1", "P1"), ("R2", "P2")}),
    ],
)
def test_same_post_relations_by_case(fresh_db, posts, expected):
    ids = {label: add_item(fresh_db, url, fetch_status="ok") for label, url in SAME_POST_URLS.items()}
    for labels in posts:
        written = [SAME_POST_URLS[label] + ("#again" if labels[:index].count(label) else "") for index, label in enumerate(labels)]
        add_post(fresh_db, [ids[label] for label in labels], written=written)
    label_of = {item_id: label for label, item_id in ids.items()}
    assert link_relations(fresh_db, "2026-03-01T00:00:00+00:00") == len(expected)
    rows = fresh_db.execute("SELECT item_id, related_id, relation FROM relations").fetchall()
    assert {(label_of[code], label_of[paper]) for code, paper, _ in rows} == expected
    assert {relation for _, _, relation in rows} <= {"same-post"}


def test_show_and_list_carry_meta_and_related(httpserver, db_path):
    db = open_db(db_path)
    paper = add_item(db, "https://arxiv.org/abs/2106.09685")
    repo = add_item(db, "https://github.com/microsoft/LoRA", fetch_status="ok", title="microsoft/LoRA")
    add_post(db, [paper, repo])
    _serve_arxiv(httpserver)
    run_stage(db, settings_for(httpserver))
    runner = CliRunner()
    shown = runner.invoke(cli, ["show", paper, "--json", "--db", str(db_path)])
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.output)
    assert data["meta"]["categories"] == ["cs.CL", "cs.AI", "cs.LG"] and data["meta"]["journal_ref"] == "ICLR 2022"
    assert data["authors"] == ["Edward J. Hu", "Yelong Shen"]
    assert data["related"] == [{"id": repo, "kind": "repo", "title": "microsoft/LoRA", "url": "https://github.com/microsoft/lora", "role": "code", "relations": ["same-post"]}]
    text = runner.invoke(cli, ["show", paper, "--db", str(db_path)])
    assert text.exit_code == 0
    lines = text.output.splitlines()
    assert "related (1):" in lines
    assert f"  - code: {repo} microsoft/LoRA (same-post)" in lines
    meta_line = next(line for line in lines if line.startswith("meta: "))
    assert "primary_category=cs.CL" in meta_line and "categories=cs.CL, cs.AI, cs.LG" in meta_line and "adapter=" not in meta_line
    listed = runner.invoke(cli, ["list", "--json", "--db", str(db_path)])
    assert listed.exit_code == 0
    by_id = {entry["id"]: entry for entry in json.loads(listed.output)}
    assert by_id[paper]["meta"]["primary_category"] == "cs.CL" and by_id[paper]["arxiv_id"] == "2106.09685"
    assert by_id[paper]["doi"] == DOI and by_id[repo]["meta"] == {}


def test_show_lists_the_first_related_items_of_many(db_path):
    """A paper every digest links with some repo: show stays one screen, and fast, with the count."""
    from click.testing import CliRunner

    from readinglist.cli import cli
    from readinglist.db import open_db
    from readinglist.queue import SHOW_RELATED

    db = open_db(db_path)
    paper = "a" * 12
    db["items"].insert({"id": paper, "url": "https://arxiv.org/abs/2401.00001", "kind": "paper", "status": "unread",
                        "added_at": "2024-01-01T00:00:00+00:00", "title": "A paper"})
    for n in range(SHOW_RELATED + 5):
        repo = f"b{n:011d}"
        db["items"].insert({"id": repo, "url": f"https://github.com/o/r{n:02d}", "kind": "repo", "status": "unread",
                            "added_at": "2024-01-01T00:00:00+00:00", "title": f"o/r{n:02d}"})
        relation = "code-for" if n == SHOW_RELATED + 4 else "same-post"
        db["relations"].insert({"item_id": repo, "related_id": paper, "relation": relation, "source": "post"})
    db.conn.commit()
    result = CliRunner().invoke(cli, ["show", paper, "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    start = lines.index(f"related (first {SHOW_RELATED} of {SHOW_RELATED + 5}):")
    shown = lines[start + 1 : start + 1 + SHOW_RELATED]
    assert shown[0] == f"  - code: b{SHOW_RELATED + 4:011d} o/r{SHOW_RELATED + 4:02d} (code-for)"  # code-for first
    assert shown[1:] == [f"  - code: b{n:011d} o/r{n:02d} (same-post)" for n in range(SHOW_RELATED - 1)]
    assert lines[start + 1 + SHOW_RELATED].startswith("mentions (")
    data = json.loads(CliRunner().invoke(cli, ["show", paper, "--json", "--db", str(db_path)]).output)
    assert (len(data["related"]), data["related_count"]) == (SHOW_RELATED, SHOW_RELATED + 5)


def test_shows_meta_line_is_one_line_without_the_whole_abstract(db_path):
    from click.testing import CliRunner

    from readinglist.cli import cli
    from readinglist.db import open_db

    db = open_db(db_path)
    meta = {"license": "MIT\nLicense", "abstract": "A long abstract.\nIts second line.", "stars": 3}
    db["items"].insert({"id": "c" * 12, "url": "https://github.com/o/r", "kind": "repo", "status": "unread",
                        "added_at": "2024-01-01T00:00:00+00:00", "title": "o/r", "meta": json.dumps(meta)})
    db.conn.commit()
    output = CliRunner().invoke(cli, ["show", "c" * 12, "--db", str(db_path)]).output
    assert [line for line in output.splitlines() if line.startswith("meta:")] == ["meta: license=MIT License; stars=3"]
    assert "second line" not in output
