from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harvester.links import CONTEXT_LIMIT, KNOWN_HOSTS, FoundLink, find_hashtags, find_links, links_in_post, snippet
from harvester.models import Anchor, Post, Preview


def urls(text: str) -> list[str]:
    return [link.url for link in find_links(text)]


def only(text: str) -> FoundLink:
    links = find_links(text)
    assert len(links) == 1, links
    return links[0]


# --------------------------------------------------------------------------- written URLs


@pytest.mark.parametrize(
    "text, expected",
    [
        # plain, English and Russian
        ("see https://github.com/suno-ai/bark for code", ["https://github.com/suno-ai/bark"]),
        ("Блог: https://t.me/asisakov_channel", ["https://t.me/asisakov_channel"]),
        (
            "http://www.incompleteideas.net/IncIdeas/BitterLesson.html",
            ["http://www.incompleteideas.net/IncIdeas/BitterLesson.html"],
        ),
        (
            "https://www.youtube.com/watch?v=b3XogyyXgUs&feature=youtu.be",
            ["https://www.youtube.com/watch?v=b3XogyyXgUs&feature=youtu.be"],
        ),
        ("Код тут: https://habr.com/ru/articles/318970 Не зная питона", ["https://habr.com/ru/articles/318970"]),
        # trailing punctuation
        ("Read https://horace.io/brrr_intro.html.", ["https://horace.io/brrr_intro.html"]),
        ("Read https://horace.io/brrr_intro.html, then sleep", ["https://horace.io/brrr_intro.html"]),
        (
            "Links: https://a.example.com/x; https://b.example.com/y!",
            ["https://a.example.com/x", "https://b.example.com/y"],
        ),
        ("Really? https://example.com/faq?", ["https://example.com/faq"]),
        ("Смотри https://example.com/a: это важно", ["https://example.com/a"]),
        ("'https://example.com/quoted'", ["https://example.com/quoted"]),
        ('"https://example.com/quoted"', ["https://example.com/quoted"]),
        ("**https://example.com/bold**", ["https://example.com/bold"]),
        # parentheses: balanced kept, unbalanced dropped
        ("https://en.wikipedia.org/wiki/Foo_(bar)", ["https://en.wikipedia.org/wiki/Foo_(bar)"]),
        ("(see https://en.wikipedia.org/wiki/Foo_(bar))", ["https://en.wikipedia.org/wiki/Foo_(bar)"]),
        ("(see https://x.com/a)", ["https://x.com/a"]),
        ("(см. https://x.com/a).", ["https://x.com/a"]),
        # markdown, angle brackets, quotes
        ("[the course](https://github.com/mlabonne/llm-course)", ["https://github.com/mlabonne/llm-course"]),
        ("[https://a.example.com](https://a.example.com)", ["https://a.example.com", "https://a.example.com"]),
        ("<https://example.com/x>", ["https://example.com/x"]),
        ("«https://example.com/x»", ["https://example.com/x"]),
        ("ссылка «https://habr.com/ru/company/ods/blog/709222/».", ["https://habr.com/ru/company/ods/blog/709222/"]),
        # Cyrillic or emoji glued to the URL ends it
        ("https://github.com/x/yСмотрите", ["https://github.com/x/y"]),
        ("https://t.me/boris_again/1652Подробнее", ["https://t.me/boris_again/1652"]),
        ("https://github.comСмотрите", ["https://github.com"]),
        ("https://habr.com/ru/articles/318970.Читайте", ["https://habr.com/ru/articles/318970"]),
        ("https://github.com/x/y🔥🔥", ["https://github.com/x/y"]),
        ("👉https://github.com/x/y👈", ["https://github.com/x/y"]),
        ("https://github.com/x/y—лучшее", ["https://github.com/x/y"]),
        # ... but Cyrillic paths and hosts are URLs
        ("https://ru.wikipedia.org/wiki/Трансформер", ["https://ru.wikipedia.org/wiki/Трансформер"]),
        (
            "см. https://ru.wikipedia.org/wiki/Трансформер_(модель_машинного_обучения).",
            ["https://ru.wikipedia.org/wiki/Трансформер_(модель_машинного_обучения)"],
        ),
        ("https://example.com/search?q=трансформер&x=1", ["https://example.com/search?q=трансформер&x=1"]),
        ("https://ru.wikipedia.org/wiki/%D0%A2%D1%80", ["https://ru.wikipedia.org/wiki/%D0%A2%D1%80"]),
        ("https://пример.рф/путь", ["https://пример.рф/путь"]),
        ("Сайт https://пример.рф/путь/дальше, заходите", ["https://пример.рф/путь/дальше"]),
        ("https://пример.рф", ["https://пример.рф"]),
        ("https://sub.пример.рф/a🔥", ["https://sub.пример.рф/a"]),
        # scheme case, glued text before the scheme, two glued URLs
        ("HTTPS://GitHub.com/x/y", ["HTTPS://GitHub.com/x/y"]),
        ("Чат:https://t.me/youknowds_chat", ["https://t.me/youknowds_chat"]),
        ("Блогhttps://t.me/asisakov_channel", ["https://t.me/asisakov_channel"]),
        ("https://a.example.com/xhttps://b.example.com/y", ["https://a.example.com/x", "https://b.example.com/y"]),
        ("https://r.jina.ai/https://example.com/a", ["https://r.jina.ai/https://example.com/a"]),
        ("https://t.co/r?url=https://example.com/a", ["https://t.co/r?url=https://example.com/a"]),
        ("https://a.example.com/x,https://b.example.com/y", ["https://a.example.com/x", "https://b.example.com/y"]),
        # ports, userinfo, fragments, query strings
        ("http://example.com:8080/path", ["http://example.com:8080/path"]),
        ("https://example.com/page#section-2", ["https://example.com/page#section-2"]),
        ("https://medium.com/@user/some-post-123abc", ["https://medium.com/@user/some-post-123abc"]),
        # www. without scheme
        ("www.example.com/a.", ["https://www.example.com/a"]),
        ("Сайт: www.deeplearning.ai/courses", ["https://www.deeplearning.ai/courses"]),
        ("WWW.EXAMPLE.COM", ["https://WWW.EXAMPLE.COM"]),
        # not URLs
        ("https://", []),
        ("https://...", []),
        ("http://localhost:8000/docs", []),
        ("ftp://example.com/file", []),
        ("htt…", []),
        ("wwwexample", []),
        ("foo@www.example.com", []),
        ("awww.example.com", []),
    ],
)
def test_written_urls(text, expected):
    assert urls(text) == expected


@pytest.mark.parametrize(
    "text, via",
    [
        ("https://github.com/x/y", "text"),
        ("www.example.com/a", "bare"),
        ("github.com/x/y", "bare"),
        ("arXiv:2401.12345", "id"),
        ("doi:10.1145/3290605.3300857", "id"),
    ],
)
def test_via(text, via):
    assert only(text).via == via


def test_offsets_and_written():
    text = "Код: https://github.com/x/y. И ещё github.com/a/b!"
    links = find_links(text)
    assert [(link.written, link.start, link.end) for link in links] == [
        ("https://github.com/x/y", 5, 27),
        ("github.com/a/b", 35, 49),
    ]
    for link in links:
        assert text[link.start : link.end] == link.written


@pytest.mark.parametrize(
    "text, url, written",
    [
        ("_https://arxiv.org/abs/2401.01234_", "https://arxiv.org/abs/2401.01234", "https://arxiv.org/abs/2401.01234"),
        ("~~https://github.com/a/b~~", "https://github.com/a/b", "https://github.com/a/b"),
        ("__https://github.com/a/b__", "https://github.com/a/b", "https://github.com/a/b"),
        ("*_https://example.com/a_b_*", "https://example.com/a_b", "https://example.com/a_b"),
        ("см. _https://en.wikipedia.org/wiki/Foo_(bar)_.", "https://en.wikipedia.org/wiki/Foo_(bar)", "https://en.wikipedia.org/wiki/Foo_(bar)"),
        ("_github.com/a/b_", "https://github.com/a/b", "github.com/a/b"),
        ("код: __github.com/a/b__", "https://github.com/a/b", "github.com/a/b"),
        ("_www.example.com/a_", "https://www.example.com/a", "www.example.com/a"),
        # Without an opening marker, underscores are the URL's.
        ("https://example.com/snake_case_", "https://example.com/snake_case_", "https://example.com/snake_case_"),
        ("https://en.wikipedia.org/wiki/Foo_(bar)_", "https://en.wikipedia.org/wiki/Foo_(bar)_", "https://en.wikipedia.org/wiki/Foo_(bar)_"),
        ("Блог_https://example.com/a_", "https://example.com/a_", "https://example.com/a_"),
    ],
)
def test_markdown_emphasis_around_a_url_is_not_part_of_it(text, url, written):
    link = only(text)
    assert (link.url, link.written) == (url, written)
    assert text[link.start : link.end] == written


@pytest.mark.parametrize("text", ["foo_github.com/a/b", "x/_github.com/a/b_"])
def test_underscore_glued_to_a_word_is_not_emphasis(text):
    assert urls(text) == []


# --------------------------------------------------------------------------- truncated


@pytest.mark.parametrize(
    "text, url, written",
    [
        (
            "the following blogpost: https://huggingface.co/blog/welcome-open...",
            "https://huggingface.co/blog/welcome-open",
            "https://huggingface.co/blog/welcome-open...",
        ),
        (
            "https://huggingface.co/blog/welcome-open…",
            "https://huggingface.co/blog/welcome-open",
            "https://huggingface.co/blog/welcome-open…",
        ),
        ("(https://example.com/very/long…)", "https://example.com/very/long", "https://example.com/very/long…"),
        ("https://example.com/a….", "https://example.com/a", "https://example.com/a…"),
        ("https://example.com/a…Читать полностью", "https://example.com/a", "https://example.com/a…"),
        ("https://example.com/ab...)", "https://example.com/ab", "https://example.com/ab..."),
        ("https://example.com/ab?q=1...", "https://example.com/ab?q=1", "https://example.com/ab?q=1..."),
        ("https://github.com…", "https://github.com", "https://github.com…"),
        ("github.com/openai/whis…", "https://github.com/openai/whis", "github.com/openai/whis…"),
    ],
)
def test_truncated(text, url, written):
    link = only(text)
    assert (link.url, link.written, link.truncated) == (url, written, True)
    assert text[link.start : link.end] == written


@pytest.mark.parametrize(
    "text",
    ["https://example.com/a.", "https://example.com/a..", "https://example.com/a.b", "https://example.com/a...b"],
)
def test_not_truncated(text):
    assert only(text).truncated is False


# --------------------------------------------------------------------------- scheme-less hosts


@pytest.mark.parametrize(
    "text, expected",
    [
        ("код: github.com/suno-ai/bark", ["https://github.com/suno-ai/bark"]),
        ("github.com/x/y.", ["https://github.com/x/y"]),
        ("(github.com/x/y)", ["https://github.com/x/y"]),
        ("GitHub.com/x/y", ["https://GitHub.com/x/y"]),
        ("gist.github.com/karpathy/abc123", ["https://gist.github.com/karpathy/abc123"]),
        (
            "karpathy.github.io/2015/05/21/rnn-effectiveness/",
            ["https://karpathy.github.io/2015/05/21/rnn-effectiveness/"],
        ),
        ("arxiv.org/abs/2401.12345", ["https://arxiv.org/abs/2401.12345"]),
        ("статья arxiv.org/pdf/2401.12345v2.pdf", ["https://arxiv.org/pdf/2401.12345v2.pdf"]),
        ("habr.com/ru/articles/318970/", ["https://habr.com/ru/articles/318970/"]),
        ("huggingface.co/meta-llama/Llama-2-7b", ["https://huggingface.co/meta-llama/Llama-2-7b"]),
        ("hf.co/datasets/x", ["https://hf.co/datasets/x"]),
        ("Подписывайтесь t.me/boris_again", ["https://t.me/boris_again"]),
        ("youtu.be/b3XogyyXgUs", ["https://youtu.be/b3XogyyXgUs"]),
        ("youtube.com/watch?v=b3XogyyXgUs", ["https://youtube.com/watch?v=b3XogyyXgUs"]),
        ("m.youtube.com/watch?v=b3XogyyXgUs", ["https://m.youtube.com/watch?v=b3XogyyXgUs"]),
        ("doi.org/10.1145/3290605.3300857", ["https://doi.org/10.1145/3290605.3300857"]),
        ("paperswithcode.com/sota/image-classification", ["https://paperswithcode.com/sota/image-classification"]),
        ("openreview.net/forum?id=abc", ["https://openreview.net/forum?id=abc"]),
        ("kaggle.com/competitions/titanic", ["https://kaggle.com/competitions/titanic"]),
        ("colab.research.google.com/drive/1abc", ["https://colab.research.google.com/drive/1abc"]),
        ("medium.com/@user/post-1", ["https://medium.com/@user/post-1"]),
        ("x.com/karpathy/status/1", ["https://x.com/karpathy/status/1"]),
        ("twitter.com/karpathy", ["https://twitter.com/karpathy"]),
        ("telegra.ph/Enhancing-ChatGPTs-Efficiency", ["https://telegra.ph/Enhancing-ChatGPTs-Efficiency"]),
        ("Репо:github.com/x/y", ["https://github.com/x/y"]),
        ("...github.com/x/y", ["https://github.com/x/y"]),
        ("github.com/x/yСмотрите", ["https://github.com/x/y"]),
        ("github.com/x/y🔥", ["https://github.com/x/y"]),
        # no path, unknown host, glued, e-mail, inside a longer URL
        ("github.com", []),
        ("github.com/", []),
        ("see kaggle.com.", []),
        ("example.com/path", []),
        ("dropbox.com/s/abc", []),
        ("notgithub.com/x/y", []),
        ("mygithub.io/x", []),
        ("me@github.com/x", []),
        ("write to team@huggingface.co/now", []),
        ("Кодgithub.com/x/y", []),
        # t.me invite links a text dump left site-relative
        ("Ссылка на чат:\n/channel/+Q8wZrzGl4ZY3MjZi\nЭто НЕ чат", ["https://t.me/+Q8wZrzGl4ZY3MjZi"]),
        ("чат: /joinchat/AbCdEfGh123.", ["https://t.me/+AbCdEfGh123"]),
        ("see/channel/+Q8wZrzGl4ZY3MjZi", []),
        ("/channel/+short", []),
        ("https://t.me/channel/+Q8wZrzGl4ZY3MjZi", ["https://t.me/channel/+Q8wZrzGl4ZY3MjZi"]),
        ("https://web.archive.org/web/2020/github.com/x/y", ["https://web.archive.org/web/2020/github.com/x/y"]),
        ("https://github.com/x/y", ["https://github.com/x/y"]),
    ],
)
def test_scheme_less_known_hosts(text, expected):
    assert urls(text) == expected


@pytest.mark.parametrize("host", KNOWN_HOSTS)
def test_every_known_host_is_found_without_scheme(host):
    assert urls(f"см. {host}/some/path, ok") == [f"https://{host}/some/path"]
    assert urls(f"см. sub.{host}/p") == [f"https://sub.{host}/p"]
    assert urls(f"см. not{host}/p") == []
    assert urls(f"пиши me@{host}/p") == []


@pytest.mark.parametrize(
    "text",
    [
        "Open.AI выпустили модель",
        "Dealer.AI и Lindy.AI",
        "написано на node.js и vue.js",
        "e.g. this, i.e. that",
        "см. model.py и train.py",
        "version v1.2.3 released",
        "pip install torch==2.1.0",
        "Python 3.11.7 (main)",
        "цена 3.14159 руб, 1.2345 BTC",
        "T.me и Github без ссылок",
        "файл config.yaml, README.md",
        "x.com",
        "e-mail: someone@example.com",
        "12.05.2024 в 18.30",
        "1.e4 e5 2.Nf3 Nc6 3.Bb5 ... 1/2-1/2",
        "X_1, X_2, ..., X_n",
        "",
    ],
)
def test_no_links(text):
    assert find_links(text) == []


# --------------------------------------------------------------------------- arXiv ids


@pytest.mark.parametrize(
    "text, url, written",
    [
        ("arXiv:2401.12345", "https://arxiv.org/abs/2401.12345", "arXiv:2401.12345"),
        ("см. arXiv:2401.12345v2.", "https://arxiv.org/abs/2401.12345v2", "arXiv:2401.12345v2"),
        ("arxiv 2401.12345", "https://arxiv.org/abs/2401.12345", "2401.12345"),
        ("arXiv: 2401.12345", "https://arxiv.org/abs/2401.12345", "2401.12345"),
        ("ARXIV:1706.03762", "https://arxiv.org/abs/1706.03762", "ARXIV:1706.03762"),
        ("(arXiv:1706.03762)", "https://arxiv.org/abs/1706.03762", "arXiv:1706.03762"),
        ("arXiv:0704.0001", "https://arxiv.org/abs/0704.0001", "arXiv:0704.0001"),
        ("arXiv:1412.6980", "https://arxiv.org/abs/1412.6980", "arXiv:1412.6980"),
        ("arXiv:1501.00001", "https://arxiv.org/abs/1501.00001", "arXiv:1501.00001"),
        ("arXiv:hep-th/9901001", "https://arxiv.org/abs/hep-th/9901001", "arXiv:hep-th/9901001"),
        ("arXiv:math.GT/0309136", "https://arxiv.org/abs/math.GT/0309136", "arXiv:math.GT/0309136"),
        ("arXiv:cs/0112017v1", "https://arxiv.org/abs/cs/0112017v1", "arXiv:cs/0112017v1"),
        ("Статья 2401.12345 про RLHF", "https://arxiv.org/abs/2401.12345", "2401.12345"),
        ("Авторы статьи (2401.12345) утверждают", "https://arxiv.org/abs/2401.12345", "2401.12345"),
        ("The paper: 1905.11946v5", "https://arxiv.org/abs/1905.11946v5", "1905.11946v5"),
        ("Papers: 2312.00752.", "https://arxiv.org/abs/2312.00752", "2312.00752"),
        ("see the arXiv preprint, id 2106.09685", "https://arxiv.org/abs/2106.09685", "2106.09685"),
        # Old-style ids need no prefix: the archive names them.
        ("see hep-th/9901001", "https://arxiv.org/abs/hep-th/9901001", "hep-th/9901001"),
        ("(math.GT/0309136v2)", "https://arxiv.org/abs/math.GT/0309136v2", "math.GT/0309136v2"),
        ("Классика: cs/0112017.", "https://arxiv.org/abs/cs/0112017", "cs/0112017"),
        ("astro-ph/9108001", "https://arxiv.org/abs/astro-ph/9108001", "astro-ph/9108001"),
        ("cond-mat/0703123", "https://arxiv.org/abs/cond-mat/0703123", "cond-mat/0703123"),
    ],
)
def test_arxiv_ids(text, url, written):
    link = only(text)
    assert (link.url, link.written, link.via) == (url, written, "id")
    assert text[link.start : link.end] == written


def test_several_arxiv_ids_on_one_line():
    assert urls("arXiv: 2401.12345, 2402.00001 and 1706.03762") == [
        "https://arxiv.org/abs/2401.12345",
        "https://arxiv.org/abs/2402.00001",
        "https://arxiv.org/abs/1706.03762",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "2401.12345",  # no context on the line
        "Цена 2401.12345 рублей",
        "paper\n2401.12345",  # context on another line
        "paper 3.14159",
        "paper 1.2345",
        "paper 2023.12345",  # month 23
        "paper 2413.12345",  # month 13
        "paper 0601.12345",  # before 2007
        "paper 0703.1234",  # before April 2007
        "paper 1412.12345",  # 2014: four digits
        "paper 1501.1234",  # 2015: five digits
        "paper 2401.123456",
        "paper 12401.12345",
        "paper 2401.12345.1",
        "paper v2401.12345",
        "paper 2401.12345abc",
        "paper $2401.12345",
        "arXiv:2413.12345",
        "arXiv:2401.1234",
        "arxiv.2401.12345",
        # Old style: an unknown archive, a date outside 1991-08..2007-03, glued on.
        "foo/9901001",
        "v2/1234567",
        "hep-th/0801001",
        "hep-th/9107001",
        "hep-th/9913001",
        "hep-th/9901001x",
        "hep-th/99010012",
        "xhep-th/9901001",
        "see/hep-th/9901001",
        "HEP-TH/9901001",
    ],
)
def test_not_arxiv_ids(text):
    assert find_links(text) == []


def test_arxiv_id_inside_url_is_not_repeated():
    assert urls("arXiv: https://arxiv.org/abs/2401.12345 (arXiv:2401.12345)") == [
        "https://arxiv.org/abs/2401.12345",
        "https://arxiv.org/abs/2401.12345",
    ]
    assert [link.via for link in find_links("arXiv: https://arxiv.org/abs/2401.12345 (arXiv:2401.12345)")] == [
        "text",
        "id",
    ]


# --------------------------------------------------------------------------- DOIs


@pytest.mark.parametrize(
    "text, url, written",
    [
        ("10.1234/abc.def", "https://doi.org/10.1234/abc.def", "10.1234/abc.def"),
        ("doi:10.1145/3290605.3300857", "https://doi.org/10.1145/3290605.3300857", "doi:10.1145/3290605.3300857"),
        ("DOI: 10.1145/3290605.3300857.", "https://doi.org/10.1145/3290605.3300857", "10.1145/3290605.3300857"),
        ("(DOI:10.1038/nature14539)", "https://doi.org/10.1038/nature14539", "DOI:10.1038/nature14539"),
        ("статья 10.1111/cdev.14129, см.", "https://doi.org/10.1111/cdev.14129", "10.1111/cdev.14129"),
        (
            "10.1016/S0140-6736(20)30183-5;",
            "https://doi.org/10.1016/S0140-6736(20)30183-5",
            "10.1016/S0140-6736(20)30183-5",
        ),
        ("10.48550/arXiv.2401.12345", "https://doi.org/10.48550/arXiv.2401.12345", "10.48550/arXiv.2401.12345"),
        ("doi:10.1145/3290605Смотрите", "https://doi.org/10.1145/3290605", "doi:10.1145/3290605"),
    ],
)
def test_dois(text, url, written):
    link = only(text)
    assert (link.url, link.written, link.via) == (url, written, "id")
    assert text[link.start : link.end] == written


@pytest.mark.parametrize(
    "text, expected",
    [
        ("https://dl.acm.org/doi/10.1145/3290605.3300857", ["https://dl.acm.org/doi/10.1145/3290605.3300857"]),
        (
            "https://srcd.onlinelibrary.wiley.com/doi/10.1111/cdev.14129",
            ["https://srcd.onlinelibrary.wiley.com/doi/10.1111/cdev.14129"],
        ),
        ("https://doi.org/10.1038/nature14539", ["https://doi.org/10.1038/nature14539"]),
        ("10.1/x", []),
        ("10.12/x", []),
        ("v10.1234/x", []),
        ("10.1234/", []),
        ("1.10.1234/x", []),
    ],
)
def test_doi_edges(text, expected):
    assert urls(text) == expected


# --------------------------------------------------------------------------- order, spans, context


def test_mixed_post_in_text_order():
    text = (
        "🖥 Large Language Model Course\n"
        "Курс: https://github.com/mlabonne/llm-course, статья arXiv:2401.12345 и\n"
        "doi:10.1145/3290605.3300857; зеркало github.com/x/y 🔥\n"
        "www.example.com/z и https://t.me/c/1…"
    )
    links = find_links(text)
    assert [(link.via, link.url) for link in links] == [
        ("text", "https://github.com/mlabonne/llm-course"),
        ("id", "https://arxiv.org/abs/2401.12345"),
        ("id", "https://doi.org/10.1145/3290605.3300857"),
        ("bare", "https://github.com/x/y"),
        ("bare", "https://www.example.com/z"),
        ("text", "https://t.me/c/1"),
    ]
    assert [link.truncated for link in links] == [False] * 5 + [True]
    starts = [link.start for link in links]
    assert starts == sorted(starts)
    for a, b in zip(links, links[1:]):
        assert a.end <= b.start


def test_context_is_collapsed_and_bounded():
    words = " ".join(f"слово{i}" for i in range(100))
    text = words + "\n\n  https://github.com/x/y   \n" + words
    link = only(text)
    assert "https://github.com/x/y" in link.context
    assert len(link.context) <= CONTEXT_LIMIT
    assert "\n" not in link.context and "  " not in link.context
    # cut on word boundaries: every word in the context is whole
    for word in link.context.split():
        assert word == "https://github.com/x/y" or word in words.split()


@pytest.mark.parametrize(
    "text, start, end, expected",
    [
        ("a https://x.com/a b", 2, 17, "a https://x.com/a b"),
        ("https://x.com/a", 0, 15, "https://x.com/a"),
        ("one\ntwo\t\tthree LINK four\n\nfive", 15, 19, "one two three LINK four five"),
    ],
)
def test_snippet(text, start, end, expected):
    assert snippet(text, start, end) == expected


def test_snippet_long_core_is_cut_to_limit():
    text = "https://example.com/" + "a" * 500
    assert snippet(text, 0, len(text)) == text[:CONTEXT_LIMIT]


def test_snippet_gives_room_to_the_other_side():
    text = "LINK " + " ".join(["word"] * 200)
    context = snippet(text, 0, 4)
    assert context.startswith("LINK word")
    assert CONTEXT_LIMIT - 5 <= len(context) <= CONTEXT_LIMIT


# --------------------------------------------------------------------------- properties


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_never_crashes_and_no_whitespace(text):
    links = find_links(text)
    for link in links:
        assert not any(c.isspace() for c in link.url)
        assert not any(c.isspace() for c in link.written)
        assert link.url.startswith(("http://", "https://", "HTTP", "Http"))
        assert 0 <= link.start < link.end <= len(text)
        assert text[link.start : link.end] == link.written
        assert len(link.context) <= CONTEXT_LIMIT


URLISH = st.lists(
    st.sampled_from(
        list("ahtps:/.wgiubcomx-_()[]<>«»…,;!?'\"#@%=&")
        + [
            "https://",
            "www.",
            "github.com/",
            "arXiv:",
            "2401.12345",
            "10.1145/",
            "doi:",
            " ",
            "\n",
            "🔥",
            "Смотри",
            "пример.рф",
        ]
    ),
    max_size=30,
).map("".join)


@settings(max_examples=600)
@given(URLISH)
def test_urlish_text_properties(text):
    links = find_links(text)
    previous_end = -1
    for link in links:
        assert link.via in {"text", "bare", "id"}
        assert text[link.start : link.end] == link.written
        assert link.start >= previous_end
        previous_end = link.end
        assert not any(c.isspace() for c in link.url + link.written)
        if link.truncated:
            assert link.written.endswith(("...", "…"))
            assert not link.url.endswith(("…",))


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40), st.text(max_size=40))
def test_url_surrounded_by_spaces_is_found(before, after):
    text = before + " https://github.com/x/y " + after
    assert "https://github.com/x/y" in urls(text)


# --------------------------------------------------------------------------- hashtags


@pytest.mark.parametrize(
    "text, expected",
    [
        ("#llm #course #opensource #ml", ["llm", "course", "opensource", "ml"]),
        ("#LLM и #llm", ["llm"]),
        ("#перевод #ХабрНедели", ["перевод", "хабрнедели"]),
        ("#иб_для_ml #reliable_ml", ["иб_для_ml", "reliable_ml"]),
        ("Пост номер #1 и #2024", []),
        ("#1st place", ["1st"]),
        ("https://example.com/page#section and https://x.com/#/route", []),
        ("https://example.com/?a=1#frag", []),
        ("a#b c&#39;d", []),
        ("# Markdown header", []),
        ("##double", []),
        ("(#paperwatch)", ["paperwatch"]),
        ("Текст.\n#llm_system_design\n#wildberries #ozon #vk", ["llm_system_design", "wildberries", "ozon", "vk"]),
        ("#__", []),
        ("", []),
    ],
)
def test_hashtags(text, expected):
    assert find_hashtags(text) == expected


@given(st.text())
def test_hashtags_never_crash(text):
    for tag in find_hashtags(text):
        assert tag == tag.lower() and tag and "#" not in tag


# --------------------------------------------------------------------------- posts


def make_post(text="", anchors=(), previews=()):
    return Post(source="test", text=text, anchors=list(anchors), previews=list(previews))


def test_links_in_post_text_anchors_previews():
    post = make_post(
        text="Большой разбор тут и код https://github.com/suno-ai/bark\nGitHub\nGitHub - suno-ai/bark: 🔊 Text-Prompted",
        anchors=[
            Anchor("https://habr.com/ru/articles/1/", "Большой разбор"),
            Anchor("mailto:me@example.com", "почта"),
            Anchor("tg://resolve?domain=x", "канал"),
            Anchor("javascript:alert(1)", "x"),
            Anchor("", "пусто"),
        ],
        previews=[
            Preview("GitHub", "GitHub - suno-ai/bark: 🔊 Text-Prompted Generative Audio Model", "desc", None),
            Preview("Habr", "Title", "desc", "https://habr.com/ru/articles/2/"),
            Preview("YouTube", "Some video", None, None),
        ],
    )
    links = links_in_post(post)
    assert [(link.via, link.url) for link in links] == [
        ("text", "https://github.com/suno-ai/bark"),
        ("anchor", "https://habr.com/ru/articles/1/"),
        ("preview", "https://github.com/suno-ai/bark"),
        ("preview", "https://habr.com/ru/articles/2/"),
    ]
    text_link, anchor, github_card, habr_card = links
    assert text_link.context.startswith("Большой разбор")
    assert anchor.anchor_text == "Большой разбор"
    assert (anchor.start, anchor.end, anchor.written) == (-1, -1, "https://habr.com/ru/articles/1/")
    assert anchor.context.startswith("Большой разбор тут")
    assert github_card.title == "GitHub - suno-ai/bark: 🔊 Text-Prompted Generative Audio Model"
    assert habr_card.title == "Title"
    assert all(link.context for link in links)


@pytest.mark.parametrize(
    "site, title, expected",
    [
        ("GitHub", "GitHub - suno-ai/bark: 🔊 Text-Prompted Generative Audio Model", "https://github.com/suno-ai/bark"),
        (
            "GitHub",
            "GitHub - tatsu-lab/stanford_alpaca: Code and documentation",
            "https://github.com/tatsu-lab/stanford_alpaca",
        ),
        (
            "GitHub",
            "GitHub - google-research/magvit: Official JAX implementation of MAGVIT: Masked",
            "https://github.com/google-research/magvit",
        ),
        ("GitHub", "GitHub - huggingface/transformers.js", "https://github.com/huggingface/transformers.js"),
        ("github", "GitHub - owner/repo: x", "https://github.com/owner/repo"),
        ("GitHub", "GitHub — owner/repo: x", "https://github.com/owner/repo"),
        ("GitHub", "Build software better, together", None),
        ("GitHub", "GitHub - owner: no repo", None),
        ("Habr", "GitHub - owner/repo: x", None),
        (None, "GitHub - owner/repo: x", None),
        ("GitHub", None, None),
    ],
)
def test_github_card_without_url(site, title, expected):
    links = links_in_post(make_post("text", previews=[Preview(site, title, None, None)]))
    assert [link.url for link in links] == ([expected] if expected else [])
    if expected:
        assert links[0].via == "preview" and links[0].title == title


@pytest.mark.parametrize(
    "href, kept",
    [
        ("https://example.com/a", True),
        ("http://example.com/a", True),
        ("HTTPS://example.com/a", True),
        ("mailto:me@example.com", False),
        ("tg://resolve?domain=x", False),
        ("javascript:void(0)", False),
        ("#go_to_message12", False),
        ("/relative/path", False),
        ("https://example.com/a b", False),
    ],
)
def test_anchor_schemes(href, kept):
    links = links_in_post(make_post("", anchors=[Anchor(href, "t")]))
    assert [link.url for link in links] == ([href] if kept else [])


def test_anchor_context_falls_back_to_post_start():
    text = "Начало поста. " + "слово " * 60
    links = links_in_post(make_post(text, anchors=[Anchor("https://example.com/a", "нет в тексте")]))
    assert links[0].context.startswith("Начало поста. слово")
    assert len(links[0].context) <= CONTEXT_LIMIT


FILLER = " ".join(["слово"] * 40)
SAME_LABELS = f"Статья тут. {FILLER}. Код тут. {FILLER}. Веса тут."
SAME_LABELS_AFTER_A_WORD = f"Ссылки тут: {FILLER}. Статья тут. {FILLER}. Код тут."


@pytest.mark.parametrize(
    "text, starts, expected",
    [
        # Where the source says each one is (JSON exports).
        (SAME_LABELS, [SAME_LABELS.index("тут. " + FILLER), SAME_LABELS.index("тут. " + FILLER, 20),
                       SAME_LABELS.rindex("тут")], ["Статья тут.", "Код тут.", "Веса тут."]),
        # HTML exports and t.me pages: in order of occurrence.
        (SAME_LABELS, [None, None, None], ["Статья тут.", "Код тут.", "Веса тут."]),
        # The word before the links only their offsets tell apart.
        (SAME_LABELS_AFTER_A_WORD, [SAME_LABELS_AFTER_A_WORD.index("тут. "), SAME_LABELS_AFTER_A_WORD.rindex("тут")],
         ["Статья тут.", "Код тут."]),
        # An offset that does not hold the text (a stale one) falls back to order of occurrence.
        (SAME_LABELS, [0, 0, 0], ["Статья тут.", "Код тут.", "Веса тут."]),
    ],
    ids=["offsets", "order-of-occurrence", "offsets-after-the-same-word", "offsets-not-at-the-text"],
)
def test_anchors_with_the_same_text_get_the_context_of_their_own(text, starts, expected):
    hrefs = ["https://arxiv.org/abs/2312.00752", "https://github.com/state-spaces/mamba", "https://huggingface.co/x/y"]
    anchors = [Anchor(href, "тут", start) for href, start in zip(hrefs, starts)]
    contexts = [link.context for link in links_in_post(make_post(text, anchors=anchors))]
    # Each context holds its own label line, and no other's.
    assert [[label for label in ("Ссылки тут", *expected) if label in context] for context in contexts] == [
        [label] for label in expected
    ]


def test_preview_with_url_and_card_in_text():
    post = make_post(
        "Смотрите https://github.com/suno-ai/bark",
        previews=[Preview("GitHub", "GitHub - suno-ai/bark: audio", None, "https://github.com/suno-ai/bark")],
    )
    links = links_in_post(post)
    assert [(link.via, link.url) for link in links] == [
        ("text", "https://github.com/suno-ai/bark"),
        ("preview", "https://github.com/suno-ai/bark"),
    ]
    assert links[1].context == "Смотрите https://github.com/suno-ai/bark"


def test_markdown_text_with_anchor_duplicate():
    # The same URL as text and anchor: both returned, the pipeline de-duplicates.
    post = make_post("[курс](https://github.com/x/y)", anchors=[Anchor("https://github.com/x/y", "курс")])
    assert [(link.via, link.url) for link in links_in_post(post)] == [
        ("text", "https://github.com/x/y"),
        ("anchor", "https://github.com/x/y"),
    ]


def test_seeds_smoke():
    from pathlib import Path

    seeds = Path(__file__).resolve().parent.parent / "seeds"
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(seeds.glob("*.txt")))
    found = {link.url for link in find_links(text)}
    assert "https://github.com/suno-ai/bark" in found
    assert "https://srcd.onlinelibrary.wiley.com/doi/10.1111/cdev.14129" in found
    assert "https://huggingface.co/blog/welcome-open" in found
    assert not any(u.lower().endswith((".ai", ".js")) and "/" not in u[8:] for u in found)
