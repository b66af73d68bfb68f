"""DOI adapter: Crossref works, the DataCite fallback, and unknown DOIs."""

from __future__ import annotations

import json

import pytest

from harvester.sites import crossref
from harvester.summarize import split_sentences
from sites_helpers import add_item, fixture_bytes, item, run_stage, settings_for


def test_crossref_mapping():
    metadata = crossref.parse_crossref(fixture_bytes("crossref_work.json"))
    assert metadata.status == "ok"
    assert metadata.title == "LoRA: Low-Rank Adaptation of Large Language Models"
    assert metadata.authors == ["Edward J. Hu", "Yelong Shen", "The LoRA Consortium"]
    assert metadata.published == "2022-04-25"
    assert metadata.summary == (
        "We propose Low-Rank Adaptation, or LoRA, which freezes the pre-trained model weights & injects"
        " trainable rank decomposition matrices."
    )
    assert metadata.site_name == "International Conference on Learning Representations"
    assert metadata.language == "en"
    assert metadata.arxiv_id == "2106.09685"
    assert metadata.meta == {
        "doi": "10.1000/example.lora.2022",
        "type": "proceedings-article",
        "registration_agency": "crossref",
        "publisher": "Example Press",
        "page": "1-26",
        "citations": 4242,
        "container": "International Conference on Learning Representations",
        "author_names": [{"family": "Hu", "given": "Edward J."}, {"family": "Shen", "given": "Yelong"},
                         {"literal": "The LoRA Consortium"}],
        "year": 2022,
        "arxiv_id": "2106.09685",
        "abstract": metadata.summary,  # short: the summary is the whole abstract
    }


def test_abstract_keeps_comparisons():
    assert crossref.clean_abstract("<jats:p>Scores rose (p < 0.05 and q > 1).</jats:p>") == "Scores rose (p < 0.05 and q > 1)."


@pytest.mark.parametrize(
    "parts, expected",
    [([[2014, 2, 27]], "2014-02-27"), ([[2012, 3]], "2012-03"), ([[1999]], "1999"), ([[None]], None), ([], None)],
)
def test_dates(parts, expected):
    assert crossref._date({"date-parts": parts}) == expected


@pytest.mark.parametrize(
    "work, title, container",
    [
        ({"title": ["Tarmann, G. M. &amp; W. G. Tremewan (1999)"]}, "Tarmann, G. M. & W. G. Tremewan (1999)", None),
        # Escaped twice over: "&amp;nbsp;" is a no-break space, which trims away.
        ({"title": ["Adaptation of Risk Analysis&amp;nbsp;"], "container-title": ["Risk Analysis&amp;nbsp;"]},
         "Adaptation of Risk Analysis", "Risk Analysis"),
        ({"title": ["CO<sub>2</sub> uptake in <i>Zea mays</i>"]}, "CO2 uptake in Zea mays", None),
        ({"title": ["<jats:title>Effects at p &lt; 0.05</jats:title>"]}, "Effects at p < 0.05", None),
        ({"title": ["Moths"], "subtitle": ["the Alps &amp; the <jats:italic>Carpathians</jats:italic>"],
          "container-title": ["Annals &amp; Records"]}, "Moths: the Alps & the Carpathians", "Annals & Records"),
    ],
)
def test_titles_are_plain_text(work, title, container):
    body = {"message-type": "work", "message": {"DOI": "10.1000/x", "type": "journal-article", **work}}
    metadata = crossref.parse_crossref(json.dumps(body).encode())
    assert (metadata.title, metadata.meta.get("container")) == (title, container)


@pytest.mark.parametrize(
    "attributes, title, container",
    [
        ({"titles": [{"title": "Code &amp; Data&amp;nbsp;"}]}, "Code & Data", None),
        ({"titles": [{"title": "Tables"}], "container": {"title": "Notes &amp; <i>Records</i>"}}, "Tables", "Notes & Records"),
    ],
)
def test_datacite_titles_are_plain_text(attributes, title, container):
    metadata = crossref.parse_datacite(json.dumps({"data": {"attributes": {"doi": "10.5281/x", **attributes}}}).encode())
    assert (metadata.title, metadata.meta.get("container")) == (title, container)


DEPOSITED = {"created": {"date-parts": [[2004, 6, 22]]}, "deposited": {"date-parts": [[2017, 3, 16]]},
             "indexed": {"date-parts": [[2024, 1, 5]]}}


@pytest.mark.parametrize(
    "dates, published",
    [
        ({"issued": {"date-parts": [[None]]}, **DEPOSITED}, None),
        (DEPOSITED, None),
        ({"published-online": {"date-parts": [[2003, 5]]}, **DEPOSITED}, "2003-05"),
        ({"published-print": {"date-parts": [[2003, 5, 19]]}, "issued": {"date-parts": [[None]]}, **DEPOSITED}, "2003-05-19"),
        ({"issued": {"date-parts": [[2003]]}, **DEPOSITED}, "2003"),
    ],
)
def test_the_date_a_doi_was_deposited_is_not_the_publication_date(dates, published):
    from harvester.sites.scholar_search import parse_crossref_search

    work = {"DOI": "10.1000/x", "type": "proceedings-article", "title": ["T"], **dates}
    metadata = crossref.parse_crossref(json.dumps({"message-type": "work", "message": work}).encode())
    assert (metadata.published, metadata.meta.get("year")) == (published, int(published[:4]) if published else None)
    # A work the title search finds gets its date by the same rule.
    found = parse_crossref_search(json.dumps({"status": "ok", "message": {"items": [work]}}).encode())
    assert [work.published for work in found] == [published]


def test_datacite_mapping():
    metadata = crossref.parse_datacite(fixture_bytes("datacite_doi.json"))
    assert metadata.status == "ok"
    assert metadata.title == "Tiny Benchmark Dataset"
    assert metadata.authors == ["Anna Petrova", "John Smith", "Example Lab"]
    assert metadata.published == "2023-05-17"
    assert metadata.summary == "A small benchmark."
    assert metadata.meta["type"] == "dataset" and metadata.meta["datacite_type"] == "Dataset"
    assert metadata.meta["publisher"] == "Zenodo" and metadata.meta["registration_agency"] == "datacite"
    assert metadata.arxiv_id == "2305.00001"


@pytest.mark.parametrize("body", [b"Resource not found.", b"[]", b'{"status": "ok", "message-type": "work-list", "message": {}}'])
def test_crossref_not_a_work(body):
    assert crossref.parse_crossref(body).status == "failed"


def test_realworld_crossref(realworld):
    folder = realworld / "crossref-json"
    for path in sorted(folder.glob("*.json")):
        if "datacite" in path.name or "works_list" in path.name:
            continue
        metadata = crossref.parse_crossref(path.read_bytes())
        assert metadata.status == "ok", path.name
        assert metadata.title and metadata.authors and metadata.meta["type"], path.name
        # Each has a publication date but one, which gives only the dates its DOI was deposited and indexed.
        assert bool(metadata.published) is ("icdcsw" not in path.name), path.name
        assert "<jats" not in (metadata.summary or "") and "</" not in (metadata.summary or ""), path.name
    abstract = crossref.parse_crossref((folder / "papis_test_2_abstract_10.32396_usurj.v1i1.55.json").read_bytes())
    # 1409 characters: whole for the exports, 2-4 of its sentences as the summary
    assert abstract.meta["abstract"].startswith("In the international community, human dependence on plastic is increasing.")
    assert len(abstract.meta["abstract"]) == 1409
    assert len(abstract.summary) <= 600 and 2 <= len(split_sentences(abstract.summary)) <= 4
    assert all(sentence in abstract.meta["abstract"] for sentence in split_sentences(abstract.summary))
    chapter = crossref.parse_crossref((folder / "papis_test_4_multiple_isbn_10.1007_978-3-0348-8720-5_13.json").read_bytes())
    assert chapter.meta["type"] == "book-chapter" and len(chapter.meta["isbn"]) >= 2
    datacite = crossref.parse_datacite((folder / "commonmeta_datacite_10.5438_4k3m-nyvg.json").read_bytes())
    assert (datacite.title, datacite.authors) == ("Eating your own Dog Food", ["Martin Fenner"])
    assert crossref.classify(404) is not None
    assert (folder / "works_notarealdoi_404.txt").read_text().strip() == "Resource not found."


# ---------------------------------------------------------------- the stage against a local server

DOI = "10.1000/example.lora.2022"


@pytest.mark.parametrize(
    "doi, works_path",
    [
        ("10.1000/example.lora.2022", "/v1/works/10.1000%2Fexample.lora.2022"),
        ("10.5555/../../../../internal-admin/status", "/v1/works/10.5555%2F..%2F..%2F..%2F..%2Finternal-admin%2Fstatus"),
        ("10.5555/x?y#z", "/v1/works/10.5555%2Fx%3Fy%23z"),
    ],
)
def test_a_doi_is_one_path_segment_under_works(doi, works_path):
    """Whatever a stored DOI holds (an old database, an arXiv feed's <arxiv:doi>), the request stays under /works/."""
    import httpx

    from harvester.settings import Settings

    settings = Settings(crossref_api="http://mirror.local/v1", datacite_api="http://mirror.local/v1")
    assert httpx.Request("GET", crossref.crossref_url(settings, doi)).url.raw_path.decode() == works_path
    dois_path = works_path.replace("/works/", "/dois/")
    assert httpx.Request("GET", crossref.datacite_url(settings, doi)).url.raw_path.decode() == dois_path


def test_crossref_item(httpserver, fresh_db):
    item_id = add_item(fresh_db, f"https://doi.org/{DOI}", title="LoRA paper")
    httpserver.expect_request(f"/crossref/works/{DOI}").respond_with_data(
        fixture_bytes("crossref_work.json"), content_type="application/json"
    )
    stats = run_stage(fresh_db, settings_for(httpserver))
    row = item(fresh_db, item_id)
    assert stats.ok == 1
    assert row["title"] == "LoRA: Low-Rank Adaptation of Large Language Models" and row["title_source"] == "api"
    assert row["meta"]["type"] == "proceedings-article" and row["meta"]["container"].startswith("International")
    assert row["published"] == "2022-04-25" and row["fetch_status"] == "ok"


def test_datacite_fallback(httpserver, fresh_db):
    doi = "10.5281/zenodo.1234567"
    item_id = add_item(fresh_db, f"https://doi.org/{doi}")
    httpserver.expect_request(f"/crossref/works/{doi}").respond_with_data("Resource not found.", status=404)
    httpserver.expect_request(f"/datacite/dois/{doi}").respond_with_data(fixture_bytes("datacite_doi.json"), content_type="application/vnd.api+json")
    stats = run_stage(fresh_db, settings_for(httpserver))
    row = item(fresh_db, item_id)
    assert stats.ok == 1
    assert row["title"] == "Tiny Benchmark Dataset" and row["meta"]["registration_agency"] == "datacite"


def test_unknown_doi_is_dead(httpserver, fresh_db):
    doi = "10.1371/notarealdoi"
    item_id = add_item(fresh_db, f"https://doi.org/{doi}")
    httpserver.expect_request(f"/crossref/works/{doi}").respond_with_data("Resource not found.", status=404)
    httpserver.expect_request(f"/datacite/dois/{doi}").respond_with_json({"errors": [{"status": "404", "title": "The resource you are looking for doesn't exist."}]}, status=404)
    stats = run_stage(fresh_db, settings_for(httpserver))
    row = item(fresh_db, item_id)
    assert stats.dead == 1
    assert row["fetch_status"] == "dead" and row["last_error"] == "DOI not found at Crossref or DataCite"
    assert row["next_retry_at"] is None


def test_rate_limit_defers_the_rest(httpserver, fresh_db):
    first = add_item(fresh_db, "https://doi.org/10.1000/a1")
    second = add_item(fresh_db, "https://doi.org/10.1000/a2")
    httpserver.expect_request("/crossref/works/10.1000/a1").respond_with_data("slow down", status=429, headers={"Retry-After": "60"})
    httpserver.expect_request("/crossref/works/10.1000/a2").respond_with_data("slow down", status=429, headers={"Retry-After": "60"})
    stats = run_stage(fresh_db, settings_for(httpserver))
    assert stats.deferred == 2
    assert len(httpserver.log) == 1
    for item_id in (first, second):
        row = item(fresh_db, item_id)
        assert row["fetch_status"] == "pending" and row["next_retry_at"] == "2026-03-01T12:01:00+00:00"


def test_server_error_fails(httpserver, fresh_db):
    item_id = add_item(fresh_db, "https://doi.org/10.1000/a1")
    httpserver.expect_request("/crossref/works/10.1000/a1").respond_with_data("boom", status=502)
    stats = run_stage(fresh_db, settings_for(httpserver))
    row = item(fresh_db, item_id)
    assert stats.failed == 1 and row["fetch_status"] == "failed" and row["last_error"] == "HTTP 502"


@pytest.mark.parametrize(
    "person, name",
    [
        ({"given": "Martin Luther", "family": "King", "suffix": "Jr."}, "Martin Luther King Jr."),
        ({"given": "Henry", "family": "Ford", "suffix": "III"}, "Henry Ford III"),
        ({"given": "Edward J.", "family": "Hu"}, "Edward J. Hu"),
        ({"family": "Hu"}, "Hu"),
        ({"name": "The LoRA Consortium"}, "The LoRA Consortium"),
        ({"given": "Ada", "family": "Lovelace", "suffix": None}, "Ada Lovelace"),
    ],
)
def test_crossref_author_names_keep_their_suffix(person, name):
    body = {"message-type": "work", "message": {"DOI": "10.1000/x", "title": ["T"], "author": [person]}}
    assert crossref.parse_crossref(json.dumps(body).encode()).authors == [name]


@pytest.mark.parametrize(
    "person, parts",
    [
        ({"given": "A.", "family": "Del Maestro"}, {"family": "Del Maestro", "given": "A."}),
        ({"given": "Mauro", "family": "Dalla  Serra"}, {"family": "Dalla Serra", "given": "Mauro"}),
        ({"given": "Martin Luther", "family": "King", "suffix": "Jr."}, {"family": "King", "given": "Martin Luther", "suffix": "Jr."}),
        ({"family": "Hu"}, {"family": "Hu"}),
        ({"name": "The LoRA Consortium"}, {"literal": "The LoRA Consortium"}),
        ({"given": "Cher"}, None),  # no family name: the exports parse "Cher" as before
    ],
)
def test_crossref_keeps_how_each_name_splits(person, parts):
    body = {"message-type": "work", "message": {"DOI": "10.1000/x", "title": ["T"], "author": [person, {"given": "Ada", "family": "Lovelace"}]}}
    metadata = crossref.parse_crossref(json.dumps(body).encode())
    assert metadata.meta["author_names"] == [parts, {"family": "Lovelace", "given": "Ada"}]


@pytest.mark.parametrize(
    "creator, name, parts",
    [
        ({"name": "Del Maestro, Adrian", "givenName": "Adrian", "familyName": "Del Maestro"}, "Adrian Del Maestro",
         {"family": "Del Maestro", "given": "Adrian"}),
        ({"name": "Dalla Serra, Mauro", "nameType": "Personal"}, "Mauro Dalla Serra", {"family": "Dalla Serra", "given": "Mauro"}),
        ({"name": "Example Lab, Inc.", "nameType": "Organizational"}, "Example Lab, Inc.", {"literal": "Example Lab, Inc."}),
        ({"name": "Ana Lima", "nameType": "Personal"}, "Ana Lima", None),  # nothing says where the family name starts
    ],
)
def test_datacite_keeps_how_each_name_splits(creator, name, parts):
    metadata = crossref.parse_datacite(json.dumps({"data": {"attributes": {"doi": "10.5281/x", "creators": [creator]}}}).encode())
    assert (metadata.authors, metadata.meta.get("author_names")) == ([name], [parts] if parts else None)
