"""Resolving cited titles: catalogue parsers, the resolve stage on a database, the CLI, and the labelled set.

The catalogues are local: pytest-httpserver (end to end) or httpx.MockTransport
(the labelled set), serving answers we wrote after the APIs' documentation.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

import httpx
import pytest
from click.testing import CliRunner

from harvester.models import Post
from harvester.settings import Settings
from harvester.sites.arxiv import ArxivFeedError
from harvester.sites.scholar_search import (
    SearchError,
    arxiv_title_query,
    crossref_search_url,
    openalex_search_url,
    parse_arxiv_search,
    parse_crossref_search,
    parse_openalex_search,
)
from readinglist import references
from readinglist.cli import cli
from readinglist.db import item_id_for, open_db
from sites_helpers import FakeTime

LABELLED = Path(__file__).resolve().parent / "fixtures" / "references" / "labelled.json"
PV = "PV-Tuning: Beyond Straight-Through Estimation for Extreme LLM Compression"
PV_URL = "https://arxiv.org/abs/2405.14852"
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)


# ------------------------------------------------------------------ answers, as the APIs document them


def atom_feed(entries: list[dict]) -> str:
    """An arXiv API Atom feed (2026 format) with ``entries``: {id, title, authors, published, doi?}."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/"'
        ' xmlns:arxiv="http://arxiv.org/schemas/atom">',
        "<title>arXiv Query</title>",
        f"<opensearch:totalResults>{len(entries)}</opensearch:totalResults>",
    ]
    for entry in entries:
        parts.append("<entry>")
        parts.append(f"<id>http://arxiv.org/abs/{entry['id']}</id>")
        parts.append(f"<title>{escape(entry['title'])}</title>")
        parts.append(f"<published>{entry.get('published', '2024-01-01')}T00:00:00Z</published>")
        parts.append(f"<summary>Abstract of {escape(entry['title'])}.</summary>")
        for name in entry["authors"]:
            parts.append(f"<author><name>{escape(name)}</name></author>")
        if entry.get("doi"):
            parts.append(f"<arxiv:doi>{entry['doi']}</arxiv:doi>")
        parts.append('<arxiv:primary_category term="cs.LG"/><category term="cs.LG"/>')
        parts.append("</entry>")
    parts.append("</feed>")
    return "\n".join(parts)


def crossref_answer(items: list[dict]) -> str:
    return json.dumps({"status": "ok", "message-type": "work-list", "message": {"total-results": len(items), "items": items}})


def openalex_answer(results: list[dict]) -> str:
    return json.dumps({"meta": {"count": len(results)}, "results": results})


PV_ENTRY = {"id": "2405.14852v2", "title": PV, "authors": ["Vladimir Malinovskii", "Denis Mazur", "Ivan Ilin"], "published": "2024-05-23"}
OTHER_ENTRY = {"id": "2311.01234v1", "title": "Straight-Through Estimation Revisited", "authors": ["Some Author"]}


# ------------------------------------------------------------------ parsers and URLs


def test_arxiv_title_query_is_a_title_phrase_without_syntax():
    assert arxiv_title_query(PV) == 'ti:"PV Tuning Beyond Straight Through Estimation for Extreme LLM Compression"'
    assert arxiv_title_query('A "quoted": (weird) title?') == 'ti:"A quoted weird title"'


def test_search_urls_come_from_settings():
    settings = Settings(crossref_api="http://127.0.0.1:9/cr", openalex_api="http://127.0.0.1:9/oa")
    url = crossref_search_url(settings, "Long Short-Term Memory", ["Hochreiter"])
    assert url.startswith("http://127.0.0.1:9/cr/works?")
    assert parse_qs(urlsplit(url).query) == {"query.bibliographic": ["Long Short-Term Memory"], "rows": ["5"], "query.author": ["Hochreiter"]}
    url = openalex_search_url(settings, "Long Short-Term Memory")
    assert parse_qs(urlsplit(url).query) == {"search": ["Long Short-Term Memory"], "per-page": ["5"]}


def test_parse_arxiv_search():
    works = parse_arxiv_search(atom_feed([PV_ENTRY, {**OTHER_ENTRY, "doi": "10.1000/X.Y"}]))
    assert [(w.source, w.arxiv_id, w.title, w.url, w.published) for w in works] == [
        ("arxiv", "2405.14852", PV, PV_URL, "2024-05-23"),
        ("arxiv", "2311.01234", "Straight-Through Estimation Revisited", "https://arxiv.org/abs/2311.01234", "2024-01-01"),
    ]
    assert works[0].authors == ["Vladimir Malinovskii", "Denis Mazur", "Ivan Ilin"]
    assert works[1].doi == "10.1000/x.y"
    with pytest.raises(ArxivFeedError):
        parse_arxiv_search("<html>Service Unavailable</html>")


def test_parse_crossref_search():
    body = crossref_answer(
        [
            {"DOI": "10.1162/NECO.1997.9.8.1735", "title": ["Long Short-Term <i>Memory</i>"], "type": "journal-article",
             "author": [{"given": "Sepp", "family": "Hochreiter"}, {"name": "The LSTM Consortium"}],
             "issued": {"date-parts": [[1997, 11, 15]]}},
            {"DOI": "10.1162/review", "title": ["Long Short-Term Memory"], "type": "peer-review", "author": []},
            {"DOI": "10.48550/arXiv.1706.03762", "title": ["Attention Is All You Need"], "type": "posted-content", "issued": {"date-parts": [[2017, 6]]}},
            {"DOI": "10.1000/no-title", "title": [], "type": "journal-article"},
        ]
    )
    works = parse_crossref_search(body)
    assert [(w.doi, w.title, w.authors, w.published, w.url) for w in works] == [
        ("10.1162/neco.1997.9.8.1735", "Long Short-Term Memory", ["Sepp Hochreiter", "The LSTM Consortium"], "1997-11-15", "https://doi.org/10.1162/neco.1997.9.8.1735"),
        ("10.48550/arxiv.1706.03762", "Attention Is All You Need", [], "2017-06", "https://arxiv.org/abs/1706.03762"),
    ]
    for bad in ("<html></html>", '{"status": "ok", "message": {}}', "[]"):
        with pytest.raises(SearchError):
            parse_crossref_search(bad)


def test_parse_openalex_search():
    body = openalex_answer(
        [
            {"id": "https://openalex.org/W1", "doi": "https://doi.org/10.1109/5.726791", "display_name": "Gradient-based learning applied to document recognition",
             "publication_date": "1998-11-01", "type": "article", "authorships": [{"author": {"display_name": "Yann LeCun"}}]},
            {"id": "https://openalex.org/W2", "doi": None, "display_name": "Efficient Streaming Language Models with Attention Sinks",
             "publication_year": 2023, "authorships": [], "primary_location": {"landing_page_url": "https://arxiv.org/abs/2309.17453v4"}},
            {"id": "https://openalex.org/W3", "doi": "https://doi.org/10.48550/arxiv.0902.2154", "display_name": "A new look at the Heston characteristic function", "authorships": []},
            {"id": "https://openalex.org/W4", "doi": None, "display_name": "No identifier at all", "authorships": []},
        ]
    )
    works = parse_openalex_search(body)
    assert [(w.url, w.authors, w.published) for w in works] == [
        ("https://doi.org/10.1109/5.726791", ["Yann LeCun"], "1998-11-01"),
        ("https://arxiv.org/abs/2309.17453", [], "2023"),
        ("https://arxiv.org/abs/0902.2154", [], None),
    ]
    with pytest.raises(SearchError):
        parse_openalex_search("not json")


def test_parsers_on_real_answers(realworld):
    feed = (realworld / "arxiv-api-atom" / "search_query_testing_start0_max10.atom.xml").read_bytes()
    works = parse_arxiv_search(feed)
    assert len(works) == 10
    assert works[0].arxiv_id == "2202.12139"
    assert works[0].title == "Testing Deep Learning Models: A First Comparative Study of Multiple Testing Techniques"
    assert all(w.url.startswith("https://arxiv.org/abs/") and w.authors for w in works)
    message = json.loads((realworld / "crossref-json" / "commonmeta_crossref_works_list.json").read_text())
    works = parse_crossref_search(json.dumps({"message": message}))
    assert len(works) >= 15
    assert works[0].doi == "10.1306/703c7c64-1707-11d7-8645000102c1865d"
    assert works[0].title == "Hydrocarbon Potential of Columbia Plateau--an Overview: ABSTRACT"
    assert works[0].published == "1987"


# ------------------------------------------------------------------ the stage on a database


@pytest.fixture
def catalogues(httpserver):
    """A local arXiv, Crossref and OpenAlex: ``answers`` maps each to a function of the query -> body."""
    answers = {"arxiv": lambda q: atom_feed([]), "crossref": lambda q: crossref_answer([]), "openalex": lambda q: openalex_answer([])}
    seen: list[tuple[str, dict]] = []

    def handler(name, content_type):
        def respond(request):
            from werkzeug import Response

            query = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
            seen.append((name, query))
            answer = answers[name](query)
            if isinstance(answer, tuple):
                return Response(answer[1], status=answer[0])
            return Response(answer, content_type=content_type)

        return respond

    httpserver.expect_request("/api/query").respond_with_handler(handler("arxiv", "application/atom+xml"))
    httpserver.expect_request("/cr/works").respond_with_handler(handler("crossref", "application/json"))
    httpserver.expect_request("/oa/works").respond_with_handler(handler("openalex", "application/json"))
    settings = Settings(
        arxiv_api=httpserver.url_for("/api/query"),
        crossref_api=httpserver.url_for("/cr"),
        openalex_api=httpserver.url_for("/oa"),
        per_host_delay=0.5,
    )
    return settings, answers, seen


_post_numbers = iter(range(1, 10**6))


def write_posts(db, texts: list[str], channel: str = "ml") -> list[str]:
    """Store new posts (and their links) the way harvesting does; returns their ids."""
    posts = []
    for text in texts:
        number = next(_post_numbers)
        posts.append(Post(source="test", text=text, channel=channel, post_id=str(number), date=f"2024-07-{number % 28 + 1:02d}"))
    from readinglist.pipeline import HarvestStats, PostWriter

    writer = PostWriter(db, HarvestStats(), find_references=False)  # left to find_candidates_in_posts
    for post in posts:
        writer.add(post)
    writer.flush()
    return [post.key for post in posts]


def run(db, settings, fake=None, **kwargs):
    fake = fake or FakeTime()
    with httpx.Client() as client:
        return references.run(db, settings, client=client, sleep=fake.sleep, clock=fake.clock, now=kwargs.pop("now", NOW), **kwargs)


def item(db, item_id):
    row = db.execute("SELECT * FROM items WHERE id = ?", [item_id]).fetchone()
    if row is None:
        return None
    columns = [d[0] for d in db.execute("SELECT * FROM items LIMIT 0").description]
    return dict(zip(columns, row))


SEED_POST = f"Хочу отметить ещё одну работу с ICML: {PV}\nMalinovskii et. al.\nЗдесь целый пакет."


@pytest.mark.parametrize(
    "posts, titles, line",
    [
        (1, 1, "References: 1 post scanned, 1 new cited title, 0 tried, 0 resolved, 0 left unresolved, 0 failed."),
        (0, 0, "References: 0 posts scanned, 0 new cited titles, 0 tried, 0 resolved, 0 left unresolved, 0 failed."),
        (2, 3, "References: 2 posts scanned, 3 new cited titles, 0 tried, 0 resolved, 0 left unresolved, 0 failed."),
    ],
)
def test_summary_line_counts_in_words(posts, titles, line):
    assert references.ResolveStats(posts_scanned=posts, new_references=titles).summary() == line


def test_candidates_become_unresolved_items(fresh_db):
    (post_id,) = write_posts(fresh_db, [SEED_POST])
    stats = references.find_candidates_in_posts(fresh_db)
    assert (stats.posts_scanned, stats.new_references, stats.new_mentions) == (1, 1, 1)
    url = references.reference_url(PV)
    assert url == references.reference_url(PV.upper() + " ")
    assert url.startswith("urn:readinglist:title:") and len(url) == len("urn:readinglist:title:") + 12
    row = item(fresh_db, item_id_for(url))
    assert (row["kind"], row["title"], row["title_source"], row["fetch_status"], row["status"]) == ("unresolved", PV, "reference", "skipped", "unread")
    assert json.loads(row["meta"]) == {"reference": {"authors": ["Malinovskii"], "via": "author", "attempts": 0}}
    assert row["mention_posts"] == 1  # db.mentions_written ran
    (mention,) = fresh_db.execute("SELECT post_id, url, anchor_text, via, context FROM mentions WHERE item_id = ?", [row["id"]]).fetchall()
    assert mention[:4] == (post_id, url, PV, "reference")
    assert PV in mention[4]
    # Scanning again changes nothing; a second post citing the title adds a mention to the same item.
    assert references.find_candidates_in_posts(fresh_db).posts_scanned == 0
    write_posts(fresh_db, [f"Обзор: «{PV}»"])
    stats = references.find_candidates_in_posts(fresh_db)
    assert (stats.posts_scanned, stats.new_references, stats.new_mentions) == (1, 0, 1)
    assert item(fresh_db, row["id"])["mention_posts"] == 2


def test_unresolved_items_are_listed_never_queued(fresh_db):
    from readinglist.queue import ListFilter, NextFilter, list_items, next_items

    write_posts(fresh_db, [SEED_POST])
    references.find_candidates_in_posts(fresh_db)
    assert [i["kind"] for i in list_items(fresh_db, ListFilter(kind="unresolved"))] == ["unresolved"]
    assert next_items(fresh_db, NextFilter(n=50)) == []


def test_record_candidates_uses_cards_and_anchors_of_live_posts(fresh_db):
    from harvester.models import Anchor, Preview

    post = Post(source="t", text="Пост", channel="ml", post_id="9", previews=[Preview("arXiv.org", "Scaling Laws for Neural Language Models", None, None)])
    linked = Post(source="t", text=f"{PV}\nMalinovskii et al.", channel="ml", post_id="10", anchors=[Anchor(PV_URL, PV)])
    from readinglist.pipeline import HarvestStats, PostWriter

    writer = PostWriter(fresh_db, HarvestStats(), find_references=False)
    writer.add(post)
    writer.add(linked)
    writer.flush()
    stats = references.record_candidates(fresh_db, [(post.key, post), (linked.key, linked)])
    assert (stats.posts_scanned, stats.new_references) == (2, 1)
    titles = [r[0] for r in fresh_db.execute("SELECT title FROM items WHERE kind = 'unresolved'")]
    assert titles == ["Scaling Laws for Neural Language Models"]


def test_resolves_to_a_new_arxiv_item(fresh_db, catalogues):
    settings, answers, seen = catalogues
    answers["arxiv"] = lambda q: atom_feed([OTHER_ENTRY, PV_ENTRY])
    (post_id,) = write_posts(fresh_db, [SEED_POST])
    stats = run(fresh_db, settings)
    assert (stats.posts_scanned, stats.new_references, stats.tried, stats.resolved, stats.unresolved, stats.failed) == (1, 1, 1, 1, 0, 0)
    assert stats.resolved_items == [{"title": PV, "url": PV_URL, "id": item_id_for(PV_URL)}]
    assert seen == [("arxiv", {"search_query": 'ti:"PV Tuning Beyond Straight Through Estimation for Extreme LLM Compression"', "start": "0", "max_results": "5"})]
    urn = references.reference_url(PV)
    assert item(fresh_db, item_id_for(urn)) is None
    paper = item(fresh_db, item_id_for(PV_URL))
    assert (paper["kind"], paper["url"], paper["arxiv_id"], paper["title"], paper["title_source"], paper["fetch_status"]) == (
        "paper", PV_URL, "2405.14852", PV, "arxiv", "pending")
    assert json.loads(paper["authors"]) == ["Vladimir Malinovskii", "Denis Mazur", "Ivan Ilin"]
    assert paper["published"] == "2024-05-23"
    assert paper["mention_posts"] == 1 and paper["mention_channels"] == 1
    assert fresh_db.execute("SELECT post_id, via, url FROM mentions WHERE item_id = ?", [paper["id"]]).fetchall() == [(post_id, "reference", urn)]
    assert fresh_db.execute("SELECT url, item_id FROM aliases").fetchall() == [(urn, paper["id"])]
    ((action, value),) = fresh_db.execute("SELECT action, value FROM events WHERE item_id = ?", [paper["id"]]).fetchall()
    assert action == "resolved" and json.loads(value) == {"from": urn, "title": PV, "source": "arxiv"}
    # The same post scanned again, or a new post citing the title, goes straight to the paper.
    rescan = references.find_candidates_in_posts(fresh_db, post_ids=[post_id])
    assert (rescan.posts_scanned, rescan.new_references, rescan.new_mentions) == (1, 0, 0)
    write_posts(fresh_db, [f"Ещё раз про {PV}\nMalinovskii et al."])
    stats = run(fresh_db, settings)
    assert (stats.posts_scanned, stats.new_references, stats.tried) == (1, 0, 0)
    assert fresh_db.execute("SELECT COUNT(*) FROM items WHERE kind = 'unresolved'").fetchone()[0] == 0
    assert item(fresh_db, paper["id"])["mention_posts"] == 2


def test_resolves_into_the_existing_item_and_keeps_user_state(fresh_db, catalogues):
    settings, answers, _ = catalogues
    answers["arxiv"] = lambda q: atom_feed([PV_ENTRY])
    linked_post, cited_post = write_posts(fresh_db, [f"Статья {PV_URL}v2", SEED_POST])
    references.find_candidates_in_posts(fresh_db)
    urn_id = item_id_for(references.reference_url(PV))
    fresh_db.execute("UPDATE items SET tags = '[\"compression\"]', note = 'read with AQLM' WHERE id = ?", [urn_id])
    fresh_db.execute("INSERT INTO events(item_id, time, action, value) VALUES (?, '2025-01-01', 'tag', '+compression')", [urn_id])
    paper_id = item_id_for(PV_URL)
    fresh_db.execute("UPDATE items SET tags = '[\"llm\"]', title = 'PV-Tuning (anchor)', title_source = 'anchor' WHERE id = ?", [paper_id])
    stats = run(fresh_db, settings)
    assert stats.resolved == 1 and stats.resolved_items[0]["id"] == paper_id
    paper = item(fresh_db, paper_id)
    assert json.loads(paper["tags"]) == ["llm", "compression"]
    assert paper["note"] == "read with AQLM"
    assert paper["title"] == "PV-Tuning (anchor)"  # the fetch stage owns the title of an existing item
    assert sorted(r[0] for r in fresh_db.execute("SELECT post_id FROM mentions WHERE item_id = ?", [paper_id])) == sorted([linked_post, cited_post])
    assert paper["mention_posts"] == 2
    assert [r[0] for r in fresh_db.execute("SELECT action FROM events WHERE item_id = ? ORDER BY id", [paper_id])] == ["tag", "resolved"]
    assert fresh_db.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 1


@pytest.mark.parametrize(
    "cited, linked, expected",
    [
        # Read and prioritised under its cited title: the paper is not put back in the queue.
        (
            {"status": "read", "read_at": "2025-02-01T10:00:00+00:00", "priority": "high", "tags": '["done"]'},
            {},
            {"status": "read", "read_at": "2025-02-01T10:00:00+00:00", "priority": "high", "tags": ["done"], "note": None},
        ),
        # The paper's own state is further: it stays; both notes are kept.
        (
            {"priority": "low", "note": "from the ICML thread"},
            {"status": "archived", "priority": "high", "note": "mine", "tags": '["llm"]'},
            {"status": "archived", "read_at": None, "priority": "high", "tags": ["llm"], "note": "mine\nfrom the ICML thread"},
        ),
        # One note written on both is kept once; the higher priority (normal beats low) wins.
        (
            {"status": "read", "read_at": "2025-01-05T00:00:00+00:00", "note": "same"},
            {"priority": "low", "note": "same"},
            {"status": "read", "read_at": "2025-01-05T00:00:00+00:00", "priority": "normal", "tags": [], "note": "same"},
        ),
    ],
    ids=["read-high-cited", "paper-further", "same-note"],
)
def test_resolving_into_an_existing_item_merges_status_priority_and_notes(fresh_db, catalogues, cited, linked, expected):
    from readinglist.queue import NextFilter, next_items

    settings, answers, _ = catalogues
    answers["arxiv"] = lambda q: atom_feed([PV_ENTRY])
    write_posts(fresh_db, [f"Статья {PV_URL}", SEED_POST])
    references.find_candidates_in_posts(fresh_db)
    urn_id, paper_id = item_id_for(references.reference_url(PV)), item_id_for(PV_URL)
    for item_id, state in ((urn_id, cited), (paper_id, linked)):
        if state:
            fresh_db.execute(f"UPDATE items SET {', '.join(f'{k} = ?' for k in state)} WHERE id = ?", [*state.values(), item_id])
    assert run(fresh_db, settings).resolved == 1
    paper = item(fresh_db, paper_id)
    got = {key: paper[key] for key in expected}
    assert {**got, "tags": json.loads(got["tags"])} == expected
    assert next_items(fresh_db, NextFilter(n=50)) == []


@pytest.mark.parametrize("resolved_before", [False, True])
def test_a_post_that_links_the_paper_it_cites_mentions_it_once(fresh_db, catalogues, resolved_before):
    # Resolved now, the cited title's mention would join the link's; resolved before, the citation goes to the paper.
    settings, answers, _ = catalogues
    answers["arxiv"] = lambda q: atom_feed([PV_ENTRY])
    if resolved_before:
        write_posts(fresh_db, [SEED_POST])
        assert run(fresh_db, settings).resolved == 1
    (post_id,) = write_posts(fresh_db, [f"Разбор статьи {PV_URL}\n\n{SEED_POST}"])
    stats = run(fresh_db, settings)
    assert (stats.posts_scanned, stats.resolved) == (1, 0 if resolved_before else 1)
    paper_id = item_id_for(PV_URL)
    assert fresh_db.execute("SELECT via FROM mentions WHERE item_id = ? AND post_id = ?", [paper_id, post_id]).fetchall() == [("text",)]
    assert item(fresh_db, paper_id)["mention_posts"] == (2 if resolved_before else 1)
    assert fresh_db.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 1


def test_found_by_doi_of_an_existing_item(fresh_db, catalogues):
    settings, answers, _ = catalogues
    answers["crossref"] = lambda q: crossref_answer(
        [{"DOI": "10.1162/neco.1997.9.8.1735", "title": ["Long Short-Term Memory"], "type": "journal-article",
          "author": [{"given": "Sepp", "family": "Hochreiter"}], "issued": {"date-parts": [[1997]]}}]
    )
    write_posts(fresh_db, ["https://doi.org/10.1162/NECO.1997.9.8.1735", "# Long Short-Term Memory\nHochreiter et al."])
    stats = run(fresh_db, settings)
    assert stats.resolved == 1
    assert stats.resolved_items[0]["url"] == "https://doi.org/10.1162/neco.1997.9.8.1735"
    assert [r[0] for r in fresh_db.execute("SELECT kind FROM items")] == ["paper"]


@pytest.mark.parametrize(
    "arxiv, crossref, openalex, outcome",
    [
        ([OTHER_ENTRY], [], [], "no match"),
        ([{**PV_ENTRY, "authors": ["Somebody Else"]}], [], [], "author mismatch"),
        ([PV_ENTRY, {**PV_ENTRY, "id": "2406.00001v1", "authors": ["V. Malinovskii"]}], [], [], "ambiguous"),
    ],
)
def test_unresolved_outcomes_are_recorded_and_retried_later(fresh_db, catalogues, arxiv, crossref, openalex, outcome):
    settings, answers, seen = catalogues
    answers["arxiv"] = lambda q: atom_feed(arxiv)
    write_posts(fresh_db, [SEED_POST])
    urn_id = item_id_for(references.reference_url(PV))
    stats = run(fresh_db, settings)
    assert (stats.tried, stats.resolved, stats.unresolved, stats.failed) == (1, 0, 1, 0)
    row = item(fresh_db, urn_id)
    reference = json.loads(row["meta"])["reference"]
    assert (reference["outcome"], reference["attempts"], reference["tried_at"], reference["retry_at"]) == (
        outcome, 1, "2025-03-01T12:00:00+00:00", "2025-03-08T12:00:00+00:00")
    assert row["last_error"].startswith(outcome + ": ")
    assert row["kind"] == "unresolved"
    # Ambiguity stops at arXiv; the others also ask Crossref and OpenAlex.
    assert [name for name, _ in seen] == (["arxiv"] if outcome == "ambiguous" else ["arxiv", "crossref", "openalex"])
    # Not due again before retry_at; then after 7, 30 and 90 days; then never.
    assert run(fresh_db, settings, now=NOW + timedelta(days=6)).tried == 0
    when = NOW
    for days, attempts in ((7, 2), (30, 3), (90, 4)):
        when += timedelta(days=days)
        assert run(fresh_db, settings, now=when).tried == 1
        assert json.loads(item(fresh_db, urn_id)["meta"])["reference"]["attempts"] == attempts
    reference = json.loads(item(fresh_db, urn_id)["meta"])["reference"]
    assert reference["gave_up"] is True and "retry_at" not in reference
    assert run(fresh_db, settings, now=when + timedelta(days=1000)).tried == 0
    # A new post naming an author is new evidence: tried again.
    write_posts(fresh_db, [f"{PV}\nMazur et al."])
    assert run(fresh_db, settings, now=when + timedelta(days=1)).tried == 1


def test_a_catalogue_failure_is_not_an_attempt(fresh_db, catalogues):
    settings, answers, seen = catalogues
    answers["arxiv"] = lambda q: (503, "down for maintenance")
    answers["crossref"] = lambda q: "<html>not json</html>"
    write_posts(fresh_db, [SEED_POST, "# Scaling Laws for Neural Language Models\nKaplan et al."])
    stats = run(fresh_db, settings)
    assert (stats.tried, stats.resolved, stats.unresolved, stats.failed) == (2, 0, 0, 2)
    # After a 503, arXiv is left alone for the rest of the run.
    assert [name for name, _ in seen].count("arxiv") == 1
    for row in fresh_db.execute("SELECT meta, last_error FROM items WHERE kind = 'unresolved'"):
        reference = json.loads(row[0])["reference"]
        assert reference["outcome"] == "failed" and reference["attempts"] == 0 and "retry_at" not in reference
        assert row[1].startswith("failed: arxiv: HTTP 503; crossref: not JSON")
    # The next run tries again, and resolves once arXiv answers.
    answers["arxiv"] = lambda q: atom_feed([PV_ENTRY]) if "PV" in q["search_query"] else atom_feed([])
    answers["crossref"] = lambda q: crossref_answer([])
    stats = run(fresh_db, settings)
    assert (stats.tried, stats.resolved, stats.unresolved) == (2, 1, 1)


def test_falls_back_to_crossref_then_openalex(fresh_db, catalogues):
    settings, answers, seen = catalogues
    answers["openalex"] = lambda q: openalex_answer(
        [{"id": "https://openalex.org/W9", "doi": "https://doi.org/10.48550/arxiv.0902.2154", "display_name": "A new look at the Heston characteristic function",
          "authorships": [{"author": {"display_name": "Sebastian del Baño Rollin"}}]}]
    )
    write_posts(fresh_db, ["Rollin et al. A new look at the Heston characteristic function.\n\nРеально шок"])
    stats = run(fresh_db, settings)
    assert stats.resolved_items == [{"title": "A new look at the Heston characteristic function", "url": "https://arxiv.org/abs/0902.2154", "id": item_id_for("https://arxiv.org/abs/0902.2154")}]
    assert [name for name, _ in seen] == ["arxiv", "crossref", "openalex"]
    assert seen[1][1] == {"query.bibliographic": "A new look at the Heston characteristic function", "rows": "5", "query.author": "Rollin"}
    assert item(fresh_db, stats.resolved_items[0]["id"])["title_source"] == "openalex"


def test_a_catalogue_title_loses_control_and_bidi_characters(fresh_db, catalogues):
    settings, answers, _seen = catalogues
    hostile = {**PV_ENTRY, "title": PV.replace("Extreme", "\u202eExtreme\u202c"), "authors": ["Vladimir\u009b31m Malinovskii"]}
    answers["arxiv"] = lambda q: atom_feed([hostile])
    write_posts(fresh_db, [SEED_POST])
    run(fresh_db, settings)
    paper = item(fresh_db, item_id_for(PV_URL))
    assert (paper["title"], json.loads(paper["authors"])) == (PV, ["Vladimir31m Malinovskii"])


def test_cyrillic_titles_skip_arxiv(fresh_db, catalogues):
    settings, answers, seen = catalogues
    write_posts(fresh_db, ["Нейросетевые методы сжатия больших языковых моделей\nИванов и др."])
    run(fresh_db, settings)
    assert [name for name, _ in seen] == ["crossref", "openalex"]


def test_arxiv_requests_are_three_seconds_apart(fresh_db, catalogues):
    settings, answers, seen = catalogues
    write_posts(fresh_db, [f"# Title Number {n} About Large Models\nAuthor{'abc'[n]}son et al." for n in range(3)])
    fake = FakeTime()
    stats = run(fresh_db, settings, fake)
    assert stats.tried == 3 and [name for name, _ in seen].count("arxiv") == 3
    # Nothing else takes time on the fake clock: only arXiv's 3 s are waited for (Crossref's 0.5 s pass meanwhile).
    assert fake.sleeps == pytest.approx([3.0, 3.0])


def test_crossref_and_openalex_requests_keep_the_per_host_delay(fresh_db, catalogues):
    settings, answers, seen = catalogues
    write_posts(fresh_db, [f"Нейросетевые методы номер {n} для моделей\nИванов и др." for n in range(2)])
    fake = FakeTime()
    assert run(fresh_db, settings, fake).tried == 2
    assert [name for name, _ in seen] == ["crossref", "openalex", "crossref", "openalex"]
    assert fake.sleeps == pytest.approx([0.5])


def test_limit_takes_the_most_mentioned_first(fresh_db, catalogues):
    settings, answers, seen = catalogues
    write_posts(fresh_db, ["# Scaling Laws for Neural Language Models\nKaplan et al.", SEED_POST, SEED_POST + "\nи ещё раз"])
    stats = run(fresh_db, settings, limit=1)
    assert stats.tried == 1
    assert seen[0][1]["search_query"].startswith('ti:"PV Tuning')


def test_archived_references_are_not_tried(fresh_db, catalogues):
    settings, _, seen = catalogues
    write_posts(fresh_db, [SEED_POST])
    references.find_candidates_in_posts(fresh_db)
    fresh_db.execute("UPDATE items SET status = 'archived' WHERE kind = 'unresolved'")
    assert run(fresh_db, settings).tried == 0 and seen == []


# ------------------------------------------------------------------ the command


@pytest.fixture
def cli_env(catalogues, db_path, monkeypatch, tmp_path):
    settings, answers, seen = catalogues
    monkeypatch.setenv("READINGLIST_ARXIV_API", settings.arxiv_api)
    monkeypatch.setenv("READINGLIST_CROSSREF_API", settings.crossref_api)
    monkeypatch.setenv("READINGLIST_OPENALEX_API", settings.openalex_api)
    monkeypatch.setenv("READINGLIST_CONFIG", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("")
    return answers, seen


def test_cli_resolve(cli_env, db_path):
    answers, _ = cli_env
    answers["arxiv"] = lambda q: atom_feed([PV_ENTRY]) if "PV" in q["search_query"] else atom_feed([])
    db = open_db(db_path)
    write_posts(db, [SEED_POST])
    db.conn.close()
    runner = CliRunner()
    result = runner.invoke(cli, ["resolve", "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    assert result.output == (
        f"Resolved: {PV} -> {PV_URL}\n"
        "References: 1 post scanned, 1 new cited title, 1 tried, 1 resolved, 0 left unresolved, 0 failed.\n"
    )
    result = runner.invoke(cli, ["resolve", "--db", str(db_path), "--quiet"])
    assert (result.exit_code, result.output) == (0, "")
    result = runner.invoke(cli, ["resolve", "--db", str(db_path), "--limit", "2"])
    assert result.output == "References: 0 posts scanned, 0 new cited titles, 0 tried, 0 resolved, 0 left unresolved, 0 failed.\n"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--limit", "0"], "Error: Invalid value for '--limit' / '-n': 0 is not in the range 1<=x<=1000000 (see 'cli resolve --help')\n"),
        (["--config", "missing.toml"], "Error: missing.toml: no such config file\n"),
    ],
)
def test_cli_resolve_bad_input(cli_env, db_path, args, message):
    result = CliRunner().invoke(cli, ["resolve", "--db", str(db_path), *args])
    assert (result.exit_code, result.output) == (1, message)


# ------------------------------------------------------------------ the labelled set


def labelled_cases() -> list[dict]:
    return json.loads(LABELLED.read_text(encoding="utf-8"))["cases"]


def _mock_catalogues(case: dict) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        host = request.url.host
        if host == "arxiv.test":
            assert request.url.params["search_query"].startswith('ti:"')
            return httpx.Response(200, text=atom_feed(case["arxiv"]))
        if host == "crossref.test":
            return httpx.Response(200, text=crossref_answer(case["crossref"]))
        if host == "openalex.test":
            return httpx.Response(200, text=openalex_answer(case["openalex"]))
        return httpx.Response(404)

    return httpx.MockTransport(handler)


LABELLED_SETTINGS = Settings(arxiv_api="http://arxiv.test/api/query", crossref_api="http://crossref.test", openalex_api="http://openalex.test")


def resolve_case(case: dict):
    fake = FakeTime()
    with httpx.Client(transport=_mock_catalogues(case)) as client:
        searcher = references.Searcher(client, LABELLED_SETTINGS, sleep=fake.sleep, clock=fake.clock)
        resolution = references.resolve_title(searcher, case["title"], case["authors"])
    return resolution.work.url if resolution.work else None


def test_labelled_set_is_large_and_balanced():
    cases = labelled_cases()
    groups = {c["group"] for c in cases}
    assert len(cases) >= 40 and groups == {"resolve", "near-miss", "ambiguous"}
    assert len({c["id"] for c in cases}) == len(cases)
    assert all((c["expect"] is None) == (c["group"] != "resolve") for c in cases)


def test_labelled_set_precision_and_recall(capsys):
    cases = labelled_cases()
    accepted = correct = 0
    wrong, missed = [], []
    for case in cases:
        got = resolve_case(case)
        if got is not None:
            accepted += 1
            if got == case["expect"]:
                correct += 1
            else:
                wrong.append((case["id"], got))
        if case["expect"] is not None and got != case["expect"]:
            missed.append(case["id"])
    should = sum(1 for c in cases if c["expect"] is not None)
    precision = correct / accepted if accepted else 1.0
    recall = correct / should
    with capsys.disabled():
        print(f"\nlabelled set: {len(cases)} cases, {accepted} accepted, precision {precision:.3f}, recall {recall:.3f} ({correct}/{should})")
    assert precision >= 0.95, wrong
    assert not wrong, wrong
    assert recall >= 0.9, missed


@pytest.mark.parametrize("kind, searched", [(None, True), ("repo", False)])
def test_fetch_resolves_cited_titles_only_when_not_asked_for_one_kind(fresh_db, catalogues, kind, searched):
    from readinglist import fetching

    settings, _answers, seen = catalogues
    write_posts(fresh_db, [f"{PV}\nMalinovskii et al."])
    fetching.run(fresh_db, settings, kind=kind, sleep=lambda _seconds: None)
    assert bool(seen) == searched
