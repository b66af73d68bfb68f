"""arXiv adapter: the Atom parser (both feed generations), request URLs, and the batched stage."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from werkzeug import Response

from harvester.settings import Settings
from harvester.sites import arxiv
from sites_helpers import FakeTime, add_item, fixture_bytes, item, run_stage, settings_for


# ---------------------------------------------------------------- parsing


def test_new_format_two_entries():
    entries = arxiv.parse_feed(fixture_bytes("arxiv_two_entries.atom.xml"))
    assert [e.arxiv_id for e in entries] == ["2106.09685", "hep-th/9901001"]
    lora, old = entries
    assert lora.version == 2
    assert lora.title == "LoRA: Low-Rank Adaptation of Large Language Models"
    assert lora.authors == ["Edward J. Hu", "Yelong Shen"]
    assert lora.abstract.startswith("An important paradigm") and lora.abstract.endswith("or LoRA.")
    assert lora.primary_category == "cs.CL"
    assert lora.categories == ["cs.CL", "cs.AI", "cs.LG"]
    assert (lora.published, lora.updated) == ("2021-06-17T17:37:18Z", "2021-10-16T18:40:34Z")
    assert lora.comment.startswith("Draft V2")
    assert lora.journal_ref == "ICLR 2022"
    assert lora.doi == "10.1000/example.lora.2022"
    assert lora.error is None
    assert old.version == 3
    assert old.abstract == "Old abstracts were hard-wrapped at seventy columns."
    assert old.doi is None and old.comment is None and old.journal_ref is None


def test_old_format_doi_from_link_and_wrapped_title():
    (entry,) = arxiv.parse_feed(fixture_bytes("arxiv_old_format.atom.xml").decode())
    assert entry.arxiv_id == "1706.03762" and entry.version == 5
    assert entry.title == "Attention Is All You Need"
    assert entry.doi == "10.5555/attention.2017"
    assert entry.comment == "15 pages, 5 figures"
    assert entry.categories == ["cs.CL", "cs.LG"]


@pytest.mark.parametrize(
    "listed, doi",
    [
        ("10.1000/Example.LoRA.2022", "10.1000/example.lora.2022"),
        ("10.1000/first 10.2000/second", "10.1000/first"),
        ("Phys. Rev. D 89, 084044 10.1103/PhysRevD.89.084044", "10.1103/physrevd.89.084044"),
        ("to appear", None),
        ("10.48550/arXiv.2106.09685", None),
        ("10.1000/../../admin", None),
        ("", None),
    ],
)
def test_published_doi_is_a_doi(listed, doi):
    assert arxiv.published_doi(listed) == doi
    (entry,) = arxiv.parse_feed(_feed(_entry("2106.09685", listed)))
    assert entry.doi == doi


def test_error_entry():
    (entry,) = arxiv.parse_feed(fixture_bytes("arxiv_error.atom.xml"))
    assert entry.error == "incorrect id format for 2113.00001"
    assert entry.arxiv_id == "2113.00001"
    assert entry.title == ""


def test_empty_feed():
    assert arxiv.parse_feed(fixture_bytes("arxiv_empty.atom.xml")) == []


@pytest.mark.parametrize("body", [b"<html><body>Rate exceeded</body></html>", b"<feed xmlns='http://www.w3.org/2005/Atom'>", b""])
def test_not_a_feed(body):
    with pytest.raises(arxiv.ArxivFeedError):
        arxiv.parse_feed(body)


def test_to_metadata():
    (lora, _old) = arxiv.parse_feed(fixture_bytes("arxiv_two_entries.atom.xml"))
    metadata = arxiv.to_metadata(lora)
    assert metadata.title == lora.title
    assert metadata.summary == lora.abstract
    assert metadata.published == "2021-06-17"
    assert metadata.site_name == "arXiv"
    assert metadata.doi == "10.1000/example.lora.2022"
    assert metadata.meta == {
        "arxiv_id": "2106.09685",
        "version": 2,
        "primary_category": "cs.CL",
        "categories": ["cs.CL", "cs.AI", "cs.LG"],
        "published": "2021-06-17T17:37:18Z",
        "updated": "2021-10-16T18:40:34Z",
        "comment": lora.comment,
        "journal_ref": "ICLR 2022",
        "doi": "10.1000/example.lora.2022",
        "abstract": lora.abstract,
    }


def test_a_long_abstract_is_summarized_and_kept_whole_in_meta(fixtures):
    (entry,) = arxiv.parse_feed((fixtures / "export" / "arxiv_long_abstract.atom.xml").read_bytes())
    metadata = arxiv.to_metadata(entry)
    assert len(entry.abstract) == 675 and metadata.meta["abstract"] == entry.abstract
    assert metadata.summary == (
        "Pruning removes the weights of a language model that matter least for its answers. We study which facts a "
        "pruned language model forgets first, and how fast it forgets them as the pruning rate grows. Rare facts are "
        "lost long before common ones, even at a pruning rate of ten percent. This keeps most rare facts at the same "
        "pruning rate and costs one extra pass over the calibration data."
    )


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("2401.12345v3", "2401.12345"),
        ("arXiv:2401.12345", "2401.12345"),
        ("math.GT/0309136v2", "math/0309136"),
        ("hep-th/9901001", "hep-th/9901001"),
    ],
)
def test_normalize_id(raw, expected):
    assert arxiv.normalize_id(raw) == expected


def test_query_url():
    settings = Settings(arxiv_api="http://mirror.example/api/query")
    url = arxiv.query_url(settings, id_list=["2401.12345", "hep-th/9901001"])
    parts = urlsplit(url)
    assert parts.path == "/api/query"
    assert parse_qs(parts.query) == {"id_list": ["2401.12345,hep-th/9901001"], "start": ["0"], "max_results": ["2"]}
    search = arxiv.query_url(Settings(arxiv_api="http://m/q?x=1"), search_query='ti:"attention"')
    assert search.startswith("http://m/q?x=1&search_query=")
    assert parse_qs(urlsplit(search).query)["max_results"] == ["10"]


# ---------------------------------------------------------------- the real feeds


REAL = {
    "id_list_1605.08386.atom.xml": ("1605.08386", "Heat-bath random walks with Markov bases", None, "math.CO"),
    "id_list_astro-ph_0601001_oldstyle.atom.xml": ("astro-ph/0601001", None, None, "astro-ph"),
    "pubs_id_list_1312.2021_oldformat.atom.xml": ("1312.2021", "Living with the Wrong Sign", "10.1103/invaliddoi.89.084044", "hep-th"),
    "pubs_id_list_1710.08557_oldformat.atom.xml": ("1710.08557", None, "10.1186/s12984-017-0305-3", "cs.RO"),
    "pubs_id_list_math_0211159_oldformat.atom.xml": ("math/0211159", None, None, "math.DG"),
    "id_list_2104.12255v1.atom.xml": ("2104.12255", "0", None, "cs.CR"),
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_realworld_entries(realworld, name):
    arxiv_id, title, doi, primary = REAL[name]
    (entry,) = arxiv.parse_feed((realworld / "arxiv-api-atom" / name).read_bytes())
    assert entry.arxiv_id == arxiv_id
    if title is not None:
        assert entry.title == title
    assert entry.doi == doi
    assert entry.primary_category == primary
    assert entry.authors and entry.abstract and entry.error is None
    assert "\n" not in entry.abstract and "  " not in entry.abstract


@pytest.mark.parametrize(
    "name, bad_id", [("id_list_abc_malformed_id_error.atom.xml", "abc"), ("pubs_id_list_INVALIDID_oldformat.atom.xml", "INVALIDID")]
)
def test_realworld_errors(realworld, name, bad_id):
    (entry,) = arxiv.parse_feed((realworld / "arxiv-api-atom" / name).read_bytes())
    assert entry.arxiv_id == bad_id
    assert entry.error == f"incorrect id format for {bad_id}"


def test_realworld_every_feed_parses(realworld):
    for path in sorted((realworld / "arxiv-api-atom").glob("*.xml")):
        entries = arxiv.parse_feed(path.read_bytes())
        for entry in entries:
            assert entry.error or (entry.arxiv_id and entry.title), path.name
    assert arxiv.parse_feed((realworld / "arxiv-api-atom" / "id_list_0000.0000_nonexistent.atom.xml").read_bytes()) == []


def test_realworld_search_results(realworld):
    entries = arxiv.parse_feed((realworld / "arxiv-api-atom" / "search_query_testing_start0_max10.atom.xml").read_bytes())
    assert len(entries) == 10
    assert arxiv.total_results((realworld / "arxiv-api-atom" / "search_query_testing_start0_max10.atom.xml").read_bytes()) > 10


# ---------------------------------------------------------------- the stage against a local server


def _feed(entries_xml: str) -> str:
    return (
        "<?xml version='1.0' encoding='UTF-8'?>"
        '<feed xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns="http://www.w3.org/2005/Atom">'
        + entries_xml
        + "</feed>"
    )


def _entry(arxiv_id: str, doi: str | None = None) -> str:
    doi_xml = f"<arxiv:doi>{doi}</arxiv:doi>" if doi else ""
    return (
        f"<entry><id>http://arxiv.org/abs/{arxiv_id}v1</id><title>Paper {arxiv_id}</title>"
        f"<summary>Abstract of {arxiv_id}.</summary><published>2024-01-02T00:00:00Z</published>"
        f'<arxiv:primary_category term="cs.LG"/><category term="cs.LG"/>{doi_xml}'
        f"<author><name>Ann Author</name></author></entry>"
    )


def _answer_id_list(known: set[str], seen: list[list[str]], bad: set[str] = frozenset()):
    def handler(request):
        ids = request.args["id_list"].split(",")
        seen.append(ids)
        assert int(request.args["max_results"]) >= len(ids)
        malformed = [i for i in ids if i in bad]
        if malformed:
            body = _feed(
                f"<entry><id>https://arxiv.org/api/errors#incorrect_id_format_for_{malformed[0]}</id><title>Error</title>"
                f"<summary>incorrect id format for {malformed[0]}</summary></entry>"
            )
            return Response(body, status=400, content_type="application/atom+xml")
        return Response(_feed("".join(_entry(i) for i in ids if i in known)), content_type="application/atom+xml")

    return handler


def test_batches_of_100_three_seconds_apart(httpserver, fresh_db):
    ids = [f"2401.{n:05d}" for n in range(1, 251)]
    item_ids = [add_item(fresh_db, f"https://arxiv.org/abs/{i}") for i in ids]
    seen: list[list[str]] = []
    httpserver.expect_request("/api/query").respond_with_handler(_answer_id_list(set(ids[:-1]), seen))
    fake = FakeTime()
    stats = run_stage(fresh_db, settings_for(httpserver), fake=fake)
    assert [len(batch) for batch in seen] == [100, 100, 50]
    assert sorted(i for batch in seen for i in batch) == sorted(ids)
    assert fake.sleeps == [pytest.approx(3.0), pytest.approx(3.0)]
    assert (stats.ok, stats.dead, stats.failed) == (249, 1, 0)
    first = item(fresh_db, item_ids[0])
    assert first["title"] == "Paper 2401.00001" and first["title_source"] == "api"
    assert first["fetch_status"] == "ok" and first["authors"] == ["Ann Author"]
    assert first["summary"] == "Abstract of 2401.00001." and first["published"] == "2024-01-02"
    assert first["meta"]["primary_category"] == "cs.LG" and first["site_name"] == "arXiv"
    missing = item(fresh_db, item_ids[-1])
    assert missing["fetch_status"] == "dead" and missing["last_error"] == "arXiv: no such paper"


def test_malformed_id_is_dead_and_the_rest_asked_again(httpserver, fresh_db):
    good = add_item(fresh_db, "https://arxiv.org/abs/2401.00001")
    bad = add_item(fresh_db, "https://arxiv.org/abs/2401.00002")
    seen: list[list[str]] = []
    httpserver.expect_request("/api/query").respond_with_handler(_answer_id_list({"2401.00001"}, seen, bad={"2401.00002"}))
    fake = FakeTime()
    stats = run_stage(fresh_db, settings_for(httpserver), fake=fake)
    assert [sorted(b) for b in seen] == [["2401.00001", "2401.00002"], ["2401.00001"]]
    assert fake.sleeps == [pytest.approx(3.0)]
    assert item(fresh_db, bad)["fetch_status"] == "dead"
    assert item(fresh_db, bad)["last_error"] == "arXiv: incorrect id format for 2401.00002"
    assert item(fresh_db, bad)["http_status"] == 400
    assert item(fresh_db, good)["fetch_status"] == "ok"
    assert (stats.ok, stats.dead) == (1, 1)


def test_overloaded_api_defers_every_item(httpserver, fresh_db):
    ids = [add_item(fresh_db, f"https://arxiv.org/abs/2401.{n:05d}") for n in range(1, 4)]
    httpserver.expect_request("/api/query").respond_with_data("busy", status=503, headers={"Retry-After": "120"})
    stats = run_stage(fresh_db, settings_for(httpserver))
    assert stats.deferred == 3 and stats.failed == 0
    assert len(httpserver.log) == 1
    for item_id in ids:
        row = item(fresh_db, item_id)
        assert row["fetch_status"] == "pending"
        assert row["next_retry_at"] == "2026-03-01T12:02:00+00:00"
        assert row["attempts"] is None
    # Not due yet: a second run right away asks nothing.
    again = run_stage(fresh_db, settings_for(httpserver))
    assert again.total == 0 and len(httpserver.log) == 1


def test_server_error_fails_with_retry(httpserver, fresh_db):
    item_id = add_item(fresh_db, "https://arxiv.org/abs/2401.00001")
    httpserver.expect_request("/api/query").respond_with_data("<html>oops</html>", status=500)
    stats = run_stage(fresh_db, settings_for(httpserver))
    row = item(fresh_db, item_id)
    assert stats.failed == 1
    assert row["fetch_status"] == "failed" and row["attempts"] == 1
    assert row["last_error"].startswith("HTTP 500: not an Atom feed")
    assert row["next_retry_at"] == "2026-03-01T13:00:00+00:00"


def test_published_doi_is_recorded(httpserver, fresh_db):
    item_id = add_item(fresh_db, "https://arxiv.org/abs/2401.00001")
    httpserver.expect_request("/api/query").respond_with_data(
        _feed(_entry("2401.00001", doi="10.1145/ABC.1")), content_type="application/atom+xml"
    )
    run_stage(fresh_db, settings_for(httpserver))
    row = item(fresh_db, item_id)
    assert row["doi"] == "10.1145/abc.1" and row["arxiv_id"] == "2401.00001"
    assert row["meta"]["doi"] == "10.1145/abc.1"


def test_old_style_ids_are_asked_as_stored(httpserver, fresh_db):
    item_id = add_item(fresh_db, "https://arxiv.org/abs/math.GT/0309136v2")
    seen: list[list[str]] = []
    httpserver.expect_request("/api/query").respond_with_handler(_answer_id_list({"math/0309136"}, seen))
    run_stage(fresh_db, settings_for(httpserver))
    assert seen == [["math/0309136"]]
    assert item(fresh_db, item_id)["title"] == "Paper math/0309136"
