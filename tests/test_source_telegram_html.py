import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harvester.errors import SourceError
from harvester.models import Anchor
from harvester.sources import detect_format, read_posts
from harvester.sources.telegram_html import export_date_to_iso, parse, parse_html, sniff

EXPORT = "telegram-html-export"


def load(fixtures, name):
    path = fixtures / "telegram_html" / name
    return parse_html(path.read_text(encoding="utf-8"), str(path))


# --------------------------------------------------------------- own fixtures --


def test_messages_service_skipped_joined_kept(fixtures):
    posts = load(fixtures, "messages.html")
    # message-1, message1 and message4 are service messages; 3 and 6 are joined ones.
    assert [post.post_id for post in posts] == ["2", "3", "5", "6", "7"]
    assert {post.channel for post in posts} == {"ML Дайджест"}
    assert {post.permalink for post in posts} == {None}
    assert [post.date for post in posts] == [
        "2020-06-05T12:00:00+03:00",
        "2020-06-05T12:05:30+03:00",
        "2020-06-06T09:30:00+03:00",
        "2020-06-06T09:30:01+03:00",
        "2020-06-07T23:10:05-04:30",
    ]
    assert not any("pinned" in post.text or "created" in post.text for post in posts)


def test_text_br_entities_anchors_and_hashtags(fixtures):
    post = load(fixtures, "messages.html")[0]
    assert post.text == (
        "Подборка на выходные:\n"
        "1) Attention Is All You Need\n"
        "2) код: https://github.com/example/attention\n"
        "Автор: @some_author & Аня\n"
        "#NLP #Статьи"
    )
    # Mention-name, hashtag and bot-command links have no href: not anchors.
    assert post.anchors == [
        Anchor("https://arxiv.org/abs/1706.03762", "Attention Is All You Need"),
        Anchor("https://github.com/example/attention", "https://github.com/example/attention"),
        Anchor("https://t.me/some_author", "@some_author"),
    ]
    assert post.hashtags == ["nlp", "статьи"]
    assert post.forwarded_from is None
    assert post.previews == []


def test_relative_internal_and_local_links(fixtures):
    post = load(fixtures, "messages.html")[1]
    assert post.text == "Ещё: пост в Papers, чат по ссылке, зеркало example.com/mirror 😎 /start см. выше js"
    # Site-relative links resolve against t.me; a schemeless URL opens as http://;
    # custom-emoji files, #go_to_message links and javascript: are dropped.
    assert post.anchors == [
        Anchor("https://t.me/s/papers_daily/55", "пост в Papers"),
        Anchor("https://t.me/+AbCdEf123", "по ссылке"),
        Anchor("http://example.com/mirror", "example.com/mirror"),
    ]
    assert post.hashtags == []


def test_forwarded_name_without_date_and_joined_forward_inherits(fixtures):
    posts = {post.post_id: post for post in load(fixtures, "messages.html")}
    assert posts["5"].forwarded_from == "Papers Daily"
    assert posts["5"].text == "Датасет недели: fineweb #datasets"
    assert posts["5"].anchors == [Anchor("https://huggingface.co/datasets/example/fineweb", "fineweb")]
    assert posts["5"].hashtags == ["datasets"]
    assert posts["6"].forwarded_from == "Papers Daily"
    assert posts["6"].anchors == [Anchor("https://example.org/part-2", "часть 2")]
    assert posts["7"].forwarded_from is None


def test_media_only_message_is_a_post_without_text(fixtures):
    post = load(fixtures, "messages.html")[-1]
    assert post.post_id == "7"
    assert post.text == ""
    assert post.anchors == [] and post.hashtags == []


def test_second_file_of_a_multi_file_export(fixtures):
    [post] = load(fixtures, "messages2.html")
    assert post.post_id == "1001"
    assert post.channel == "ML Дайджест"
    assert post.date == "2021-01-01T00:00:00"
    assert post.text == "С Новым годом! Итоги года: ml-digest.example.org/2020"
    # The reply_to link is not part of the text.
    assert post.anchors == [Anchor("https://ml-digest.example.org/2020", "ml-digest.example.org/2020")]


def test_parse_stream_and_read_posts(fixtures):
    path = fixtures / "telegram_html" / "messages.html"
    with open(path, "rb") as stream:
        via_detection = list(read_posts(stream, str(path)))
    with open(path, "rb") as stream:
        direct = list(parse(stream, str(path)))
    assert [post.post_id for post in via_detection] == ["2", "3", "5", "6", "7"]
    assert via_detection == direct
    assert {post.source for post in direct} == {str(path)}


def test_post_keys_differ_across_messages(fixtures):
    posts = load(fixtures, "messages.html") + load(fixtures, "messages2.html")
    assert len({post.key for post in posts}) == len(posts)


@pytest.mark.parametrize(
    ("title", "iso"),
    [
        ("05.06.2020 12:00:00", "2020-06-05T12:00:00"),
        ("05.06.2020 12:00:00 UTC+03:00", "2020-06-05T12:00:00+03:00"),
        ("29.04.2026 04:34:58 GMT+00:00", "2026-04-29T04:34:58+00:00"),
        ("01.12.2021 23:59:59 UTC-04:30", "2021-12-01T23:59:59-04:30"),
        ("01.12.2021 23:59:59 UTC+5:30", "2021-12-01T23:59:59+05:30"),
        ("01.12.2021 23:59:59 UTC", "2021-12-01T23:59:59+00:00"),
        ("  04.06.2020 14:16:12  ", "2020-06-04T14:16:12"),
        ("31.02.2020 10:00:00", None),
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_export_date_to_iso(title, iso):
    assert export_date_to_iso(title) == iso


@pytest.mark.parametrize("name", ["messages.html", "messages2.html"])
def test_fixtures_sniff_as_telegram_html(fixtures, name):
    head = (fixtures / "telegram_html" / name).read_bytes()[:65536]
    assert sniff(head)
    assert detect_format(head) == "telegram-html"


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b'<section id="history1" class="history"><p>Received 2012</p></section>',
        b'<div class="tgme_widget_message_wrap js-widget_message_wrap">',
        b"Forwarded from Papers Daily\nsome text",
    ],
)
def test_sniff_rejects_other_content(head):
    assert not sniff(head)


def test_bad_utf8_is_replaced():
    html = (
        b'<div class="page_wrap"><div class="history"><div class="message default clearfix" id="message9">'
        b'<div class="body"><div class="text">na\xefve</div></div></div></div></div>'
    )
    [post] = list(parse(io.BytesIO(html), "bad.html"))
    assert post.text == "na\ufffdve"
    assert post.post_id == "9"
    assert post.channel is None and post.date is None


@pytest.mark.parametrize(
    "data",
    [b"\x00\x01\x02\xff" * 200, b"just some words", b"<html><body><p>hello</p></body></html>"],
)
def test_non_export_content_raises_source_error(data):
    with pytest.raises(SourceError) as error:
        list(parse(io.BytesIO(data), "junk.html"))
    assert error.value.source == "junk.html"


def test_export_page_without_messages_is_empty():
    html = '<div class="page_wrap"><div class="page_header"><div class="text bold">Chats</div></div></div>'
    assert parse_html(html, "lists/chats.html") == []


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["<", ">", "/", '"', "'", "=", " ", "a", "#", "\n", "&amp;", "&#0;", '<div class="page_wrap">',
             '<div class="message default" id="message1">', '<div class="text">', "</div>", "<br>",
             '<a href="', '<div class="forwarded body">', '<div class="from_name">',
             '<div class="date" title="01.01.2020 10:00:00 UTC+99:99">', 'onclick="return ShowHashtag(&quot;x']
        ),
        max_size=40,
    ).map("".join)
)
def test_parse_html_never_crashes(html):
    try:
        posts = parse_html(html, "fuzz")
    except SourceError:
        return
    for post in posts:
        assert isinstance(post.text, str)


# --------------------------------------------------------- real captures --


def load_real(realworld, name):
    path = realworld / EXPORT / name
    if not path.exists():
        pytest.skip(f"{name} is not present")
    return parse_html(path.read_text(encoding="utf-8"), str(path))


def test_real_test_group_export(realworld):
    posts = load_real(realworld, "messages_test_group_2020__TelegramMessageParser.html")
    assert [(post.post_id, post.text, post.date) for post in posts] == [
        ("245235", "First message in this chat.", "2020-06-04T14:16:12"),
        ("245236", "Another Message in this chat.", "2020-06-04T14:16:23"),
        ("245237", "Last message! 🎉", "2020-06-04T14:16:47"),
    ]
    assert {post.channel for post in posts} == {"Test"}
    assert not any(post.anchors or post.forwarded_from or post.hashtags for post in posts)


def test_real_personal_chat_export(realworld):
    posts = load_real(realworld, "messages_personal_chat_2026__telegram-translate.html")
    # 70 default messages (40 with a header, 30 joined); the 3 service messages are skipped.
    assert len(posts) == 70
    assert posts[0].post_id == "305213"
    assert posts[-1].post_id == "305387"
    assert posts[0].date == "2026-04-29T04:34:58+00:00"
    assert posts[-1].date == "2026-05-01T07:43:27+00:00"
    assert {post.channel for post in posts} == {"Дарима Азаргаева"}
    by_id = {post.post_id: post for post in posts}
    assert by_id["305220"].text == "Да, я как раз вчера голову мыл"
    assert by_id["305250"].text == "Сплошные созвоны целый день.\nВсё хорошо, но по работе сделал немного."
    # Media-only messages (video messages, photos) have no text.
    assert sum(1 for post in posts if not post.text) == 11
    # "In reply to this message" links are outside the text: no anchors at all.
    assert not any(post.anchors for post in posts)
    assert not any(post.forwarded_from for post in posts)


def test_real_exports_sniff_as_telegram_html(realworld):
    files = sorted((realworld / EXPORT).glob("*.html"))
    if not files:
        pytest.skip("no export captures")
    for path in files:
        assert detect_format(path.read_bytes()[:65536], str(path)) == "telegram-html", path.name


def test_real_other_html_is_not_an_export(realworld):
    files = [
        path
        for folder in ("other-article-html", "habr-html", "github-html", "arxiv-abs-html", "telegram-web-preview")
        for path in sorted((realworld / folder).glob("*.html"))
    ]
    if not files:
        pytest.skip("no HTML captures")
    for path in files:
        assert not sniff(path.read_bytes()[:65536]), path.name
