"""Title normalization, title agreement, surname checks and choosing among search results."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from harvester.title_match import (
    AMBIGUOUS,
    AUTHOR_MISMATCH,
    NO_MATCH,
    RESOLVED,
    choose,
    normalize,
    similarity,
    surname_key,
    surname_matches,
    titles_agree,
)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Attention Is All You Need", "attention is all you need"),
        ("PV-Tuning: Beyond Straight-Through Estimation", "pv tuning beyond straight through estimation"),
        ("Kernel Methods (Schölkopf)", "kernel methods scholkopf"),
        ("«Кавычки» — “quotes” – dashes ‘single’", "кавычки quotes dashes single"),
        ("Ёлки и Йогурт", "елки и иогурт"),
        ("$\\infty$-former: Infinite Memory Transformer", "former infinite memory transformer"),
        ("\\emph{Deep} Learning with \\textbf{$\\mathcal{O}(n)$} memory", "deep learning with o n memory"),
        ("Caf\\'e au lait", "cafe au lait"),
        ("Top-k & Top-p", "top k and top p"),
        ("ＦＵＬＬＷＩＤＴＨ ﬁ ligature", "fullwidth fi ligature"),
        ("  many\n\tspaces   here ", "many spaces here"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalize(raw, expected):
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    "a, b",
    [
        ("Attention Is All You Need", "Attention is all you need."),
        ("Extreme Compression of Large Language Models via Additive Quantisation", "Extreme Compression of Large Language Models via Additive Quantization"),
        ("VILA: On Pre-training for Visual Language Models", "VILA: On Pretraining for Visual Language Models"),
        ("∞-former: Infinite Memory Transformer", "$\\infty$-former: Infinite Memory Transformer"),
        ("Training language models to follow instructions with human feedback", "Training Language Models to Follow Instructions from Human Feedback"),
        ("Masked Autoencoders Are Scalable Vision Learner", "Masked Autoencoders Are Scalable Vision Learners"),
        ("Language Models are Few-Shot Learners", "Language Models are Few Shot Learners"),
        ("A Simple Framework for Contrastive Learning of Visual Representations", "Simple Framework for Contrastive Learning of Visual Representations"),
    ],
)
def test_titles_that_agree(a, b):
    assert titles_agree(a, b)
    assert titles_agree(b, a)
    assert similarity(a, b) >= 0.9


@pytest.mark.parametrize(
    "a, b",
    [
        # An added negation: a different (often rebuttal) paper.
        ("Attention Is All You Need", "Attention Is Not All You Need"),
        ("Attention is not Explanation", "Attention is not not Explanation"),
        # A different number or version.
        ("FlashAttention: Fast and Memory-Efficient Exact Attention with IO-Awareness", "FlashAttention-2: Fast and Memory-Efficient Exact Attention with IO-Awareness"),
        ("GPT-4 Technical Report", "GPT-4o Technical Report"),
        ("Physics of Language Models: Part 3.1, Knowledge Storage and Extraction", "Physics of Language Models: Part 3.2, Knowledge Storage and Extraction"),
        ("Llama 2: Open Foundation and Fine-Tuned Chat Models", "Llama 3: Open Foundation and Fine-Tuned Chat Models"),
        # A different word, however similar the strings.
        ("Vision Language Models for Medical Imaging", "Visual Language Models for Medical Imaging"),
        # A prefix or an extension of the title.
        ("Segment Anything", "Segment Anything in Medical Images"),
        ("PV-Tuning", "PV-Tuning: Beyond Straight-Through Estimation for Extreme LLM Compression"),
        ("", "Anything"),
    ],
)
def test_titles_that_do_not_agree(a, b):
    assert not titles_agree(a, b)
    assert not titles_agree(b, a)


@pytest.mark.parametrize(
    "surname, authors, expected",
    [
        ("Malinovskii", ["Vladimir Malinovskii", "Denis Mazur"], True),
        ("malinovskii", ["Vladimir Malinovskii"], True),
        ("Малиновский", ["Vladimir Malinovskii"], True),
        ("Малиновский", ["Vladimir Malinovskiy"], True),
        ("Егиазарян", ["Vage Egiazarian"], True),
        ("Шишеня", ["Aleksandr Shishenya"], True),
        ("Хохлов", ["Ivan Khokhlov"], True),
        ("Scholkopf", ["Bernhard Schölkopf"], True),
        ("Rollin", ["Sebastian del Baño Rollin", "Albert Ferreiro-Castilla"], True),
        ("del Baño Rollin", ["Sebastian del Baño Rollin"], True),
        ("Castilla", ["Albert Ferreiro-Castilla"], True),
        ("Vaswani", ["Ashish Vaswani", "Noam Shazeer"], True),
        ("Shazeer", ["Ashish Vaswani", "Noam Shazeer"], True),
        ("Hoffmann", ["Jared Kaplan", "Sam McCandlish"], False),
        ("Malinovsky", ["Vladimir Malinovskii"], False),  # Latin spellings must match exactly
        ("Иванов", ["Vladimir Malinovskii"], False),
        ("Vaswani", [], False),
        ("", ["Ashish Vaswani"], False),
    ],
)
def test_surname_matches(surname, authors, expected):
    assert surname_matches(surname, authors) is expected


def test_surname_key_folds_transliteration_variants():
    assert surname_key("Малиновский") == surname_key("Малиновскій") == "malinovski"
    assert surname_key("O'Neil") == "oneil"


@dataclass
class Work:
    title: str
    authors: list[str] = field(default_factory=list)
    url: str | None = None


PV = Work("PV-Tuning: Beyond Straight-Through Estimation for Extreme LLM Compression", ["Vladimir Malinovskii", "Denis Mazur"], "https://arxiv.org/abs/2405.14852")
OTHER = Work("Straight-Through Estimation Revisited", ["Someone Else"], "https://arxiv.org/abs/2101.00001")


@pytest.mark.parametrize(
    "title, surnames, works, outcome, url",
    [
        (PV.title, ["Malinovskii"], [OTHER, PV], RESOLVED, PV.url),
        (PV.title.lower(), [], [PV], RESOLVED, PV.url),
        (PV.title, ["Малиновский"], [PV], RESOLVED, PV.url),
        # The same work twice (an arXiv entry and its DOI answer share the URL) is one work.
        (PV.title, [], [PV, Work(PV.title, PV.authors, PV.url)], RESOLVED, PV.url),
        (PV.title, ["Frantar"], [PV], AUTHOR_MISMATCH, None),
        (PV.title, [], [OTHER], NO_MATCH, None),
        (PV.title, [], [], NO_MATCH, None),
        (PV.title, [], [Work(PV.title, ["A B"], None)], NO_MATCH, None),
        # Two different works with the title and no author to tell them apart.
        (PV.title, [], [PV, Work(PV.title, ["Other Person"], "https://doi.org/10.1/x")], AMBIGUOUS, None),
        # ...the named author tells them apart.
        (PV.title, ["Malinovskii"], [PV, Work(PV.title, ["Other Person"], "https://doi.org/10.1/x")], RESOLVED, PV.url),
        # Too short to trust without an author.
        ("Segment Anything Model", [], [Work("Segment Anything Model", ["A Kirillov"], "https://arxiv.org/abs/2304.02643")], AMBIGUOUS, None),
        ("Segment Anything Model", ["Kirillov"], [Work("Segment Anything Model", ["Alexander Kirillov"], "https://arxiv.org/abs/2304.02643")], RESOLVED, "https://arxiv.org/abs/2304.02643"),
    ],
)
def test_choose(title, surnames, works, outcome, url):
    choice = choose(title, surnames, works)
    assert choice.outcome == outcome
    assert (choice.work.url if choice.work else None) == url
