"""The Telegram Desktop JSON export source (``result.json``)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harvester.errors import SourceError
from harvester.models import Anchor, Post
from harvester.sources import read_posts, telegram_json
from harvester.sources.telegram_json import parse, sniff

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "telegram_json"
CHUNK_SIZES = [1, 7, 64, 1000, telegram_json.CHUNK_SIZE]


def posts_of(name: str, source: str = "result.json") -> list[Post]:
    with open(FIXTURES / name, "rb") as stream:
        return list(parse(stream, source))


def posts_from_bytes(data: bytes, source: str = "mem.json") -> list[Post]:
    return list(parse(io.BytesIO(data), source))


def collect_until_error(data: bytes) -> tuple[list[Post], SourceError]:
    posts: list[Post] = []
    with pytest.raises(SourceError) as caught:
        for post in parse(io.BytesIO(data), "cut.json"):
            posts.append(post)
    return posts, caught.value


@pytest.fixture(params=CHUNK_SIZES, ids=lambda size: f"chunk{size}")
def chunk_size(request, monkeypatch) -> int:
    """Every chunk size must give the same posts and the same error offsets."""
    monkeypatch.setattr(telegram_json, "CHUNK_SIZE", request.param)
    return request.param


# -- single chat, modern export -------------------------------------------------


def test_single_chat_modern_export(chunk_size):
    assert posts_of("single_chat.json") == [
        Post(
            source="result.json",
            text="Welcome to the channel!",
            channel="ML Notes",
            post_id="1500000001/2",
            date="2024-03-01T10:15:00",
        ),
        Post(
            source="result.json",
            text="Scaling laws revisited: read the paper, code at https://github.com/example/scaling\n\n#LLM #papers",
            channel="ML Notes",
            post_id="1500000001/3",
            date="2024-03-02T18:30:05",
            anchors=[Anchor("https://arxiv.org/abs/2401.00001", "paper")],
            hashtags=["llm", "papers"],
        ),
        Post(
            source="result.json",
            text="Разбор статьи про диффузионные модели 🔥 #Диффузия",
            channel="ML Notes",
            post_id="1500000001/5",
            date="2024-03-04T12:00:00",
            forwarded_from="Сиолошная",
            anchors=[Anchor("https://habr.com/ru/articles/800000/", "диффузионные модели")],
            hashtags=["диффузия"],
        ),
        Post(
            source="result.json",
            text="No local date here",
            channel="ML Notes",
            post_id="1500000001/7",
            date="2024-03-06T09:00:00+00:00",
        ),
    ]


def test_service_unsupported_and_captionless_media_are_skipped():
    ids = [post.post_id for post in posts_of("single_chat.json")]
    # 1 and 6 are service messages, 4 a photo without caption, 8 "unsupported".
    assert ids == ["1500000001/2", "1500000001/3", "1500000001/5", "1500000001/7"]


def test_link_entities_stay_in_text_only():
    post = posts_of("single_chat.json")[1]
    assert "https://github.com/example/scaling" in post.text
    assert [anchor.href for anchor in post.anchors] == ["https://arxiv.org/abs/2401.00001"]


# -- old export: no text_entities, text as string or list ------------------------


def test_old_export_without_text_entities(chunk_size):
    assert posts_of("old_export.json", "old.json") == [
        Post(
            source="old.json",
            text="Привет, мир",
            channel="Старый канал",
            post_id="1292077344/10",
            date="2020-11-12T12:54:07",
        ),
        Post(
            source="old.json",
            text="text link\n\nexample.com\n\n#ML #ml",
            channel="Старый канал",
            post_id="1292077344/11",
            date="2020-11-12T14:48:48",
            edited="2020-11-12T14:49:39",
            # The bare "example.com" is a `link` entity without a path: a site, not something to read.
            anchors=[Anchor("http://example.com/", "text link")],
            hashtags=["ml"],
        ),
        # A text link with an empty label still carries its target.
        Post(
            source="old.json",
            text="",
            channel="Старый канал",
            post_id="1292077344/12",
            date="2020-11-13T09:00:00",
            anchors=[Anchor("https://arxiv.org/pdf/2011.01234", "")],
        ),
    ]


@pytest.mark.parametrize(
    ("message", "text", "anchors", "hashtags"),
    [
        pytest.param({"text": "plain string"}, "plain string", [], [], id="text-string"),
        pytest.param(
            {"text": ["a ", {"type": "text_link", "text": "b", "href": "https://x.org/"}, {"type": "hashtag", "text": "#C"}]},
            "a b#C",
            [Anchor("https://x.org/", "b")],
            ["c"],
            id="text-list",
        ),
        pytest.param(
            {
                "text": "stale",
                "text_entities": [{"type": "plain", "text": "fresh "}, {"type": "link", "text": "https://y.org"}],
            },
            "fresh https://y.org",
            [],
            [],
            id="entities-win-over-text",
        ),
        pytest.param(
            {"text_entities": [{"type": "plain", "text": "see "}, {"type": "link", "text": "example.com/path"},
                               {"type": "plain", "text": ", "}, {"type": "link", "text": "http://blog.example.org/a"}]},
            "see example.com/path, http://blog.example.org/a",
            [Anchor("https://example.com/path", "example.com/path")],
            [],
            id="link-entity-not-found-in-text-is-an-anchor",
        ),
        pytest.param(
            {"text": ["код: ", {"type": "link", "text": "github.com/a/b"}, " и ", {"type": "link", "text": "www.example.com/x"}]},
            "код: github.com/a/b и www.example.com/x",
            [],
            [],
            id="link-entity-found-in-text-is-not-repeated",
        ),
        pytest.param(
            {"text": ["run ", {"type": "link", "text": "train.py"}, ", see ", {"type": "link", "text": "README.md"},
                      " and ", {"type": "link", "text": "example.com/"}, " or ", {"type": "link", "text": "http://train.py"}]},
            "run train.py, see README.md and example.com/ or http://train.py",
            [],  # the link finder finds the one written with a scheme in the text
            [],
            id="link-entity-without-scheme-or-path-is-a-file-name-or-a-site",
        ),
        pytest.param(
            {"text_entities": [{"type": "link", "text": "https://example.com/blog/a"}, {"type": "plain", "text": "… и "},
                               {"type": "link", "text": "https://github.com/karpathy/nanoGPT"}, {"type": "plain", "text": "..."}]},
            "https://example.com/blog/a… и https://github.com/karpathy/nanoGPT...",
            # The finder takes "url…" for a URL Telegram cut short; the entity says where the link ends.
            [Anchor("https://example.com/blog/a", "https://example.com/blog/a"),
             Anchor("https://github.com/karpathy/nanoGPT", "https://github.com/karpathy/nanoGPT")],
            [],
            id="link-entity-followed-by-an-ellipsis-is-an-anchor",
        ),
        pytest.param(
            {"text": "Разбор статьи по кнопке ниже",
             "inline_bot_buttons": [[{"type": "url", "text": " Читать\nразбор ", "data": "https://habr.com/ru/articles/786552/"}],
                                    [{"type": "callback", "text": "👍", "data": "like"},
                                     {"type": "auth", "text": "Войти", "data": "https://example.com/login"},
                                     {"type": "url", "text": "Статья", "data": "https://arxiv.org/abs/2312.00752"}],
                                    [{"type": "url", "text": "Статья", "data": "https://arxiv.org/abs/2312.00752"},
                                     {"type": "url", "text": "пусто", "data": ""}, "junk"], {"type": "url"}]},
            "Разбор статьи по кнопке ниже",
            [Anchor("https://habr.com/ru/articles/786552/", "Читать разбор"), Anchor("https://arxiv.org/abs/2312.00752", "Статья")],
            [],
            id="url-buttons-are-anchors",
        ),
        pytest.param(
            {"text": "", "photo": "photos/1.jpg",
             "inline_bot_buttons": [[{"type": "url", "text": "Читать", "data": "https://example.com/post"}]]},
            "",
            [Anchor("https://example.com/post", "Читать")],
            [],
            id="media-with-only-a-url-button",
        ),
        pytest.param(
            {"text": "only text", "text_entities": []},
            "only text",
            [],
            [],
            id="empty-entities-fall-back-to-text",
        ),
        pytest.param(
            {"text_entities": [{"type": "text_link", "text": " label \n", "href": "https://z.org/a"}]},
            " label \n",
            [Anchor("https://z.org/a", "label")],
            [],
            id="anchor-text-stripped",
        ),
        pytest.param(
            {"text": [{"type": "mention_name", "text": "Alice", "user_id": 1}, " 🙂"]},
            "Alice 🙂",
            [],
            [],
            id="unknown-entity-kept-as-text",
        ),
    ],
)
def test_text_shapes(message, text, anchors, hashtags):
    chat = {"name": "C", "type": "public_channel", "id": 9,
            "messages": [{"id": 1, "type": "message", "date": "2024-01-01T00:00:00", **message}]}
    [post] = posts_from_bytes(json.dumps(chat).encode())
    assert (post.text, post.anchors, post.hashtags) == (text, anchors, hashtags)


@pytest.mark.parametrize(
    ("message", "starts"),
    [
        pytest.param(
            {"text_entities": [{"type": "plain", "text": "Статья "}, {"type": "text_link", "text": "тут", "href": "https://a.org/1"},
             {"type": "plain", "text": ", код "}, {"type": "text_link", "text": " тут\n", "href": "https://a.org/2"}]},
            [7, 17],
            id="text-links",
        ),
        pytest.param(
            {"text_entities": [{"type": "plain", "text": "см. "}, {"type": "link", "text": "example.com/a"},
                               {"type": "plain", "text": " и "}, {"type": "text_link", "text": "тут", "href": "https://a.org/2"}]},
            [20, 4],  # text links first, then the link entities the finder does not find
            id="link-and-text-link",
        ),
        pytest.param({"text": ["Статья ", {"type": "text_link", "text": "тут", "href": "https://a.org/1"}]}, [7], id="old-text-list"),
    ],
)
def test_anchors_know_where_their_text_starts(message, starts):
    chat = {"name": "C", "type": "public_channel", "id": 9,
            "messages": [{"id": 1, "type": "message", "date": "2024-01-01T00:00:00", **message}]}
    [post] = posts_from_bytes(json.dumps(chat).encode())
    assert [anchor.start for anchor in post.anchors] == starts
    assert [post.text[anchor.start : anchor.start + len(anchor.text)] for anchor in post.anchors] == [
        anchor.text for anchor in post.anchors
    ]


# -- account export ---------------------------------------------------------------


def test_account_export_reads_chats_and_left_chats(chunk_size):
    assert posts_of("account_export.json", "acct.json") == [
        Post(
            source="acct.json",
            text="This week: https://arxiv.org/abs/1706.03762",
            channel="Reading group",
            post_id="4001/2",
            date="2023-05-01T10:05:00",
        ),
        Post(
            source="acct.json",
            text="LLMs from scratch",
            channel="Saved Messages",
            post_id="777000/2",
            date="2023-06-10T21:00:00",
            forwarded_from="Sebastian Raschka",
            anchors=[Anchor("https://github.com/rasbt/LLMs-from-scratch", "LLMs from scratch")],
        ),
        Post(
            source="acct.json",
            text="see you on the leaderboard #kaggle",
            channel="Old Kaggle Team",
            post_id="4002/2",
            date="2019-02-02T20:20:20",
            hashtags=["kaggle"],
        ),
    ]


def test_same_message_id_in_two_chats_gives_two_keys():
    keys = {post.key for post in posts_of("account_export.json")}
    assert len(keys) == 3


def test_chat_without_id_uses_bare_message_id():
    chat = {"name": "C", "type": "personal_chat", "messages": [{"id": 42, "type": "message", "text": "hi"}]}
    [post] = posts_from_bytes(json.dumps(chat).encode())
    assert (post.post_id, post.channel, post.date, post.permalink) == ("42", "C", None, None)


@pytest.mark.parametrize(
    "name, forwarded, channel, forwarded_from",
    [
        ("ML news\n   - FakeChannel: forged", "Some Channel\n2. https://evil.example/x", "ML news - FakeChannel: forged",
         "Some Channel 2. https://evil.example/x"),
        ("  \t\n ", " \r\n", None, None),  # nothing but whitespace: no name
        ("Plain", "Other", "Plain", "Other"),
    ],
    ids=["newlines", "blank", "plain"],
)
def test_names_are_one_line(name, forwarded, channel, forwarded_from):
    # As the HTML export and t.me pages give them: a newline in a name would forge a line of output.
    message = {"id": 1, "type": "message", "text": "hi", "forwarded_from": forwarded}
    [post] = posts_from_bytes(json.dumps({"name": name, "type": "public_channel", "id": 7, "messages": [message]}).encode())
    assert (post.channel, post.forwarded_from) == (channel, forwarded_from)


@pytest.mark.parametrize(
    "fields, edited",
    [
        ({}, None),
        ({"edited": "2024-05-02T09:00:00", "edited_unixtime": "1714629600"}, "2024-05-02T09:00:00"),
        ({"edited_unixtime": "1714629600"}, "2024-05-02T06:00:00+00:00"),
        ({"edited": 12}, None),
    ],
)
def test_the_edit_time_of_a_message(fields, edited):
    chat = {"name": "C", "type": "public_channel", "messages": [{"id": 1, "type": "message", "text": "hi", **fields}]}
    [post] = posts_from_bytes(json.dumps(chat).encode())
    assert post.edited == edited


def test_bom_and_leading_whitespace_are_accepted():
    data = b"\xef\xbb\xbf \n" + (FIXTURES / "single_chat.json").read_bytes()
    assert len(posts_from_bytes(data)) == 4


# -- errors ---------------------------------------------------------------------------


def test_truncated_export_keeps_earlier_posts(chunk_size):
    data = (FIXTURES / "truncated.json").read_bytes()
    posts, error = collect_until_error(data)
    assert [post.post_id for post in posts] == ["1600000002/1", "1600000002/2"]
    assert posts[1].text == "второй пост"
    assert len(data) == 534
    assert str(error) == "cut.json: truncated JSON at byte 534"


@pytest.mark.parametrize("cut", [0, 1, 60, 205, 400, 533])
def test_truncated_at_any_byte(cut):
    data = (FIXTURES / "truncated.json").read_bytes()[:cut]
    _, error = collect_until_error(data)
    assert error.message == f"truncated JSON at byte {cut}"


def test_malformed_export_reports_byte_offset():
    posts, error = collect_until_error((FIXTURES / "malformed.json").read_bytes())
    assert [post.text for post in posts] == ["ok one", "ok two"]
    # The key `"text"` after the missing comma spans bytes 350-355; yajl points inside it.
    assert error.message == (
        "malformed JSON at byte 351: parse error: after key and value, inside map, I expect ',' or '}'"
    )


def test_malformed_offset_with_any_chunking(chunk_size):
    """A token cut by a chunk boundary moves yajl's pointer, but never out of the token."""
    data = (FIXTURES / "malformed.json").read_bytes()
    posts, error = collect_until_error(data)
    assert [post.text for post in posts] == ["ok one", "ok two"]
    match = re.fullmatch(r"malformed JSON at byte (\d+): parse error: after key and value, inside map, I expect ',' or '}'", error.message)
    assert match is not None
    assert data.index(b'"text": "a comma') <= int(match.group(1)) <= data.index(b'"text": "a comma') + len(b'"text"')


def test_malformed_offset_counts_the_bom():
    data = b"\xef\xbb\xbf" + (FIXTURES / "malformed.json").read_bytes()
    _, error = collect_until_error(data)
    assert error.message.startswith("malformed JSON at byte 354: ")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(b'{"messages": [1,]}', "malformed JSON at byte 16: parse error: unallowed token at this point in JSON text", id="trailing-comma"),
        pytest.param(b'{"messages": []} {}', "malformed JSON at byte 17: parse error: trailing garbage", id="two-documents"),
        pytest.param(b'{"messages": ["\xff"]}', "malformed JSON at byte 15: lexical error: invalid bytes in UTF8 string", id="bad-utf8"),
        pytest.param(b'{"messages": [nul]}', "malformed JSON at byte 16: lexical error: invalid string in json text", id="bad-literal"),
    ],
)
def test_malformed_details(data, message):
    _, error = collect_until_error(data)
    assert error.message == message


CHAT_HEAD = b'{"name": "x", "type": "public_channel", "id": 5, "messages": ['
MESSAGE_1 = b'{"id": 1, "type": "message", "text": "a"}'
MESSAGE_2 = b'{"id": 2, "type": "message", "text_entities": [{"type": "plain", "text": "b}"}]}'


@pytest.mark.parametrize(
    ("data", "ids", "message"),
    [
        # Broken after a message: the message is complete, so it is a post; the offset is the bad byte.
        pytest.param(CHAT_HEAD + MESSAGE_1 + b", x]}", ["5/1"], "malformed JSON at byte {x}: lexical error: invalid char in json text", id="after-message"),
        pytest.param(CHAT_HEAD + MESSAGE_1 + b" x]}", ["5/1"], "malformed JSON at byte {x}: lexical error: invalid char in json text", id="no-comma"),
        pytest.param(CHAT_HEAD + MESSAGE_1 + b", " + MESSAGE_2 + b"\n x ]}", ["5/1", "5/2"], "malformed JSON at byte {x}: lexical error: invalid char in json text", id="brace-in-string"),
        # Broken inside a message: that one is not a post.
        pytest.param(CHAT_HEAD + MESSAGE_1 + b', {"id": 2, "type": "message", "text": "b" x}]}', ["5/1"], "malformed JSON at byte {x}: lexical error: invalid char in json text", id="inside-message"),
        pytest.param(CHAT_HEAD + MESSAGE_1 + b', {"id": 2, "type": "message", "text_entities": [{"type": "plain"} x]}]}', ["5/1"], "malformed JSON at byte {x}: lexical error: invalid char in json text", id="inside-nested"),
        # Cut after a message, or inside one.
        pytest.param(CHAT_HEAD + MESSAGE_1 + b", " + MESSAGE_2 + b",\n", ["5/1", "5/2"], "truncated JSON at byte {end}", id="cut-after-message"),
        pytest.param(CHAT_HEAD + MESSAGE_1 + b", " + MESSAGE_2[:-3], ["5/1"], "truncated JSON at byte {end}", id="cut-inside-message"),
    ],
)
def test_the_last_complete_message_before_an_error_is_a_post(data, ids, message):
    posts, error = collect_until_error(data)
    assert [post.post_id for post in posts] == ids
    assert error.message == message.format(x=data.index(b" x") + 1 if b" x" in data else None, end=len(data))


def test_a_long_export_broken_between_messages_keeps_every_message():
    messages = [b'{"id": %d, "type": "message", "text": "post %d https://github.com/org/repo%d"}' % (n, n, n) for n in range(1, 3000)]
    data = CHAT_HEAD + b",\n".join(messages) + b",\n GARBAGE " + messages[0] + b"]}"
    posts, error = collect_until_error(data)
    assert len(posts) == 2999
    assert error.message == f"malformed JSON at byte {data.index(b'GARBAGE')}: lexical error: invalid char in json text"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param((FIXTURES / "not_export.json").read_bytes(), 'not a Telegram export: no "messages" or "chats"', id="package-json"),
        pytest.param(b"[1, 2, 3]", "not a Telegram export: the JSON document is not an object", id="array"),
        pytest.param(b' "text"', "not a Telegram export: the JSON document is not an object", id="string"),
        pytest.param(b"{}", 'not a Telegram export: no "messages" or "chats"', id="empty-object"),
    ],
)
def test_not_an_export(data, message):
    posts, error = collect_until_error(data)
    assert (posts, error.message, error.source) == ([], message, "cut.json")


def test_big_unrelated_object_is_rejected_early(monkeypatch):
    monkeypatch.setattr(telegram_json, "MARKER_LIMIT", 10_000)
    stream = io.BytesIO(b'{"data": [' + b"1, " * 1_000_000 + b"1]}")
    with pytest.raises(SourceError, match=r"^mem.json: not a Telegram export: no \"messages\" or \"chats\" in the first"):
        list(parse(stream, "mem.json"))
    assert stream.tell() < 200_000


def test_empty_account_export_has_no_posts():
    data = b'{"about": "x", "personal_information": {"user_id": 1}, "chats": {"about": "y", "list": []}}'
    assert posts_from_bytes(data) == []


# -- streaming -----------------------------------------------------------------------


def big_chat(count: int) -> bytes:
    messages = [
        {"id": i, "type": "message", "date": "2024-01-01T00:00:00",
         "text_entities": [{"type": "plain", "text": f"пост {i} "}, {"type": "link", "text": f"https://arxiv.org/abs/2401.{i:05d}"}]}
        for i in range(1, count + 1)
    ]
    return json.dumps({"name": "Big", "type": "public_channel", "id": 1, "messages": messages}, ensure_ascii=False).encode()


def test_posts_arrive_before_the_stream_is_read():
    data = big_chat(20_000)
    stream = io.BytesIO(data)
    posts = parse(stream, "big.json")
    first = next(posts)
    assert first.post_id == "1/1"
    assert stream.tell() <= 2 * telegram_json.CHUNK_SIZE < len(data)
    assert sum(1 for _ in posts) == 19_999


def test_finished_messages_are_released(monkeypatch):
    """The chat being built never holds more than a chunk's worth of messages."""
    seen: list[int] = []
    original = telegram_json._Reader.drain

    def spy(self, final):
        original(self, final)
        if self.root is not None and isinstance(self.root.get("messages"), list):
            seen.append(len(self.root["messages"]))

    monkeypatch.setattr(telegram_json._Reader, "drain", spy)
    assert len(posts_from_bytes(big_chat(5_000))) == 5_000
    assert max(seen) <= 1


def test_read_posts_detects_the_format():
    with open(FIXTURES / "account_export.json", "rb") as stream:
        posts = list(read_posts(stream, "acct.json"))
    assert [post.post_id for post in posts] == ["4001/2", "777000/2", "4002/2"]


# -- properties ---------------------------------------------------------------------

entity = st.one_of(
    st.builds(lambda t: {"type": "plain", "text": t}, st.text(max_size=12)),
    st.builds(lambda t, n: {"type": "text_link", "text": t, "href": f"https://e.org/{n}"}, st.text(max_size=8), st.integers(0, 99)),
    st.builds(lambda t: {"type": "hashtag", "text": "#" + t}, st.text(alphabet="abcАБВ_1", min_size=1, max_size=6)),
    st.builds(lambda n: {"type": "link", "text": f"https://github.com/o/r{n}"}, st.integers(0, 99)),
)
message = st.fixed_dictionaries(
    {"type": st.sampled_from(["message", "message", "service"]), "text_entities": st.lists(entity, max_size=5)},
    optional={"forwarded_from": st.text(max_size=6)},
)


def export_bytes(messages: list[dict], indent: int | None) -> bytes:
    numbered = [{"id": i, "date": "2024-01-01T00:00:00", **m} for i, m in enumerate(messages)]
    half = len(numbered) // 2
    doc = {
        "about": "a",
        "chats": {"list": [{"name": "A", "type": "public_channel", "id": 1, "messages": numbered[:half]}]},
        "left_chats": {"list": [{"name": "B", "type": "private_group", "id": 2, "messages": numbered[half:]}]},
    }
    return json.dumps(doc, ensure_ascii=False, indent=indent).encode()


@settings(max_examples=60, deadline=None)
@given(st.lists(message, max_size=12), st.sampled_from([None, 1]), st.integers(1, 300))
def test_any_chunk_size_gives_the_same_posts(messages, indent, chunk):
    data = export_bytes(messages, indent)
    expected = posts_from_bytes(data)
    for post in expected:
        assert post.channel == ("A" if post.post_id.startswith("1/") else "B")
    saved = telegram_json.CHUNK_SIZE
    telegram_json.CHUNK_SIZE = chunk
    try:
        assert posts_from_bytes(data) == expected
    finally:
        telegram_json.CHUNK_SIZE = saved


@settings(max_examples=80, deadline=None)
@given(st.lists(message, min_size=1, max_size=8), st.data())
def test_a_cut_export_yields_a_prefix_then_a_truncation_error(messages, data):
    full = export_bytes(messages, 1)
    complete = posts_from_bytes(full, "cut.json")
    cut = data.draw(st.integers(0, len(full.rstrip()) - 1))
    posts, error = collect_until_error(full[:cut])
    assert posts == complete[: len(posts)]
    assert error.message == f"truncated JSON at byte {cut}"


# -- sniff ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["single_chat.json", "old_export.json", "account_export.json", "truncated.json", "malformed.json"]
)
def test_sniff_accepts_fixtures(name):
    assert sniff((FIXTURES / name).read_bytes()[:65536]) is True


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        pytest.param(b'\xef\xbb\xbf\r\n {\n "about": "Here is the data you requested. Remember', True, id="account-about-cut"),
        pytest.param(b'{"about": "x", "personal_information": {"user_id"', True, id="personal-information"),
        pytest.param(b'{\n "chats": {\n  "about": "This page', True, id="chats"),
        pytest.param(b'{"name": "C", "type": "personal_chat", "id": 1, "messages": [', True, id="chat-header"),
        pytest.param(b'{"messages": [{"id": 1, "type": "message", "da', True, id="message-type-cut"),
        pytest.param(b'{"name": "C", "type": "public_chan', False, id="cut-before-any-marker"),
        pytest.param(b'{"messages": [{"role": "user", "content": "hi"}]}', False, id="chat-completion-json"),
        pytest.param((FIXTURES / "not_export.json").read_bytes(), False, id="package-json"),
        pytest.param(b'[{"type": "message", "messages": []}]', False, id="array"),
        pytest.param(b"Forwarded from Channel\n\"messages\": [", False, id="text"),
        pytest.param(b"<!DOCTYPE html><html>", False, id="html"),
        pytest.param(b"", False, id="empty"),
    ],
)
def test_sniff(head, expected):
    assert sniff(head) is expected


# -- real exports ---------------------------------------------------------------------

REAL = {
    # file: (posts, first post id, channel, anchors, forwarded posts)
    "chat-analytics_DM_2A_7M_result.json": (4, "700000000/3644", "Bob", 0, 0),
    "tg2md_test_private_channel_2020_result.json": (13, "1292077344/2", "test", 1, 0),
    "tkonverter_group_result.json": (19, "20001/7", "Team Chat", 0, 1),
    "tkonverter_personal_chat_result.json": (11, "10001/1", "Alice Example", 2, 1),  # a text_link, a URL button
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_exports(realworld, name, monkeypatch):
    path = realworld / "telegram-json" / name
    data = path.read_bytes()
    assert sniff(data[:65536]) is True
    posts = posts_from_bytes(data, name)
    count, first_id, channel, anchors, forwarded = REAL[name]
    assert len(posts) == count
    assert posts[0].post_id == first_id
    assert {post.channel for post in posts} == {channel}
    assert sum(len(post.anchors) for post in posts) == anchors
    assert sum(1 for post in posts if post.forwarded_from) == forwarded
    monkeypatch.setattr(telegram_json, "CHUNK_SIZE", 13)
    assert posts_from_bytes(data, name) == posts


def test_real_text_link_and_dates(realworld):
    posts = posts_from_bytes((realworld / "telegram-json" / "tg2md_test_private_channel_2020_result.json").read_bytes())
    [linked] = [post for post in posts if post.anchors]
    assert linked.post_id == "1292077344/14"
    assert linked.text == "text link\n\nexample.com\n\nexample@example.com"
    # "example.com" is a `link` entity without a path: a site, not something to read.
    assert linked.anchors == [Anchor("http://example.com/", "text link")]
    dated = posts_from_bytes((realworld / "telegram-json" / "chat-analytics_DM_2A_7M_result.json").read_bytes())
    assert [post.date for post in dated] == [
        "2019-07-12T16:55:32", "2022-03-08T13:07:42", "2022-05-09T22:23:53+00:00", "2022-05-09T23:26:09+00:00"
    ]
