"""Hostile input: every source parser and the link finder yield data or the documented error, nothing else.

Inputs: arbitrary bytes, truncated and byte-mutated exports, binary files,
huge lines, deeply nested HTML and invalid UTF-8, for each format forced and
for format detection. The only outcomes allowed are ``Post`` objects or a
``SourceError`` (``Error: <input>: <what>`` at the CLI, exit 1).
"""

from __future__ import annotations

import io
import random

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FIXTURES, SEEDS
from harvester.errors import SourceError
from harvester.identity import identify
from harvester.links import find_links, links_in_post
from harvester.models import Post
from harvester.sources import FORMAT_NAMES, read_posts
from readinglist.cli import cli
from readinglist.db import open_db

SAMPLES = {
    "telegram-json": FIXTURES / "telegram_json" / "single_chat.json",
    "telegram-html": FIXTURES / "telegram_html" / "messages.html",
    "tme": FIXTURES / "tme" / "ml_digest_s.html",
    "text": SEEDS / "000_b2c38260c34db979.txt",
}
FORMATS = [None, *FORMAT_NAMES]


def outcome(data: bytes, format: str | None) -> list[Post] | SourceError:
    """Parse ``data`` fully; the posts, or the SourceError. Anything else propagates and fails the test."""
    try:
        posts = list(read_posts(io.BytesIO(data), "<fuzz>", format))
    except SourceError as error:
        assert str(error).startswith("<fuzz>: ") and "\n" not in str(error)
        return error
    for post in posts:
        assert isinstance(post, Post) and isinstance(post.text, str)
        for link in links_in_post(post):
            identify(link.url)
    return posts


fuzz_settings = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@fuzz_settings
@given(data=st.binary(max_size=4096), format=st.sampled_from(FORMATS))
def test_arbitrary_bytes(data, format):
    outcome(data, format)


@pytest.mark.parametrize("name", SAMPLES)
def test_every_truncation_of_a_real_export(name):
    data = SAMPLES[name].read_bytes()
    step = max(1, len(data) // 300)
    for cut in range(0, len(data), step):
        for format in (None, name):
            outcome(data[:cut], format)


@fuzz_settings
@given(name=st.sampled_from(list(SAMPLES)), seed=st.integers(0, 2**32 - 1), flips=st.integers(1, 40))
def test_mutated_exports(name, seed, flips):
    data = bytearray(SAMPLES[name].read_bytes())
    rng = random.Random(seed)
    for _ in range(flips):
        position = rng.randrange(len(data))
        choice = rng.random()
        if choice < 0.4:
            data[position] = rng.randrange(256)
        elif choice < 0.7:
            del data[position : position + rng.randrange(1, 50)]
        else:
            data[position:position] = rng.choice([b"{", b"}", b"[", b'"', b"<div>", b"</a>", b"\xff\xfe", b"\x00"])
    outcome(bytes(data), None)
    outcome(bytes(data), name)


HOSTILE = {
    "binary": bytes(range(256)) * 64,
    "png header": b"\x89PNG\r\n\x1a\n" + bytes(5000),
    "invalid utf-8 text": "Статья https://arxiv.org/abs/1706.03762 ".encode() + b"\xc3\x28\xa0\xa1\xff" * 100,
    "huge line": b"https://example.com/" + b"a" * 2_000_000 + b" tail",
    "huge line of words": b"word " * 400_000,
    "deep html": b"<html><body>" + b"<div>" * 20_000 + b"https://example.com/x" + b"</div>" * 20_000,
    "deep tme": b'<div class="tgme_widget_message" data-post="c/1">' + b"<b>" * 20_000 + b"https://x.org",
    "deep json": b'{"messages": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
    "json nul": b'{"name": "c", "type": "public_channel", "messages": [{"id": 1, "text": "\x00\x01"}]}',
    "json huge number": b'{"name": "c", "messages": [{"id": 1' + b"0" * 5000 + b', "text": "hi"}]}',
    "utf-16 json": '{"name": "c", "messages": []}'.encode("utf-16"),
    "only bom": b"\xef\xbb\xbf",
    "nul bytes": b"\x00" * 10_000,
}


@pytest.mark.parametrize("format", FORMATS)
@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_files(name, format):
    outcome(HOSTILE[name], format)


@fuzz_settings
@given(st.text(max_size=3000))
def test_link_finder_on_any_text(text):
    for link in find_links(text):
        assert link.url.startswith(("http://", "https://"))
        identify(link.url)


@pytest.mark.parametrize("name", ["binary", "deep json", "invalid utf-8 text", "utf-16 json"])
def test_cli_answers_in_one_line_and_keeps_what_was_stored(name, tmp_path):
    db_path = str(tmp_path / "rl.db")
    runner = CliRunner()
    assert runner.invoke(cli, ["harvest", str(SEEDS), "--db", db_path, "-q"]).exit_code == 0
    before = {table: open_db(db_path)[table].count for table in ("posts", "items", "mentions")}
    bad = tmp_path / f"{name.replace(' ', '_')}.bin"
    bad.write_bytes(HOSTILE[name])
    result = runner.invoke(cli, ["harvest", str(bad), "--db", db_path, "-q"])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    if result.exit_code:
        assert result.exit_code == 1
        assert result.output.startswith(f"Error: {bad}: ") and result.output.count("\n") == 1
    after = {table: open_db(db_path)[table].count for table in ("posts", "items", "mentions")}
    assert all(after[table] >= before[table] for table in before)
