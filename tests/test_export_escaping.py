"""LaTeX escaping, case protection and author names in .bib output, checked by pybtex's own reading."""

from __future__ import annotations

import pybtex.errors
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pybtex.database import parse_string

from readinglist.export.bibtex import format_authors, latex_escape, needs_protection, protect_title
from readinglist.export.records import Person, parse_authors, parse_person


@pytest.mark.parametrize(
    "text, expected",
    [
        ("R&D", r"R\&D"),
        ("50%", r"50\%"),
        ("$100", r"\$100"),
        ("#1", r"\#1"),
        ("a_b", r"a\_b"),
        ("{x}", r"\{x\}"),
        ("~", r"\textasciitilde{}"),
        ("x^2", r"x\textasciicircum{}2"),
        ("C:\\dir", r"C:\textbackslash{}dir"),
        ("Трансформеры & GPT", r"Трансформеры \& GPT"),
        ("a { b", r"a $\lbrace$ b"),
        ("a } b {c}", r"a $\rbrace$ b \{c\}"),
        ('"quoted"', '"quoted"'),
    ],
)
def test_latex_escape(text, expected):
    assert latex_escape(text) == expected


@pytest.mark.parametrize(
    "title, expected",
    [
        ("Attention Is All You Need", "Attention Is All You Need"),
        ("BERT: Pre-training of Deep Bidirectional Transformers", "{BERT}: Pre-training of Deep Bidirectional Transformers"),
        ("Self-Attention with ImageNet and GPT-4o", "Self-Attention with {ImageNet} and {GPT-4o}"),
        ("The Large N Limit", "The Large {N} Limit"),
        ("A Study of 3D LoRA (CVPR)", "A Study of {3D} {LoRA} ({CVPR})"),
        ("Как устроены трансформеры: GPT и ИИ", "Как устроены трансформеры: {GPT} и {ИИ}"),
        ("50% of R&D in C_t", r"50\% of {R\&D} in {C\_t}"),
        ("\\LaTeX{} tricks", r"\textbackslash{}{LaTeX}\{\} tricks"),
    ],
)
def test_protect_title(title, expected):
    assert protect_title(title) == expected


@pytest.mark.parametrize("word, protect", [("BERT", True), ("nanoGPT", True), ("Attention", False), ("self-attention", False), ("A", False)])
def test_needs_protection(word, protect):
    assert needs_protection(word, first=True) is protect


@pytest.mark.parametrize(
    "name, person",
    [
        ("Ashish Vaswani", Person(family="Vaswani", given="Ashish")),
        ("Aidan N. Gomez", Person(family="Gomez", given="Aidan N.")),
        ("Johannes van der Waals", Person(family="Waals", given="Johannes", particle="van der")),
        ("Jean-Luc Picard Jr.", Person(family="Picard", given="Jean-Luc", suffix="Jr.")),
        ("Иван Петров", Person(family="Петров", given="Иван")),
        ("LeCun, Yann", Person(family="LeCun", given="Yann")),
        # Surname first, then initials (as Russian references write names), or a Russian full name
        # ending in the patronymic: the family name is the first word.
        ("Петров А. В.", Person(family="Петров", given="А. В.")),
        ("Сидорова Е.Н.", Person(family="Сидорова", given="Е.Н.")),
        ("Петров А. В", Person(family="Петров", given="А. В")),  # as fetch stored it before
        ("Smith J.", Person(family="Smith", given="J.")),
        ("Kim J.-H.", Person(family="Kim", given="J.-H.")),
        ("van der Waals J. D.", Person(family="Waals", given="J. D.", particle="van der")),
        ("Ёлкин Юрий Щукинович", Person(family="Ёлкин", given="Юрий Щукинович")),
        ("Лев Николаевич Толстой", Person(family="Толстой", given="Лев Николаевич")),
        ("J. Smith", Person(family="Smith", given="J.")),
        ("Петров, А. В.", Person(family="Петров", given="А. В.")),
        ("OpenAI", Person(literal="OpenAI")),
        ("Google DeepMind", Person(literal="Google DeepMind")),
        ("Hugging Face Team", Person(literal="Hugging Face Team")),
        ("NVIDIA Research", Person(literal="NVIDIA Research")),
        ("Яндекс Исследования", Person(literal="Яндекс Исследования")),
        ({"family": "Smith", "given": "J."}, Person(family="Smith", given="J.")),
        ({"literal": "The Consortium"}, Person(literal="The Consortium")),
    ],
)
def test_parse_person(name, person):
    assert parse_person(name) == person


DEL_MAESTRO = {"given": "A.", "family": "Del Maestro"}


@pytest.mark.parametrize(
    "authors, meta, people",
    [
        # The split Crossref or DataCite gave, looked up by the name it makes.
        (["A. Del Maestro"], {"author_names": [DEL_MAESTRO]}, [Person(family="Del Maestro", given="A.")]),
        (["Mauro Dalla Serra", "A. Del Maestro"], {"author_names": [DEL_MAESTRO, {"given": "Mauro", "family": "Dalla Serra"}]},
         [Person(family="Dalla Serra", given="Mauro"), Person(family="Del Maestro", given="A.")]),
        (["Maria de la Cruz", "Martin Luther King Jr.", "Pore Lab"],
         {"author_names": [{"given": "Maria", "family": "de la Cruz"}, {"given": "Martin Luther", "family": "King", "suffix": "Jr."},
                           {"literal": "Pore Lab"}]},
         [Person(family="Cruz", given="Maria", particle="de la"), Person(family="King", given="Martin Luther", suffix="Jr."),
          Person(literal="Pore Lab")]),
        # No split for that name (fetched before the splits were kept, arXiv's full names, an author
        # list another source wrote): parsed from the name as before.
        (["A. Del Maestro"], {}, [Person(family="Maestro", given="A. Del")]),
        (["Adrian Del Maestro", "Ana Lima"], {"author_names": [DEL_MAESTRO, None]},
         [Person(family="Maestro", given="Adrian Del"), Person(family="Lima", given="Ana")]),
        (["Ana Lima"], {"author_names": "not a list"}, [Person(family="Lima", given="Ana")]),
    ],
)
def test_authors_split_as_their_source_split_them(authors, meta, people):
    assert parse_authors(authors, meta) == people


def test_authors_last_first_with_organizations_whole():
    people = [parse_person(n) for n in ("Johannes van der Waals", "Jean-Luc Picard Jr.", "Research and Development Lab", "Иван Петров")]
    assert format_authors(people) == (
        "van der Waals, Johannes and Picard, Jr., Jean-Luc and {Research and Development Lab} and Петров, Иван"
    )


@pytest.mark.parametrize(
    "names, written",
    [
        (["Ann Lee", "others"], "Lee, Ann and others"),  # the list was cut at MAX_AUTHORS: "et al."
        (["Ann Lee", "Bo Chen", "others"], "Lee, Ann and Chen, Bo and others"),
        (["others"], "{others}"),  # alone it is no cut list
    ],
)
def test_a_cut_author_list_ends_in_bibtex_others(names, written):
    assert format_authors([parse_person(name) for name in names]) == written


def test_pybtex_reads_the_names_back():
    people = [parse_person(n) for n in ("Johannes van der Waals", "Jean-Luc Picard Jr.", "Research and Development Lab")]
    entry = parse_string("@misc{k, author = {" + format_authors(people) + "}}", "bibtex").entries["k"]
    names = entry.persons["author"]
    assert [(p.prelast_names, p.last_names, p.first_names, p.lineage_names) for p in names] == [
        (["van", "der"], ["Waals"], ["Johannes"], []),
        ([], ["Picard"], ["Jean-Luc"], ["Jr."]),
        ([], ["{Research and Development Lab}"], [], []),
    ]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=60))
def test_any_title_makes_a_field_pybtex_reads_strictly(title):
    pybtex.errors.set_strict_mode(True)
    text = " ".join(title.split()) or "x"
    parse_string("@misc{k, title = {" + protect_title(text) + "}, note = {" + latex_escape(text) + "}}", "bibtex")
