"""RIS export: TY by kind, UTF-8, one line per field; read back with rispy."""

from __future__ import annotations

import rispy

from export_fixtures import library  # noqa: F401
from readinglist.export import FORMATS, select_items


def _ris(db, **filters):
    return FORMATS["ris"].write(select_items(db, **filters))


def _by_id(entries):
    return {entry["id"]: entry for entry in entries}


def test_rispy_reads_every_record(library):
    entries = rispy.loads(_ris(library))
    assert len(entries) == 16
    assert all(entry.get("type_of_reference") and entry.get("title") for entry in entries)


def test_types_by_kind(library):
    entries = _by_id(rispy.loads(_ris(library)))
    assert {key: entries[key]["type_of_reference"] for key in (
        "lecun2015deep", "devlin2018bert", "he2016deep", "vaswani2017attention", "karpathy2022nanogpt",
        "andrejkarpathy2023lets", "petrov2024ustroeny", "metallama2024llama",
    )} == {
        "lecun2015deep": "JOUR", "devlin2018bert": "GEN", "he2016deep": "CPAPER", "vaswani2017attention": "GEN",
        "karpathy2022nanogpt": "COMP", "andrejkarpathy2023lets": "VIDEO", "petrov2024ustroeny": "ELEC",
        "metallama2024llama": "COMP",
    }


def test_journal_article_fields(library):
    entry = _by_id(rispy.loads(_ris(library)))["lecun2015deep"]
    assert entry["authors"] == ["LeCun, Yann", "Bengio, Yoshua", "Hinton, Geoffrey"]
    assert (entry["secondary_title"], entry["volume"], entry["number"], entry["start_page"], entry["end_page"]) == (
        "Nature", "521", "7553", "436", "444")
    assert entry["doi"] == "10.1038/nature14539"
    assert entry["date"] == "2015/05/27/"
    assert entry["year"] == "2015"


def test_preprint_utf8_summary_and_tags(library):
    entries = _by_id(rispy.loads(_ris(library)))
    preprint = entries["vaswani2017attention"]
    assert preprint["authors"][6] == "Kaiser, Łukasz"
    assert preprint["doi"] == "10.48550/arXiv.1706.03762"
    assert preprint["accession_number"] == "arXiv:1706.03762"
    assert preprint["keywords"] == ["transformers", "classic", "nlp"]
    assert preprint["abstract"].startswith("The dominant sequence transduction")
    russian = entries["petrov2024ustroeny"]
    assert russian["title"] == "Как устроены трансформеры: разбор Attention и GPT на пальцах"
    assert russian["authors"] == ["Петров, Иван"]
    assert russian["secondary_title"] == "Хабр"
    assert russian["access_date"] == "2024/03/20/"


def test_awkward_and_missing_data(library):
    entries = _by_id(rispy.loads(_ris(library)))
    specials = entries["waals2021cost"]
    assert specials["title"].startswith('Cost & Benefit: 50% of $100, #1 in C_t, {braces}')  # no LaTeX in RIS
    assert specials["authors"] == ["van der Waals, Johannes", "Picard, Jean-Luc, Jr."]
    assert specials["notes"] == ["Check #3 & #4"]
    untitled = entries["exampleorg2023"]
    assert untitled["title"] == "https://example.org/some_page?id=5&ref=a%20b#frag"
    assert untitled["authors"] == ["example.org"]
    assert untitled["year"] == "2023"
    assert "date" not in untitled  # no invented publication date


def test_every_line_is_a_tag_line():
    from readinglist.export.records import Person, Record
    from readinglist.export.ris import format_record

    record = Record(
        id="x", url="https://e.x/", kind="article", work="webpage", citekey="k", title="Two\nlines", authors=[Person(literal="A")],
        authors_are_fallback=False, year=2020, month=None, day=None, date_source="published", accessed=None,
        accessed_at=None, summary="Para one.\n\nPara two.", note=None, tags=[], language=None, status="unread",
        added_at="", first_mentioned=None, site_name=None, doi=None, arxiv_id=None, primary_class=None, repo=None,
        hf_id=None, container=None, volume=None, issue=None, pages=None, publisher=None, version=None,
        programming_language=None, license=None, channel=None,
    )
    lines = format_record(record).splitlines()
    assert lines[0] == "TY  - ELEC" and lines[-1] == "ER  - "
    assert all(line[2:6] == "  - " for line in lines)
    assert "TI  - Two lines" in lines and "AB  - Para one. Para two." in lines
