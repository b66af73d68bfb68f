import html
import random
import re
import sys
import time
import types

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harvester.summarize import (
    SummarizerError,
    SummarizerUnavailable,
    is_prose,
    llm_prompt,
    split_sentences,
    summarize,
    summarize_with_llm,
    summary_of_abstract,
)

CYRILLIC = re.compile(r"[а-яё]", re.I)


def squash(text: str) -> str:
    return " ".join(text.split())


def summary_sentences(summary: str) -> list[str]:
    return split_sentences(summary)


@pytest.fixture
def text_en(fixtures) -> str:
    return (fixtures / "content" / "summary_en.txt").read_text(encoding="utf-8")


@pytest.fixture
def text_ru(fixtures) -> str:
    return (fixtures / "content" / "summary_ru.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["summary_en.txt", "summary_ru.txt"])
@pytest.mark.parametrize("max_chars", [600, 400, 250])
def test_summary_properties(fixtures, name, max_chars):
    text = (fixtures / "content" / name).read_text(encoding="utf-8")
    summary = summarize(text, max_chars=max_chars)
    sentences = summary_sentences(summary)
    assert 2 <= len(sentences) <= 4
    assert len(summary) <= max_chars
    flat = squash(text)
    positions = [flat.index(sentence) for sentence in sentences]  # verbatim, never cut
    assert positions == sorted(positions)  # in text order
    for sentence in sentences:
        assert sentence[-1] in ".!?"
        # no headings, boilerplate, code or bare links
        assert not re.search(r"Subscribe|Подписывайтесь|Read more|Читайте также|evaluate\(|https?://", sentence)


def test_english_summary(text_en):
    assert summarize(text_en, language="en") == (
        "Benchmark contamination happens when test examples end up in the data a model is trained on. "
        "Contamination inflates benchmark scores, so a contaminated model looks better on the benchmark than "
        "it is on new data. "
        "A more robust check compares model scores on the original benchmark with scores on freshly written "
        "examples of the same difficulty. "
        "If the model does much better on the original benchmark examples than on the fresh ones, "
        "contamination is the likely cause."
    )


def test_russian_summary_skips_the_english_line(text_ru):
    summary = summarize(text_ru, language="ru")
    assert summary.startswith("Загрязнение бенчмарков возникает, когда тестовые примеры попадают в данные")
    assert "The simplest check" not in summary
    assert all(CYRILLIC.search(sentence) for sentence in summary_sentences(summary))


def test_language_is_detected_when_not_given(text_ru):
    assert summarize(text_ru) == summarize(text_ru, language="ru")


MIXED = "\n".join(
    [
        "Квантование весов уменьшает размер модели в несколько раз без заметной потери качества.",
        "Четырёхбитное квантование весов стало стандартом для запуска моделей на ноутбуках.",
        "Для квантования весов нужна небольшая калибровочная выборка текстов.",
        "Weight quantization shrinks a model several times with little loss of quality.",
        "Four-bit weight quantization has become the standard way to run models on laptops.",
        "Weight quantization needs a small calibration set of texts.",
        "Quantization of weights and activations together is harder than weight quantization alone.",
        "Weight quantization methods differ in how they choose the calibration texts.",
    ]
)


@pytest.mark.parametrize("language, script", [("ru", "cyrillic"), ("en", "latin")])
def test_summary_keeps_to_the_language(language, script):
    sentences = summary_sentences(summarize(MIXED, language=language))
    assert len(sentences) >= 2
    for sentence in sentences:
        assert bool(CYRILLIC.search(sentence)) is (script == "cyrillic")


#: Russian ML writing keeps its terms in English: most letters of a sentence may be Latin.
RUSSIAN_WITH_ENGLISH_TERMS = "\n".join(
    [
        "Для fine-tuning мы используем LoRA adapters с rank 16 и alpha 32 на Mistral-7B-Instruct.",
        "В качестве optimizer взяли AdamW с learning rate 1e-4 и linear warmup.",
        "После SFT сделали DPO на preference data из Anthropic HH-RLHF.",
        "Для evaluation мы собрали свой benchmark из customer support логов.",
        "We also publish the English version of this post on our company blog.",
        "Le code et les données sont disponibles sur demande auprès des auteurs.",
    ]
)


def test_russian_summary_of_sentences_full_of_english_terms():
    summary = summarize(RUSSIAN_WITH_ENGLISH_TERMS, language="ru")
    sentences = summary_sentences(summary)
    assert 2 <= len(sentences) <= 4
    assert all(sentence in RUSSIAN_WITH_ENGLISH_TERMS.split("\n")[:4] for sentence in sentences)


@pytest.mark.parametrize(
    "sentence, prose",
    [
        ("Для fine-tuning мы используем LoRA adapters с rank 16 и alpha 32 на Mistral-7B-Instruct.", True),
        ("После SFT сделали DPO на preference data из Anthropic HH-RLHF.", True),
        # another language on a Russian page: no Russian function words, or fewer than English ones
        ("We also publish the English version of this post on our company blog.", False),
        ("Le code et les données sont disponibles sur demande auprès des auteurs.", False),
        ("The word «нейросеть» is what Russian speakers call a neural network.", False),
        ("We deploy the model в production with the same LoRA adapters as before.", False),
        ("Fine-tuning with LoRA adapters и DPO on preference data from HH-RLHF.", False),
    ],
)
def test_russian_prose_reads_as_russian(sentence, prose):
    assert is_prose(sentence, "ru") is prose


#: A page with its abstract in English and in French (an English page by the language detector).
BILINGUAL = "\n".join(
    [
        "Pruning removes the weights of a network that matter least for its answers.",
        "We study which facts a language model forgets first when it is pruned.",
        "Rare facts are lost long before common ones, even at a small pruning rate.",
        "Choosing the weights to prune by their effect on rare facts keeps most of them.",
        "L’élagage supprime les poids d’un réseau qui comptent le moins pour ses réponses.",
        "Nous étudions quels faits un modèle de langue oublie en premier lorsqu’il est élagué.",
        "Les faits rares sont perdus bien avant les faits courants, même à un faible taux d’élagage.",
        "Choisir les poids à élaguer selon leur effet sur les faits rares en conserve la plupart.",
        "Die seltenen Fakten gehen verloren, lange bevor die häufigen Fakten verschwinden.",
    ]
)


def test_an_english_summary_quotes_no_sentence_in_another_latin_language():
    sentences = summary_sentences(summarize(BILINGUAL, language="en"))
    assert len(sentences) >= 2
    assert all(sentence in BILINGUAL.split("\n")[:4] for sentence in sentences)


@pytest.mark.parametrize(
    "sentence, prose",
    [
        ("Rare facts are lost long before common ones, even at a small pruning rate.", True),
        ("Pruned networks forget the rare facts first.", True),
        # English with no function word at all is not quoted either: the rule's price (rare, and mostly
        # reference lists and captions: "Acta Physiol Acad Sci Hung 53: 265–277.")
        ("Instead, ambassadors provided discrediting information.", False),
        ("Les faits rares sont perdus bien avant les faits courants, même à un faible taux.", False),
        ("Die seltenen Fakten gehen verloren, lange bevor die häufigen Fakten verschwinden.", False),
    ],
)
def test_english_prose_reads_as_english(sentence, prose):
    assert is_prose(sentence, "en") is prose


QUESTION_EN = "Do We Still Need Tokenizers in 2024?"
ARTICLE_EN = [
    "Byte-level language models read raw bytes instead of tokens, which removes a class of bugs.",
    "Their main drawback has always been the length of the sequence they have to read.",
    "Recent work groups the bytes, so the expensive layers run once per group of bytes.",
]
QUESTION_RU = "Трансформеры для табличных данных: разбор TabPFN — и что дальше?"
ARTICLE_RU = [
    "Градиентный бустинг до сих пор выигрывает большинство соревнований на табличных данных.",
    "Модель TabPFN обучили на миллионах синтетических таблиц, и она не требует дообучения.",
    "На маленьких выборках трансформер выигрывал почти везде, а на больших уступал бустингу.",
]


@pytest.mark.parametrize(
    "lines, headings, language, summary",
    [
        # the H1 ends in "?" (or "!"), so it reads like prose
        ([QUESTION_EN, *ARTICLE_EN], [QUESTION_EN], "en", ARTICLE_EN),
        ([QUESTION_RU, *ARTICLE_RU], [QUESTION_RU], "ru", ARTICLE_RU),
        ([QUESTION_RU + "!", *ARTICLE_RU], [QUESTION_RU + "!"], "ru", ARTICLE_RU),
        # a heading further down (the page's title given too, as the fetcher does)
        (
            [ARTICLE_EN[0], "Why is the sequence length the real problem here?", *ARTICLE_EN[1:]],
            [QUESTION_EN, "Why is the sequence length the real problem here?"],
            "en",
            ARTICLE_EN,
        ),
        # the title quoted in a citation line, the page's title with the journal's name after it
        (
            [*ARTICLE_EN, "Doe, J. et al. Tokenizers considered harmful in byte models. J Mach Learn 3, 1 (2024)."],
            ["Tokenizers Considered Harmful in Byte Models - Journal of Machine Learning"],
            "en",
            ARTICLE_EN,
        ),
        # a heading glued onto the first sentence on one line is cut off it
        ([f"{QUESTION_RU.rstrip('?')} {ARTICLE_RU[0]}", *ARTICLE_RU[1:]], [QUESTION_RU], "ru", ARTICLE_RU),
    ],
    ids=["en-question", "ru-question", "ru-exclamation", "en-h2", "title-with-journal", "ru-glued"],
)
def test_summary_quotes_no_title_or_heading(lines, headings, language, summary):
    assert summarize("\n".join(lines), language=language, headings=headings) == " ".join(summary)


#: An article as Wikipedia's text reads: footnote and editor's markers glued to its sentences, then its references.
WIKI_EN = [
    "Dropout is a regularization technique for neural networks proposed by Geoffrey Hinton and colleagues.[1]",
    "During training, dropout sets a random fraction of the activations of a layer to zero at every step.[2][3]",
    "The network cannot rely on any single unit, so dropout reduces the overfitting of the network[a] to the data.",
    "Dropout is rarely used in the attention layers of large language models today.[citation needed]",
    "References",
    '- ^ Hinton, Geoffrey (2012). "Improving Neural Networks by Preventing Co-adaptation". arXiv.',
    '- ^ Srivastava, Nitish (2014). "Dropout: A Simple Way to Prevent Neural Networks from Overfitting" (PDF).',
]
WIKI_RU = [
    "Дропаут — это метод регуляризации нейронных сетей, который предложили Джеффри Хинтон и его коллеги.[1]",
    "Во время обучения дропаут обнуляет случайную долю активаций слоя на каждом шаге.[2][3]",
    "Сеть не может полагаться на отдельный нейрон, поэтому дропаут уменьшает переобучение сети[a] на данных.",
    "В слоях внимания больших языковых моделей дропаут сейчас используют редко.[нет источника]",
]


@pytest.mark.parametrize(
    "lines, language",
    [(WIKI_EN, "en"), (WIKI_RU, "ru")],
    ids=["en", "ru"],
)
def test_summary_quotes_no_footnote_markers_or_reference_titles(lines, language):
    # "...developed by Laurens van der Maaten and Geoffrey Hinton.[1] It is...": the marker also kept razdel from
    # splitting the sentence from the next one; cutting it let a reference's quoted title fit in.
    summary = summarize("\n".join(lines), language=language, max_chars=1000)
    assert summary == " ".join(re.sub(r"\[[^\]]*\]", "", line) for line in lines[:4])


def test_a_bracket_that_is_part_of_the_sentence_stays():
    lines = [
        "The sigmoid function maps every real number into the interval [0, 1] and is smooth everywhere.",
        "Its derivative is largest at zero, where the function takes the value one half.",
        "Deep networks with many sigmoid layers train slowly because the gradients become very small.",
    ]
    assert summarize("\n".join(lines), language="en") == " ".join(lines)


@pytest.mark.parametrize(
    "sentence, prose",
    [
        ('"How to Use Dropout Well in Practice".', False),
        ('"Dropout: A Simple Way to Prevent Overfitting" (PDF).', False),
        ('"We will publish the weights next year," the lab said on Monday.', True),
        ("“Dropout works,” the authors write, “because no unit can rely on another.”", True),
    ],
)
def test_a_reference_title_in_quotes_is_not_prose(sentence, prose):
    assert is_prose(sentence, "en") is prose


def test_real_wikipedia_summary_has_no_footnote_markers(realworld):
    from readinglist.fetching import extract_page

    page = (realworld / "other-article-html" / "wikipedia_tsne__trafilatura.html").read_bytes()
    url = "https://en.wikipedia.org/wiki/T-distributed_stochastic_neighbor_embedding"
    summary = extract_page(page, url, "text/html; charset=UTF-8", None)["summary"]
    assert 2 <= len(summary_sentences(summary)) <= 4
    assert not re.search(r"\[|\]|\"", summary)


#: A paper's abstract as an arXiv abstract page gives it: labelled, and wrapped by hand as it was submitted.
WRAPPED_ABSTRACT = """Title:Pruning Forgets Rare Facts First
      Abstract:  Small language models forget rare facts first when they are
pruned, long before their scores on common benchmarks drop. We measure how
much of a model can be pruned before rare facts are lost. Rare facts survive
pruning when the pruned weights are chosen by their effect on those facts.
Submission history
Connected Papers (What is Connected Papers?)"""
ABSTRACT_SENTENCES = [
    "Small language models forget rare facts first when they are pruned, long before their scores on common "
    "benchmarks drop.",
    "We measure how much of a model can be pruned before rare facts are lost.",
    "Rare facts survive pruning when the pruned weights are chosen by their effect on those facts.",
]


@pytest.mark.parametrize(
    "text",
    [WRAPPED_ABSTRACT, WRAPPED_ABSTRACT.replace("Abstract:  Small", "Abstract:Small")],
    ids=["abstract-label-spaced", "abstract-label-glued"],
)
def test_a_hand_wrapped_labelled_abstract_is_summarized_in_its_sentences(text):
    # arXiv's abstract page: "Abstract:The dominant…" was quoted with its label, and an abstract wrapped by hand
    # gave no sentence at all (each line a paragraph), so arXivLabs' notice or a tool's caption was the summary.
    assert summarize(text, language="en", headings=["Pruning Forgets Rare Facts First"]) == " ".join(
        ABSTRACT_SENTENCES
    )


@pytest.mark.parametrize(
    "lines",
    [
        # a short heading (a project's name) above a sentence that starts with it
        ["marzipanify", "marzipanify is a small tool that converts an app for phones to run on the desktop."],
        # a long line of page furniture above one
        ["Search issues, pull requests and discussions by author and state, filter to open or closed ones, and more",
         "marzipanify is a small tool that converts an app for phones to run on the desktop."],
    ],
    ids=["heading", "furniture"],
)
def test_a_line_that_is_not_wrapped_is_not_joined_to_the_next(lines):
    text = "\n".join([*lines, "It does not port the app for you, but it gets you running quickly."])
    assert summarize(text, language="en") == f"{lines[-1]} It does not port the app for you, but it gets you running quickly."


@pytest.mark.parametrize(
    "sentence, prose",
    [
        ("Connected Papers (What is Connected Papers?)", False),
        ("Bibliographic Explorer for this paper (What is the Explorer?)", False),
        ("(We checked this twice, on every dataset we had.)", True),
        ("The model is small by today's standards (about 100M parameters).", True),
    ],
)
def test_a_caption_punctuated_only_in_its_parentheses_is_not_prose(sentence, prose):
    assert is_prose(sentence, "en") is prose


def test_a_sentence_that_only_starts_like_a_short_heading_is_kept():
    text = "\n".join(["Results", "Results were better than we expected on every task.", *ARTICLE_EN])
    assert summarize(text, language="en", headings=["Results"]).startswith("Results were better than we expected")


@pytest.mark.parametrize(
    "page, summary",
    [
        (
            f"<html lang='en'><head><title>{QUESTION_EN}</title></head><body><article><h1>{QUESTION_EN}</h1>"
            + "".join(f"<p>{sentence}</p>" for sentence in ARTICLE_EN)
            + "</article></body></html>",
            " ".join(ARTICLE_EN),
        ),
        (
            f"<html lang='ru'><head><title>{QUESTION_RU} / Хабр</title></head><body><article>"
            f"<h1>{QUESTION_RU}</h1><p>{ARTICLE_RU[0]}</p><h2>Почему бустинг всё ещё выигрывает на таблицах?</h2>"
            + "".join(f"<p>{sentence}</p>" for sentence in ARTICLE_RU[1:])
            + "</article></body></html>",
            " ".join(ARTICLE_RU),
        ),
    ],
    ids=["en", "ru"],
)
def test_page_summary_skips_its_headings(page, summary):
    from readinglist.fetching import extract_page

    fields = extract_page(page.encode(), "https://example.org/post", "text/html; charset=utf-8", None)
    assert fields["summary"] == summary


def test_real_paper_page_summary_quotes_no_title(realworld):
    # Springer: the citation line repeats the title, which is the page title before " - Journal of ..."
    from readinglist.fetching import extract_page

    page = (realworld / "other-article-html" / "springer_10.1007_s10924-010-0192-1__papis.html").read_bytes()
    fields = extract_page(page, "https://link.springer.com/article/10.1007/s10924-010-0192-1", "text/html", None)
    sentences = summary_sentences(fields["summary"])
    assert 2 <= len(sentences) <= 4
    assert all(sentence in fields["description"] for sentence in sentences)  # the abstract's sentences only


ABSTRACT_EN = (
    "Pruning removes the weights of a language model that matter least for its answers. We study which facts a "
    "pruned language model forgets first, and how fast it forgets them as the pruning rate grows. Rare facts are "
    "lost long before common ones, even at a pruning rate of ten percent. Common facts survive until half of the "
    "weights are gone, and the loss on ordinary text barely moves until then. The usual benchmarks therefore hide "
    "the damage, since they ask mostly about common facts. We propose choosing the weights to prune by their effect "
    "on a small set of rare facts. This keeps most rare facts at the same pruning rate and costs one extra pass over "
    "the calibration data."
)
ABSTRACT_RU = (
    "Прунинг удаляет веса языковой модели, которые меньше всего влияют на её ответы. Мы изучаем, какие факты "
    "модель забывает первыми после прунинга и как быстро это происходит при росте доли удалённых весов. Редкие "
    "факты теряются задолго до частых, даже когда удалена лишь десятая часть весов. Частые факты сохраняются, "
    "пока не удалена половина весов, и потери на обычном тексте до этого почти не меняются. Поэтому привычные "
    "бенчмарки скрывают ущерб: они спрашивают в основном о частых фактах. Мы предлагаем выбирать веса для "
    "удаления по их влиянию на небольшой набор редких фактов. Так сохраняется большинство редких фактов при той же "
    "доле удалённых весов, а стоит это одного лишнего прохода по калибровочным данным."
)


@pytest.mark.parametrize("abstract, language", [(ABSTRACT_EN, "en"), (ABSTRACT_RU, "ru")])
def test_a_long_abstract_is_summarized_in_whole_sentences(abstract, language):
    assert len(abstract) > 600
    summary = summary_of_abstract(abstract, language=language)
    sentences = summary_sentences(summary)
    assert len(summary) <= 600 and 2 <= len(sentences) <= 4
    positions = [abstract.index(sentence) for sentence in sentences]
    assert positions == sorted(positions)


@pytest.mark.parametrize(
    "abstract, summary",
    [
        ("Short abstracts are the summary as they are. Nothing is dropped.",
         "Short abstracts are the summary as they are. Nothing is dropped."),
        # too little prose to pick sentences from: its leading whole sentences
        ("$O(n^2)$ = {x}; [y] <z> (w) $$ also. " * 30, "$O(n^2)$ = {x}; [y] <z> (w) $$ also." + " $O(n^2)$ = {x}; [y] <z> (w) $$ also." * 15),
        (None, None),
        ("   ", None),
    ],
    ids=["short", "no-prose", "none", "blank"],
)
def test_summary_of_an_abstract(abstract, summary):
    assert summary_of_abstract(abstract, language="en") == summary


CENTRAL = (
    "The library thanks the volunteers, the bakers and the families whose children filled "
    "the reading chairs and the repaired shelves on opening day."
)
HUB_TEXT = "\n".join(
    [
        "Our town library reopened on Monday after a long winter.",
        "The children's section now has reading lamps and soft chairs.",
        "A volunteer group repaired the old wooden shelves in the basement.",
        "Local bakers donated bread and pastries for the opening party.",
        CENTRAL,
        "The mayor spoke briefly about the municipal budget for next year.",
        "Parking near the square remains difficult on most weekends.",
        "Rain is expected later this week across the whole region.",
    ]
)


@pytest.mark.parametrize("max_chars", [600, 300])
def test_central_sentence_is_chosen(max_chars):
    summary = summarize(HUB_TEXT, language="en", max_chars=max_chars)
    assert CENTRAL in summary
    # sentences that share nothing with the rest are left out
    assert "Parking" not in summary and "Rain" not in summary


def test_fewer_sentences_rather_than_cutting(text_en):
    summary = summarize(text_en, language="en", max_chars=200)
    assert len(summary) <= 200
    assert not summary.endswith("…")
    assert all(sentence in squash(text_en) for sentence in summary_sentences(summary))


def test_one_sentence_longer_than_the_cap_is_cut_at_a_word_as_last_resort():
    long_sentence = (
        "This single sentence about model training " + "keeps going with more words " * 30 + "until it ends."
    )
    text = long_sentence + "\n" + long_sentence.replace("This single", "Another single")
    summary = summarize(text, language="en", max_chars=120)
    assert len(summary) <= 120
    assert summary.endswith("…")
    assert long_sentence.startswith(summary[:-1]) or long_sentence.replace("This single", "Another single").startswith(
        summary[:-1]
    )
    assert summary[:-1] == summary[:-1].rstrip()  # cut at a word boundary


@pytest.mark.parametrize(
    "text, fallback, expected",
    [
        ("", "A paper about sparse attention.", "A paper about sparse attention."),
        (None, "A paper about sparse attention.", "A paper about sparse attention."),
        ("Too short.", "The abstract of the paper.", "The abstract of the paper."),
        ("Only one real sentence is here in this tiny text.", "  The   abstract.\n", "The abstract."),
        ("Menu\nHome\nAbout\nSubscribe to our newsletter today please.", "Description.", "Description."),
        ("", None, None),
        ("", "   ", None),
        ("Menu\nHome", None, None),
        # without a fallback, a single usable sentence is better than nothing
        (
            "Only one real sentence is here in this tiny text.",
            None,
            "Only one real sentence is here in this tiny text.",
        ),
    ],
)
def test_fallback(text, fallback, expected):
    assert summarize(text, fallback=fallback) == expected


def test_long_fallback_is_trimmed_to_whole_sentences():
    abstract = " ".join(
        f"Sentence number {i} of the abstract explains one more detail of the method." for i in range(20)
    )
    summary = summarize("", fallback=abstract, max_chars=300)
    assert len(summary) <= 300
    assert abstract.startswith(summary)
    assert summary.endswith("method.")


def test_deterministic(text_en, text_ru):
    for text in (text_en, text_ru, HUB_TEXT, MIXED):
        assert len({summarize(text) for _ in range(3)}) == 1


def make_article(words: int, seed: int) -> str:
    rng = random.Random(seed)
    vocabulary = (
        "model data training network layer attention transformer benchmark result gradient loss token "
        "language vision dataset paper method approach experiment accuracy baseline the of and a to in is"
    ).split()
    sentences, count = [], 0
    while count < words:
        length = rng.randint(8, 25)
        chosen = [rng.choice(vocabulary) for _ in range(length)]
        sentences.append(chosen[0].capitalize() + " " + " ".join(chosen[1:]) + ".")
        count += length
    return "\n".join(" ".join(sentences[i : i + 5]) for i in range(0, len(sentences), 5))


def test_ten_thousand_words_well_under_100_ms():
    article = make_article(10_000, seed=7)
    summarize(article, language="en")  # warm up imports
    timings = []
    for _ in range(5):
        start = time.process_time()  # CPU time: other jobs on a shared machine do not count
        summary = summarize(article, language="en")
        timings.append(time.process_time() - start)
    assert 2 <= len(summary_sentences(summary)) <= 4
    assert min(timings) < 0.1


PRUNING_ABSTRACT = (
    "Small language models forget rare facts first when they are pruned. "
    "We measure how much of a model can be pruned before rare facts are lost. "
    "Rare facts survive pruning when the pruned weights are chosen by their effect on those facts. "
    "Our method keeps ninety percent of rare facts at half the original model size."
)
#: A paper's landing page as text: its abstract only in the citation exports it offers for copying.
CITATION_EXPORTS = "\n".join(
    [
        "@inproceedings{doe-roe-2024-pruning,",
        '    title = "What pruning forgets first",',
        '    author = "Doe, Jane  and Roe, John",',
        '    booktitle = "Proceedings of the Workshop on Small Models",',
        '    year = "2024",',
        f'    abstract = "{PRUNING_ABSTRACT}",',
        "}",
        '<mods ID="doe-roe-2024-pruning">',
        f"<abstract>{PRUNING_ABSTRACT}</abstract>",
        "%T What pruning forgets first",
        f"%X {PRUNING_ABSTRACT}",
    ]
)


@pytest.mark.parametrize(
    "text", [CITATION_EXPORTS, CITATION_EXPORTS.split("\n", 1)[1]], ids=["bibtex entry", "bibtex fields only"]
)
def test_summary_quotes_no_citation_export_markup(text):
    summary = summarize(text, language="en")
    sentences = summary_sentences(summary)
    assert 2 <= len(sentences) <= 4
    assert all(sentence in PRUNING_ABSTRACT for sentence in sentences)  # the prose, not its markup


#: A paper's page beside its abstract: the site's notices, the paper's introduction.
PAPER_PAGE_TEXT = (
    "Labs is a framework that allows collaborators to develop and share new features directly on our website. "
    "Both individuals and organizations that work with Labs have embraced our values of openness and community. "
    "Pruning is the cheapest way to make a language model smaller, and it is widely used in practice. "
    "Benchmarks of pruned models report their accuracy on common questions, which barely changes. "
    "We asked instead which facts a pruned model no longer knows, and found that the rare ones go first."
)


@pytest.mark.parametrize(
    "abstract_meta",
    [
        PRUNING_ABSTRACT,
        # bioRxiv: markup in the meta tag, a heading included
        f"<h3>ABSTRACT</h3>\n<p>{PRUNING_ABSTRACT.split('. ', 1)[0]}.</p><p>{PRUNING_ABSTRACT.split('. ', 1)[1]}</p>",
    ],
    ids=["text", "markup"],
)
def test_a_page_that_declares_its_abstract_is_summarized_by_it(abstract_meta):
    # An arXiv abstract page fetched as a page was summarized by its text, where arXivLabs' notice read as central.
    from readinglist.fetching import extract_page

    page = (
        f"<html lang='en'><head><title>What pruning forgets first</title>"
        f"<meta name='citation_abstract' content='{html.escape(abstract_meta)}'></head>"
        f"<body><article><h1>What pruning forgets first</h1><p>{PAPER_PAGE_TEXT}</p></article></body></html>"
    )
    fields = extract_page(page.encode(), "https://papers.example/abs/1", "text/html; charset=utf-8", None)
    assert fields["summary"] == PRUNING_ABSTRACT


@pytest.mark.parametrize(
    "name",
    ["abs_1706.03762__metascraper.html", "abs_2106.09608_2021__ReMarkableDropboxSyncup.html"],
)
def test_real_arxiv_abstract_page_fetched_as_a_page_is_summarized_by_its_abstract(realworld, name):
    # 2106.09608 gave arXivLabs' notice, 1706.03762 'Abstract:The dominant…'.
    from readinglist.fetching import extract_page

    page = (realworld / "arxiv-abs-html" / name).read_bytes()
    summary = extract_page(page, "https://arxiv.org/abs/x", "text/html; charset=utf-8", None)["summary"]
    abstract = squash(html.unescape(re.search(r'name="citation_abstract" content="([^"]*)"', page.decode())[1]))
    sentences = summary_sentences(summary)
    assert 2 <= len(sentences) <= 4
    assert all(sentence in abstract for sentence in sentences)


@pytest.mark.parametrize(
    "sentence, prose",
    [
        ("Contamination inflates benchmark scores on most tasks.", True),
        ("Загрязнение завышает результаты бенчмарков.", False),  # 4 words
        ("For example, the model (a small transformer) learns fast: in hours.", True),
        ("Let me explain: the loss goes down slowly at first.", True),
        ("def train(model, data): return model.fit(data) is the whole trick.", False),
        ("import torch.", False),
        ("Загрязнение данных заметно завышает результаты моделей на бенчмарке.", True),
        ("How to detect it", False),  # heading: no sentence punctuation
        ("Subscribe to our newsletter to get posts like this one.", False),
        ("Подписывайтесь на наш телеграм-канал, чтобы не пропустить новые статьи.", False),
        ("See https://example.org/a/very/long/link/to/somewhere for the details.", False),
        ("model.evaluate(test_set, metrics=['accuracy']) returns a dict.", False),
        ("Results: 12.5 / 13.7 / 14.2 / 15.9 / 16.1 / 17.3 / 18.8.", False),
        # a citation export shown on the page: BibTeX, refer/EndNote, MODS
        ('abstract = "Small language models forget rare facts first when they are pruned.', False),
        ('@inproceedings{doe-2024-pruning, title = {What pruning forgets first}, and it goes on.', False),
        ("The entry reads title = {What pruning forgets first} in the bibliography file.", False),
        ("%X Small language models forget rare facts first when they are pruned.", False),
        ("<abstract>Small language models forget rare facts first when they are pruned.", False),
        ("We set the threshold to 5% and kept it for every run of the experiment.", True),
    ],
)
def test_is_prose(sentence, prose):
    assert is_prose(sentence) is prose


@pytest.mark.parametrize(
    "sentence, prose",
    [
        # a paywall's pitch to the reader
        ("Get unlimited access for just $1 a week.", False),
        ("Start your free trial today and read every story on any device.", False),
        ("This article is for subscribers only, and you can become one today.", False),
        ("Cancel anytime, and keep every story we publish at your fingertips.", False),
        ("Already a subscriber of The Daily Paper? Use the link in your email.", False),
        ("You have reached your limit of three stories this month.", False),
        ("Оформите подписку, чтобы читать все материалы без ограничений.", False),
        ("Чтобы продолжить чтение, оформите подписку за 99 рублей в месяц.", False),
        ("Уже подписаны на наше издание? Тогда просто обновите страницу.", False),
        ("Получите неограниченный доступ ко всем статьям за 1 рубль.", False),
        ("Этот материал доступен только подписчикам нашего издания.", False),
        # an article's own sentences about subscriptions
        ("Netflix added nine million subscribers in the last quarter of the year.", True),
        ("The plan costs $20 a month and gives subscribers unlimited access to the newest model.", True),
        ("A free trial of the service lasts a month, after which it costs ten dollars.", True),
        ("Spotify lets users cancel their subscription at any time without a fee.", True),
        ("Пользователи могут оформить подписку за 299 рублей в месяц.", True),
        ("Модель доступна только подписчикам ChatGPT Plus и корпоративным клиентам.", True),
        ("Число подписчиков канала выросло до миллиона за один год.", True),
        ("Medium lets readers without an account read three free articles a month.", True),
    ],
)
def test_a_paywall_pitch_is_boilerplate_but_news_of_subscriptions_is_not(sentence, prose):
    # "Get unlimited access for just $1 a week." ended a paywalled article's summary.
    assert is_prose(sentence) is prose


PAYWALLED_EN = (
    "Training a frontier model now costs more than a small country's research budget. "
    "But the bill does not end when training does.\n"
    "Subscribe to continue reading. Already a subscriber? Sign in.\n"
    "Get unlimited access for just $1 a week. Cancel anytime."
)
PAYWALLED_RU = (
    "Обучение большой модели теперь стоит дороже, чем бюджет небольшого института. "
    "Но счёт не заканчивается, когда обучение завершено.\n"
    "Чтобы продолжить чтение, подпишитесь. Уже подписаны? Войдите.\n"
    "Оформите подписку и получите неограниченный доступ ко всем статьям. Отменить можно в любой момент."
)


@pytest.mark.parametrize("text, language", [(PAYWALLED_EN, "en"), (PAYWALLED_RU, "ru")], ids=["en", "ru"])
def test_summary_of_a_paywalled_article_quotes_the_article_only(text, language):
    assert summarize(text, language=language) == text.split("\n")[0]


@pytest.mark.parametrize(
    "text, sentences",
    [
        (
            "We placed lesions in the PVH of rats (Fig. 2A). As expected, the response was abolished.",
            ["We placed lesions in the PVH of rats (Fig. 2A).", "As expected, the response was abolished."],
        ),
        (
            "Both peaks (Figs. 3 and 4) follow Eq. 5 and Eqs. (6-7). The fit is good.",
            ["Both peaks (Figs. 3 and 4) follow Eq. 5 and Eqs. (6-7).", "The fit is good."],
        ),
        (
            "As shown in Sec. 3.2 and Sect. 4, the loss is approx. 0.3 (Tab. 1). It was ca. 2 times lower.",
            ["As shown in Sec. 3.2 and Sect. 4, the loss is approx. 0.3 (Tab. 1).", "It was ca. 2 times lower."],
        ),
        # A number after the abbreviation can still end the sentence.
        (
            "The method is described in Ref. 5. We then ran the model.",
            ["The method is described in Ref. 5.", "We then ran the model."],
        ),
        (
            "It is given in Fig. 5. The results are clear.",
            ["It is given in Fig. 5.", "The results are clear."],
        ),
        (
            "Smith et al. (2020) saw it, cf. Refs. 7-9. Others did not.",
            ["Smith et al. (2020) saw it, cf. Refs. 7-9.", "Others did not."],
        ),
        (
            "The data (see Fig. S1, No. 4 in Vol. 2, pp. 10-12) agree. Prof. Jones and Dr. Lee agree too.",
            ["The data (see Fig. S1, No. 4 in Vol. 2, pp. 10-12) agree.", "Prof. Jones and Dr. Lee agree too."],
        ),
        ("Some tools, e.g. Python, help. Next.", ["Some tools, e.g. Python, help.", "Next."]),
        # An abbreviation followed by what starts a sentence ends it.
        ("It was written by Smith et al. The rest is ours.", ["It was written by Smith et al.", "The rest is ours."]),
        ("He works at Acme Inc. He likes it.", ["He works at Acme Inc.", "He likes it."]),
        ("I ate a fig. Then I left.", ["I ate a fig.", "Then I left."]),
        (
            "Как видно на рис. 3 и в табл. 2, ошибка мала. См. гл. 4 на стр. 15, т.е. ок. 10 страниц. Конец.",
            ["Как видно на рис. 3 и в табл. 2, ошибка мала.", "См. гл. 4 на стр. 15, т.е. ок. 10 страниц.", "Конец."],
        ),
        (
            "Модели, датасеты и т.д. Новая часть.",
            ["Модели, датасеты и т.д.", "Новая часть."],
        ),
        # Lines are paragraphs; whitespace is collapsed.
        ("Heading\nThe  value (Fig.\t2) grows.", ["Heading", "The value (Fig. 2) grows."]),
    ],
)
def test_split_sentences_keeps_abbreviations_inside(text, sentences):
    assert split_sentences(text) == sentences


def test_summary_of_a_paper_with_figure_references_is_whole_sentences():
    sentences = [
        "Mild systemic inflammation is accompanied by warmth-seeking behavior in rats.",
        "Severe systemic inflammation is accompanied by cold-seeking behavior in rats (Fig. 1).",
        "We placed large lesions in the PVH of rats (Fig. 2A) to study cold-seeking behavior.",
        "The lesions in the PVH abolished the cold-seeking behavior of the rats (Fig. 2B).",
        "The same lesions did not change the warmth-seeking behavior of the rats (Fig. 3, approx. 2 h).",
        "Lesions elsewhere affected neither cold-seeking nor warmth-seeking behavior (Figs. 4 and 5).",
    ]
    summary = summarize(" ".join(sentences), language="en")
    rest, picked = summary, []
    while rest:
        sentence = next(s for s in sentences if rest.startswith(s))  # StopIteration: a cut sentence
        picked.append(sentence)
        rest = rest[len(sentence) :].lstrip()
    assert 2 <= len(picked) <= 4


@settings(max_examples=200, deadline=None)
@given(
    text=st.one_of(
        st.text(max_size=3000),
        st.lists(st.sampled_from(["Модель учится.", "The model learns fast on data.", "\n", " ", "!", "Ok."])).map(
            "".join
        ),
    ),
    language=st.sampled_from([None, "en", "ru", "ja", "xx", ""]),
    fallback=st.one_of(st.none(), st.text(max_size=800)),
    max_chars=st.integers(min_value=20, max_value=800),
)
def test_summarize_never_raises(text, language, fallback, max_chars):
    summary = summarize(text, language=language, fallback=fallback, max_chars=max_chars)
    assert summary is None or (isinstance(summary, str) and 0 < len(summary) <= max_chars)


# --------------------------------------------------------------------------- LLM summarizer


def test_llm_unavailable_without_the_library(monkeypatch):
    monkeypatch.setitem(sys.modules, "llm", None)  # makes `import llm` raise ImportError
    with pytest.raises(SummarizerUnavailable, match="pip install llm"):
        summarize_with_llm("Some text to summarize.", "gpt-4o-mini")


class FakeResponse:
    def __init__(self, answer):
        self.answer = answer

    def text(self):
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


class FakeModel:
    def __init__(self, answer):
        self.answer = answer
        self.calls = []

    def prompt(self, prompt, system=None):
        self.calls.append((prompt, system))
        return FakeResponse(self.answer)


def fake_llm(monkeypatch, model):
    module = types.ModuleType("llm")

    class UnknownModelError(KeyError):
        pass

    def get_model(name):
        if name != "fake-model":
            raise UnknownModelError(name)
        return model

    module.UnknownModelError = UnknownModelError
    module.get_model = get_model
    monkeypatch.setitem(sys.modules, "llm", module)


def test_llm_prompt_and_response_plumbing(monkeypatch, text_ru):
    model = FakeModel("  Статья о загрязнении бенчмарков. Она объясняет, как его обнаружить.  ")
    fake_llm(monkeypatch, model)
    summary = summarize_with_llm(text_ru, "fake-model", language="ru")
    assert summary == "Статья о загрязнении бенчмарков. Она объясняет, как его обнаружить."
    [(prompt, system)] = model.calls
    assert prompt == llm_prompt(text_ru, language="ru", max_chars=600)
    assert "in Russian" in prompt and "at most 600 characters" in prompt
    assert "Загрязнение бенчмарков возникает" in prompt
    assert system and "summary only" in system


def test_llm_answer_is_trimmed_to_whole_sentences(monkeypatch):
    fake_llm(monkeypatch, FakeModel("First sentence of the answer. " * 40))
    summary = summarize_with_llm("Text.", "fake-model", max_chars=100)
    assert len(summary) <= 100 and summary.endswith("answer.")


def test_llm_unknown_model(monkeypatch):
    fake_llm(monkeypatch, FakeModel("x"))
    with pytest.raises(SummarizerUnavailable, match="no-such-model: unknown llm model"):
        summarize_with_llm("Some text.", "no-such-model")


def test_llm_missing_key_and_failure(monkeypatch):
    class NeedsKeyException(Exception):
        pass

    fake_llm(monkeypatch, FakeModel(NeedsKeyException("No key found")))
    with pytest.raises(SummarizerUnavailable, match="no API key"):
        summarize_with_llm("Some text.", "fake-model")
    fake_llm(monkeypatch, FakeModel(TimeoutError("timed out")))
    with pytest.raises(SummarizerError, match="fake-model: timed out"):
        summarize_with_llm("Some text.", "fake-model")


def test_llm_empty_text_does_not_call_the_model(monkeypatch):
    model = FakeModel("x")
    fake_llm(monkeypatch, model)
    assert summarize_with_llm("   ", "fake-model") is None
    assert model.calls == []
