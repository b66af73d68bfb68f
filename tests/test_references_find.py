"""Finding the titles that posts cite without a link (harvester/references.py), pure."""

from __future__ import annotations

import pytest

from harvester.models import Anchor, Post, Preview
from harvester.references import Candidate, candidates_in_post, find_candidates, parse_author_line, title_like
from harvester.sources import read_posts

PV = "PV-Tuning: Beyond Straight-Through Estimation for Extreme LLM Compression"


def found(text, previews=(), linked=()):
    return [(c.title, c.authors, c.via) for c in find_candidates(text, previews, linked)]


@pytest.mark.parametrize(
    "text, expected",
    [
        # The seed: a Russian lead-in, the title after the colon, an author line below.
        (
            f"Хочу отметить ещё одну работу с ICML: {PV}\nMalinovskii et. al.\nЗдесь целый пакет: статья на ICML",
            [(PV, ("Malinovskii",), "author")],
        ),
        (f"{PV}\nMalinovskii et al.", [(PV, ("Malinovskii",), "author")]),
        (f"{PV}\n\nMalinovskii et al., 2024", [(PV, ("Malinovskii",), "author")]),
        (f"{PV}\nV. Malinovskii et al.", [(PV, ("Malinovskii",), "author")]),
        (f"{PV}\nVladimir Malinovskii et al. (ICML 2024)", [(PV, ("Malinovskii",), "author")]),
        (f"{PV}\nМалиновский и др.", [(PV, ("Малиновский",), "author")]),
        (f"{PV}\nМалиновский и соавт.", [(PV, ("Малиновский",), "author")]),
        (f"{PV}\nby Vladimir Malinovskii", [(PV, ("Malinovskii",), "author")]),
        (f"{PV}\nVladimir Malinovskii, Denis Mazur, Ivan Ilin", [(PV, ("Malinovskii", "Mazur", "Ilin"), "author")]),
        (
            "Нейросетевые методы сжатия больших языковых моделей\nИванов и др.",
            [("Нейросетевые методы сжатия больших языковых моделей", ("Иванов",), "author")],
        ),
        # On one line.
        (f"{PV}, Malinovskii et al.", [(PV, ("Malinovskii",), "author")]),
        (f"{PV} — Malinovskii et al., 2024", [(PV, ("Malinovskii",), "author")]),
        (f"{PV} by Malinovskii et al.", [(PV, ("Malinovskii",), "author")]),
        (
            "Extreme Compression of Large Language Models via Additive Quantization (Egiazarian et.al., Yandex Research, IST Austria, KAUST, Neural Magic).",
            [("Extreme Compression of Large Language Models via Additive Quantization", ("Egiazarian",), "author")],
        ),
        (
            "Rollin et al. A new look at the Heston characteristic function.",
            [("A new look at the Heston characteristic function", ("Rollin",), "author")],
        ),
        # Markdown headers.
        (
            "# In-Context Reinforcement Learning for Variable Action Spaces\nSinii et. al.\nT-Bank AI Research и AIRI",
            [("In-Context Reinforcement Learning for Variable Action Spaces", ("Sinii",), "author")],
        ),
        ("## Scaling Laws for Neural Language Models\nТекст поста про законы масштабирования.", [("Scaling Laws for Neural Language Models", (), "header")]),
        ("### **Mamba: Linear-Time Sequence Modeling with Selective State Spaces**", [("Mamba: Linear-Time Sequence Modeling with Selective State Spaces", (), "header")]),
        # A title line over a bare "Paper" link label.
        ("👁 VILA: On Pre-training for Visual Language Models 👁\n📃 Paper\nОчередная SotA", [("VILA: On Pre-training for Visual Language Models", (), "marker")]),
        ("Denoising Diffusion Probabilistic Models\nСтатья", [("Denoising Diffusion Probabilistic Models", (), "marker")]),
        # A link under the authors that is no paper, or follows more than a label, is not the cited paper's.
        (f"{PV}\nMalinovskii et al.\nКод: github.com/Vahe1994/AQLM", [(PV, ("Malinovskii",), "author")]),
        (
            f"{PV}\nMalinovskii et al.\nА ещё раньше была их статья про AQLM: arxiv.org/abs/2401.06118",
            [(PV, ("Malinovskii",), "author")],
        ),
        # Cue words.
        (
            "Статья с пафосным названием Transcendence: Generative Models Can Outperform The Experts That Train Them.\nВ чем суть?",
            [("Transcendence: Generative Models Can Outperform The Experts That Train Them", (), "cue")],
        ),
        ("Статья: Direct Preference Optimization: Your Language Model is Secretly a Reward Model", [("Direct Preference Optimization: Your Language Model is Secretly a Reward Model", (), "cue")]),
        ("Paper: Efficient Streaming Language Models with Attention Sinks. We read it.", [("Efficient Streaming Language Models with Attention Sinks", (), "cue")]),
        ("Новая работа под названием Chain-of-Thought Prompting Elicits Reasoning in Large Language Models", [("Chain-of-Thought Prompting Elicits Reasoning in Large Language Models", (), "cue")]),
        # Quoted titles.
        ("Читаем «Attention Is All You Need» заново", [("Attention Is All You Need", (), "quoted")]),
        ('Все помнят "LoRA: Low-Rank Adaptation of Large Language Models"?', [("LoRA: Low-Rank Adaptation of Large Language Models", (), "quoted")]),
        ("We discussed “Language Models are Few-Shot Learners” today", [("Language Models are Few-Shot Learners", (), "quoted")]),
        ("В статье «Нейросетевые методы сжатия языковых моделей» авторы", [("Нейросетевые методы сжатия языковых моделей", (), "quoted")]),
        ("# Large Language Model Course", [("Large Language Model Course", (), "header")]),
        # A quoted title with its authors: one candidate, no quote or author left in the title.
        ('Новая статья: "Attention Is All You Need" (Vaswani et al.)', [("Attention Is All You Need", ("Vaswani",), "author")]),
        ("Новая статья: «Attention Is All You Need» (Vaswani et al.)", [("Attention Is All You Need", ("Vaswani",), "author")]),
        ('Read "Attention Is All You Need" by Vaswani et al.', [("Attention Is All You Need", ("Vaswani",), "author")]),
        ("Paper: Attention Is All You Need, Vaswani et al. Must read", [("Attention Is All You Need", ("Vaswani",), "cue")]),
        (
            'The "Reversal Curse": LLMs trained on A is B fail to learn B is A (Berglund et al.)',
            [('The "Reversal Curse": LLMs trained on A is B fail to learn B is A', ("Berglund",), "author")],
        ),
    ],
)
def test_finds_cited_titles(text, expected):
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        # Channel chatter, prompts, quotes of speech, Russian post titles.
        'Знаменитое "take a deep breath and answer carefully" тоже не имеет отношения к вопросу',
        'продолжить предложение "He likes yellow. He works as a" и получить',
        "«Он среди нас»: синдром самозванца как один из самых распространенных недугов",
        "Тема: \"Нейросети для Троечников\"",
        "При игре в «Камень-ножницы-бумага» нет лучшего действия",
        "# Чародеи-математики\nВ добавление к посту про сознание как информацию.",
        'in the paper "training language models to follow instructions"',  # starts in lowercase
        "# Three Word Header",
        "# Why we moved our whole team to a new stack",
        "Статья на Хабре про WebGPT: #chatgpt в цикле решения задачи",
        "Thanks to Malinovskii et al.",
        "Malinovskii et al.",
        "Short Title\nMalinovskii et al.",
        "this is a lowercase line that is not a title\nMalinovskii et al.",
        "The model works well. It is fast and small\nMalinovskii et al.",
        # The title line is linked right there.
        f"{PV} https://arxiv.org/abs/2405.14852\nMalinovskii et al.",
        f"{PV}\nMalinovskii et al. https://arxiv.org/abs/2405.14852",
        f"{PV}\nMalinovskii et al.\nhttps://arxiv.org/abs/2405.14852",
        f"# {PV}\nhttps://arxiv.org/abs/2405.14852",
        f"{PV}\n📃 Paper\nhttps://arxiv.org/pdf/2405.14852",
        # ... or on the line under the authors, after a label and with no scheme.
        f"Хочу отметить ещё одну работу с ICML: {PV}\nМалиновский и др.\nСтатья: arxiv.org/abs/2405.14852\n#LLM",
        f"{PV}\nMalinovskii et al.\n📃 Paper: https://arxiv.org/abs/2405.14852",
        f"# {PV}\nСсылка на статью: arxiv.org/pdf/2405.14852v2",
        f"Статья: {PV}\nhttps://arxiv.org/abs/2405.14852",
        "Paper: https://arxiv.org/abs/2405.14852",
        # Cut short, too long, emoji only.
        "«Делюсь отзывом о стажировке от выпускника наших курсов...»",
        "🔥🔥🔥\nMalinovskii et al.",
        "A" * 300 + "\nMalinovskii et al.",
        # A paragraph longer than a title line could be, with no link and no cue.
        "A long paragraph about language models without any link in it. " * 20,
        "Download Telegram\n" + "Длинный абзац о языковых моделях без единой ссылки. " * 25,
    ],
)
def test_ignores_what_is_not_a_cited_title(text):
    assert found(text) == []


def test_titles_already_linked_in_the_post_are_not_candidates():
    text = f"{PV}\nMalinovskii et al."
    assert found(text, linked=[PV]) == []
    assert found(text, linked=[PV.upper() + "."]) == []
    # A longer linked title containing the candidate counts too.
    assert found(text, linked=[f"[2405.14852] {PV}"]) == []
    assert found(text, linked=["Something else entirely"]) == [(PV, ("Malinovskii",), "author")]


def test_candidates_in_post_excludes_anchor_texts_and_card_titles():
    post = Post(
        source="t",
        text=f"{PV}\nMalinovskii et al.\n\n«Attention Is All You Need»",
        anchors=[Anchor("https://arxiv.org/abs/2405.14852", PV)],
        previews=[Preview("arXiv.org", "Attention Is All You Need", "abstract", "https://arxiv.org/abs/1706.03762")],
    )
    assert candidates_in_post(post) == []


@pytest.mark.parametrize(
    "card, expected",
    [
        (Preview("W&B", "Intro to MLOps: Data and Model Versioning", "In this article", None), [("Intro to MLOps: Data and Model Versioning", (), "preview")]),
        (Preview("arXiv.org", "Scaling Laws for Neural Language Models", None, None), [("Scaling Laws for Neural Language Models", (), "preview")]),
        (Preview("arXiv.org", "Scaling Laws for Neural Language Models", None, "https://arxiv.org/abs/2001.08361"), []),
        (Preview("GitHub", "GitHub - google-research/magvit: Official JAX implementation of MAGVIT", None, None), []),
        (Preview("Telegram", "что-то на DL-ском", None, None), []),
        (Preview("YouTube", "Attention Is All You Need explained in detail", None, None), []),
        (Preview("Хабр", "Архитектура RAG: полный гайд по всем видам", None, None), []),
        (Preview("В начало", "Делюсь отзывом о стажировке от выпускника наших курсов. Учусь на 4 курсе...", None, None), []),
        (Preview("Medium", "A Long Article Title That Was Cut Short By The...", None, None), []),
    ],
)
def test_preview_cards_without_url(card, expected):
    candidates = find_candidates("Пост без ссылок", [card])
    assert [(c.title, c.authors, c.via) for c in candidates] == expected
    if expected:
        assert card.title in candidates[0].snippet


def test_one_title_found_twice_is_one_candidate_with_all_authors():
    text = f"Хочу отметить работу: {PV}\nMalinovskii et al.\nЕщё раз: «{PV}»"
    (candidate,) = find_candidates(text)
    assert candidate == Candidate(PV, ("Malinovskii",), candidate.snippet, "author")
    assert PV in candidate.snippet


def test_snippet_is_the_context_around_the_title():
    text = "Начало поста. " * 30 + f"\n{PV}\nMalinovskii et al.\n" + "Конец поста. " * 30
    (candidate,) = find_candidates(text)
    assert PV in candidate.snippet
    assert len(candidate.snippet) < len(text)


@pytest.mark.parametrize(
    "line, expected",
    [
        ("Malinovskii et. al.", (("Malinovskii",), "")),
        ("Gonen et al", (("Gonen",), "")),
        ("Egiazarian et.al., Yandex Research", (("Egiazarian",), "Yandex Research")),
        ("Vaswani et al., 2017", (("Vaswani",), "")),
        ("(Vaswani et al., 2017)", (("Vaswani",), "")),
        ("van der Maaten et al.", (("van der Maaten",), "")),
        ("Иванов и др.", (("Иванов",), "")),
        ("Ashish Vaswani, Noam Shazeer and Niki Parmar", (("Vaswani", "Shazeer", "Parmar"), "")),
        ("by Geoffrey Hinton", (("Hinton",), "")),
        ("Авторы: Иван Петров, Анна Смирнова", (("Петров", "Смирнова"), "")),
        ("Llama, Mistral, Gemma", None),
        ("Очередная SotA, в этот раз от NVIDIA", None),
        ("", None),
    ],
)
def test_parse_author_line(line, expected):
    assert parse_author_line(line) == expected


@pytest.mark.parametrize(
    "text, latin, expected",
    [
        ("👁 VILA: On Pre-training for Visual Language Models 👁", False, "VILA: On Pre-training for Visual Language Models"),
        ("1. Attention Is All You Need.", False, "Attention Is All You Need"),
        ("**Attention Is All You Need**", False, "Attention Is All You Need"),
        ("Inference-Time Scaling for Diffusion Models (сайт проекта)", False, "Inference-Time Scaling for Diffusion Models"),
        ("Does Liking Yellow Imply Driving a School Bus? Semantic Leakage", False, "Does Liking Yellow Imply Driving a School Bus? Semantic Leakage"),
        ("vLLM: Easy, Fast, and Cheap LLM Serving", False, "vLLM: Easy, Fast, and Cheap LLM Serving"),
        ("3D Gaussian Splatting for Real-Time Radiance Field Rendering", False, "3D Gaussian Splatting for Real-Time Radiance Field Rendering"),
        ("Нейросети для троечников и отличников", True, None),
        ("Нейросети для троечников и отличников", False, "Нейросети для троечников и отличников"),
        ("Two words", False, None),
        ("See https://example.com for details now", False, None),
        ("Follow @channel for more news", False, None),
        ("It works. Really well", False, None),
        ("x" * 251, False, None),
        ("12345 67890 12345", False, None),
        (None, False, None),
    ],
)
def test_title_like(text, latin, expected):
    assert title_like(text, latin=latin) == expected


def test_seeds(fixtures):
    """The bundled seeds cite these papers without links (the real examples behind this feature)."""
    from pathlib import Path

    seeds = Path(__file__).resolve().parent.parent / "seeds"
    results = []
    for path in sorted(seeds.glob("*.txt")):
        with open(path, "rb") as stream:
            for post in read_posts(stream, str(path), None):
                results.extend((c.title, c.authors, c.via) for c in candidates_in_post(post))
    assert results == [
        ("A new look at the Heston characteristic function", ("Rollin",), "author"),
        ("Does Liking Yellow Imply Driving a School Bus? Semantic Leakage in Language Models", ("Gonen",), "author"),
        (PV, ("Malinovskii",), "author"),
        ("Extreme Compression of Large Language Models via Additive Quantization", ("Egiazarian",), "author"),
        ("VILA: On Pre-training for Visual Language Models", (), "marker"),
        ("In-Context Reinforcement Learning for Variable Action Spaces", ("Sinii",), "author"),
        ("Transcendence: Generative Models Can Outperform The Experts That Train Them", (), "cue"),
        ("Intro to MLOps: Data and Model Versioning", (), "preview"),
    ]


@pytest.mark.parametrize("text, share", [(None, 0.0), ("", 0.0), ("123 …", 0.0), ("Attention", 1.0), ("Внимание", 0.0), ("ab вг", 0.5)])
def test_latin_share(text, share):
    from harvester.references import latin_share

    assert latin_share(text) == share
