import concurrent.futures
import multiprocessing
import pickle
import re
import socket
import struct
import zlib

import pytest
from content_fixtures import make_pdf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harvester.authors import MAX_AUTHORS, normalize_authors
from harvester.dates import normalize_date
from harvester.extract import (
    Extracted,
    classify_content,
    decode_body,
    extract,
    is_junk_title,
    normalize_charset,
    parse_content_type,
    reading_minutes,
)
from harvester.language import detect_language, normalize_language_tag

URL = "https://blog.example/posts/1"


def png_bytes() -> bytes:
    """A valid 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def article_en(fixtures) -> bytes:
    return (fixtures / "content" / "article_en.html").read_bytes()


@pytest.fixture
def article_ru_markup(fixtures) -> str:
    return (fixtures / "content" / "article_ru.html").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- HTML


def test_english_article(article_en):
    result = extract(article_en, url=URL, content_type="text/html; charset=utf-8")
    assert result.content_kind == "html"
    assert result.media_type == "text/html"
    assert result.charset == "utf-8"
    assert result.title == "Small models, long contexts: what we learned training a 1B transformer"
    assert result.authors == ("Alice Martin", "Bob Okafor")
    assert result.published == "2024-03-18"
    assert result.site_name == "Gradient Notes"
    assert result.description == (
        "Notes from training a one-billion-parameter transformer with a 32k context window on a single node."
    )
    assert result.language == "en"
    assert "Fused attention kernels cut the activation memory enough to double the batch" in result.text
    # Navigation, related links and the footer are not the article.
    for furniture in ("Archive", "Related posts", "Tokenizers are weird", "All rights reserved"):
        assert furniture not in result.text
    assert 300 <= result.word_count <= 360
    assert result.reading_minutes == 1  # ~330 words at 228 wpm


def test_russian_article(article_ru_markup):
    result = extract(article_ru_markup.encode("utf-8"), url=URL, content_type="text/html")
    assert result.title == "Как мы сократили время обучения модели вдвое"
    assert result.authors == ("Иван Петров", "Мария Сидорова")
    assert result.published == "2023-11-05"
    assert result.site_name == "Заметки инженера"
    assert result.language == "ru"
    assert "Переход на формат bfloat16 уменьшил потребление памяти" in result.text
    assert "Подписывайтесь" not in result.text
    assert result.reading_minutes == 1


RU_TITLE = "Как мы сократили время обучения модели вдвое"
RU_SENTENCE = "Простои видеокарт после этого почти исчезли"


@pytest.mark.parametrize(
    "encoding, meta, content_type, expected_charset",
    [
        # header says utf-8, bytes are windows-1251, meta agrees with the header
        ("cp1251", '<meta charset="utf-8">', "text/html; charset=utf-8", "cp1251"),
        # header says iso-8859-1: decodes "cleanly" into Ïðèâåò, must not be taken
        ("cp1251", '<meta charset="utf-8">', "text/html; charset=ISO-8859-1", "cp1251"),
        # nothing declared anywhere
        ("cp1251", "", "text/html", "cp1251"),
        ("koi8_r", "", "text/html", "koi8-r"),
        ("koi8_r", "", None, "koi8-r"),
        # KOI8-R page that declares utf-8
        ("koi8_r", '<meta charset="utf-8">', "text/html; charset=utf-8", "koi8-r"),
        # the meta tag names the other Cyrillic charset
        ("cp1251", '<meta charset="koi8-r">', "text/html", "cp1251"),
        ("koi8_r", '<meta charset="windows-1251">', "text/html", "koi8-r"),
        # header wrong, http-equiv meta right
        (
            "koi8_r",
            '<meta http-equiv="Content-Type" content="text/html; charset=koi8-r">',
            "text/html; charset=windows-1251",
            "koi8-r",
        ),
        # declared correctly
        ("cp1251", '<meta charset="windows-1251">', "text/html; charset=windows-1251", "cp1251"),
        # an unknown label is ignored
        ("cp1251", '<meta charset="windows-1251">', "text/html; charset=x-bogus", "cp1251"),
        # transcoded to UTF-8 by the server, old meta kept: valid UTF-8 wins
        ("utf-8", '<meta charset="windows-1251">', "text/html; charset=windows-1251", "utf-8"),
    ],
)
def test_charset_is_right_even_when_declared_wrong(article_ru_markup, encoding, meta, content_type, expected_charset):
    markup = article_ru_markup.replace('<meta charset="utf-8">', meta)
    body = markup.encode(encoding, errors="xmlcharrefreplace")  # KOI8-R has no em dash or ©
    result = extract(body, url=URL, content_type=content_type)
    assert result.charset == expected_charset
    assert result.title == RU_TITLE
    assert RU_SENTENCE in result.text
    assert result.language == "ru"


#: A real page's head is mostly ASCII script: judged on the raw bytes, the few
#: words of prose in it read as cp852 or cp1250 as well as anything.
ANALYTICS_SCRIPT = "<script>" + "".join(
    f"window.dataLayer.push({{'event': 'view', 'id': {i}, 'path': '/news/2023/{i}/'}});\n" for i in range(3000)
) + "</script>"
FR_TITLE = "Une règle de décharge pour colorier les graphes planaires"
FR_SENTENCE = "Voilà une idée très élégante"


@pytest.mark.parametrize(
    "page, encoding, meta, content_type, expected_charset",
    [
        ("ru", "cp1251", "", "text/html; charset=utf-8", "cp1251"),
        ("ru", "cp1251", "", "text/html; charset=iso-8859-1", "cp1251"),
        ("ru", "cp1251", "", "text/html", "cp1251"),
        ("ru", "koi8_r", "", "text/html; charset=utf-8", "koi8-r"),
        ("ru", "koi8_r", "", "text/html; charset=iso-8859-1", "koi8-r"),
        ("ru", "koi8_r", '<meta charset="windows-1251">', "text/html", "koi8-r"),
        # a server that transcodes to windows-1252 and keeps the page's own utf-8 labels
        ("fr", "cp1252", '<meta charset="utf-8">', "text/html; charset=utf-8", "cp1252"),
        ("fr", "cp1252", "", "text/html", "cp1252"),
        ("fr", "cp1252", '<meta charset="iso-8859-1">', "text/html", "cp1252"),
        # valid UTF-8 stays UTF-8, whatever is declared
        ("ru", "utf-8", "", "text/html; charset=iso-8859-1", "utf-8"),
        ("fr", "utf-8", '<meta charset="windows-1250">', "text/html; charset=windows-1250", "utf-8"),
    ],
)
def test_charset_is_judged_by_the_text_not_the_markup(
    fixtures, page, encoding, meta, content_type, expected_charset
):
    markup = (fixtures / "content" / f"article_{page}.html").read_text(encoding="utf-8")
    markup = markup.replace('<meta charset="utf-8">', meta).replace("</head>", ANALYTICS_SCRIPT + "</head>")
    result = extract(markup.encode(encoding, errors="xmlcharrefreplace"), url=URL, content_type=content_type)
    assert result.charset == expected_charset
    assert result.language == page
    assert result.title == (RU_TITLE if page == "ru" else FR_TITLE)
    assert (RU_SENTENCE if page == "ru" else FR_SENTENCE) in result.text


def test_declared_charset_argument_overrides_header_parameter(article_ru_markup):
    body = article_ru_markup.replace('<meta charset="utf-8">', "").encode("cp1251", errors="xmlcharrefreplace")
    result = extract(body, url=URL, content_type="text/html; charset=koi8-r", declared_charset="windows-1251")
    assert result.charset == "cp1251"
    assert result.title == RU_TITLE


@pytest.mark.parametrize(
    "body, declared, expected_text, expected_codec",
    [
        ("Привет".encode("utf-8-sig"), "cp1251", "Привет", "utf-8-sig"),
        ("Привет".encode("utf-16"), None, "Привет", "utf-16"),
        ("Ünïcödé".encode(), "iso-8859-1", "Ünïcödé", "utf-8"),
        # a body cut by the size cap in the middle of a character
        ("Привет".encode()[:-1], None, "Приве", "utf-8"),
        ("café".encode("cp1252"), "iso-8859-1", "café", "cp1252"),
        # a UTF-16 label on bytes without a single NUL is wrong
        ("Привет мир, это тест".encode("cp1251"), "utf-16", "Привет мир, это тест", "cp1251"),
        (b"plain ascii", None, "plain ascii", "utf-8"),
        (b"", None, "", "utf-8"),
    ],
)
def test_decode_body(body, declared, expected_text, expected_codec):
    assert decode_body(body, declared) == (expected_text, expected_codec)


@pytest.mark.parametrize(
    "label, codec",
    [
        ("UTF-8", "utf-8"),
        ("Windows-1251", "cp1251"),
        ("koi8-r", "koi8-r"),
        ("ISO-8859-1", "cp1252"),
        ("latin1", "cp1252"),
        ("us-ascii", "cp1252"),
        ('"cp1251"', "cp1251"),
        ("x-no-such-charset", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_charset(label, codec):
    assert normalize_charset(label) == codec


def test_truncated_html_still_gives_title_and_text(article_en):
    cut = article_en[: article_en.index(b"Memory is the real constraint")]
    result = extract(cut, url=URL, content_type="text/html")
    assert result.title == "Small models, long contexts: what we learned training a 1B transformer"
    assert "data ordering matters more than we expected" in result.text


def test_page_without_article_keeps_metadata_and_html_lang():
    body = b'<html lang="de-DE"><head><title>Startseite</title></head><body></body></html>'
    result = extract(body, url=URL, content_type="text/html")
    assert result == Extracted(
        content_kind="html", media_type="text/html", title="Startseite", language="de", charset="utf-8"
    )


def test_html_fragment_without_html_tag():
    body = b"<p>" + b"Gradient checkpointing trades compute for memory in deep networks. " * 5 + b"</p>"
    result = extract(body, url=URL, content_type="text/html")
    assert result.content_kind == "html"
    assert "Gradient checkpointing trades compute for memory" in result.text


def paper_page(*metas: tuple[str, str], head: str = "", body: str = "") -> bytes:
    """A small paper landing page with the given (name, content) meta tags,
    and ``head`` and ``body`` markup before the article."""
    tags = "".join(f'<meta name="{name}" content="{content}">' for name, content in metas)
    return (
        f"<html><head><title>Attention Is All You Need</title>{tags}{head}</head><body>{body}<article>"
        + "<p>The dominant sequence transduction models are based on complex recurrent networks. " * 4
        + "</p></article></body></html>"
    ).encode()


@pytest.mark.parametrize(
    "metas, expected",
    [
        (
            [("citation_author", "Vaswani, Ashish"), ("citation_author", "Shazeer, Noam")],
            ("Ashish Vaswani", "Noam Shazeer"),
        ),
        (
            [("citation_author", "Ashish Vaswani"), ("citation_author", "Noam Shazeer")],
            ("Ashish Vaswani", "Noam Shazeer"),
        ),
        (
            [("citation_author", "Riedl, Mark O."), ("citation_author", "Le Scao, Teven")],
            ("Mark O. Riedl", "Teven Le Scao"),
        ),
        (
            [("DC.creator", "Bandyopadhyay-Ghosh, Sanchita"), ("DC.creator", "Jeng, Robert")],
            ("Sanchita Bandyopadhyay-Ghosh", "Robert Jeng"),
        ),
        ([("citation_author", "Vaswani, Ashish")], ("Ashish Vaswani",)),
        ([("dcterms.creator", "Van der Berg, Jan")], ("Jan Van der Berg",)),
        # One tag listing two people is still two people.
        ([("dcterms.creator", "David Lucca, Jonathan H. Wright")], ("David Lucca", "Jonathan H. Wright")),
        ([("citation_author", "Vaswani, Ashish; Shazeer, Noam")], ("Ashish Vaswani", "Noam Shazeer")),
        # The per-author tags win over a page-wide author tag and over Dublin Core.
        (
            [("author", "Site Editor"), ("dc.creator", "Vaswani, A."), ("citation_author", "Vaswani, Ashish")],
            ("Ashish Vaswani",),
        ),
        # Surname first with initials, as Russian journals write them: the initials keep their periods.
        (
            [("citation_author", "Петров А. В."), ("citation_author", "Сидорова Е.Н."), ("citation_author", "Smith J.")],
            ("Петров А. В.", "Сидорова Е.Н.", "Smith J."),
        ),
        # "и др." (et al.) ends the list as a cut list ends, and is no author.
        ([("author", "Иванов И. И. и др.")], ("Иванов И. И.", "others")),
        # No such tags: trafilatura's reading of the page stands.
        ([("author", "Jane Doe, John Roe")], ("Jane Doe", "John Roe")),
        ([], ()),
    ],
)
def test_authors_from_per_author_meta_tags(metas, expected):
    result = extract(paper_page(*metas), url="https://papers.example/abs/1", content_type="text/html")
    assert result.authors == expected


@pytest.mark.parametrize(
    "head, authors, site_name",
    [
        # the page's own spelling, not trafilatura's (which drops the periods of initials)
        ('<meta name="author" content="Sean T. Larkin">', ("Sean T. Larkin",), None),
        ('<meta property="article:author" content="Jane Q. Doe">', ("Jane Q. Doe",), None),
        # article:author as a profile path or URL is no name
        ('<meta property="article:author" content="/@timoreilly"><meta name="author" content="Tim O&#x27;Reilly">',
         ("Tim O'Reilly",), None),
        ('<meta property="article:author" content="https://social.example/@someone">', (), None),
        # the site's own capitals; a tag may have both name and property
        ('<meta name="og-site-name" property="og:site_name" content="bioRxiv">', (), "bioRxiv"),
        ('<meta property="og:site_name" content="bioRxiv">', (), "bioRxiv"),
        ('<meta name="application-name" content="arXiv.org">', (), "arXiv.org"),
        ('<meta property="og:site_name" content="papers.example">', (), None),  # the host echoed back
    ],
)  # fmt: skip
def test_author_and_site_name_as_the_page_writes_them(head, authors, site_name):
    result = extract(paper_page(head=head), url="https://papers.example/abs/1", content_type="text/html")
    assert (result.authors, result.site_name) == (authors, site_name)


def blog_page(title: str, head: str = "", heading: str = "") -> bytes:
    """A blog post with the given <title>, more <head> markup, and ``heading`` markup above its text."""
    return (
        f'<html><head><meta charset="utf-8"><title>{title}</title>{head}</head><body><div class="post">{heading}'
        + "<p>Llama 3.1 is small enough to fine-tune on one consumer GPU with low-rank adapters. " * 4
        + "</p><p>Обучение заняло три дня на восьми видеокартах, и модель стала заметно лучше. " * 4
        + "</p></div></body></html>"
    ).encode()


@pytest.mark.parametrize(
    "title, head, heading, expected",
    [
        # a headline with a "." and no single <h1>: trafilatura took the site name as the title, the headline as the site
        ("Fine-tuning Llama 3.1 on a single GPU | Notes | Acme AI Blog", "",
         "<h2>Fine-tuning Llama 3.1 on a single GPU</h2>", ("Fine-tuning Llama 3.1 on a single GPU", "Acme AI Blog")),
        ("Что нового в PyTorch 2.0: torch.compile на практике | Блог ML-инженера", "",
         "<h2>Что нового в PyTorch 2.0: torch.compile на практике</h2>",
         ("Что нового в PyTorch 2.0: torch.compile на практике", "Блог ML-инженера")),
        # a separator inside the headline: the heading says where it ends
        ("Llama 3.1 – a review | Notes | Acme AI Blog", "", "<h2>Llama 3.1 – a review</h2>",
         ("Llama 3.1 – a review", "Acme AI Blog")),
        # no heading at all: the first part, and no site name rather than the headline
        ("Llama 3.1 vs. GPT-4 | Acme AI Blog", "", "", ("Llama 3.1 vs. GPT-4", None)),
        # the site's own name wins, and is never the title when the page has a better one
        ("Обзор PyTorch 2.1 / Хабр", '<meta property="og:site_name" content="Хабр">',
         "<h1>Хабр</h1><h1>Обзор PyTorch 2.1</h1>", ("Обзор PyTorch 2.1", "Хабр")),
        ("Результаты поиска по запросу «html css» / Хабр",
         '<meta property="og:site_name" content="Хабр"><meta property="og:title" content="Хабр">', "",
         ("Результаты поиска по запросу «html css»", "Хабр")),
        ("Acme Blog | Llama 3.1 on one GPU", '<meta property="og:site_name" content="Acme Blog">', "",
         ("Llama 3.1 on one GPU", "Acme Blog")),
        # a host name is the site's name, wherever it stands
        ("acme.example — Llama 3.1 fine-tuning", "", "", ("Llama 3.1 fine-tuning", "acme.example")),
        # a single <h1> is the title; the other end of the <title> names the site
        ("Как мы ускорили обучение в 2.5 раза — Блог ML-инженера", "", "<h1>Как мы ускорили обучение в 2.5 раза</h1>",
         ("Как мы ускорили обучение в 2.5 раза", "Блог ML-инженера")),
        ("Fine-tuning Llama 3.1 — a field guide", "", "<h1>Fine-tuning Llama 3.1 — a field guide</h1>",
         ("Fine-tuning Llama 3.1 — a field guide", None)),
        # og:title as many sites write it, "Headline - Site": the site's name is cut off
        ("What is Rust and why is it so popular? - Acme Blog",
         '<meta property="og:site_name" content="Acme Blog">'
         '<meta property="og:title" content="What is Rust and why is it so popular? - Acme Blog">',
         "<h1>What is Rust and why is it so popular?</h1>", ("What is Rust and why is it so popular?", "Acme Blog")),
        ("CSS Scrollbar With Progress Meter | CSS-Tricks",
         '<meta property="og:site_name" content="CSS-Tricks">'
         '<meta property="og:title" content="CSS Scrollbar With Progress Meter | CSS-Tricks">', "",
         ("CSS Scrollbar With Progress Meter", "CSS-Tricks")),
        # ... or a journal's: the <h1> says where the headline ends
        ("In Vitro Cytotoxicity of Bioplastic | Journal of Polymers | Springer Nature Link",
         '<meta property="og:site_name" content="SpringerLink">'
         '<meta property="og:title" content="In Vitro Cytotoxicity of Bioplastic - Journal of Polymers">',
         "<h1>In Vitro Cytotoxicity of Bioplastic</h1>", ("In Vitro Cytotoxicity of Bioplastic", "SpringerLink")),
        # an <h1> shorter than the rest of og:title is not its headline
        ("Rust — a language empowering everyone",
         '<meta property="og:title" content="Rust — a language empowering everyone">', "<h1>Rust</h1>",
         ("Rust — a language empowering everyone", None)),
        # the page's own spelling, not its JSON-LD's; the <title>'s end names the site, not the publisher
        ("t-distributed stochastic neighbor embedding - Wikipedia",
         '<script type="application/ld+json">{"@context": "https://schema.org", "@type": "Article",'
         ' "name": "T-distributed stochastic neighbor embedding",'
         ' "publisher": {"@type": "Organization", "name": "Wikimedia Foundation, Inc."}}</script>',
         "<h1>t-distributed stochastic neighbor embedding</h1>",
         ("t-distributed stochastic neighbor embedding", "Wikipedia")),
        # ... unless that end is a byline (Substack's)
        ("The Most Precious Resource is Agency - by Simon Sarris",
         '<meta property="og:title" content="The Most Precious Resource is Agency">'
         '<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle",'
         ' "headline": "The Most Precious Resource is Agency",'
         ' "publisher": {"@type": "Organization", "name": "The Map is Mostly Water"}}</script>',
         "<h1>The Most Precious Resource is Agency</h1>",
         ("The Most Precious Resource is Agency", "The Map is Mostly Water")),
    ],
)  # fmt: skip
def test_title_is_the_headline_not_the_site_name(title, head, heading, expected):
    result = extract(blog_page(title, head, heading), url="https://blog.example/posts/1", content_type="text/html")
    assert (result.title, result.site_name) == expected


@pytest.mark.parametrize(
    "head, body, expected",
    [
        # a byline's date, reading time or job title is no second author
        ("", '<p class="byline">By Jane Doe | March 5, 2024</p>', ("Jane Doe",)),
        ("", '<p class="byline">By Jane Doe, Staff Writer</p>', ("Jane Doe",)),
        ("", '<div class="byline">Автор: Иван Петров, к.т.н. · 7 февраля 2024 г.</div>', ("Иван Петров",)),
        # a degree after the comma is no first name ("PhD John Smith Jr"); a suffix stays with the name
        ('<meta name="author" content="John Smith Jr., PhD">', "", ("John Smith Jr.",)),
        ('<meta name="author" content="Jane Doe, MD">', "", ("Jane Doe",)),
        ('<meta name="author" content="Иван Петров, к.т.н.">', "", ("Иван Петров",)),
        ('<meta name="author" content="Иван Петров, д.ф.-м.н., проф.">', "", ("Иван Петров",)),
        ('<meta name="author" content="Jane Doe, Staff Writer">', "", ("Jane Doe",)),
        ('<meta name="author" content="Мария Сидорова, главный редактор">', "", ("Мария Сидорова",)),
        ('<meta name="citation_author" content="King, Martin Luther, Jr.">', "", ("Martin Luther King Jr.",)),
        # capitals after a lone surname are its initials, not a degree
        ('<meta name="citation_author" content="Smith, M.A.">', "", ("M.A. Smith",)),
    ],
)
def test_a_date_degree_or_job_title_is_no_author(head, body, expected):
    result = extract(paper_page(head=head, body=body), url="https://papers.example/abs/1", content_type="text/html")
    assert result.authors == expected


PETROV_CANONICAL = '<link rel="canonical" href="https://petrov-blog.ru/posts/gpu">'


@pytest.mark.parametrize(
    "url, title, head, site_name",
    [
        # trafilatura names the site after the page's address (its canonical link's, og:url's, or the URL with
        # its port): the <title>'s end names it
        ("https://petrov-blog.ru/posts/gpu", "Как обучить модель / Блог Петрова",
         '<link rel="canonical" href="https://example.com/original-article">', "Блог Петрова"),
        ("https://amp.petrov-blog.ru/posts/gpu", "Как обучить модель / Блог Петрова", PETROV_CANONICAL, "Блог Петрова"),
        ("https://petrov-blog.ru:8443/posts/gpu", "Как обучить модель / Блог Петрова", "", "Блог Петрова"),
        # nothing does: a host the page is at is no site name (the domain column says it)
        ("https://petrov-blog.ru/posts/gpu", "Как обучить модель",
         '<link rel="canonical" href="https://example.com/original-article">', None),
        ("https://amp.petrov-blog.ru/posts/gpu", "Как обучить модель", PETROV_CANONICAL, None),
        ("https://amp.petrov-blog.ru/posts/gpu", "Как обучить модель",
         '<meta property="og:url" content="https://www.petrov-blog.ru/posts/gpu">', None),
        ("https://petrov-blog.ru:8443/posts/gpu", "Как обучить модель", "", None),
        ("https://amp.petrov-blog.ru/posts/gpu", "Как обучить модель",
         PETROV_CANONICAL + '<meta property="og:site_name" content="petrov-blog.ru">', None),
    ],
)  # fmt: skip
def test_site_name_is_never_a_host_of_the_page(url, title, head, site_name):
    page = blog_page(title, head, "<h1>Как обучить модель</h1>")
    assert extract(page, url=url, content_type="text/html").site_name == site_name


@pytest.mark.parametrize(
    "label", ["Как стать автором", "Become an author", "Read more", "Подробнее", "Читать далее", "Subscribe"]
)
def test_a_call_to_action_is_not_an_author(label):
    """Habr's header button "Как стать автором" (on every page) was the author of pages without a byline."""
    button = f'<header><a class="tm-header__become-author-btn" href="/sandbox/start/">{label}</a></header>'
    result = extract(paper_page(body=button), url="https://papers.example/abs/1", content_type="text/html")
    assert result.authors == ()


@pytest.mark.parametrize("label", ["Auteurs", "Authors", "Autoren", "Авторы", "Автор(ы)", "Author(s):"])
def test_a_menu_label_is_not_an_author(label):
    menu = f'<div class="menu-authors-container"><h3 class="title-authors"><a href="/authors/">{label}</a></h3></div>'
    result = extract(paper_page(body=menu), url="https://papers.example/abs/1", content_type="text/html")
    assert result.authors == ()


@pytest.mark.parametrize(
    "metas, expected",
    [
        # month precision and no day anywhere: htmldate would add today's day
        ([("citation_publication_date", "2021/6")], "2021-06"),
        ([("citation_publication_date", "2022")], "2022"),
        ([("article:published_time", "2020-01-20T07:39:00-05:00")], "2020-01-20"),
        ([("DC.date", "2015/02/09"), ("citation_online_date", "2019/03/29")], "2015-02-09"),
        # the first tag in order wins; one that says the same more precisely refines it
        ([("citation_publication_date", "2020/01/01"), ("article:published_time", "2020-03-27")], "2020-03-27"),
        ([("citation_publication_date", "2010/09"), ("citation_date", "2010/09/14")], "2010-09-14"),
        # a value not read whole is left to trafilatura
        ([("citation_date", "Dec 20, 2006")], "2006-12-20"),
        ([], None),
    ],
)
def test_published_date_from_the_pages_own_meta_tags(metas, expected):
    result = extract(paper_page(*metas), url="https://papers.example/abs/1", content_type="text/html")
    assert result.published == expected


@pytest.mark.parametrize(
    "body, expected",
    [
        # htmldate reads no Russian month names: it took the lone year, as 1 January
        ('<div class="byline">Автор: Мария Кузнецова · 7 февраля 2024 г.</div>', "2024-02-07"),
        ('<div class="post-meta"><span>1 марта 2021</span> · 5 мин</div>', "2021-03-01"),
        ('<p class="article-info">Опубликовано 3 мар. 2024 в 10:00</p>', "2024-03-03"),
        # a copyright footer's year is no publication date (it was 2019-01-01)
        ("<footer>© 2019 Блог про ML</footer>", None),
        ('<div class="date">2021</div>', None),
        # a month without a day was made the 1st (or today's day): no day is made up
        ('<div class="date">June 2021</div>', None),
        ('<div class="date">2021/06</div>', None),
        # a date written out in full stays, on the 1st too
        ("<p>Posted on June 1, 2021</p>", "2021-06-01"),
        ('<div class="date">1 June 2021</div>', "2021-06-01"),
        ("<p>Posted on March 7, 2024</p>", "2024-03-07"),
        # a date in the article's text is not the page's
        ("<p>7 февраля 2024 г. мы выпустили модель, и вот что из этого вышло.</p>", None),
    ],
)
def test_published_date_is_never_made_up(body, expected):
    result = extract(paper_page(body=body), url="https://papers.example/abs/1", content_type="text/html")
    assert result.published == expected


@pytest.mark.parametrize(
    "head, body, expected",
    [
        # only when the page was last modified: htmldate took that for the publication date
        ('<meta property="article:modified_time" content="2024-06-01T10:00:00Z">', "", None),
        ('<meta property="og:updated_time" content="2024-06-01T10:00:00Z">', "", None),
        ('<meta itemprop="dateModified" content="2024-06-01">', "", None),
        ('<meta http-equiv="last-modified" content="2024-06-01">', "", None),
        ("", '<p class="meta">Updated: June 1, 2024</p>', None),
        ("", '<div class="date">Last modified: 2024-06-01</div>', None),
        ("", '<time class="updated" datetime="2024-06-01T10:00:00Z">June 1, 2024</time>', None),
        ("", '<div class="post-meta">Обновлено: 1 июня 2024</div>', None),
        # the publication date the page also gives stands
        ('<meta property="article:modified_time" content="2024-06-01T10:00:00Z">',
         '<p class="meta">Posted on March 7, 2024</p>', "2024-03-07"),
        ("", '<p class="meta">Published March 7, 2024 · Updated June 1, 2024</p>', "2024-03-07"),
        ("", '<p class="meta">Updated June 1, 2024 | Published March 7, 2024</p>', "2024-03-07"),
        ("", '<time class="entry-date published" datetime="2024-03-07T10:00:00Z">March 7, 2024</time>'
             '<time class="updated" datetime="2024-06-01T10:00:00Z">June 1, 2024</time>', "2024-03-07"),
        ("", '<div class="post-meta">7 марта 2024 · обновлено 1 июня 2024</div>', "2024-03-07"),
        # ... and so does one on the day it was modified
        ('<meta property="article:modified_time" content="2024-06-01T10:00:00Z">',
         '<p class="meta">Posted on June 1, 2024</p>', "2024-06-01"),
        ("", '<time class="entry-date published updated" datetime="2024-06-01T10:00:00Z">June 1, 2024</time>',
         "2024-06-01"),
        # an editor's credit is no modification
        ("", '<p class="byline">Edited by Jane Doe, March 7, 2024</p>', "2024-03-07"),
    ],
)  # fmt: skip
def test_a_modification_date_is_no_publication_date(head, body, expected):
    result = extract(paper_page(head=head, body=body), url="https://papers.example/abs/1", content_type="text/html")
    assert result.published == expected


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\x00\x01\x02\xff\xfe" * 200,
        bytes(range(256)) * 40,
        b"<html><body><div><div><div>",
        b"<?xml version='1.0' encoding='utf-8'?><html><body><p>hi</p></body></html>",
        b"<html>" + b"<div>" * 5000 + b"deep" + b"</div>" * 5000 + b"</html>",
    ],
)
def test_garbage_served_as_html_never_raises(body):
    result = extract(body, url=URL, content_type="text/html")
    assert result.content_kind == "html"
    assert result.media_type == "text/html"
    assert isinstance(result.text, str)


def test_no_network_access(monkeypatch, article_en):
    """trafilatura and htmldate download when handed a URL-looking string; we never let them."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network access during extraction")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    for body in (b"http://127.0.0.1:9/page", b"https://127.0.0.1:9/", article_en):
        result = extract(body, url="http://127.0.0.1:9/page", content_type="text/html")
        assert result.content_kind == "html"
    assert attempts == []


# --------------------------------------------------------------------------- PDF


PAPER_PAGES = [
    [
        "arXiv:2403.01234v2 [cs.CL] 18 Mar 2024",
        "Sparse Attention at Scale",
        "Jane Doe and John Roe",
        "Transformers are expensive on long inputs. We study sparse attention patterns",
        "that cut the cost of long sequences without hurting accuracy.",
    ],
    ["The second page reports results on three long-document benchmarks."],
]


def test_pdf_text_and_metadata():
    body = make_pdf(
        PAPER_PAGES,
        info={
            "Title": "Sparse Attention at Scale",
            "Author": "Jane Doe, John Roe",
            "CreationDate": "D:20240318093000Z",
        },
    )
    result = extract(body, url="https://papers.example/a.pdf", content_type="application/pdf")
    assert result.content_kind == "pdf"
    assert result.media_type == "application/pdf"
    assert result.title == "Sparse Attention at Scale"
    assert result.authors == ("Jane Doe", "John Roe")
    assert result.published == "2024-03-18"
    assert result.language == "en"
    assert "We study sparse attention patterns" in result.text
    assert "three long-document benchmarks" in result.text  # the second page too
    assert result.charset is None
    assert result.reading_minutes == 1


@pytest.mark.parametrize(
    "info_title",
    [None, "", "Microsoft Word - draft_v3.docx", "untitled", "paper.pdf", "main.tex", "12345", "C:\\tmp\\x.doc"],
)
def test_pdf_junk_title_falls_back_to_first_line(info_title):
    info = {"Title": info_title} if info_title is not None else None
    body = make_pdf(PAPER_PAGES, info=info)
    result = extract(body, url="https://papers.example/a.pdf", content_type="application/pdf")
    # The arXiv side stamp is skipped.
    assert result.title == "Sparse Attention at Scale"


def test_pdf_unicode_metadata_and_date_precision():
    body = make_pdf(
        [["Page text in Latin-1 only."]],
        info={"Title": "Разреженное внимание в трансформерах", "Author": "Иван Петров", "CreationDate": "D:202304"},
    )
    result = extract(body, url="https://x.example/a.pdf", content_type="application/pdf")
    assert result.title == "Разреженное внимание в трансформерах"
    assert result.authors == ("Иван Петров",)
    assert result.published == "2023-04"


@pytest.mark.parametrize("content_type", ["application/octet-stream", "text/html", None, "application/x-pdf"])
def test_pdf_recognized_by_signature(content_type):
    body = make_pdf(PAPER_PAGES)
    result = extract(body, url="https://x.example/download?id=1", content_type=content_type)
    assert result.content_kind == "pdf"
    assert "Sparse Attention at Scale" in result.text


@pytest.mark.parametrize(
    "body",
    [
        b"%PDF-1.4\n",
        b"%PDF-1.7 garbage garbage garbage",
        make_pdf(PAPER_PAGES)[:300],
        make_pdf(PAPER_PAGES).replace(b"startxref", b"startxrof"),
    ],
)
def test_broken_pdf_never_raises(body):
    result = extract(body, url="https://x.example/a.pdf", content_type="application/pdf")
    assert result.content_kind == "pdf"
    assert isinstance(result.text, str)


@pytest.mark.parametrize(
    "title, junk",
    [
        ("Sparse Attention at Scale", False),
        ("Attention", False),
        ("Microsoft Word - thesis.docx", True),
        ("Untitled", True),
        ("slides.pptx", True),
        ("2403.01234", True),
        ("", True),
        (None, True),
    ],
)
def test_is_junk_title(title, junk):
    assert is_junk_title(title) is junk


# --------------------------------------------------------------------------- plain text and other kinds


def test_plain_text(fixtures):
    body = (fixtures / "content" / "note.txt").read_bytes()
    result = extract(body, url="https://x.example/note.txt", content_type="text/plain; charset=utf-8")
    assert result.content_kind == "text"
    assert result.media_type == "text/plain"
    assert result.title == "Reading notes: sparse attention"
    assert result.text == body.decode("utf-8").strip()
    assert result.language == "en"
    assert result.authors == ()


def test_plain_text_in_windows_1251_declared_as_utf8():
    text = "Заметки о квантовании\n\nКвантование весов до четырёх бит почти не ухудшает качество больших моделей."
    result = extract(text.encode("cp1251"), url="https://x.example/n.txt", content_type="text/plain; charset=utf-8")
    assert (result.content_kind, result.charset, result.title, result.language) == (
        "text",
        "cp1251",
        "Заметки о квантовании",
        "ru",
    )
    assert result.text == text


SHORT_RU_NOTE = (
    "Как обучить модель. Это короткий текст о том, как учить языковые модели на одной видеокарте. "
    "Мы разберём квантование, накопление градиентов и адаптеры."
)


@pytest.mark.parametrize("encoding", ["koi8_r", "cp1251"])
@pytest.mark.parametrize(
    "text, content_type",
    [
        (SHORT_RU_NOTE, "text/plain"),
        (SHORT_RU_NOTE, "text/plain; charset=utf-8"),
        (SHORT_RU_NOTE, "text/plain; charset=iso-8859-1"),
        ("Заметка о квантовании\nЧетыре бита на вес почти не портят модель.", "text/plain"),
        ("Как дообучить модель на одной видеокарте: квантование, накопление градиентов и адаптеры.", "text/plain"),
        ("ВАЖНО: ОБНОВЛЕНИЕ МОДЕЛИ ВЫЙДЕТ ЗАВТРА УТРОМ.", "text/plain"),
    ],
    ids=["paragraph", "paragraph-utf8-label", "paragraph-latin1-label", "two-lines", "one-line", "all-caps"],
)
def test_short_russian_plain_text_in_either_legacy_charset(text, content_type, encoding):
    # KOI8-R read as windows-1251 (and the reverse) is clean Cyrillic too, to the mess ratio, in a paragraph or
    # less: a 190-character KOI8-R note came out "лБЛ ПВХЮЙФШ НПДЕМШ..." (windows-1251 wins a tie), language null.
    result = extract(text.encode(encoding), url="https://x.example/n.txt", content_type=content_type)
    assert (result.charset, result.title, result.text, result.language) == (
        encoding.replace("_", "-"),
        text.split("\n")[0],
        text,
        "ru",
    )


def test_markdown_title_drops_heading_marks():
    body = b"# Notes on RLHF\n\nReward models are trained on human preference pairs."
    result = extract(body, url="https://x.example/README.md", content_type="text/markdown")
    assert (result.content_kind, result.title) == ("text", "Notes on RLHF")


@pytest.mark.parametrize(
    "body, content_type, media_type",
    [
        (png_bytes(), "image/png", "image/png"),
        (png_bytes(), "text/html; charset=utf-8", "image/png"),  # mislabelled
        (png_bytes(), None, "image/png"),
        (b"PK\x03\x04" + b"\x00" * 100, "application/zip", "application/zip"),
        (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100, "video/mp4", "video/mp4"),
        (b"\x1f\x8b\x08\x00" + b"\x00" * 50, "application/octet-stream", "application/gzip"),
        (b"\x00\x01binary\x02\x03" * 10, "application/octet-stream", "application/octet-stream"),
        (b'{"a": 1}', "application/json", "application/json"),
        (b"body { color: red }", "text/css", "text/css"),
    ],
)
def test_other_content_is_recorded_not_extracted(body, content_type, media_type):
    assert extract(body, url="https://x.example/f", content_type=content_type) == Extracted(
        content_kind="other", media_type=media_type
    )


@pytest.mark.parametrize(
    "head, declared, expected",
    [
        (b"<!DOCTYPE html><html>", None, ("html", "text/html")),
        (b"  <!-- generated --><html lang=en>", "application/octet-stream", ("html", "text/html")),
        (b"Just some notes.\n", None, ("text", "text/plain")),
        (b"<html>", "application/xhtml+xml", ("html", "application/xhtml+xml")),
        (b"x", "text/x-rst", ("text", "text/x-rst")),
        (b"x", "application/pdf", ("pdf", "application/pdf")),
    ],
)
def test_classify_content(head, declared, expected):
    assert classify_content(head, declared) == expected


@pytest.mark.parametrize(
    "header, expected",
    [
        ('Text/HTML; charset="UTF-8"', ("text/html", "UTF-8")),
        ("text/html;charset=windows-1251", ("text/html", "windows-1251")),
        ("application/pdf", ("application/pdf", None)),
        ("", (None, None)),
        (None, (None, None)),
        ("garbage", (None, None)),
    ],
)
def test_parse_content_type(header, expected):
    assert parse_content_type(header) == expected


# --------------------------------------------------------------------------- metadata helpers


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("By Jane Doe, John Roe and jane doe (jane@example.org)", ("Jane Doe", "John Roe")),
        ("Vaswani, Ashish; Shazeer, Noam; Parmar, Niki", ("Ashish Vaswani", "Noam Shazeer", "Niki Parmar")),
        ("A. Smith & B. Jones", ("A. Smith", "B. Jones")),
        ("Иван Петров и Мария Сидорова", ("Иван Петров", "Мария Сидорова")),
        ("Автор: Иван Петров", ("Иван Петров",)),
        ("Posted by: Chris Coyier", ("Chris Coyier",)),
        ("@karpathy", ("karpathy",)),
        # A list that says it names only some of the authors ends as a cut list does.
        ("Jane Doe et al.", ("Jane Doe", "others")),
        ("A. Smith, B. Jones et al", ("A. Smith", "B. Jones", "others")),
        ("Jane Doe and others", ("Jane Doe", "others")),
        ("Иванов И. И. и др.", ("Иванов И. И.", "others")),
        ("Иванов И.И., Петров П. П. и соавт.", ("Иванов И.И.", "Петров П. П.", "others")),
        ("Иван Петров и другие", ("Иван Петров", "others")),
        ("et al.", ()),
        # A final period is an initial's ("Петров А. В."), not punctuation ("Jane Doe.").
        ("Петров А. В.", ("Петров А. В.",)),
        ("Smith J.", ("Smith J.",)),
        ("Jane Doe.", ("Jane Doe",)),
        # a date, a reading time, a degree or a job title next to a name is no author; a suffix is part of it
        ("Jane Doe; March 5", ("Jane Doe",)),
        ("By Jane Doe | Tue, March 5, 2024 10:00 GMT", ("Jane Doe",)),
        ("Jane Doe · 5 min read", ("Jane Doe",)),
        ("Иван Петров · 5 марта 2024 г.", ("Иван Петров",)),
        ("John Smith Jr; PhD", ("John Smith Jr",)),
        ("Иван Петров; К Т Н", ("Иван Петров",)),  # trafilatura's "к.т.н."
        ("Jane Doe, MD, John Roe, Ph.D.", ("Jane Doe", "John Roe")),
        ("Jane Doe, Senior Editor at Example News", ("Jane Doe",)),
        ("Иван Петров, к.т.н., доцент", ("Иван Петров",)),
        ("Jane Doe, John Smith, Jr.", ("Jane Doe", "John Smith Jr.")),
        ("King, Martin Luther, Jr.; Doe, Jane, PhD", ("Martin Luther King Jr.", "Jane Doe")),
        ("Smith, MD; Jones, AB", ("MD Smith", "AB Jones")),  # surname-first with initials
        ("May Smith", ("May Smith",)),
        ("Иван Дронов и Мария Петрова", ("Иван Дронов", "Мария Петрова")),
        ("https://twitter.com/someone", ()),
        ("jane@example.org", ()),
        ("Admin", ()),
        ("Auteurs", ()),
        ("Автор(ы):", ()),
        ("By", ()),
        (["Jane Doe", "JANE DOE", "John Roe"], ("Jane Doe", "John Roe")),
        ("", ()),
        (None, ()),
    ],
)
def test_normalize_authors(raw, expected):
    assert normalize_authors(raw) == expected


def many_names(count: int) -> list[str]:
    return [f"Author{i} Family{i}" for i in range(count)]


@pytest.mark.parametrize(
    "raw, expected",
    [
        (many_names(100), tuple(many_names(100))),
        (many_names(MAX_AUTHORS), tuple(many_names(MAX_AUTHORS))),
        # more than a paper ever has: the cut is said, as BibTeX says it ("and others")
        (many_names(MAX_AUTHORS + 1), (*many_names(MAX_AUTHORS), "others")),
        ("; ".join(many_names(3000)), (*many_names(MAX_AUTHORS), "others")),
        # duplicates are not counted
        (many_names(MAX_AUTHORS) + many_names(5), tuple(many_names(MAX_AUTHORS))),
    ],
)
def test_normalize_authors_keeps_every_real_author(raw, expected):
    assert normalize_authors(raw) == expected


@pytest.mark.parametrize("count", [21, 100, 300])
def test_every_citation_author_of_a_page_is_kept(count):
    names = many_names(count)
    page = paper_page(*[("citation_author", name) for name in names])
    assert extract(page, url="https://papers.example/abs/1", content_type="text/html").authors == tuple(names)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("2023-01-05T10:00:00Z", "2023-01-05"),
        ("2023-1-5", "2023-01-05"),
        ("2023-04", "2023-04"),
        ("2021/6", "2021-06"),
        ("2015/02/09", "2015-02-09"),
        ("2023", "2023"),
        ("2023-13-01", "2023"),
        ("0001-01-01", None),
        ("yesterday", None),
        (None, None),
    ],
)
def test_normalize_date(raw, expected):
    assert normalize_date(raw) == expected


@pytest.mark.parametrize(
    "text, language, minutes",
    [
        ("word " * 2280, "en", 10),  # 228 wpm
        ("слово " * 1840, "ru", 10),  # 184 wpm
        ("word " * 2000, None, 10),  # 200 wpm default
        ("word " * 10, "en", 1),  # never below one minute
        ("字" * 2550, "zh", 10),  # 255 characters a minute
        ("", "en", None),
        ("... !!! ", "en", None),
    ],
)
def test_reading_minutes(text, language, minutes):
    assert reading_minutes(text, language) == minutes


@pytest.mark.parametrize(
    "text, language",
    [
        ("Нейронные сети учатся на больших корпусах текстов и картинок.", "ru"),
        ("Neural networks learn from large corpora of text and images.", "en"),
        ("Нейронні мережі навчаються на великих корпусах текстів і зображень.", "uk"),
        ("Neuronale Netze lernen aus großen Text- und Bildkorpora.", "de"),
        ("ok", None),
        ("12345 67890 !!!", None),
        ("https://example.org/a/b/c/d/e", None),
        ("", None),
        (None, None),
    ],
)
def test_detect_language(text, language):
    assert detect_language(text) == language


@pytest.mark.parametrize(
    "tag, language",
    [("ru-RU", "ru"), ("en_US", "en"), ("EN", "en"), ("x-default", None), ("und", None), ("", None), (None, None)],
)
def test_normalize_language_tag(tag, language):
    assert normalize_language_tag(tag) == language


# --------------------------------------------------------------------------- process pool contract


def test_extract_runs_in_a_spawned_process_pool(article_en):
    """The fetch stage runs extract() in worker processes: it must import cleanly
    in a fresh interpreter and its result must pickle."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        result = pool.submit(extract, article_en, url=URL, content_type="text/html").result(timeout=120)
    assert result == extract(article_en, url=URL, content_type="text/html")
    assert pickle.loads(pickle.dumps(result)) == result


# --------------------------------------------------------------------------- properties


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.one_of(
        st.binary(max_size=3000),
        st.text(max_size=2000).map(lambda s: s.encode("utf-8", "surrogatepass")),
        st.builds(
            lambda prefix, rest: prefix + rest,
            st.sampled_from([b"<html>", b"%PDF-1.4\n", b"\x89PNG\r\n\x1a\n", b"<!doctype html><title>", b""]),
            st.binary(max_size=2000),
        ),
    ),
    content_type=st.one_of(
        st.none(),
        st.sampled_from(
            [
                "text/html",
                "text/html; charset=koi8-r",
                "application/pdf",
                "text/plain",
                "image/png",
                "application/octet-stream",
                "text/plain; charset=utf-16",
                "weird",
                "text/html; charset=nonsense",
            ]
        ),  # fmt: skip
    ),
)
def test_extract_never_raises(body, content_type):
    result = extract(body, url="https://x.example/", content_type=content_type)
    assert result.content_kind in ("html", "pdf", "text", "other")
    assert isinstance(result.text, str)
    assert isinstance(result.authors, tuple)
    assert result.word_count >= 0
    assert (result.reading_minutes is None) == (result.word_count == 0) or not result.text
    pickle.dumps(result)


# --------------------------------------------------------------------------- real pages


@pytest.mark.parametrize(
    "path, language, title_part",
    [
        ("habr-html/habrahabr_telegram_bot_article_2018__PaskasBot.html", "ru", "телеграм бота"),
        ("habr-html/habr_post_1000_2018__cloud-crawler.html", "ru", "Wikiasaria"),
        ("other-article-html/4pda_ru_news_article__embed.html", "ru", "Clown of Duty"),
        ("other-article-html/github_blog_spiceland__trafilatura.html", "en", "Erin Spiceland"),
        ("other-article-html/stackoverflow_blog_rust__trafilatura.html", "en", "Rust"),
        ("other-article-html/medium_com__postlight-parser.html", "en", "What’s The Future"),
        ("other-article-html/wikipedia_tsne__trafilatura.html", "en", "stochastic neighbor embedding"),
    ],
)
def test_real_article_pages(realworld, path, language, title_part):
    body = (realworld / path).read_bytes()
    result = extract(body, url="https://example.org/article", content_type="text/html")
    assert result.content_kind == "html"
    assert title_part in result.title
    assert result.language == language
    assert result.word_count > 150
    assert result.reading_minutes >= 1


@pytest.mark.parametrize(
    "path, encoding, content_type, title_part, language",
    [
        ("other-article-html/4pda_ru_news_article__embed.html", "cp1251", "text/html; charset=utf-8", "Состоялся релиз", "ru"),
        ("other-article-html/4pda_ru_news_article__embed.html", "cp1251", "text/html; charset=iso-8859-1", "Состоялся релиз", "ru"),
        ("other-article-html/4pda_ru_news_article__embed.html", "koi8_r", "text/html; charset=utf-8", "Состоялся релиз", "ru"),
        ("other-article-html/4pda_ru_news_article__embed.html", "koi8_r", "text/html; charset=iso-8859-1", "Состоялся релиз", "ru"),
        ("other-article-html/aoc_media_page__wallabag.html", "cp1252", "text/html; charset=utf-8", "AOC", "fr"),
    ],
)  # fmt: skip
def test_real_pages_in_legacy_charsets(realworld, path, encoding, content_type, title_part, language):
    """The real pages re-encoded, their own charset tags dropped (repro: a server that transcodes)."""
    markup = (realworld / path).read_text(encoding="utf-8")
    body = re.sub(r"<meta[^>]*charset[^>]*>", "", markup).encode(encoding, errors="replace")
    result = extract(body, url="https://example.org/article", content_type=content_type)
    assert result.charset == encoding.replace("_", "-")
    assert title_part in result.title
    assert result.language == language


@pytest.mark.parametrize(
    "path, published",
    [
        ("other-article-html/acl_anthology_2021.naacl-main.208__papis.html", "2021-06"),  # citation_publication_date 2021/6
        ("other-article-html/usenix_sec22_bulekov__papis.html", "2022"),
        ("other-article-html/hal_theses_tel-02083632__papis.html", "2015-02-09"),
        ("other-article-html/biorxiv_2020.03.22.002386v3__metascraper.html", "2020-03-27"),
    ],
)
def test_real_paper_pages_published(realworld, path, published):
    result = extract((realworld / path).read_bytes(), url="https://example.org/abs", content_type="text/html")
    assert result.published == published


@pytest.mark.parametrize(
    "path, authors",
    [
        (
            "arxiv-abs-html/abs_1706.03762__metascraper.html",
            ("Ashish Vaswani", "Noam Shazeer", "Niki Parmar", "Jakob Uszkoreit", "Llion Jones", "Aidan N. Gomez",
             "Lukasz Kaiser", "Illia Polosukhin"),
        ),
        ("arxiv-abs-html/abs_1902.02534_head_only__commonmeta.html", ("Ivan Heibi", "Silvio Peroni", "David Shotton")),
        (
            "arxiv-abs-html/abs_2106.09608_2021__ReMarkableDropboxSyncup.html",
            ("Prithviraj Ammanabrolu", "Mark O. Riedl"),
        ),
        (
            "other-article-html/springer_10.1007_s10924-010-0192-1__papis.html",
            ("Sanchita Bandyopadhyay-Ghosh", "Robert Jeng", "Joydeep Mukherjee", "Mohini Sain"),
        ),
        ("other-article-html/nber_w29971__papis.html", ("David Lucca", "Jonathan H. Wright")),
        ("other-article-html/medium_webpack-3-official-release__metascraper.html", ("Sean T. Larkin",)),
        ("other-article-html/aoc_media_page__wallabag.html", ()),  # "Auteurs" is a menu label
        ("habr-html/habr_search_html_css_2024__pythonNetsParsing.html", ()),  # "Как стать автором" is a button
    ],
)  # fmt: skip
def test_real_paper_pages_authors(realworld, path, authors):
    body = (realworld / path).read_bytes()
    result = extract(body, url="https://example.org/abs", content_type="text/html")
    assert result.authors == authors


@pytest.mark.parametrize(
    "path, site_name",
    [
        ("other-article-html/biorxiv_2020.03.22.002386v3__metascraper.html", "bioRxiv"),
        ("other-article-html/4pda_ru_news_article__embed.html", "4PDA - Новости мира мобильных устройств"),
    ],
)
def test_real_pages_site_name(realworld, path, site_name):
    result = extract((realworld / path).read_bytes(), url="https://example.org/abs", content_type="text/html")
    assert result.site_name == site_name


@pytest.mark.parametrize(
    "path, title, site_name",
    [
        # og:title is the site's name: the <title> has the page's own
        ("habr-html/habr_search_html_css_2024__pythonNetsParsing.html", "Результаты поиска по запросу «html css»", "Хабр"),
        ("habr-html/habrahabr_telegram_bot_article_2018__PaskasBot.html", "Создание и хостинг телеграм бота. От А до Я",
         "Хабрахабр"),
        ("other-article-html/usenix_sec22_bulekov__papis.html", "Morphuzz: Bending (Input) Space to Fuzz Virtual Devices",
         "USENIX"),
        ("other-article-html/4pda_ru_news_article__embed.html", "Состоялся релиз Clown of Duty — пародии на Call of Duty",
         "4PDA - Новости мира мобильных устройств"),
        ("other-article-html/medium_com__postlight-parser.html", "WTF? What’s The Future?", "Medium"),
        # the site's name as its <title> and header write it (citation_journal_title says "PLOS ONE")
        ("other-article-html/plos_pone.0000001__metascraper.html", "Neural Substrate of Cold-Seeking Behavior in Endotoxin Shock",
         "PLOS One"),
        # og:title ends in the site's name: the title is the <h1>
        ("other-article-html/css-tricks_scrollbar_article__embed.html", "CSS Scrollbar With Progress Meter",
         "CSS-Tricks"),
        ("other-article-html/stackoverflow_blog_rust__trafilatura.html", "What is Rust and why is it so popular?",
         "Stack Overflow Blog"),
        ("other-article-html/bukvy_poroshenko__metascraper.html",
         "Poroshenko Accuses Authorities of Falsifying Sanctions Decree: Supreme Court Demands Evidence from the "
         "Government", "Букви"),
        ("other-article-html/springer_10.1007_s10924-010-0192-1__papis.html",
         "In Vitro Cytotoxicity of Amylose-Based Bioplastic for Packaging Applications", "SpringerLink"),
        ("habr-html/habr_all_posts_list_2021__netology.html", "Все публикации подряд", "Хабр"),
        # the <h1>'s case, not JSON-LD's; the site, not its publisher (JSON-LD's "Wikimedia Foundation, Inc.")
        ("other-article-html/wikipedia_tsne__trafilatura.html", "t-distributed stochastic neighbor embedding",
         "Wikipedia"),
        # a byline ends Substack's <title>: the site is JSON-LD's publisher
        ("other-article-html/substack_simonsarris_agency__metascraper.html", "The Most Precious Resource is Agency",
         "The Map is Mostly Water"),
    ],
)  # fmt: skip
def test_real_pages_title_and_site_name(realworld, path, title, site_name):
    result = extract((realworld / path).read_bytes(), url="https://example.org/article", content_type="text/html")
    assert (result.title, result.site_name) == (title, site_name)
