import io

import pytest

from harvester.errors import SourceError
from harvester.links import links_in_post
from harvester.models import Preview
from harvester.sources import detect_format, read_posts
from harvester.sources.text import parse_text, sniff


def test_dump_with_header_cards_and_boundaries(fixtures):
    path = fixtures / "text" / "channel_dump.txt"
    with open(path, "rb") as stream:
        posts = list(read_posts(stream, str(path)))
    assert [post.text.splitlines()[0] for post in posts] == [
        "# Attention Is All You Need, again",
        "Новый датасет: https://huggingface.co/datasets/HuggingFaceFW/fineweb-edu.",
        "Статья на Хабре: https://habr.com/ru/company/ods/blog/709222/",
        "Полная версия поста: https://huggingface.co/blog/welcome-openai-gpt-oss",
        "Видео разбор: https://youtu.be/dQw4w9WgXcQ?si=abc123",
    ]
    assert {post.channel for post in posts} == {"ML заметки"}
    assert [post.forwarded_from for post in posts] == [None, "Data Digest", None, None, None]
    # The header and its link are not a post.
    assert not any("ml_notes_blog" in post.text for post in posts)
    # Noise lines are dropped.
    assert not any("VIEW IN TELEGRAM" in post.text or "👍12" in post.text for post in posts)
    assert posts[1].previews == [
        Preview(
            site_name="GitHub",
            title="GitHub - huggingface/datatrove: Freeing data processing from scripting madness",
            description="Freeing data processing from scripting madness by providing a set of platform-agnostic "
            "customizable pipeline processing blocks.",
            url=None,
        )
    ]
    assert posts[2].previews == [
        Preview(
            site_name="Хабр",
            title="ChatGPT как инструмент для поиска: решаем основную проблему",
            description="Вышедшая чуть больше месяца назад ChatGPT уже успела нашуметь",
            url="https://habr.com/ru/company/ods/blog/709222/",
        )
    ]


@pytest.mark.parametrize(
    "text, channel",
    [
        ("Title\n10 subscribers\nAbout\nDownload Telegram\nPost https://a.example/x", "Title"),
        ("about me Whois: https://t.me/some_channel/12 Лс: @someone\nPost https://a.example/x", "some_channel"),
        ("Title\n1.5K subscribers\n2 links\nPost https://a.example/x", "Title"),
    ],
)
def test_header_gives_channel_and_is_not_a_post(text, channel):
    posts = parse_text(text)
    assert [post.text for post in posts] == ["Post https://a.example/x"]
    assert posts[0].channel == channel


def test_channel_falls_back_to_file_name():
    posts = list(read_posts(io.BytesIO(b"Just a post https://a.example/x\n"), "dumps/my_channel.txt"))
    assert posts[0].channel == "my_channel"


@pytest.mark.parametrize(
    "text, expected",
    [
        # Forwarded-from starts a post.
        ("one\nForwarded from X\ntwo", [("one", None), ("two", "X")]),
        # Reactions end one.
        ("one\n👍1🔥1\ntwo", [("one", None), ("two", None)]),
        ("one\n❤ 12 👏 3\ntwo", [("one", None), ("two", None)]),
        # "Read more" ends one, and glued text starts the next.
        ("one\nЧитать полностью…two", [("one", None), ("two", None)]),
        # A placeholder after content ends the post at the next text line.
        ("one\nPlease open Telegram to view this post\nVIEW IN TELEGRAM\ntwo", [("one", None), ("two", None)]),
        # A markdown header starts a post.
        ("one\n# Two\nbody", [("one", None), ("# Two\nbody", None)]),
        # A closing hashtag line after a body ends it; under a title it does not.
        ("a\nb\nc\n#tag\nnext", [("a\nb\nc\n#tag", None), ("next", None)]),
        ("Title\n#tag\nbody", [("Title\n#tag\nbody", None)]),
        # Blank lines inside a post are kept.
        ("one\n\ntwo", [("one\n\ntwo", None)]),
    ],
)
def test_post_boundaries(text, expected):
    assert [(post.text, post.forwarded_from) for post in parse_text(text)] == expected


def test_card_after_hashtags_with_unknown_site_gets_matching_url():
    text = "Top-p explained: https://docs.cohere.ai/docs/top-p\n#llm\nCohere AI\nTop-k & Top-p\nUse the API"
    (post,) = parse_text(text)
    assert post.previews == [Preview("Cohere AI", "Top-k & Top-p", "Use the API", "https://docs.cohere.ai/docs/top-p")]


@pytest.mark.parametrize(
    "line, site, url",
    [
        ("Релиз 🔥https://github.com/openai/whisper🔥", "GitHub", "https://github.com/openai/whisper"),
        ("Код https://github.com/karpathy/nanoGPTСмотрите", "GitHub", "https://github.com/karpathy/nanoGPT"),
        ("Библиотека **https://github.com/huggingface/trl**", "GitHub", "https://github.com/huggingface/trl"),
        (
            "См. https://en.wikipedia.org/wiki/Transformer_(machine_learning)",
            "Wikipedia",
            "https://en.wikipedia.org/wiki/Transformer_(machine_learning)",
        ),
        ("(см. https://github.com/a/b).", "GitHub", "https://github.com/a/b"),
        ("Код: github.com/a/b", "GitHub", "https://github.com/a/b"),
    ],
)
def test_card_url_is_the_link_as_the_link_finder_trims_it(line, site, url):
    (post,) = parse_text(f"{line}\n{site}\nCard title\nCard description")
    assert [preview.url for preview in post.previews] == [url]


@pytest.mark.parametrize(
    "title, description, expected_title, expected_description",
    [
        ("Scaling Laws &mdash; a review", "Q&amp;A with the authors", "Scaling Laws — a review", "Q&A with the authors"),
        ("Top-k &#8212; Top-p &#x2014; Min-p", None, "Top-k — Top-p — Min-p", None),
        ("Why &amp;lt;b&amp;gt; is escaped", "AT&T &copy R&D", "Why &lt;b&gt; is escaped", "AT&T &copy R&D"),
        ("Tom & Jerry &unknownentity;", "Use the API", "Tom & Jerry &unknownentity;", "Use the API"),
    ],
)
def test_card_entities_are_decoded_once(title, description, expected_title, expected_description):
    lines = ["See https://example.org/post", "#llm", "Example Blog", title] + ([description] if description else [])
    (post,) = parse_text("\n".join(lines))
    assert post.previews == [Preview("Example Blog", expected_title, expected_description, "https://example.org/post")]


@pytest.mark.parametrize(
    "text, expected",
    [
        # A site name on a label line of its own, then the URL: not a card, all three links are the post's.
        (
            "Ссылки ниже\nСтатья:\narXiv\nhttps://arxiv.org/abs/2401.01234\nКод:\nGitHub\n"
            "https://github.com/facebookresearch/llama\nВеса:\nHugging Face\nhttps://huggingface.co/meta-llama/Llama-2-7b",
            [
                (
                    "Ссылки ниже\nСтатья:\narXiv\nhttps://arxiv.org/abs/2401.01234\nКод:\nGitHub\n"
                    "https://github.com/facebookresearch/llama\nВеса:\nHugging Face\n"
                    "https://huggingface.co/meta-llama/Llama-2-7b",
                    [],
                    [
                        "https://arxiv.org/abs/2401.01234",
                        "https://github.com/facebookresearch/llama",
                        "https://huggingface.co/meta-llama/Llama-2-7b",
                    ],
                )
            ],
        ),
        # A short label after a URL line, then a URL: one post, no card.
        (
            "Все ссылки:\nhttps://ai.meta.com/blog/llama/\nВеса модели\nhttps://huggingface.co/meta-llama/L3\n"
            "Код\ngithub.com/meta-llama/llama3",
            [
                (
                    "Все ссылки:\nhttps://ai.meta.com/blog/llama/\nВеса модели\nhttps://huggingface.co/meta-llama/L3\n"
                    "Код\ngithub.com/meta-llama/llama3",
                    [],
                    [
                        "https://ai.meta.com/blog/llama/",
                        "https://huggingface.co/meta-llama/L3",
                        "https://github.com/meta-llama/llama3",
                    ],
                )
            ],
        ),
        # A card with no description, then the next post, whose first line holds a link (a URL, an arXiv id).
        (
            "Полезный инструмент\nhttps://github.com/astral-sh/uv\nGitHub\nGitHub - astral-sh/uv\n"
            "Новая статья от DeepMind https://arxiv.org/abs/2401.01234",
            [
                (
                    "Полезный инструмент\nhttps://github.com/astral-sh/uv",
                    [Preview("GitHub", "GitHub - astral-sh/uv", None, "https://github.com/astral-sh/uv")],
                    ["https://github.com/astral-sh/uv", "https://github.com/astral-sh/uv"],
                ),
                ("Новая статья от DeepMind https://arxiv.org/abs/2401.01234", [], ["https://arxiv.org/abs/2401.01234"]),
            ],
        ),
        (
            "Полезный инструмент\nhttps://github.com/astral-sh/uv\nGitHub\nGitHub - astral-sh/uv\narXiv:2401.01234",
            [
                (
                    "Полезный инструмент\nhttps://github.com/astral-sh/uv",
                    [Preview("GitHub", "GitHub - astral-sh/uv", None, "https://github.com/astral-sh/uv")],
                    ["https://github.com/astral-sh/uv", "https://github.com/astral-sh/uv"],
                ),
                ("arXiv:2401.01234", [], ["https://arxiv.org/abs/2401.01234"]),
            ],
        ),
    ],
    ids=["site-names-on-label-lines", "short-labels-after-urls", "next-post-url-after-card", "next-post-id-after-card"],
)
def test_a_line_holding_a_link_is_never_a_card_title_or_description(text, expected):
    posts = parse_text(text)
    assert [(post.text, post.previews, [link.url for link in links_in_post(post)]) for post in posts] == expected


def test_card_ignores_truncated_urls():
    text = "See https://huggingface.co/blog/welcome-open...\nHugging Face\nWelcome\nDescription"
    (post,) = parse_text(text)
    assert post.previews[0].url is None


@pytest.mark.parametrize(
    "text, href, anchor_text",
    [
        (
            "Read [the annotated transformer](https://nlp.seas.harvard.edu/annotated-transformer/) now",
            "https://nlp.seas.harvard.edu/annotated-transformer/",
            "the annotated transformer",
        ),
        (
            "[Transformer](https://en.wikipedia.org/wiki/Transformer_(deep_learning_architecture))",
            "https://en.wikipedia.org/wiki/Transformer_(deep_learning_architecture)",
            "Transformer",
        ),
        ("([a](https://example.com/a_(b)_c)).", "https://example.com/a_(b)_c", "a"),
    ],
)
def test_markdown_links_are_anchors(text, href, anchor_text):
    (post,) = parse_text(text)
    assert [(anchor.href, anchor.text) for anchor in post.anchors] == [(href, anchor_text)]


@pytest.mark.parametrize(
    "head, accepted",
    [
        (b"Just text", True),
        ("Привет, мир".encode(), True),
        (b"\xef\xbb\xbfBOM text", True),
        (b'{"name": "x"}', False),
        (b"[1, 2]", False),
        (b'[{"a": 1}]', False),
        (b"[notes](https://github.com/a/b) on transformers", True),
        # Text that starts like JSON but stops being JSON before the head ends.
        (b"[1] Attention Is All You Need https://arxiv.org/abs/1706.03762", True),
        ("[12.05.2024 10:00] Борис: https://github.com/a/b".encode(), True),
        ("{Пост} https://github.com/a/b".encode(), True),
        (b"[ ] read https://github.com/a/b", True),
        (b"[1, 2] and https://github.com/a/b", True),
        # JSON, whole or cut anywhere.
        (b'{"messages": [{"id": 1, "text": "cut in a stri', False),
        (b'{"messages": [{"id": 1, "ok": tr', False),
        (b'[1, 2, -0.', False),
        (b"[" * 20_000, False),
        (b"[" + b"1" * 5000 + b"]", False),
        (b"<!DOCTYPE html><html>", False),
        # Stylesheets and scripts, like the css/ and js/ files of an HTML export.
        (
            (
                b"body {\n    margin: 0;\n    font: 12px/18px 'Open Sans',\"Lucida Sans Unicode\",Arial;\n}\n.section.calls {\n"
                b"    background-image: url(../images/section_calls.png);\n}\n"
            ),
            False,
        ),
        (b"body{color:red}\n/* https://fonts.googleapis.com/css */\n", False),
        (b"h1,\nh2 {\n  color: red;\n}\n", False),
        (b"@import url(x.css);\nbody { margin: 0 }\n", False),
        (
            (
                b'"use strict";\n\nwindow.AllowBackFromHistory = false;\nfunction CheckLocation() {\n    var start = "#go";\n'
                b"    if (location.hash == start) {\n        GoToMessage(1);\n    }\n}\n"
            ),
            False,
        ),
        (b"/* license\n * text\n */\n(function () {\n  var a = 1;\n})();\n", False),
        # ... while prose that starts like code is text.
        (b"function calling in GPT: https://github.com/a/b", True),
        ("Результаты {accuracy: 0.9}\nПост https://x.org/a\nещё текст".encode(), True),
        (b"* item https://x.org/a\n* another item\n", True),
        (b"\x89PNG\r\n\x1a\n\x00\x00", False),
        (bytes(range(128, 256)) * 4, False),
        (b"", False),
    ],
)
def test_sniff(head, accepted):
    assert sniff(head) is accepted


def test_binary_file_is_an_unknown_format():
    from harvester.errors import UnknownFormatError

    with pytest.raises(UnknownFormatError, match="unknown format"):
        detect_format(b"\x00\x01\x02binary", "image.png")


def test_seed_dumps_parse(fixtures):
    from conftest import SEEDS

    counts = {}
    for path in sorted(SEEDS.glob("0*.txt")):  # the five dumps; channels.txt is a channel list
        with open(path, "rb") as stream:
            posts = list(read_posts(stream, str(path)))
        counts[path.name] = len(posts)
        assert all(post.text or post.previews for post in posts)
        # The header never leaks into posts.
        assert not any(post.text.startswith("Download Telegram") for post in posts)
    assert len(counts) == 5
    assert all(count >= 5 for count in counts.values())



CYRILLIC_DUMP = (
    "Канал про ML\nСмотрите статью https://example.com/статья про трансформеры и внимание\n\n"
    "Новая модель для генерации текста: https://github.com/foo/bar, обучена на русском корпусе.\n"
)
LATIN_DUMP = "ML notes\nSee https://example.com/café-résumé now\n\nhttps://github.com/foo/bar\n"
# Legacy letters that happen to form a UTF-8 character: KOI8-R "сё" (0xD3 0xA3), cp1251 "С»" (0xD1 0xBB).
YO_DUMP = "# Обзор моделей\nСегодня всё про трансформеры, читайте статью https://example.com/статья и пишите.\n"
QUOTES_DUMP = "# Новости\nАгентство «ТАСС» опубликовало доклад о моделях: https://example.com/статья читайте.\n"


@pytest.mark.parametrize(
    "text, encoding",
    [
        (CYRILLIC_DUMP, "utf-8"),
        (CYRILLIC_DUMP, "utf-8-sig"),
        (CYRILLIC_DUMP, "utf-16"),  # Windows Notepad's "Unicode": UTF-16-LE with its BOM
        (CYRILLIC_DUMP, "utf-32"),
        (CYRILLIC_DUMP, "cp1251"),
        (CYRILLIC_DUMP * 2, "koi8-r"),  # detected from a few sentences (one reads as Shift JIS too)
        (LATIN_DUMP, "cp1252"),  # Latin-1 bytes in an otherwise ASCII dump
        (YO_DUMP, "koi8-r"),
        (YO_DUMP.replace("всё", "её и ещё"), "koi8-r"),
        (QUOTES_DUMP, "cp1251"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16", "utf-32", "cp1251", "koi8-r", "cp1252", "koi8-r-vsyo", "koi8-r-eyo", "cp1251-quotes"],
)
def test_a_dump_is_read_in_its_encoding(text, encoding):
    # cp1251 was decoded as UTF-8, every letter U+FFFD, cutting https://example.com/статья short; a Latin-1
    # line gave https://example.com/caf; a UTF-16 dump was an "unknown format". A KOI8-R "всё" or a cp1251
    # «ТАСС» holds one valid UTF-8 character, which made the dump "UTF-8 with bad bytes": unknown format.
    data = text.encode(encoding)
    assert detect_format(data) == "text"
    for forced in (None, "text"):
        posts = list(read_posts(io.BytesIO(data), "dump.txt", forced))
        assert [post.text for post in posts] == [post.text for post in parse_text(text)]
        assert "https://example.com/" in posts[0].text


@pytest.mark.parametrize(
    "data, message",
    [
        # UTF-8 with one Latin-1 byte: neither UTF-8 nor any single legacy encoding.
        ("Статья https://example.com/статья\nhttps://example.com/café\n".encode().replace("é".encode(), b"\xe9"),
         "dump.txt: not UTF-8 text (byte 0xe9 at offset 69)"),
        (bytes(range(256)) * 8, "dump.txt: binary data, not a text dump"),
        (b"\xff\xfe" + "ok https://example.com/".encode("utf-16-le") + b"\x00\xd8\x41\x00",
         "dump.txt: not UTF-16 text (byte 0x00 at offset 48)"),
    ],
    ids=["mixed", "binary", "bad-utf-16"],
)
def test_a_dump_that_is_not_text_is_an_error_even_when_forced(data, message):
    # --format text made random bytes a post and a cut URL of a mixed dump, silently.
    with pytest.raises(SourceError) as raised:
        list(read_posts(io.BytesIO(data), "dump.txt", "text"))
    assert str(raised.value) == message
