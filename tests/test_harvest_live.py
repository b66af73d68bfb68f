"""Live channels: `readinglist harvest @name` against a local t.me look-alike with ?before= paging."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from werkzeug.wrappers import Response

from harvester.settings import Settings
from harvester.sources.live import ChannelError, channel_name, crawl_channel, read_channel_list
from readinglist.cli import cli
from readinglist.db import open_db

PAGE_SIZE = 10


def message(channel: str, number: int) -> str:
    return (
        f'<div class="tgme_widget_message_wrap"><div class="tgme_widget_message js-widget_message" data-post="{channel}/{number}">'
        f'<div class="tgme_widget_message_text js-message_text" dir="auto">Post {number}: '
        f'<a href="https://example.org/articles/{number}">article {number}</a> <a href="?q=%23weekly">#weekly</a></div>'
        f'<div class="tgme_widget_message_footer"><a class="tgme_widget_message_date" href="https://t.me/{channel}/{number}">'
        f'<time datetime="2026-01-{number:02d}T10:00:00+00:00" class="time">10:00</time></a></div></div></div>'
    )


def channel_page(channel: str, numbers: list[int]) -> str:
    more = f'<a href="/s/{channel}?before={min(numbers)}" class="tme_messages_more" data-before="{min(numbers)}"></a>' if numbers else ""
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Chan – Telegram</title></head><body>'
        '<div class="tgme_channel_info"><div class="tgme_channel_info_header_title"><span>Тестовый канал</span></div>'
        f'<div class="tgme_channel_info_header_username"><a href="https://t.me/{channel}">@{channel}</a></div></div>'
        f'<section class="tgme_channel_history">{more}{"".join(message(channel, n) for n in numbers)}</section></body></html>'
    )


MISSING = (
    '<!DOCTYPE html><html><head><title>Telegram: Contact @{0}</title></head><body><div class="tgme_page">'
    '<div class="tgme_page_description">If you have Telegram, you can contact @{0} right away.</div></div></body></html>'
)


class FakeTelegram:
    """Serves /s/<channel>[?before=N]: the PAGE_SIZE messages below N, newest page without ``before``."""

    def __init__(self, httpserver, channel: str = "ml_chan", newest: int = 25):
        self.channel, self.newest, self.requests, self.failures = channel, newest, [], 0
        self.broken: set[str] = set()  # ?before= values answered with 503 every time
        httpserver.expect_request(f"/s/{channel}").respond_with_handler(self.handle)
        httpserver.expect_request("/s/no_such_chan").respond_with_data(MISSING.format("no_such_chan"), content_type="text/html")
        self.base = httpserver.url_for("").rstrip("/")

    def handle(self, request):
        self.requests.append(request.query_string.decode())
        if request.args.get("before") in self.broken:
            return Response("busy", status=503)
        if self.failures:
            self.failures -= 1
            return Response("busy", status=503)
        before = int(request.args.get("before", self.newest + 1))
        numbers = list(range(max(1, before - PAGE_SIZE), min(before, self.newest + 1)))
        return Response(channel_page(self.channel, numbers), content_type="text/html; charset=utf-8")


@pytest.fixture
def telegram(httpserver):
    return FakeTelegram(httpserver)


@pytest.fixture
def config(tmp_path, telegram):
    path = tmp_path / "config.toml"
    path.write_text(f'per_host_delay = 0\nallow_private = true\n[urls]\ntelegram_base = "{telegram.base}"\n')
    return str(path)


def run(*args):
    return CliRunner().invoke(cli, list(args))


def test_reads_every_page_then_only_new_posts(telegram, config, db_path):
    result = run("harvest", "@ml_chan", "--config", config, "--db", str(db_path))
    assert (result.exit_code, result.output) == (
        0, "Harvested: 25 posts read from 1 channel, 25 links found, 25 new items, 0 files skipped.\n"
    )
    assert telegram.requests == ["", "before=16", "before=6"]
    db = open_db(db_path)
    assert db["channels"].get("ml_chan")["newest_message_id"] == 25
    assert db["channels"].get("ml_chan")["title"] == "Тестовый канал"
    assert db.execute("SELECT COUNT(*) FROM posts WHERE channel = 'ml_chan'").fetchone()[0] == 25
    hashtags = db.execute("SELECT hashtags FROM posts WHERE permalink = 'https://t.me/ml_chan/7'").fetchone()[0]
    assert json.loads(hashtags) == ["weekly"]

    telegram.newest, telegram.requests = 27, []
    result = run("harvest", "https://t.me/s/ml_chan", "--config", config, "--db", str(db_path))
    assert result.output == "Harvested: 2 posts read from 1 channel, 2 links found, 2 new items, 0 files skipped.\n"
    assert telegram.requests == [""]  # stopped at post 25, seen last time
    assert db["channels"].get("ml_chan")["newest_message_id"] == 27


@pytest.mark.parametrize(
    "args, posts, newest",
    [(("--since", "2026-01-20"), 6, 25), (("--limit", "4"), 4, 25), (("-n", "12"), 12, 25)],
)
def test_since_and_limit(telegram, config, db_path, args, posts, newest):
    result = run("harvest", "@ml_chan", "--config", config, "--db", str(db_path), *args)
    assert result.exit_code == 0, result.output
    db = open_db(db_path)
    numbers = sorted(int(row[0].rsplit("/", 1)[1]) for row in db.execute("SELECT permalink FROM posts"))
    assert numbers == list(range(26 - posts, 26))
    assert db["channels"].get("ml_chan")["newest_message_id"] == newest


def stored_numbers(db_path) -> list[int]:
    return sorted(int(row[0].rsplit("/", 1)[1]) for row in open_db(db_path).execute("SELECT permalink FROM posts"))


# Each step: (posts on the server, pages failing, harvest options) -> exit code, posts stored after it.
UNREAD_LEFT_FOR_LATER = {
    "an error, then a run that reads what it left": [
        ((25, {"16"}, ()), 1, range(16, 26)),
        ((25, set(), ()), 0, range(1, 26)),
    ],
    "--limit, then a run without": [
        ((25, set(), ("--limit", "5")), 0, range(21, 26)),
        ((25, set(), ()), 0, range(1, 26)),
    ],
    "--limit each run: new posts first, then older ones": [
        ((25, set(), ("--limit", "5")), 0, range(21, 26)),
        ((27, set(), ("--limit", "4")), 0, [*range(19, 21), *range(21, 28)]),
        ((27, set(), ("--limit", "4")), 0, range(15, 28)),
    ],
    "an earlier --since reads further back; none keeps the floor": [
        ((25, set(), ("--since", "2026-01-20")), 0, range(20, 26)),
        ((25, set(), ("--since", "2026-01-10")), 0, range(10, 26)),
        ((25, set(), ()), 0, range(10, 26)),
    ],
    "stopped short of the last run: the gap is read next time": [
        ((25, set(), ()), 0, range(1, 26)),
        ((40, set(), ("--limit", "5")), 0, [*range(1, 26), *range(36, 41)]),
        ((40, set(), ()), 0, range(1, 41)),
    ],
    "an error while reading older posts, then the rest": [
        ((25, set(), ("--limit", "10")), 0, range(16, 26)),
        ((25, {"6"}, ()), 1, range(6, 26)),
        ((25, set(), ()), 0, range(1, 26)),
    ],
}


@pytest.mark.parametrize("steps", UNREAD_LEFT_FOR_LATER.values(), ids=UNREAD_LEFT_FOR_LATER.keys())
def test_what_a_run_leaves_unread_is_read_by_the_next(telegram, tmp_path, db_path, steps):
    path = tmp_path / "config.toml"
    path.write_text(f'per_host_delay = 0\nattempts = 1\n[urls]\ntelegram_base = "{telegram.base}"\n')
    for (newest, broken, args), exit_code, numbers in steps:
        telegram.newest, telegram.broken = newest, broken
        result = run("harvest", "@ml_chan", "--config", str(path), "--db", str(db_path), "-q", *args)
        assert result.exit_code == exit_code, result.output
        assert stored_numbers(db_path) == list(numbers)


def test_missing_channel_is_a_clear_error_and_others_go_on(telegram, config, db_path, tmp_path):
    listing = tmp_path / "channels.txt"
    listing.write_text("# demo\n@no_such_chan\nhttps://t.me/ml_chan  # the good one\n")
    result = run("harvest", "--channels", str(listing), "--config", config, "--db", str(db_path), "-q")
    assert result.exit_code == 1
    assert result.output == "Error: @no_such_chan: no such public channel (t.me shows no message preview for it)\n"
    assert open_db(db_path).execute("SELECT COUNT(*) FROM posts").fetchone()[0] == 25


@pytest.mark.parametrize(
    "args, message",
    [
        (("@x",), "Error: @x: not a public channel name or t.me/s/ link\n"),
        (("--since", "yesterday", "@ml_chan"), "Error: --since: invalid date 'yesterday' (use YYYY-MM-DD)\n"),
        (("--channels", "missing.txt"), "Error: missing.txt: cannot read channel list (No such file or directory)\n"),
    ],
)
def test_bad_input(db_path, args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("harvest", "--db", str(db_path), *args)
    assert (result.exit_code, result.output) == (1, message)


@pytest.mark.parametrize(
    "path, saved",
    [
        ("t.me/s/ml_chan", "t.me/s/ml_chan"),  # as wget -x saves the page
        ("./t.me/s/x.html", "t.me/s/x.html"),
        ("@notes.html", "@notes.html"),
        ("t.me", "t.me/s/ml_chan"),
    ],
)
def test_an_existing_path_is_a_file_even_named_like_a_channel(telegram, config, db_path, tmp_path, monkeypatch, path, saved):
    monkeypatch.chdir(tmp_path)
    (tmp_path / saved).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / saved).write_text(channel_page("ml_chan", [1, 2, 3]), encoding="utf-8")
    result = run("harvest", path, "--config", config, "--db", str(db_path))
    assert (result.exit_code, result.output) == (
        0, "Harvested: 3 posts read from 1 file, 3 links found, 3 new items, 0 files skipped.\n"
    )
    assert telegram.requests == []


@pytest.mark.parametrize(
    "names, listed",
    [
        (["@ml_chan", "@ML_Chan", "https://t.me/s/ml_chan"], None),
        (["@ml_chan", "t.me/ML_CHAN"], None),
        (["@ml_chan"], "ml_chan\n@Ml_Chan\n"),
        ([], "ml_chan\nhttps://t.me/s/ML_chan\n"),
    ],
)
def test_a_channel_named_twice_is_read_once(telegram, config, db_path, tmp_path, names, listed):
    args = list(names)
    if listed:
        (tmp_path / "channels.txt").write_text(listed, encoding="utf-8")
        args += ["--channels", str(tmp_path / "channels.txt")]
    result = run("harvest", *args, "--config", config, "--db", str(db_path))
    assert (result.exit_code, result.output) == (
        0, "Harvested: 25 posts read from 1 channel, 25 links found, 25 new items, 0 files skipped.\n"
    )
    assert telegram.requests == ["", "before=16", "before=6"]


def test_channel_list_errors_name_the_line(tmp_path):
    with pytest.raises(ChannelError.__mro__[1]) as error:
        read_channel_list("@good_name\nnot a channel!\n", "list.txt")
    assert str(error.value) == "list.txt: line 2: not a channel: 'not a channel!'"


def test_configured_base_needs_no_allow_private_but_its_redirects_are_guarded(telegram, httpserver, tmp_path, db_path):
    """The base URL is the user's own setting (a mirror); where it sends the crawl is not."""
    path = tmp_path / "strict.toml"
    path.write_text(f'per_host_delay = 0\n[urls]\ntelegram_base = "{telegram.base}"\n')
    result = run("harvest", "@ml_chan", "--config", str(path), "--db", str(db_path), "-q")
    assert (result.exit_code, result.output) == (0, "")
    assert open_db(db_path).execute("SELECT COUNT(*) FROM posts").fetchone()[0] == 25

    httpserver.expect_request("/s/moved_chan").respond_with_data(
        "", status=302, headers={"Location": "http://127.0.0.2:9/s/moved_chan"}
    )
    result = run("harvest", "@moved_chan", "--config", str(path), "--db", str(db_path), "-q")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: @moved_chan: {telegram.base}/s/moved_chan: refused: 127.0.0.2 resolves to a private address (127.0.0.2)\n"
    )


def test_a_bad_config_stops_the_harvest_before_any_work(telegram, tmp_path, db_path):
    """Files are harvested before channels: the settings the channels need are checked first."""
    notes = tmp_path / "notes.md"
    notes.write_text("Read https://example.org/a\n", encoding="utf-8")
    path = tmp_path / "bad.toml"
    path.write_text(f'allow_private = "yes"\n[urls]\ntelegram_base = "{telegram.base}"\n')
    result = run("harvest", str(notes), "@ml_chan", "--config", str(path), "--db", str(db_path))
    assert (result.exit_code, result.output) == (1, f"Error: {path}: allow_private: expected true or false, got 'yes'\n")
    assert open_db(db_path).execute("SELECT COUNT(*) FROM posts").fetchone()[0] == 0
    assert telegram.requests == []


def test_transient_errors_are_retried(telegram):
    import httpx

    telegram.failures = 2
    settings = Settings(telegram_base=telegram.base, allow_private=True, per_host_delay=0)
    waits = []
    with httpx.Client() as client:
        posts = list(crawl_channel("ml_chan", client, settings, limit=3, sleep=waits.append))
    assert [post.post_id for post in posts] == ["ml_chan/25", "ml_chan/24", "ml_chan/23"]
    assert len(waits) == 2 and telegram.requests == ["", "", ""]


@pytest.mark.parametrize(
    "ref, name",
    [("@boris_again", "boris_again"), ("https://t.me/s/boris_again", "boris_again"), ("t.me/boris_again/", "boris_again"),
     ("https://telegram.me/Boris_Again?before=3", "Boris_Again"), ("@ab", None), ("https://t.me/+AbCdEf", None),
     ("https://example.com/s/name", None)],
)
def test_channel_name(ref, name):
    assert channel_name(ref) == name


def test_seed_channel_list_parses():
    from conftest import SEEDS

    names = read_channel_list((SEEDS / "channels.txt").read_text(encoding="utf-8"), "seeds/channels.txt")
    assert "boris_again" in names and len(names) == len(set(n.lower() for n in names))


def _seed_channel_lines():
    from conftest import SEEDS

    lines = (SEEDS / "channels.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


@pytest.mark.parametrize("line", _seed_channel_lines())
def test_seed_channel_list_says_truly_where_each_channel_is(line):
    # The comments named the wrong dumps: boris_again "000: the export of Борис_ь с ml" (it is 002's channel,
    # 000 never names it), zadachi_ds "003/004" (003 never names it), asisakov_channel "in a post" (a header).
    from conftest import SEEDS

    name, _, comment = (part.strip() for part in line.partition("#"))
    claims = re.findall(r"(\d{3}(?:/\d{3})*): ([^;]+)", comment)
    assert claims, f"{name}: the comment names no dump"
    for numbers, claim in claims:
        for number in numbers.split("/"):
            (dump,) = SEEDS.glob(f"{number}_*.txt")
            text = dump.read_text(encoding="utf-8")
            assert re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", text), f"{name} is not in {dump.name}"
            for quoted in re.findall(r'"([^"]+)"', claim):
                assert quoted in text, f"{dump.name} has no {quoted!r}"


def test_an_export_of_a_channel_read_live_is_that_channel(telegram, config, db_path, tmp_path):
    """The export names the channel by its title, t.me by its username: one channel, one post per message."""
    assert run("harvest", "@ml_chan", "--config", config, "--db", str(db_path), "-q").exit_code == 0
    export = tmp_path / "result.json"
    export.write_text(json.dumps({
        "name": "Тестовый канал", "type": "public_channel", "id": 42,
        "messages": [{"id": 7, "type": "message", "date": "2026-01-07T13:00:00",
                      "text": ["Post 7: ", {"type": "text_link", "text": "article 7", "href": "https://example.org/articles/7"}]}],
    }), encoding="utf-8")  # fmt: skip
    assert run("harvest", str(export), "--db", str(db_path), "-q").exit_code == 0
    db = open_db(db_path)
    assert db.execute("SELECT COUNT(*) FROM posts").fetchone()[0] == 25
    item = db.execute("SELECT mention_posts, mention_channels, channels FROM items WHERE url LIKE '%/articles/7'").fetchone()
    assert item == (1, 1, '["ml_chan"]')


@pytest.mark.parametrize(
    "text, is_list",
    [
        ("@boris_again\n", True),
        ("https://t.me/s/boris_again\n", True),
        ("boris_again\ncgevent\n", True),
        ("boris_again  # the demo\n", True),
        ("Forbidden\n", False),
        ("Forbidden", False),
        ("Hello there\n", False),
        ("@boris_again\nnot a channel: really\n", False),
        ("", False),
    ],
)
def test_looks_like_channel_list(text, is_list):
    from harvester.sources.live import looks_like_channel_list

    assert looks_like_channel_list(text.encode()) is is_list


def test_a_run_whose_only_channel_fails_says_it_read_no_channel(telegram, config, db_path):
    result = run("harvest", "@no_such_chan", "--config", config, "--db", str(db_path))
    assert (result.exit_code, result.output) == (
        1,
        "Error: @no_such_chan: no such public channel (t.me shows no message preview for it)\n"
        "Harvested: 0 posts read from 0 channels, 0 links found, 0 new items, 0 files skipped, 1 failed.\n",
    )
