"""BibTeX and BibLaTeX exports: entry types, fields, and real consumers (pybtex, bibtexparser 2, Pandoc)."""

from __future__ import annotations

import logging
import subprocess
import warnings

import bibtexparser
import pybtex.errors
import pytest
from pybtex.database import parse_string

from export_fixtures import NESTED_TITLE, SPECIALS_TITLE, library  # noqa: F401
from readinglist.export import FORMATS, select_items


@pytest.fixture(params=["bibtex", "biblatex"])
def flavour(request):
    return request.param


def _bib(db, name: str) -> str:
    return FORMATS[name].write(select_items(db))


def _entries(text: str) -> dict:
    return {entry.key: entry for entry in bibtexparser.parse_string(text).entries}


def test_pybtex_parses_strictly_without_warnings(library, flavour):
    text = _bib(library, flavour)
    pybtex.errors.set_strict_mode(True)  # any warning raises
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = parse_string(text, "bibtex")
    assert len(data.entries) == 16
    assert data.entries["vaswani2017attention"].fields["title"] == "Attention Is All You Need"


def test_bibtexparser_parses_with_no_failed_blocks_or_warnings(library, flavour, caplog):
    text = _bib(library, flavour)
    with caplog.at_level(logging.WARNING), warnings.catch_warnings():
        warnings.simplefilter("error")
        parsed = bibtexparser.parse_string(text)
    assert parsed.failed_blocks == []
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert len(parsed.entries) == 16
    assert all(type(block).__name__ == "Entry" for block in parsed.blocks)


EXPECTED_TYPES = {
    # key: (BibTeX, BibLaTeX)
    "vaswani2017attention": ("misc", "online"),
    "maldacena1997large": ("misc", "online"),
    "devlin2018bert": ("misc", "online"),
    "lecun2015deep": ("article", "article"),
    "he2016deep": ("inproceedings", "inproceedings"),
    "cruz2020preprint": ("misc", "online"),
    "karpathy2022nanogpt": ("misc", "software"),
    "huggingface2018transformers": ("misc", "software"),
    "metallama2024llama": ("misc", "software"),
    "petrov2024ustroeny": ("misc", "online"),
    "andrejkarpathy2023lets": ("misc", "online"),
    "exampleorg2023": ("misc", "online"),
}


def test_entry_types_follow_what_the_item_is(library, flavour):
    entries = _entries(_bib(library, flavour))
    column = 0 if flavour == "bibtex" else 1
    assert {key: entries[key].entry_type for key in EXPECTED_TYPES} == {k: v[column] for k, v in EXPECTED_TYPES.items()}


def test_arxiv_preprint_fields(library):
    bibtex = _entries(_bib(library, "bibtex"))["vaswani2017attention"].fields_dict
    assert {name: field.value for name, field in bibtex.items() if name in
            ("eprint", "archivePrefix", "primaryClass", "doi", "url", "year", "month")} == {
        "eprint": "1706.03762", "archivePrefix": "arXiv", "primaryClass": "cs.CL",
        "doi": "10.48550/arXiv.1706.03762", "url": "https://arxiv.org/abs/1706.03762", "year": "2017", "month": "jun",
    }
    biblatex = _entries(_bib(library, "biblatex"))["vaswani2017attention"].fields_dict
    assert {name: biblatex[name].value for name in ("eprint", "eprinttype", "eprintclass", "date")} == {
        "eprint": "1706.03762", "eprinttype": "arXiv", "eprintclass": "cs.CL", "date": "2017-06-12",
    }
    old_style = _entries(_bib(library, "bibtex"))["maldacena1997large"].fields_dict
    assert old_style["doi"].value == "10.48550/arXiv.hep-th/9711200"


def test_published_arxiv_paper_names_its_journal_reference_in_a_note(library):
    # arXiv's journal reference is free text, not a journal: the paper stays an arXiv entry until Crossref names one.
    fields = _entries(_bib(library, "bibtex"))["devlin2018bert"].fields_dict
    assert "journal" not in fields and fields["note"].value == "NAACL-HLT 2019"
    assert fields["doi"].value == "10.18653/v1/n19-1423"  # as the arXiv adapter stores it (DOIs ignore case)
    assert fields["eprint"].value == "1810.04805"


def test_doi_works_by_crossref_type(library):
    entries = _entries(_bib(library, "bibtex"))
    article = entries["lecun2015deep"].fields_dict
    assert {n: article[n].value for n in ("journal", "volume", "number", "pages", "doi")} == {
        "journal": "Nature", "volume": "521", "number": "7553", "pages": "436--444", "doi": "10.1038/nature14539",
    }
    paper = entries["he2016deep"].fields_dict
    assert paper["booktitle"].value == "2016 {IEEE} Conference on Computer Vision and Pattern Recognition ({CVPR})"
    assert paper["publisher"].value == "IEEE"


def test_repo_video_and_web_article(library):
    entries = _entries(_bib(library, "bibtex"))
    repo = entries["karpathy2022nanogpt"].fields_dict
    assert {n: repo[n].value for n in ("author", "title", "howpublished", "url", "urldate")} == {
        "author": "{karpathy}", "title": "{nanoGPT}", "howpublished": "GitHub repository",
        "url": "https://github.com/karpathy/nanogpt", "urldate": "2024-06-01",
    }
    article = entries["petrov2024ustroeny"].fields_dict
    assert article["author"].value == "Петров, Иван"
    assert article["title"].value == "Как устроены трансформеры: разбор Attention и {GPT} на пальцах"
    assert article["urldate"].value == "2024-03-20"
    assert article["langid"].value == "russian"
    video = entries["andrejkarpathy2023lets"].fields_dict
    assert video["howpublished"].value == "YouTube"
    assert video["author"].value == "{Andrej Karpathy}"


def test_awkward_items_stay_valid_and_round_trip_through_pybtex(library, flavour):
    data = parse_string(_bib(library, flavour), "bibtex")
    specials = data.entries["waals2021cost"]
    assert specials.fields["title"].startswith(r"Cost \& Benefit: 50\% of \$100, \#1 in {C\_t}")
    assert r"$\lbrace$unbalanced" in specials.fields["title"]
    assert specials.fields["keywords"] == r"c++, a\_b"
    assert specials.fields["annote"] == r"Check \#3 \& \#4"
    nested = data.entries["openai2023bitter"]
    assert nested.fields["title"] == r'The "Bitter Lesson" and \{Nested \{Braces\}\} in {GPT-4o\'s} {LoRA}'.replace("\\'", "'")
    assert NESTED_TITLE and SPECIALS_TITLE


def test_missing_title_author_and_date(library, flavour):
    entries = _entries(_bib(library, flavour))
    fields = entries["exampleorg2023"].fields_dict
    assert fields["title"].value == r"{https://example.org/some\_page?id=5\&ref=a\%20b\#frag}"
    assert fields["author"].value == "{example.org}"
    assert fields["url"].value == "https://example.org/some_page?id=5&ref=a%20b#frag"
    assert (fields["year"] if flavour == "bibtex" else fields["date"]).value == "2023"  # the first mention
    never_mentioned = entries["examplenet2024"].fields_dict
    assert (never_mentioned["year"] if flavour == "bibtex" else never_mentioned["date"]).value == "2024"  # added


def test_summary_and_tags_are_carried(library, flavour):
    fields = _entries(_bib(library, flavour))["vaswani2017attention"].fields_dict
    assert fields["abstract"].value.startswith("The dominant sequence transduction models")
    # The item's own tags, then the posts' hashtags (lowercased, once).
    assert fields["keywords"].value == "transformers, classic, nlp"


def _pandoc(bibliography, tmp_path, name):
    import pypandoc

    path = tmp_path / name
    path.write_text(bibliography, encoding="utf-8")
    return subprocess.run(
        [pypandoc.get_pandoc_path(), "--citeproc", f"--bibliography={path}", "-f", "markdown", "-t", "plain"],
        input="---\nnocite: |\n  @*\n---\n", capture_output=True, text=True, check=True,
    )


def test_pandoc_renders_the_bib_without_warnings(library, flavour, tmp_path):
    result = _pandoc(_bib(library, flavour), tmp_path, "library.bib")
    assert result.stderr == ""
    text = " ".join(result.stdout.split())
    assert "Vaswani, Ashish, Noam Shazeer, Niki Parmar, et al. 2017." in text
    assert "Петров, Иван. 2024." in text
    assert "Как устроены трансформеры: разбор Attention и GPT на пальцах" in text  # langid keeps Russian case
    # LaTeX specials decode back to the original characters.
    assert 'Cost & Benefit: 50% of $100, #1 in C_t, {Braces}, ~Tilde^hat, Back\\slash, "Quoted" and {Unbalanced' in text
    assert "The Large N Limit" in text  # a protected lone capital
    assert text.count("“") + text.count("Deep Learning") >= 1
    assert len([line for line in result.stdout.split("\n\n") if line.strip()]) == 16
