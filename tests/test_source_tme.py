import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harvester.errors import SourceError
from harvester.models import Anchor, Preview
from harvester.sources import detect_format, read_posts
from harvester.sources.tme import parse, parse_page, sniff

WEB_PREVIEW = "telegram-web-preview"


def load(fixtures, name):
    path = fixtures / "tme" / name
    return parse_page(path.read_text(encoding="utf-8"), str(path))


# --------------------------------------------------------------- own fixtures --


def test_channel_page_posts_and_info(fixtures):
    posts, info = load(fixtures, "ml_digest_s.html")
    # The service message ml_digest/100 is no post, but it is the oldest message on the page.
    assert info == {"channel": "ml_digest", "title": "ML Дайджест", "before": 100, "exists": True}
    assert [post.post_id for post in posts] == ["ml_digest/101", "ml_digest/102", "ml_digest/104", "ml_digest/105"]
    assert {post.channel for post in posts} == {"ml_digest"}
    assert [post.permalink for post in posts] == [
        "https://t.me/ml_digest/101",
        "https://t.me/ml_digest/102",
        "https://t.me/ml_digest/104",
        "https://t.me/ml_digest/105",
    ]
    assert [post.date for post in posts] == [
        "2024-03-05T09:15:00+00:00",
        "2024-03-05T12:40:30+00:00",
        "2024-03-06T08:00:00+00:00",
        "2024-03-07T18:05:09+00:00",
    ]


def test_channel_info_header_is_not_a_post(fixtures):
    posts, _ = load(fixtures, "ml_digest_s.html")
    everything = " ".join(post.text for post in posts)
    assert "Статьи, код и датасеты" not in everything
    assert "Channel created" not in everything
    hrefs = {anchor.href for post in posts for anchor in post.anchors}
    assert "https://ml-digest.example.org" not in hrefs
    assert "https://t.me/ml_digest_chat" not in hrefs


def test_text_entities_br_cyrillic_and_relative_anchors(fixtures):
    post = load(fixtures, "ml_digest_s.html")[0][0]
    assert post.text == (
        "🔥 Трансформеры & внимание: статья и \"разбор\" в канале Papers.\n"
        "\n"
        "Чат для вопросов: вступить\n"
        "#NLP #Трансформеры $TON"
    )
    # Relative links resolve against https://t.me/; search links (#tag, $cashtag) are no anchors.
    assert post.anchors == [
        Anchor("https://arxiv.org/abs/1706.03762", "статья"),
        Anchor("https://t.me/s/papers_daily/55", "канале Papers"),
        Anchor("https://t.me/+AbCdEf123", "вступить"),
    ]
    assert post.hashtags == ["nlp", "трансформеры"]
    assert post.forwarded_from is None
    assert post.previews == []


def test_forwarded_reply_and_link_preview(fixtures):
    post = load(fixtures, "ml_digest_s.html")[0][1]
    assert post.forwarded_from == "Papers Daily"
    # The quoted text of the replied-to post does not leak into this post.
    assert post.text == "Код к статье выложили: репозиторий.\nПодробности — в @papers_daily"
    assert post.anchors == [
        Anchor("https://github.com/example/attention", "репозиторий"),
        Anchor("https://t.me/papers_daily", "@papers_daily"),
    ]
    assert post.previews == [
        Preview(
            site_name="GitHub",
            title="GitHub - example/attention: Attention is all you need, re-implemented",
            description="A minimal PyTorch implementation.\nMIT licensed.",
            url="https://github.com/example/attention",
        )
    ]


def test_media_only_post_forwarded_from_hidden_author(fixtures):
    post = load(fixtures, "ml_digest_s.html")[0][2]
    assert post.post_id == "ml_digest/104"
    assert post.text == ""
    assert post.forwarded_from == "Скрытый автор"
    assert post.anchors == [] and post.previews == [] and post.hashtags == []


def test_blockquote_lines_skipped_links_and_preview_without_title(fixtures):
    post = load(fixtures, "ml_digest_s.html")[0][3]
    # The video's running time (a <time> without datetime) is not the post date.
    assert post.date == "2024-03-07T18:05:09+00:00"
    assert post.text == (
        "Лекция про диффузию — смотреть\n"
        "Шум → картинка,\n"
        "шаг за шагом.\n"
        "Почта авторов: team@example.org не ссылка"
    )
    assert post.anchors == [
        Anchor("https://www.youtube.com/watch?v=abc123XYZ", "смотреть"),
        Anchor("mailto:team@example.org", "team@example.org"),
    ]
    assert post.previews == [
        Preview(
            site_name="YouTube",
            title=None,
            description="Диффузионные модели за 40 минут",
            url="https://www.youtube.com/watch?v=abc123XYZ",
        )
    ]


def test_missing_channel_page_does_not_exist(fixtures):
    posts, info = load(fixtures, "missing_channel.html")
    assert posts == []
    assert info == {"channel": "no_such_channel_42", "title": None, "before": None, "exists": False}


def test_single_post_embed(fixtures):
    posts, info = load(fixtures, "post_embed.html")
    assert info == {"channel": "papers_daily", "title": None, "before": 7, "exists": True}
    [post] = posts
    assert post.post_id == "papers_daily/7"
    assert post.permalink == "https://t.me/papers_daily/7"
    assert post.date == "2024-02-29T23:59:59+03:00"
    assert post.text == "New: LoRA — low-rank adaptation. Mirror: example.com/lora mirror"
    # A schemeless URL entity opens as http://, as Telegram does.
    assert post.anchors == [
        Anchor("https://arxiv.org/abs/2106.09685", "LoRA"),
        Anchor("http://example.com/lora", "mirror"),
    ]


def test_single_post_page_reads_og_description(fixtures):
    posts, info = load(fixtures, "post_page.html")
    assert info == {"channel": "papers_daily", "title": "Papers Daily", "before": 9, "exists": True}
    [post] = posts
    assert post.post_id == "papers_daily/9"
    assert post.permalink == "https://t.me/papers_daily/9"
    assert post.text == "Новый обзор по RLHF: https://example.org/rlhf-survey\n\n#RLHF #обзор"
    assert post.hashtags == ["rlhf", "обзор"]
    assert post.date is None


def test_parse_stream_and_read_posts(fixtures):
    path = fixtures / "tme" / "ml_digest_s.html"
    with open(path, "rb") as stream:
        via_detection = list(read_posts(stream, str(path)))
    with open(path, "rb") as stream:
        direct = list(parse(stream, str(path)))
    assert [post.post_id for post in via_detection] == [post.post_id for post in direct]
    assert len(direct) == 4
    assert {post.source for post in direct} == {str(path)}


@pytest.mark.parametrize(
    "name", ["ml_digest_s.html", "missing_channel.html", "landing_page.html", "post_embed.html", "post_page.html"]
)
def test_fixtures_sniff_as_tme(fixtures, name):
    head = (fixtures / "tme" / name).read_bytes()[:65536]
    assert sniff(head)
    assert detect_format(head) == "tme"


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"plain text about tgme_widget_message parsing",
        b'<div class="message default clearfix" id="message1">',
        b'{"name": "chat", "messages": []}',
    ],
)
def test_sniff_rejects_other_content(head):
    assert not sniff(head)


def test_bad_utf8_is_replaced():
    html = (
        b'<div class="tgme_widget_message js-widget_message" data-post="chan/3">'
        b'<div class="tgme_widget_message_text js-message_text">caf\xe9 ok</div></div>'
    )
    [post] = list(parse(io.BytesIO(html), "bad.html"))
    assert post.text == "caf\ufffd ok"


@pytest.mark.parametrize(
    "data",
    [b"\x00\x01\x02\xff" * 200, b"just some words, no markup at all", b"<html><body><p>hello</p></body></html>"],
)
def test_non_tme_content_raises_source_error(data):
    with pytest.raises(SourceError) as error:
        list(parse(io.BytesIO(data), "junk.html"))
    assert error.value.source == "junk.html"


@pytest.mark.parametrize("name", ["missing_channel.html", "landing_page.html"])
def test_a_saved_page_that_is_no_channel_preview_is_an_error(fixtures, name):
    # "Telegram: Contact @name" and a channel's landing page hold no posts: they were read as an empty channel.
    path = fixtures / "tme" / name
    with open(path, "rb") as stream, pytest.raises(SourceError) as error:
        list(parse(stream, str(path)))
    assert str(error.value) == f"{path}: not a channel's t.me/s/ preview (a contact or landing page: no posts)"


def test_malformed_markup_does_not_crash():
    html = (
        '<div class="tgme_widget_message" data-post="not a post id"><div class="tgme_widget_message_text">x'
        '<div class="tgme_widget_message" data-post="chan/12"><div class="tgme_widget_message_text">'
        "unclosed <b>bold <a href='?q=%23Tag'>#Tag</a> <a href=''>empty</a><br>next"
    )
    posts, info = parse_page(html, "broken.html")
    assert [post.post_id for post in posts] == ["chan/12"]
    assert posts[0].text == "unclosed bold #Tag empty\nnext"
    assert posts[0].anchors == []
    assert posts[0].hashtags == ["tag"]
    assert info == {"channel": "chan", "title": None, "before": 12, "exists": True}


@pytest.mark.parametrize("href", ["https://[t.me/s/?q=%23Tag", "//t.me]/?q=%23Tag", "https://t.me:99999999/?q=%23Tag"])
def test_a_link_with_a_broken_host_is_no_hashtag_link(href):
    # urlsplit raises on an unbalanced [ or ]: the whole page failed with a traceback (found by the mutation fuzzer).
    html = (f'<div class="tgme_widget_message" data-post="chan/12"><div class="tgme_widget_message_text">'
            f'see <a href="{href}">#Tag</a></div></div>')
    posts, _info = parse_page(html, "broken.html")
    assert [post.text for post in posts] == ["see #Tag"]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [*"<>/=\"' abc#?&;\n", "tgme_widget_message", 'data-post="c/1"', "<a href=", "<br>",
             '<div class="tgme_widget_message tgme_channel_info" data-post="c/99999999999999999999">',
             '<div class="tgme_widget_message_text">', "</div>", "&amp;", "&#0;", "?q=%23"]
        ),
        max_size=60,
    ).map("".join)
)
def test_parse_page_never_crashes(html):
    posts, info = parse_page(html, "fuzz")
    assert set(info) == {"channel", "title", "before", "exists"}
    for post in posts:
        assert isinstance(post.text, str)


# --------------------------------------------------------- real captures --


def load_real(realworld, name):
    path = realworld / WEB_PREVIEW / name
    if not path.exists():
        pytest.skip(f"{name} is not present")
    return parse_page(path.read_text(encoding="utf-8"), str(path))


def test_real_durov_channel_feed(realworld):
    posts, info = load_real(realworld, "tme_s_durov__sherlock-telegram.html")
    assert info == {"channel": "durov", "title": "Pavel Durov", "before": 519, "exists": True}
    assert len(posts) == 20
    numbers = [int(post.post_id.split("/")[1]) for post in posts]
    assert numbers == [*range(519, 530), *range(531, 540)]
    assert {post.channel for post in posts} == {"durov"}
    assert posts[0].permalink == "https://t.me/durov/519"
    assert posts[0].date == "2026-05-20T15:38:10+00:00"
    assert posts[-1].date == "2026-08-08T21:11:14+00:00"
    assert posts[0].text == (
        "🤖 Your Telegram inbox can now run itself.\n\n"
        "Assign a bot to read and reply for you — with granular control over its rights and chat access. 🧠\n\n"
        "⚙️ Start building!"
    )
    assert posts[0].anchors == [Anchor("https://core.telegram.org/bots/features#secretary-bots", "Start building")]
    # The channel description is header, not a post.
    assert not any("Founder of Telegram" in post.text for post in posts)
    # A photo-only post has no text.
    assert [post.post_id for post in posts if not post.text] == ["durov/522"]
    assert sum(len(post.anchors) for post in posts) == 15
    assert not any(post.hashtags or post.forwarded_from for post in posts)


def test_real_durov_link_previews(realworld):
    posts, _ = load_real(realworld, "tme_s_durov__sherlock-telegram.html")
    with_previews = {post.post_id: post.previews for post in posts if post.previews}
    assert sorted(with_previews) == ["durov/521", "durov/525", "durov/538", "durov/539"]
    assert sum(len(previews) for previews in with_previews.values()) == 4
    assert with_previews["durov/521"] == [
        Preview(site_name="Gram", title=None, description="The native currency of TON", url="https://gram.org/")
    ]
    assert with_previews["durov/525"] == [
        Preview(
            site_name="Telegram",
            title="Smartwatch Apps, Rich Text for Bots, AI Guardians for Groups, and Much More",
            description=(
                "Today’s update brings Telegram to Apple Watch and Android smartwatches, adds filthy rich text "
                "for bots, lets AI admins screen new group members, and introduces smarter polls, browser "
                "controls, and much more."
            ),
            url="https://telegram.org/blog/watch-apps-and-more",
        )
    ]
    assert with_previews["durov/538"][0].url == "https://telegram.org/safety"
    assert with_previews["durov/538"][0].title == "Telegram Safety Overview"
    assert with_previews["durov/539"][0].url == "https://t.me/durov/537"


def test_real_durov_anchors(realworld):
    posts = {post.post_id: post for post in load_real(realworld, "tme_s_durov__sherlock-telegram.html")[0]}
    assert posts["durov/527"].anchors == [
        Anchor("https://www.youtube.com/watch?v=1Yq_5aDdJ24", "this speech"),
        Anchor("https://t.me/contest/456", "Full details"),
        Anchor("https://t.me/contest", "@contest"),
    ]
    assert posts["durov/521"].anchors == [
        Anchor("https://gram.org/", "Gram"),
        Anchor("https://t.me/durov/482", "Make TON Great Again"),
    ]


@pytest.mark.parametrize(
    ("name", "channel", "title"),
    [
        ("tme_durov_channel_page__sherlock-telegram.html", "durov", "Pavel Durov"),
        ("tme_channel_unlimitedhangout__metascraper.html", "unlimitedhangout", "Unlimited Hangout"),
    ],
)
def test_real_landing_pages_are_not_previews(realworld, name, channel, title):
    posts, info = load_real(realworld, name)
    assert posts == []
    assert info == {"channel": channel, "title": title, "before": None, "exists": False}


@pytest.mark.parametrize(
    ("name", "post_id", "first_line", "hashtags"),
    [
        ("tme_post_chollometro_28542__metascraper.html", "chollometro/28542", "CHOLLO COMPARTIDO❗️🔥#Amazon", ["amazon"]),
        ("tme_post_teslahunt_15513__metascraper.html", "teslahunt/15513", "🔥 New on stock", []),
        ("tme_post_teslahunt_2351__metascraper.html", "teslahunt/2351", "💥 Reaparición", []),
    ],
)
def test_real_single_post_pages(realworld, name, post_id, first_line, hashtags):
    posts, info = load_real(realworld, name)
    [post] = posts
    assert post.post_id == post_id
    assert post.permalink == "https://t.me/" + post_id
    assert post.text.splitlines()[0] == first_line
    assert post.hashtags == hashtags
    assert info["exists"] is True
    assert info["before"] == int(post_id.split("/")[1])


def test_real_captures_sniff_as_tme(realworld):
    files = sorted((realworld / WEB_PREVIEW).glob("*.html"))
    if not files:
        pytest.skip("no t.me captures")
    for path in files:
        assert detect_format(path.read_bytes()[:65536], str(path)) == "tme", path.name


def test_real_article_pages_are_not_tme(realworld):
    files = sorted((realworld / "other-article-html").glob("*.html")) + sorted((realworld / "habr-html").glob("*.html"))
    if not files:
        pytest.skip("no article captures")
    for path in files:
        assert not sniff(path.read_bytes()[:65536]), path.name
