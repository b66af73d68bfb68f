"""``readinglist harvest`` and ``readinglist list`` end to end, through the CLI."""

import hashlib
import json
import math
import os
import shutil

import pytest
from click.testing import CliRunner

from conftest import SEEDS
from harvester.models import Post
from readinglist.cli import cli
from readinglist.db import open_db

FIXTURE_ITEMS = {
    ("https://arxiv.org/abs/1706.03762", "paper"),
    ("https://github.com/harvardnlp/annotated-transformer", "repo"),
    ("https://huggingface.co/datasets/HuggingFaceFW/fineweb-edu", "dataset"),
    ("https://huggingface.co/blog/welcome-openai-gpt-oss", "article"),
    ("https://github.com/huggingface/datatrove", "repo"),
    ("https://habr.com/ru/articles/709222/", "article"),
    ("https://youtube.com/watch?v=dQw4w9WgXcQ", "video"),
}


@pytest.fixture
def db_path(tmp_path):
    return str(tmp_path / "test.db")


@pytest.fixture
def dump(fixtures):
    return str(fixtures / "text" / "channel_dump.txt")


def run(*args, input=None, env=None):
    return CliRunner().invoke(cli, list(args), input=input, env=env, catch_exceptions=False)


def listed(db_path, *args):
    result = run("list", "--db", db_path, "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def table_counts(db_path):
    db = open_db(db_path)
    return {table: db[table].count for table in ("posts", "items", "mentions")}


def test_harvest_dump(db_path, dump):
    result = run("harvest", dump, "--db", db_path)
    assert result.exit_code == 0
    assert result.output == (
        "Harvested: 5 posts read from 1 file, 8 links found, 7 new items, 0 files skipped.\n"
    )
    items = listed(db_path)
    assert {(item["url"], item["kind"]) for item in items} == FIXTURE_ITEMS
    by_url = {item["url"]: item for item in items}
    assert by_url["https://habr.com/ru/articles/709222/"]["title"] == (
        "ChatGPT как инструмент для поиска: решаем основную проблему"
    )
    assert by_url["https://github.com/huggingface/datatrove"]["title"].startswith("GitHub - huggingface/datatrove")
    paper = by_url["https://arxiv.org/abs/1706.03762"]
    assert paper["arxiv_id"] == "1706.03762"
    assert paper["channels"] == ["ML заметки"]
    assert paper["mentions"] == 1
    assert paper["status"] == "unread"
    assert set(paper) >= {"id", "url", "kind", "title", "status", "mentions", "channels", "first_seen"}
    # A forwarded post counts for both channels.
    assert by_url["https://huggingface.co/datasets/HuggingFaceFW/fineweb-edu"]["channels"] == [
        "Data Digest",
        "ML заметки",
    ]


def test_mentions_keep_the_url_as_written_and_context(db_path, dump):
    run("harvest", dump, "--db", db_path)
    db = open_db(db_path)
    rows = db.execute(
        "SELECT mentions.url, mentions.context FROM mentions JOIN items ON items.id = mentions.item_id "
        "WHERE items.url = 'https://github.com/harvardnlp/annotated-transformer'"
    ).fetchall()
    assert rows[0][0] == "https://github.com/harvardnlp/annotated-transformer/blob/master/README.md"
    assert "Разбор статьи" in rows[0][1]
    hashtags = db.execute("SELECT hashtags FROM posts WHERE text LIKE '# Attention%'").fetchone()[0]
    assert json.loads(hashtags) == ["papers", "transformers"]


def test_harvesting_twice_changes_nothing(db_path, dump):
    run("harvest", dump, "--db", db_path)
    before = table_counts(db_path)
    result = run("harvest", dump, "--db", db_path)
    assert result.exit_code == 0
    assert "0 new items" in result.output
    assert table_counts(db_path) == before


def test_new_input_adds_only_what_is_new(db_path, dump, tmp_path):
    run("harvest", dump, "--db", db_path)
    other = tmp_path / "other.txt"
    other.write_text("Перечитал https://arxiv.org/pdf/1706.03762v5 и https://example.org/new-post\n", encoding="utf-8")
    result = run("harvest", str(other), "--db", db_path)
    assert result.output == "Harvested: 1 post read from 1 file, 2 links found, 1 new item, 0 files skipped.\n"
    paper = next(item for item in listed(db_path) if item["url"] == "https://arxiv.org/abs/1706.03762")
    assert paper["mentions"] == 2
    assert paper["channels"] == ["ML заметки", "other"]


def test_seeds_end_to_end(db_path):
    result = run("harvest", str(SEEDS), "--db", db_path)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Harvested: ")
    assert "from 5 files" in result.output and "1 file skipped" in result.output
    items = {item["url"]: item for item in listed(db_path, "--status", "all")}
    expected = {
        "https://habr.com/ru/articles/709222/": "article",
        "https://habr.com/ru/articles/318970/": "article",
        "https://github.com/suno-ai/bark": "repo",
        "https://github.com/asmaaessamsultan/optimization-techniques-from-scratch": "repo",
        "https://github.com/huggingface/transformers": "repo",
        "https://github.com/tatsu-lab/stanford_alpaca": "repo",
        "https://github.com/google-research/magvit": "repo",
        "https://youtube.com/watch?v=b3XogyyXgUs": "video",
        "https://doi.org/10.1111/cdev.14129": "paper",
        "https://huggingface.co/AiArtLab/waifu-2b": "model",
        "https://t.me/+Q8wZrzGl4ZY3MjZi": "channel",
        "https://tldraw.com/": "article",
        "https://telegra.ph/Enhancing-ChatGPTs-Efficiency--The-Power-of-LangChain-and-Milvus-06-12": "article",
        "https://docs.cohere.ai/docs/controlling-generation-with-top-k-top-p": "article",
    }
    for url, kind in expected.items():
        assert url in items, url
        assert items[url]["kind"] == kind
    assert items["https://habr.com/ru/articles/709222/"]["title"].startswith("ChatGPT как инструмент")
    # Header links describe the channel: they are not mentions.
    for header_url in ("https://t.me/asisakov_channel", "https://t.me/youknowds_chat", "https://t.me/boris_again/1652"):
        assert header_url not in items
    # A URL Telegram cut short is never stored as if complete.
    assert not any("welcome-open" in url for url in items)
    assert not any(url.endswith(("...", "…")) for url in items)
    # Overlapping dumps of one channel share posts: the same post is stored once.
    db = open_db(db_path)
    assert db.execute("SELECT COUNT(*) FROM posts").fetchone()[0] == db.execute(
        "SELECT COUNT(DISTINCT id) FROM posts"
    ).fetchone()[0]


def _readme_harvest_lines() -> list[str]:
    """The summary lines README.md shows (the harvest of seeds/)."""
    import re

    return re.findall(r"`(Harvested: [^`]*)`", (SEEDS.parent / "README.md").read_text(encoding="utf-8"))


CITED = "Хочу отметить ещё одну работу с ICML: PV-Tuning: Beyond Straight-Through Estimation for Extreme LLM Compression\nMalinovskii et. al.\n"
CITED_AND_LINKED = CITED + "Код: https://github.com/x/y\n\nА ещё\n\nAttention Is All You Need for Everything Here\nVaswani et al.\n"


FIRST_CITED = "Harvested: 1 post read from 1 file, 0 links found, 0 new items, 1 new paper cited by title, 0 files skipped."


@pytest.mark.parametrize(
    "runs",
    [
        [(str(SEEDS), None, _readme_harvest_lines()[0]),
         (str(SEEDS), None, "Harvested: 55 posts read from 5 files, 25 links found, 0 new items, 1 file skipped.")],
        [("-", CITED, FIRST_CITED),
         ("-", CITED, "Harvested: 1 post read from 1 file, 0 links found, 0 new items, 0 files skipped.")],
        [("-", CITED, FIRST_CITED),
         ("-", CITED_AND_LINKED,
          "Harvested: 1 post read from 1 file, 1 link found, 1 new item, 1 new paper cited by title, 0 files skipped.")],
    ],
    ids=["seeds-twice", "cited-twice", "cited-then-more"],
)
def test_the_summary_counts_every_new_item(db_path, runs):
    """Papers cited by title are items too: the seeds' line said 23 new items, and `stats` then showed 31."""
    import re

    stored = 0
    for path, text, line in runs:
        result = run("harvest", path, "--db", db_path, input=text)
        assert (result.exit_code, result.output) == (0, line + "\n")
        stored += sum(int(number) for number in re.findall(r"(\d+) new (?:items?|papers?)", line))
        assert open_db(db_path)["items"].count == stored


def test_every_summary_line_the_readme_shows_is_the_seeds_one():
    """The quick start and Harvesting show it; test_the_summary_counts_every_new_item checks the first."""
    assert len(_readme_harvest_lines()) == 2 and len(set(_readme_harvest_lines())) == 1


def test_truncated_url_without_a_complete_one_is_dropped(db_path, tmp_path):
    path = tmp_path / "cut.txt"
    path.write_text("Блогпост: https://huggingface.co/blog/welcome-open...\n", encoding="utf-8")
    result = run("harvest", str(path), "--db", db_path)
    assert result.exit_code == 0
    assert listed(db_path) == []


def test_a_preview_card_titles_the_item_its_url_is(db_path):
    dump = "Релиз 🔥https://github.com/openai/whisper🔥\nGitHub\nGitHub - openai/whisper: Robust Speech Recognition\nRobust Speech Recognition\n"
    result = run("harvest", "-", "--db", db_path, input=dump)
    assert result.output == "Harvested: 1 post read from 1 file, 1 link found, 1 new item, 0 files skipped.\n"
    assert [(item["url"], item["kind"], item["title"]) for item in listed(db_path)] == [
        ("https://github.com/openai/whisper", "repo", "GitHub - openai/whisper: Robust Speech Recognition")
    ]


def test_a_markdown_link_with_parentheses_is_one_item(db_path):
    dump = "[Transformer](https://en.wikipedia.org/wiki/Transformer_(deep_learning_architecture))\n"
    result = run("harvest", "-", "--db", db_path, input=dump)
    assert result.output == "Harvested: 1 post read from 1 file, 1 link found, 1 new item, 0 files skipped.\n"
    assert [item["url"] for item in listed(db_path)] == [
        "https://en.wikipedia.org/wiki/Transformer_(deep_learning_architecture)"
    ]


@pytest.mark.parametrize(
    "posts, expected",
    [
        # Cut mid-way: completed by the one complete URL with that prefix.
        (
            ["https://huggingface.co/blog/welcome-open...", "https://huggingface.co/blog/welcome-openai-gpt-oss"],
            {"https://huggingface.co/blog/welcome-openai-gpt-oss": 2},
        ),
        (["https://arxiv.org/abs/2401.0123…", "https://arxiv.org/abs/2401.01234"], {"https://arxiv.org/abs/2401.01234": 2}),
        # A whole arXiv id followed by an ellipsis is that paper, whatever followed it.
        (["https://arxiv.org/pdf/2401.01234v2..."], {"https://arxiv.org/abs/2401.01234": 1}),
        # A repository name may be cut where another name goes on: the rules above, never a guess.
        (
            ["https://github.com/openai/whis...", "https://github.com/openai/whisper"],
            {"https://github.com/openai/whisper": 2},
        ),
        (["https://github.com/foo/bar...", "https://github.com/foo/bar"], {"https://github.com/foo/bar": 2}),
        (["https://github.com/foo/bar..."], {}),
        # Complete URLs of one item (the repository and a file in it): that item.
        (
            ["https://github.com/openai/whisper", "https://github.com/openai/whisper/blob/main/README.md",
             "https://github.com/openai/whis…"],
            {"https://github.com/openai/whisper": 3},
        ),
        (
            ["https://github.com/openai/whisper/tree/main", "https://github.com/openai/whisper/blob/main/README.md",
             "https://github.com/openai/whis…", "https://github.com/openai/whisper/issues/1"],
            {"https://github.com/openai/whisper": 4},
        ),
        # ... but not when another item's URL starts with it too.
        (
            ["https://github.com/openai/whisper", "https://github.com/openai/whisper/blob/main/README.md",
             "https://github.com/openai/whisperx", "https://github.com/openai/whis…"],
            {"https://github.com/openai/whisper": 2, "https://github.com/openai/whisperx": 1},
        ),
        # A prefix written complete elsewhere is that URL.
        (
            ["https://example.com/post...", "https://example.com/post", "https://example.com/post-2"],
            {"https://example.com/post": 2, "https://example.com/post-2": 1},
        ),
        # Two ways to complete it, or none: dropped.
        (["https://example.com/po...", "https://example.com/post-1", "https://example.com/post-2"],
         {"https://example.com/post-1": 1, "https://example.com/post-2": 1}),
        (["https://github.com/foo/bar/tree/ma..."], {}),
    ],
)
def test_urls_written_with_an_ellipsis(db_path, posts, expected):
    dump = "".join(f"Пост {number}: {text}\n👍{number}\n\n" for number, text in enumerate(posts, 1))
    assert run("harvest", "-", "--db", db_path, "-q", input=dump).exit_code == 0
    assert {item["url"]: item["mentions"] for item in listed(db_path)} == expected


@pytest.mark.parametrize(
    "dump, links, summary",
    [
        # The cut URL and a Markdown link of the same post are one (post, item) pair.
        (
            "Блог [welcome](https://huggingface.co/blog/welcome-openai-gpt-oss): https://huggingface.co/blog/welcome-open...\n",
            1,
            "Harvested: 1 post read from 1 file, 1 link found, 1 new item, 0 files skipped.\n",
        ),
        (
            "Блог https://huggingface.co/blog/welcome-open... и https://huggingface.co/blog/welcome-openai-gpt-oss\n",
            1,
            "Harvested: 1 post read from 1 file, 1 link found, 1 new item, 0 files skipped.\n",
        ),
        # In another post it is a pair of its own.
        (
            "Блог https://huggingface.co/blog/welcome-open...\n👍1\nПолностью: https://huggingface.co/blog/welcome-openai-gpt-oss\n",
            2,
            "Harvested: 2 posts read from 1 file, 2 links found, 1 new item, 0 files skipped.\n",
        ),
    ],
)
def test_a_completed_cut_url_counts_once_per_post(db_path, dump, links, summary):
    result = run("harvest", "-", "--db", db_path, input=dump)
    assert (result.exit_code, result.output) == (0, summary)
    db = open_db(db_path)
    assert db.execute("SELECT COUNT(DISTINCT post_id || item_id) FROM mentions").fetchone()[0] == links


@pytest.mark.parametrize(
    "link_text, title",
    [
        ("Scaling laws for neural language models", "Scaling laws for neural language models"),
        ("github.com/openai/whisper-large", None),
        ("www.example.org/some/long/page", None),
        ("example.org/a/very/long/pa…", None),
        ("blog.example.org/2024/post...", None),
        ("https://example.org/page/one", None),
    ],
)
def test_link_text_that_is_a_url_is_not_a_title(db_path, link_text, title):
    result = run("harvest", "-", "--db", db_path, "-q", input=f"Читайте [{link_text}](https://example.org/page)\n")
    assert result.exit_code == 0
    # (The link text, when it is a URL, is an item of its own too.)
    assert {item["url"]: item["title"] for item in listed(db_path)}["https://example.org/page"] == title


@pytest.mark.parametrize(
    "link_text, title",
    [
        ("Читать полностью на Хабре", None),
        ("Читать далее в нашем блоге", None),
        ("ссылка на оригинал статьи", None),
        ("Подробнее по ссылке", None),
        ("Источник: блог OpenAI", None),
        ("код и статья здесь", None),
        ("read the full post here", None),
        ("Read more on our blog", None),
        ("Full article on Medium", None),
        ("Paper and code on GitHub", None),
        ("link to the paper", None),
        ("Оригинальный подход к квантизации", "Оригинальный подход к квантизации"),
        ("Читаем статьи про RLHF вместе", "Читаем статьи про RLHF вместе"),
        ("Source-Free Domain Adaptation", "Source-Free Domain Adaptation"),
        ("Code Llama: Open Foundation Models for Code", "Code Llama: Open Foundation Models for Code"),
        ("Reading Wikipedia to Answer Open-Domain Questions", "Reading Wikipedia to Answer Open-Domain Questions"),
    ],
)
def test_link_text_that_calls_to_follow_the_link_is_not_a_title(db_path, link_text, title):
    result = run("harvest", "-", "--db", db_path, "-q", input=f"Новый пост. [{link_text}](https://example.org/page)\n")
    assert result.exit_code == 0
    assert [(item["url"], item["title"]) for item in listed(db_path)] == [("https://example.org/page", title)]


@pytest.mark.parametrize("control", ["\u202e", "\u202d", "\u202a", "\u202b", "\u202c", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f"])
@pytest.mark.parametrize("where", ["anchor", "preview"])
def test_bidi_controls_are_cleaned_out_of_anchor_and_preview_titles(db_path, tmp_path, control, where):
    # As fetched titles are (extract.clean_line): "Paper draft \u202efdp.exe" would show as "Paper draft exe.pdf".
    if where == "anchor":
        export = tmp_path / "result.json"
        export.write_text(json.dumps({"name": "Bidi chan", "type": "public_channel", "id": 77, "messages": [
            {"id": 1, "type": "message", "date": "2025-11-20T10:00:00",
             "text": ["Смотрите ", {"type": "text_link", "text": f"Paper draft {control}fdp.exe", "href": "https://example.org/bidi"}]},
        ]}))
        result = run("harvest", str(export), "--db", db_path, "-q")
        expected = ("https://example.org/bidi", "Paper draft fdp.exe")
    else:
        dump = f"Релиз 🔥https://github.com/openai/whisper🔥\nGitHub\nGitHub - openai/whisper: {control}Robust Speech\nRobust Speech\n"
        result = run("harvest", "-", "--db", db_path, "-q", input=dump)
        expected = ("https://github.com/openai/whisper", "GitHub - openai/whisper: Robust Speech")
    assert result.exit_code == 0
    assert [(item["url"], item["title"]) for item in listed(db_path)] == [expected]


@pytest.mark.parametrize(
    "written, stored",
    [
        ("2999-01-01T10:00:00", None),  # in the future: it would stay first in `next` for ever
        ("9999-99-99T10:00:00", None),  # no date at all
        ("2024-02-30T10:00:00", None),
        ("LOCAL+10H", "LOCAL+10H"),  # a local time east of UTC is ahead of the harvest, and still right
        ("2024-05-01T10:00:00", "2024-05-01T10:00:00"),
    ],
    ids=["future", "impossible", "no-such-day", "local-time-ahead", "past"],
)
def test_a_post_date_that_cannot_be_is_unknown_and_the_post_kept(db_path, tmp_path, written, stored):
    from datetime import datetime, timedelta, timezone

    ahead = (datetime.now(timezone.utc) + timedelta(hours=10)).replace(tzinfo=None).isoformat(timespec="seconds")
    written, stored = (ahead if value == "LOCAL+10H" else value for value in (written, stored))
    export = tmp_path / "result.json"
    export.write_text(json.dumps({"name": "C", "type": "public_channel", "id": 5, "messages": [
        {"id": 1, "type": "message", "date": written, "text": "see https://example.com/dated"},
        {"id": 2, "type": "message", "date": "2024-05-01T10:00:00", "text": "old https://example.com/old"},
    ]}))
    result = run("harvest", str(export), "--db", db_path)
    assert result.output == "Harvested: 2 posts read from 1 file, 2 links found, 2 new items, 0 files skipped.\n"
    db = open_db(db_path)
    assert db.execute("SELECT date FROM posts WHERE message_id = '5/1'").fetchone()[0] == stored
    scores = {item["url"]: item["score"] for item in json.loads(run("next", "--db", db_path, "--json").output)}
    # Ranked as of its harvest (its item's added_at) at most: an item mentioned now by one channel scores
    # 1.5 ln 2 + 0.4 ln 2 - 0.3 = 1.017, a day later +ln 2 / 14 (the 2999 date gave 17580).
    assert scores["https://example.com/dated"] <= 1.9 * math.log(2) - 0.3 + math.log(2) / 14


def test_a_link_entity_on_any_host_is_an_untitled_item(db_path, tmp_path):
    export = tmp_path / "result.json"
    export.write_text(json.dumps({"name": "C", "type": "public_channel", "id": 7, "messages": [
        {"id": 1, "type": "message", "date": "2024-01-01T00:00:00",
         "text_entities": [{"type": "plain", "text": "see "}, {"type": "link", "text": "example.com/some/path"}]},
    ]}))
    result = run("harvest", str(export), "--db", db_path)
    assert result.output == "Harvested: 1 post read from 1 file, 1 link found, 1 new item, 0 files skipped.\n"
    assert [(item["url"], item["title"]) for item in listed(db_path)] == [("https://example.com/some/path", None)]


@pytest.mark.parametrize("ellipsis", ["…", "...", "…)"])
def test_a_link_entity_followed_by_an_ellipsis_is_harvested(db_path, tmp_path, ellipsis):
    export = tmp_path / "result.json"
    export.write_text(json.dumps({"name": "C", "type": "public_channel", "id": 7, "messages": [
        {"id": 1, "type": "message", "date": "2024-01-01T00:00:00",
         "text_entities": [{"type": "plain", "text": "Статья "}, {"type": "link", "text": "https://example.com/blog/a"},
                           {"type": "plain", "text": f"{ellipsis} и код "},
                           {"type": "link", "text": "https://github.com/karpathy/nanoGPT"},
                           {"type": "plain", "text": ellipsis}]},
    ]}))
    result = run("harvest", str(export), "--db", db_path)
    assert result.output == "Harvested: 1 post read from 1 file, 2 links found, 2 new items, 0 files skipped.\n"
    assert sorted(item["url"] for item in listed(db_path)) == [
        "https://example.com/blog/a",
        "https://github.com/karpathy/nanogpt",
    ]


def test_the_url_buttons_under_a_post_are_harvested(db_path, tmp_path):
    export = tmp_path / "result.json"
    export.write_text(json.dumps({"name": "C", "type": "public_channel", "id": 7, "messages": [
        {"id": 1, "type": "message", "date": "2024-01-01T00:00:00", "photo": "photos/1.jpg",
         "text_entities": [{"type": "plain", "text": "Новый разбор статьи про Mamba — по кнопке ниже 👇"}],
         "inline_bot_buttons": [[{"type": "url", "text": "Читать разбор", "data": "https://habr.com/ru/articles/786552/"}],
                                [{"type": "url", "text": "Статья", "data": "https://arxiv.org/abs/2312.00752"}]]},
    ]}))
    result = run("harvest", str(export), "--db", db_path)
    assert result.output == "Harvested: 1 post read from 1 file, 2 links found, 2 new items, 0 files skipped.\n"
    assert sorted(item["url"] for item in listed(db_path)) == [
        "https://arxiv.org/abs/2312.00752",
        "https://habr.com/ru/articles/786552/",
    ]


def test_stdin(db_path):
    result = run("harvest", "-", "--db", db_path, "--channel", "piped", input="See https://github.com/a/b\n")
    assert result.exit_code == 0
    (item,) = listed(db_path)
    assert item["url"] == "https://github.com/a/b"
    assert item["channels"] == ["piped"]


def test_db_from_environment(tmp_path, dump):
    path = str(tmp_path / "env.db")
    result = run("harvest", dump, env={"READINGLIST_DB": path})
    assert result.exit_code == 0
    assert len(listed(path)) == 7
    assert open_db(path).journal_mode == "wal"


def test_bad_files_are_reported_and_the_others_harvested(db_path, dump, tmp_path):
    binary = tmp_path / "image.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    missing = tmp_path / "missing.txt"
    result = CliRunner().invoke(cli, ["harvest", str(binary), str(missing), dump, "--db", db_path])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {binary}: unknown format (not a Telegram export, t.me page or text dump)\n"
        f"Error: {missing}: no such file or directory\n"
    )
    assert result.stdout == (
        "Harvested: 5 posts read from 1 file, 8 links found, 7 new items, 0 files skipped, 2 failed.\n"
    )
    assert len(listed(db_path)) == 7


@pytest.mark.parametrize(
    "config, env, message",
    [
        ('[fetch]\nconcurrency = "16"\n', {}, "CONFIG: concurrency: expected an integer >= 1, got '16'"),
        ("concurrency = 16\n[fetch\n", {}, "CONFIG: not valid TOML (Expected ']' at the end of a table declaration (at line 2, column 7))"),
        (None, {}, "CONFIG: no such config file"),
        ("", {"READINGLIST_ALLOW_PRIVATE": "maybe"},
         "READINGLIST_ALLOW_PRIVATE: expected 1/0, true/false, yes/no or on/off, got 'maybe'"),
        ("", {"READINGLIST_ZOTERO_API": "ftp://nope"}, "READINGLIST_ZOTERO_API: expected an http or https URL, got 'ftp://nope'"),
    ],
    ids=["config-value", "config-toml", "config-missing", "env-allow-private", "env-zotero-api"],
)
def test_bad_settings_stop_a_file_harvest_before_the_database_is_created(db_path, dump, tmp_path, config, env, message):
    """Settings were checked only for live channels: a bad config passed every harvest of files."""
    path = tmp_path / "config.toml"
    if config is not None:
        path.write_text(config, encoding="utf-8")
    result = CliRunner().invoke(cli, ["harvest", dump, "--config", str(path), "--db", db_path], env=env)
    assert (result.exit_code, result.output) == (1, f"Error: {message.replace('CONFIG', str(path))}\n")
    assert not os.path.exists(db_path)


@pytest.mark.parametrize("names", [["missing.json"], ["missing.json", "gone/notes.md"]])
@pytest.mark.parametrize("quiet", [[], ["-q"]])
def test_a_harvest_of_only_missing_files_creates_no_database(db_path, tmp_path, names, quiet):
    """It stores nothing, so it created an empty database that later commands took for a harvested one."""
    paths = [str(tmp_path / name) for name in names]
    result = CliRunner().invoke(cli, ["harvest", *paths, "--db", db_path, *quiet])
    assert result.exit_code == 1
    assert result.stderr == "".join(f"Error: {path}: no such file or directory\n" for path in paths)
    assert result.stdout == ("" if quiet else
                             f"Harvested: 0 posts read from 0 files, 0 links found, 0 new items, 0 files skipped, {len(paths)} failed.\n")
    assert not os.path.exists(db_path)


@pytest.mark.parametrize(
    "content, error",
    [(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8, "unknown format (not a Telegram export, t.me page or text dump)"),
     (b"", "empty input"), (b'{"name": "C", "messages": [', None), ("folder", None)],
    ids=["binary", "empty", "broken-json", "empty-folder"],
)
def test_a_harvest_that_stores_no_post_creates_no_database(db_path, tmp_path, content, error):
    """Files that exist but hold no post (or none that can be read) created an empty database."""
    path = tmp_path / "input"
    if content == "folder":
        path.mkdir()
    else:
        path.write_bytes(content)
    result = CliRunner().invoke(cli, ["harvest", str(path), "--db", db_path])
    assert result.exit_code == (0 if content == "folder" else 1)
    if error:
        assert result.stderr == f"Error: {path}: {error}\n"
    assert not os.path.exists(db_path)
    # The first post stored creates it.
    assert run("harvest", "-", "--db", db_path, "-q", input="see https://example.com/first\n").exit_code == 0
    assert [item["url"] for item in listed(db_path)] == ["https://example.com/first"]


def test_truncated_json_keeps_what_was_stored(db_path, dump, tmp_path):
    run("harvest", dump, "--db", db_path)
    before = table_counts(db_path)
    broken = tmp_path / "result.json"
    broken.write_text(
        '{"name": "Chan", "type": "public_channel", "id": 1, "messages": ['
        '{"id": 1, "type": "message", "date": "2024-01-02T03:04:05", "text": "https://github.com/x/one"}, '
        '{"id": 2, "type": "message", "date": "2024-01-02T03:04:06", "text": "https://github.com/x/tw',
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["harvest", str(broken), "--db", db_path])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {broken}: ")
    assert "byte" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    after = table_counts(db_path)
    assert all(after[table] >= before[table] for table in before)


def test_directory_walk_skips_unknown_files(db_path, dump, tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    shutil.copy(dump, folder / "dump.txt")
    (folder / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00")
    result = run("harvest", str(folder), "--db", db_path)
    assert result.exit_code == 0
    assert result.output == "Harvested: 5 posts read from 1 file, 8 links found, 7 new items, 1 file skipped.\n"


@pytest.mark.parametrize(
    "first_line",
    ["[1] Vaswani et al. Attention Is All You Need", "[12.05.2024 10:00] Борис: статья", "{Пост} статья"],
)
def test_text_that_starts_like_json_is_harvested(db_path, tmp_path, first_line):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "refs.md").write_text(f"{first_line} https://arxiv.org/abs/1706.03762\n", encoding="utf-8")
    result = run("harvest", str(folder), "--db", db_path)
    assert (result.exit_code, result.output) == (
        0, "Harvested: 1 post read from 1 file, 1 link found, 1 new item, 0 files skipped.\n"
    )


def test_directory_walk_skips_the_assets_of_an_html_export(db_path, fixtures, tmp_path):
    folder = tmp_path / "ChatExport"
    for name in ("css", "js", "images"):
        (folder / name).mkdir(parents=True)
    shutil.copy(fixtures / "telegram_html" / "messages.html", folder / "messages.html")
    (folder / "css" / "style.css").write_text(
        "body {\n    margin: 0;\n    font: 12px/18px 'Open Sans',\"Lucida Sans Unicode\",Arial;\n}\n"
        ".section.calls {\n    background-image: url(../images/section_calls.png);\n}\n"
    )
    (folder / "js" / "script.js").write_text(
        '"use strict";\n\nwindow.AllowBackFromHistory = false;\nfunction CheckLocation() {\n'
        '    var start = "#go_to_message";\n    if (location.hash == start) {\n        GoToMessage(1);\n    }\n}\n'
    )
    (folder / "images" / "back.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    alone = str(tmp_path / "alone.db")
    expected = run("harvest", str(folder / "messages.html"), "--db", alone).output
    result = run("harvest", str(folder), "--db", db_path)
    assert (result.exit_code, result.output) == (0, expected.replace("0 files skipped", "3 files skipped"))
    db = open_db(db_path)
    assert db.execute("SELECT DISTINCT channel FROM posts").fetchall() == open_db(alone).execute(
        "SELECT DISTINCT channel FROM posts"
    ).fetchall()


def test_directory_walk_skips_the_attachments_of_an_export(db_path, fixtures, tmp_path):
    """A requirements.txt sent in a chat reads as a dump: it made a channel "requirements"."""
    inputs = tmp_path / "inputs"
    folder = inputs / "ChatExport"
    for name in ("files", "photos", "files/nested"):
        (folder / name).mkdir(parents=True)
    shutil.copy(fixtures / "telegram_html" / "messages.html", folder / "messages.html")
    (folder / "files" / "requirements.txt").write_text("torch>=2.1  # https://pytorch.org/get-started/locally/\n")
    (folder / "files" / "nested" / "train.txt").write_text("see https://github.com/karpathy/nanoGPT\n")
    (folder / "photos" / "photo_1.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF")
    (inputs / "files").mkdir()  # outside an export, a folder named files is walked as any other
    (inputs / "files" / "notes.txt").write_text("Read https://arxiv.org/abs/1706.03762\n")
    alone = str(tmp_path / "alone.db")
    run("harvest", str(folder / "messages.html"), "--db", alone)
    result = run("harvest", str(inputs), "--db", db_path)
    assert result.exit_code == 0 and result.output.endswith(", 3 files skipped.\n"), result.output
    channels = {row[0] for row in open_db(db_path).execute("SELECT DISTINCT channel FROM posts")}
    assert channels == {row[0] for row in open_db(alone).execute("SELECT DISTINCT channel FROM posts")} | {"notes"}


@pytest.mark.parametrize(
    "name, content",
    [
        ("reading.bib", "@misc{lee2024big,\n  author = {Lee, Ann},\n  url    = {https://tldraw.com/},\n}\n"),
        ("reading.ris", "TY  - GEN\nTI  - Tldraw\nUR  - https://tldraw.com/\nER  - \n"),
        ("reading.csv", "id,url,kind,title,status,added_at\n1a2b,https://tldraw.com/,repo,,unread,2026-11-22\n"),
        ("reading.tsv", "id\turl\tkind\ttitle\n1a2b\thttps://tldraw.com/\trepo\tTldraw\n"),
    ],
)
def test_directory_walk_skips_our_own_exports(db_path, dump, tmp_path, name, content):
    """An export saved next to the dumps became a channel that mentioned every item, and junk URLs."""
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    shutil.copy(dump, inputs / "dump.txt")
    (inputs / name).write_text(content)
    result = run("harvest", str(inputs), "--db", db_path)
    assert (result.exit_code, result.output) == (
        0, "Harvested: 5 posts read from 1 file, 8 links found, 7 new items, 1 file skipped.\n"
    )


@pytest.mark.parametrize(
    "listing",
    ["@boris_again\nhttps://t.me/s/asisakov_channel  # demo\n", "# channels\ndata_digest\n"],
)
def test_a_channel_list_named_as_input_is_skipped_with_a_hint(db_path, dump, tmp_path, listing):
    path = tmp_path / "channels.txt"
    path.write_text(listing, encoding="utf-8")
    result = CliRunner().invoke(cli, ["harvest", str(path), dump, "--db", db_path])
    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        "Harvested: 5 posts read from 1 file, 8 links found, 7 new items, 1 file skipped.\n",
        f"Skipped {path}: a channel list, not posts (read its channels with --channels {path})\n",
    )
    assert not any(item["kind"] == "channel" for item in listed(db_path))


@pytest.mark.parametrize("quiet", ["-q", "--quiet"])
def test_quiet_leaves_out_the_channel_list_notice(db_path, dump, tmp_path, quiet):
    """The notice is no error: cron would mail it on every run."""
    path = tmp_path / "channels.txt"
    path.write_text("@boris_again\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["harvest", str(path), dump, "--db", db_path, quiet])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")


def test_naming_every_seed_file_is_like_harvesting_the_folder(db_path, tmp_path):
    folder = run("harvest", str(SEEDS), "--db", str(tmp_path / "folder.db"))
    result = CliRunner().invoke(cli, ["harvest", *sorted(str(path) for path in SEEDS.iterdir()), "--db", db_path])
    assert (result.exit_code, result.stdout) == (0, folder.output)
    assert result.stderr == f"Skipped {SEEDS / 'channels.txt'}: a channel list, not posts (read its channels with --channels {SEEDS / 'channels.txt'})\n"


def test_quiet_prints_nothing(db_path, dump):
    result = run("harvest", dump, "--db", db_path, "--quiet")
    assert result.exit_code == 0
    assert result.output == ""


def test_not_a_database(tmp_path, dump):
    bogus = tmp_path / "notes.db"
    bogus.write_text("this is not sqlite " * 100)
    result = CliRunner().invoke(cli, ["harvest", dump, "--db", str(bogus)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {bogus}: not a readinglist database")
    assert "Traceback" not in result.output


def test_list_filters_and_plain_output(db_path, dump):
    run("harvest", dump, "--db", db_path)
    papers = listed(db_path, "--kind", "paper")
    assert [item["url"] for item in papers] == ["https://arxiv.org/abs/1706.03762"]
    assert listed(db_path, "--status", "read") == []
    result = run("list", "--db", db_path, "--kind", "paper")
    assert result.output == f"{papers[0]['id']}  paper         1  https://arxiv.org/abs/1706.03762\n"


def test_format_option_forces_a_parser(db_path, tmp_path):
    path = tmp_path / "looks.json"
    path.write_text('{"not json at all": https://github.com/a/b\n')
    result = run("harvest", str(path), "--db", db_path, "--format", "text")
    assert result.exit_code == 0
    assert [item["url"] for item in listed(db_path)] == ["https://github.com/a/b"]


@pytest.mark.parametrize(
    "data, format_name, reason",
    [
        (bytes(range(256)) * 8, "text", "binary data, not a text dump"),
        (bytes(range(256)) * 8, "tme", "binary data, not a t.me page"),
        ("Статья https://example.com/статья\nhttps://example.com/caf\xe9\n".encode("utf-8").replace(b"\xc3\xa9", b"\xe9"),
         None, "not UTF-8 text (byte 0xe9 at offset 69)"),
    ],
)
def test_a_file_that_fails_is_not_counted_as_read(db_path, tmp_path, data, format_name, reason):
    # "0 posts read from 1 file ... 1 failed": the file that failed was counted as read; with --format text
    # random bytes became a post, and a UTF-8 dump with a Latin-1 byte stored https://example.com/caf.
    path = tmp_path / "dump.txt"
    path.write_bytes(data)
    forced = ["--format", format_name] if format_name else []
    result = CliRunner().invoke(cli, ["harvest", str(path), "--db", db_path, *forced])
    assert (result.exit_code, result.stderr) == (1, f"Error: {path}: {reason}\n")
    assert result.stdout == "Harvested: 0 posts read from 0 files, 0 links found, 0 new items, 0 files skipped, 1 failed.\n"
    assert not os.path.exists(db_path)  # nothing stored, nothing created


@pytest.mark.parametrize("names", [["missing_channel.html"], ["landing_page.html", "missing_channel.html"]])
def test_a_saved_tme_page_that_is_no_channel_preview_fails(db_path, dump, fixtures, names):
    # They were read silently: "0 posts read from 2 files", exit 0, where a live harvest says "no such public channel".
    run("harvest", dump, "--db", db_path)
    before = table_counts(db_path)
    paths = [str(fixtures / "tme" / name) for name in names]
    result = CliRunner().invoke(cli, ["harvest", *paths, "--db", db_path])
    assert result.exit_code == 1
    assert result.stderr == "".join(
        f"Error: {path}: not a channel's t.me/s/ preview (a contact or landing page: no posts)\n" for path in paths
    )
    assert result.stdout == (
        f"Harvested: 0 posts read from 0 files, 0 links found, 0 new items, 0 files skipped, {len(paths)} failed.\n"
    )
    assert table_counts(db_path) == before


@pytest.fixture
def unreadable_directories(monkeypatch):
    """Directories to make unreadable whoever runs the tests (root reads a chmod 000 directory)."""
    import os

    unreadable: set[str] = set()
    scandir = os.scandir

    def refusing_scandir(path="."):
        if os.fspath(path) in unreadable:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refusing_scandir)
    return unreadable


def test_an_unreadable_directory_is_an_error(db_path, tmp_path, unreadable_directories):
    # "Harvested: 0 posts read from 0 files", exit 0: the dumps inside were silently not harvested.
    for folder in ("export/sub", "locked"):
        (tmp_path / folder).mkdir(parents=True)
        shutil.copy(SEEDS / "000_b2c38260c34db979.txt", tmp_path / folder)
    unreadable_directories.update({str(tmp_path / "export" / "sub"), str(tmp_path / "locked")})
    result = CliRunner().invoke(cli, ["harvest", str(tmp_path / "export"), str(tmp_path / "locked"), "--db", db_path])
    assert (result.exit_code, result.stderr) == (
        1, f"Error: {tmp_path / 'export' / 'sub'}: permission denied\nError: {tmp_path / 'locked'}: permission denied\n"
    )
    assert result.stdout == "Harvested: 0 posts read from 0 files, 0 links found, 0 new items, 0 files skipped, 2 failed.\n"


@pytest.mark.parametrize("loop", [False, True])
def test_a_symlinked_directory_is_walked_once(db_path, tmp_path, loop):
    # os.walk did not follow the link: its dumps were silently not harvested.
    (tmp_path / "real").mkdir()
    (tmp_path / "top").mkdir()
    shutil.copy(SEEDS / "000_b2c38260c34db979.txt", tmp_path / "real")
    (tmp_path / "top" / "chan").symlink_to("../real")
    if loop:
        (tmp_path / "real" / "back").symlink_to("../top")  # top/chan/back/chan/... would never end
    result = run("harvest", str(tmp_path / "top"), "--db", db_path)
    assert (result.exit_code, result.stdout) == (
        0, "Harvested: 7 posts read from 1 file, 0 links found, 0 new items, 0 files skipped.\n"
    )


def test_empty_stdin_is_reported(db_path):
    result = CliRunner().invoke(cli, ["harvest", "-", "--db", db_path], input="")
    assert result.exit_code == 1
    assert result.stderr == "Error: <stdin>: empty input\n"


def test_hashtags_of_mentioning_posts_become_tags(db_path, tmp_path):
    dump = tmp_path / "dump.txt"
    dump.write_text(
        "Разбор статьи #NLP #трансформеры https://arxiv.org/abs/1706.03762\n\n"
        "Ещё раз про неё #nlp #classics arxiv.org/abs/1706.03762v2\n",
        encoding="utf-8",
    )
    assert run("harvest", str(dump), "--db", db_path, "-q").exit_code == 0
    (item,) = listed(db_path)
    # Hashtags are case-folded: "#NLP" and "#nlp" are one tag.
    assert item["tags"] == ["nlp", "трансформеры", "classics"]
    run("tag", "--db", db_path, item["id"], "+mine", "-classics")
    assert run("harvest", str(dump), "--db", db_path, "-q").exit_code == 0
    # A second harvest of the same posts changes nothing, not even a removed tag.
    assert listed(db_path)[0]["tags"] == ["nlp", "трансформеры", "mine"]


def test_incremental_aggregates_equal_a_full_recount(db_path, monkeypatch):
    """Batches fold new mentions into mention_posts/channels/last_mentioned; a rebuild agrees exactly."""
    from readinglist import pipeline, ranking

    monkeypatch.setattr(pipeline, "BATCH_POSTS", 3)
    assert run("harvest", str(SEEDS), "--db", db_path, "-q").exit_code == 0
    assert run("harvest", str(SEEDS), "--db", db_path, "-q").exit_code == 0
    db = open_db(db_path)
    columns = "id, mention_posts, mention_channels, channels, last_mentioned, rank_key"
    incremental = db.execute(f"SELECT {columns} FROM items ORDER BY id").fetchall()
    mention_days = db.execute("SELECT id, post_julianday FROM mentions ORDER BY id").fetchall()
    ranking.rebuild(db)
    db.execute("UPDATE mentions SET post_julianday = (SELECT julianday(date) FROM posts WHERE posts.id = post_id)")
    assert db.execute(f"SELECT {columns} FROM items ORDER BY id").fetchall() == incremental
    assert [(i, round(d, 6) if d else d) for i, d in db.execute("SELECT id, post_julianday FROM mentions ORDER BY id")] == [
        (i, round(d, 6) if d else d) for i, d in mention_days
    ]
    assert any(row[2] > 1 for row in incremental)


def test_links_to_a_merged_url_join_the_item_it_was_merged_into(db_path, tmp_path):
    first = tmp_path / "a.txt"
    first.write_text("Статья https://arxiv.org/abs/1706.03762\n", encoding="utf-8")
    assert run("harvest", str(first), "--db", db_path, "-q").exit_code == 0
    db = open_db(db_path)
    (paper,) = [row[0] for row in db.execute("SELECT id FROM items")]
    db.execute("INSERT INTO aliases(url, item_id, added_at) VALUES ('https://doi.org/10.5555/3295222.3295349', ?, '2026-01-01')", [paper])
    db.conn.commit()
    second = tmp_path / "b.txt"
    second.write_text("Published version: https://doi.org/10.5555/3295222.3295349\n", encoding="utf-8")
    assert run("harvest", str(second), "--db", db_path, "-q").exit_code == 0
    assert [row[0] for row in db.execute("SELECT id FROM items")] == [paper]
    assert db.execute("SELECT mention_posts FROM items").fetchone()[0] == 2
    assert run("harvest", str(second), "--db", db_path, "-q").exit_code == 0
    assert db.execute("SELECT COUNT(*) FROM mentions").fetchone()[0] == 2


@pytest.mark.parametrize(
    "old, new",
    [
        ("https://github.com/old/name", "https://github.com/new/name"),
        ("https://huggingface.co/qwen/qwen2-7b-instruct", "https://huggingface.co/Qwen/Qwen2-7B-Instruct"),
    ],
)
def test_links_to_the_url_a_renamed_repo_took_join_its_item(db_path, tmp_path, old, new):
    """A renamed item keeps its id (that of its old URL): a link to its new URL failed the harvest (UNIQUE items.url)."""
    from readinglist import metadata

    (tmp_path / "a.txt").write_text(f"Код {old}\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text(f"Снова {new}\n", encoding="utf-8")
    assert run("harvest", str(tmp_path / "a.txt"), "--db", db_path, "-q").exit_code == 0
    db = open_db(db_path)
    (item_id,) = db.execute("SELECT id FROM items").fetchone()
    adapter = "github" if "github" in old else "huggingface"
    with db.atomic():
        metadata._rename_repo(db, {"id": item_id, "url": old}, adapter, new.split("/", 3)[3], "2026-01-01", None)
    for _ in range(2):
        result = run("harvest", str(tmp_path / "b.txt"), str(tmp_path / "a.txt"), "--db", db_path)
        assert (result.exit_code, result.output) == (
            0, "Harvested: 2 posts read from 2 files, 2 links found, 0 new items, 0 files skipped.\n"
        )
    assert db.execute("SELECT id, url, mention_posts FROM items").fetchall() == [(item_id, new, 2)]


HABR_AND_X = """Разбор: https://habr.com/ru/articles/786552/
👍1
С телефона: https://habr.com/ru/amp/publications/786552/
👍1
Только AMP: https://habr.com/ru/amp/publications/111111/
👍1
Твит https://twitter.com/Karpathy/status/1733299213503787018?s=20
👍1
Тот же твит https://x.com/i/web/status/1733299213503787018
👍1
И ещё раз https://x.com/karpathy/status/1733299213503787018 #llm
👍1
Другой https://x.com/ylecun/status/42
👍1
"""


def _identity_before_m017(patch):
    """``harvester.identity`` as it was before m017: AMP links were other pages, X posts kept their user's name."""
    import re

    from harvester import identity

    def old_x(u):
        segments = u.segments
        if len(segments) >= 4 and segments[:3] == ["i", "web", "status"]:
            return identity.Identity(url="https://x.com/i/status/" + segments[3], kind="article", domain="x.com")
        if len(segments) >= 3 and segments[1] == "status":
            return identity.Identity(url=f"https://x.com/{segments[0].lower()}/status/{segments[2]}", kind="article", domain="x.com")
        return None

    patch.setattr(identity, "_HABR_RE", re.compile(
        r"/(?:(?:ru|en)/)?(?:(?:company|companies)/[^/]+/(?:blog|articles|news)|post|articles|news(?:/t)?|p)/(\d+)(?:/.*)?"
    ))
    patch.setitem(identity._SITES, "x.com", old_x)
    identity._identify.cache_clear()


@pytest.mark.parametrize("runs", [1, 2])
def test_a_habr_amp_link_and_an_x_post_by_any_name_are_one_item(db_path, runs):
    for _ in range(runs):
        result = run("harvest", "-", "--db", db_path, input=HABR_AND_X)
    assert result.output == (
        "Harvested: 7 posts read from 1 file, 7 links found, 4 new items, 0 files skipped.\n" if runs == 1 else
        "Harvested: 7 posts read from 1 file, 7 links found, 0 new items, 0 files skipped.\n"
    )
    assert {item["url"]: item["mentions"] for item in listed(db_path)} == {
        "https://habr.com/ru/articles/786552/": 2,
        "https://habr.com/ru/articles/111111/": 1,
        "https://x.com/i/status/1733299213503787018": 3,
        "https://x.com/i/status/42": 1,
    }


def test_migration_makes_one_item_of_a_habr_amp_link_and_an_x_post_by_any_name(db_path, tmp_path, monkeypatch):
    """Items stored apart before m017 take the URL a harvest now gives, or are merged into the item that has it."""
    from harvester import identity

    expected_path = str(tmp_path / "expected.db")
    assert run("harvest", "-", "--db", expected_path, "-q", input=HABR_AND_X).exit_code == 0
    with monkeypatch.context() as patch:
        _identity_before_m017(patch)
        assert run("harvest", "-", "--db", db_path, "-q", input=HABR_AND_X).exit_code == 0
    identity._identify.cache_clear()
    db = open_db(db_path)
    assert db["items"].count == 6
    # The user's state of an item merged away is kept.
    db.execute("UPDATE items SET status = 'read' WHERE url = 'https://x.com/karpathy/status/1733299213503787018'")
    db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm017_one_item_per_habr_and_x_post'")
    db.conn.commit()
    db.conn.close()

    migrated, expected = open_db(db_path), open_db(expected_path)
    # Not rank_key: it counts from added_at, when each database was harvested.
    columns = "url, kind, domain, mention_posts, mention_channels, channels, tags, last_mentioned"
    query = f"SELECT {columns} FROM items ORDER BY url"
    assert migrated.execute(query).fetchall() == expected.execute(query).fetchall()
    assert migrated.execute("SELECT url, status FROM items WHERE status = 'read'").fetchall() == [
        ("https://x.com/i/status/1733299213503787018", "read")
    ]
    assert migrated.execute("SELECT COUNT(*) FROM mentions").fetchone() == (7,)
    result = run("harvest", "-", "--db", db_path, input=HABR_AND_X)
    assert result.output == "Harvested: 7 posts read from 1 file, 7 links found, 0 new items, 0 files skipped.\n"
    assert migrated.execute("SELECT COUNT(*) FROM items").fetchone() == (4,)


def test_harvest_records_papers_cited_by_title(db_path):
    assert run("harvest", str(SEEDS), "--db", db_path, "-q").exit_code == 0
    titles = {item["title"] for item in listed(db_path, "--kind", "unresolved")}
    assert "PV-Tuning: Beyond Straight-Through Estimation for Extreme LLM Compression" in titles
    # Cited titles are listed, never queued.
    queued = json.loads(run("next", "--db", db_path, "-n", "100", "--json").output)
    assert not any(item["kind"] == "unresolved" for item in queued)


# --------------------------------------------------------------- one export in both formats

BOTH_JSON = {
    "name": "ML & Stuff",
    "type": "public_channel",
    "id": 777,
    "messages": [
        {"id": 100, "type": "message", "date": "2024-05-01T10:00:00", "from": "ML & Stuff",
         "text": [{"type": "link", "text": "https://github.com/deepseek-ai/DeepSeek-V2"}]},
        {"id": 101, "type": "message", "date": "2024-05-01T11:30:00", "from": "ML & Stuff",
         "text": ["Статья ", {"type": "text_link", "text": "тут", "href": "https://arxiv.org/abs/2405.04434"}, " #llm"]},
    ],
}  # fmt: skip
BOTH_HTML = """<!DOCTYPE html><html><head><meta charset="utf-8"/><title>Exported Data</title></head><body>
<div class="page_wrap"><div class="page_header"><div class="content"><div class="text bold">ML &amp; Stuff</div></div></div>
<div class="page_body chat_page"><div class="history">
<div class="message default clearfix" id="message100"><div class="body">
<div class="pull_right date details" title="01.05.2024 10:00:00 UTC+03:00">10:00</div><div class="from_name">ML &amp; Stuff</div>
<div class="text"><a href="https://github.com/deepseek-ai/DeepSeek-V2">https://github.com/deepseek-ai/DeepSeek-V2</a></div></div></div>
<div class="message default clearfix joined" id="message101"><div class="body">
<div class="pull_right date details" title="01.05.2024 11:30:00 UTC+03:00">11:30</div>
<div class="text">Статья <a href="https://arxiv.org/abs/2405.04434">тут</a> <a href="" onclick="return ShowHashtag(&quot;llm&quot;)">#llm</a></div></div></div>
</div></div></div></body></html>"""


def write_both_formats(folder):
    folder.mkdir(exist_ok=True)
    (folder / "result.json").write_text(json.dumps(BOTH_JSON, ensure_ascii=False), encoding="utf-8")
    (folder / "messages.html").write_text(BOTH_HTML, encoding="utf-8")
    return folder


def counted(db_path):
    db = open_db(db_path)
    return table_counts(db_path), sorted(db.execute("SELECT url, mention_posts, mention_channels FROM items"))


@pytest.mark.parametrize(
    "runs",
    [["."], ["result.json", "messages.html"], ["messages.html", "result.json"], [".", "."]],
    ids=["one run", "json, then html", "html, then json", "twice"],
)
def test_an_export_in_both_formats_is_each_message_once(db_path, tmp_path, runs):
    folder = write_both_formats(tmp_path / "export")
    for name in runs:
        assert run("harvest", str(folder / name), "--db", db_path, "-q").exit_code == 0
    tables, items = counted(db_path)
    assert tables == {"posts": 2, "items": 2, "mentions": 2}
    assert items == [("https://arxiv.org/abs/2405.04434", 1, 1), ("https://github.com/deepseek-ai/deepseek-v2", 1, 1)]


def test_same_title_and_number_at_another_time_is_another_message(db_path, tmp_path):
    """Two chats named alike (only JSON knows their ids) meet on a number, not on its minute."""
    other = dict(BOTH_JSON, id=888, messages=[dict(BOTH_JSON["messages"][0], date="2023-01-01T09:00:00")])
    (tmp_path / "a.json").write_text(json.dumps(BOTH_JSON), encoding="utf-8")
    (tmp_path / "b.json").write_text(json.dumps(other), encoding="utf-8")
    assert run("harvest", str(tmp_path / "a.json"), str(tmp_path / "b.json"), "--db", db_path, "-q").exit_code == 0
    assert table_counts(db_path)["posts"] == 3


def html_export(folder, title, number, sent, url):
    """A one-message HTML export of chat ``title``: message ``number`` sent at ``sent`` (``DD.MM.YYYY HH:MM:SS``) links ``url``."""
    folder.mkdir(exist_ok=True)
    (folder / "messages.html").write_text(
        BOTH_HTML.split('<div class="message')[0].replace("ML &amp; Stuff", title)
        + f"""<div class="message default clearfix" id="message{number}"><div class="body">
<div class="pull_right date details" title="{sent} UTC+03:00">00:00</div>
<div class="text">Ссылка: <a href="{url}">{url}</a></div></div></div></div></div></div></body></html>""",
        encoding="utf-8",
    )
    return str(folder / "messages.html")


OTHER_CHATS = [
    ("Новости ML", "Новости ML", []),
    ("Новости ML", "Другой канал", ["--channel", "ml"]),
]


@pytest.mark.parametrize("title_a, title_b, label", OTHER_CHATS, ids=["one title", "one --channel label"])
@pytest.mark.parametrize("runs", ["one run", "two runs"])
def test_two_html_chats_named_alike_keep_their_posts_apart(db_path, tmp_path, title_a, title_b, label, runs):
    """Message numbers restart in every chat and an HTML export names its chat only by title: #2 of two chats is two posts."""
    a = html_export(tmp_path / "a", title_a, 2, "02.01.2024 10:00:00", "https://arxiv.org/abs/2401.01234")
    b = html_export(tmp_path / "b", title_b, 2, "15.03.2024 18:30:00", "https://github.com/karpathy/nanoGPT")
    for files in ([a, b],) if runs == "one run" else ([a], [b]):
        assert run("harvest", *files, *label, "--db", db_path, "-q").exit_code == 0
    assert run("harvest", a, b, *label, "--db", db_path, "-q").exit_code == 0  # again: nothing new
    posted = open_db(db_path).execute(
        "SELECT mentions.url, posts.date FROM mentions JOIN posts ON posts.id = mentions.post_id ORDER BY 2"
    ).fetchall()
    assert posted == [
        ("https://arxiv.org/abs/2401.01234", "2024-01-02T10:00:00+03:00"),
        ("https://github.com/karpathy/nanoGPT", "2024-03-15T18:30:00+03:00"),
    ]
    assert table_counts(db_path) == {"posts": 2, "items": 2, "mentions": 2}


def _key_without_minute(post, current=Post.key.fget):
    """``Post.key`` as it was before the minute: an export post's chat and number."""
    if post.permalink or not post.post_id:
        return current(post)
    return hashlib.sha1(f"id\0{post.channel or ''}\0{post.post_id}".encode()).hexdigest()[:16]


def test_posts_stored_under_the_key_without_the_minute_are_found_again(db_path, tmp_path, monkeypatch):
    """Export posts stored before the minute was in ``Post.key`` keep their ids: a harvest finds them by ``message_key``."""
    folder = write_both_formats(tmp_path / "export")
    other = html_export(tmp_path / "other", "ML &amp; Stuff", 100, "02.02.2024 09:00:00", "https://github.com/karpathy/nanoGPT")
    with monkeypatch.context() as patch:
        patch.setattr(Post, "key", property(_key_without_minute))
        assert run("harvest", str(folder), "--db", db_path, "-q").exit_code == 0
    before = open_db(db_path).execute("SELECT id, message_key FROM posts ORDER BY 1").fetchall()
    assert len(before) == 2
    result = run("harvest", str(folder), other, "--db", db_path)
    assert result.output == "Harvested: 5 posts read from 3 files, 5 links found, 1 new item, 0 files skipped.\n"
    after = open_db(db_path).execute("SELECT id, message_key FROM posts ORDER BY 1").fetchall()
    assert set(before) < set(after) and len(after) == 3
    assert table_counts(db_path) == {"posts": 3, "items": 3, "mentions": 3}


def test_migration_folds_posts_stored_twice_before_it(db_path, tmp_path, monkeypatch):
    """A database harvested before m012 holds both formats' copies; migrating leaves what a harvest now stores."""
    folder = write_both_formats(tmp_path / "export")
    expected_path = str(tmp_path / "expected.db")
    assert run("harvest", str(folder), "--db", expected_path, "-q").exit_code == 0
    with monkeypatch.context() as patch:  # as a version before m012 stored them
        patch.setattr(Post, "message_key", property(lambda post: None))
        patch.setattr(Post, "key", property(_key_without_minute))
        assert run("harvest", str(folder), "--db", db_path, "-q").exit_code == 0
    db = open_db(db_path)
    assert table_counts(db_path)["posts"] == 4
    db.execute("DROP INDEX posts_message_key")
    db.execute("ALTER TABLE posts DROP COLUMN message_key")
    db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm012_post_message_keys'")
    db.conn.commit()
    db.conn.close()

    columns = "url, mention_posts, mention_channels, channels, tags, last_mentioned, rank_key"
    migrated, expected = open_db(db_path), open_db(expected_path)
    assert counted(db_path)[0] == {"posts": 2, "items": 2, "mentions": 2}
    for query in (f"SELECT {columns} FROM items ORDER BY url", "SELECT message_key, channel, date FROM posts ORDER BY 1"):
        assert migrated.execute(query).fetchall() == expected.execute(query).fetchall()
    assert run("harvest", str(folder), "--db", db_path, "-q").exit_code == 0
    assert counted(db_path)[0] == {"posts": 2, "items": 2, "mentions": 2}


# --------------------------------------------------------------- one channel on t.me and in an export

TME_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>ML &amp; Stuff – Telegram</title></head><body>
<div class="tgme_channel_info"><div class="tgme_channel_info_header_title"><span>{title}</span></div>
<div class="tgme_channel_info_header_username"><a href="https://t.me/{username}">@{username}</a></div></div>
<section class="tgme_channel_history">
<div class="tgme_widget_message_wrap"><div class="tgme_widget_message js-widget_message" data-post="{username}/100">
<div class="tgme_widget_message_text js-message_text" dir="auto">
<a href="https://github.com/deepseek-ai/DeepSeek-V2">https://github.com/deepseek-ai/DeepSeek-V2</a></div>
<div class="tgme_widget_message_footer"><a class="tgme_widget_message_date" href="https://t.me/{username}/100">
<time datetime="2024-05-01T07:00:00+00:00" class="time">07:00</time></a></div></div></div>
</section></body></html>"""


def write_channel_page(path, username="ML_stuff", title="ML &amp; Stuff"):
    path.write_text(TME_PAGE.format(username=username, title=title), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "runs",
    [["export/result.json", "s.html"], ["s.html", "export/result.json"], ["s.html", "export/messages.html"],
     ["export", "s.html"], ["."]],
    ids=["json, then t.me", "t.me, then json", "t.me, then html", "both formats, then t.me", "one run"],
)
def test_a_channel_read_from_tme_and_from_an_export_is_one_channel(db_path, tmp_path, runs):
    write_both_formats(tmp_path / "export")
    write_channel_page(tmp_path / "s.html")
    for name in runs:
        assert run("harvest", str(tmp_path / name), "--db", db_path, "-q").exit_code == 0
    db = open_db(db_path)
    repo = db.execute("SELECT mention_posts, mention_channels, channels FROM items WHERE repo IS NOT NULL").fetchone()
    assert repo == (1, 1, '["ML_stuff"]')
    assert db.execute("SELECT COUNT(*) FROM posts").fetchone()[0] == 2
    assert {row[0] for row in db.execute("SELECT channel FROM posts")} == {"ML_stuff"}


def test_a_title_two_channels_share_names_neither(db_path, tmp_path):
    write_both_formats(tmp_path / "export")
    write_channel_page(tmp_path / "a.html", username="ml_stuff_one")
    write_channel_page(tmp_path / "b.html", username="ml_stuff_two")
    for name in ("a.html", "b.html", "export/result.json"):
        assert run("harvest", str(tmp_path / name), "--db", db_path, "-q").exit_code == 0
    channels = {row[0] for row in open_db(db_path).execute("SELECT channel FROM posts")}
    assert channels == {"ml_stuff_one", "ml_stuff_two", "ML & Stuff"}


def test_migration_makes_export_posts_of_a_known_channel_its_posts(db_path, tmp_path, monkeypatch):
    """Before m014 a live harvest stored the channel's title; its export posts and t.me posts were apart."""
    from harvester.models import Post, message_key
    from readinglist import pipeline

    write_both_formats(tmp_path / "export")
    write_channel_page(tmp_path / "s.html")
    expected_path = str(tmp_path / "expected.db")
    for path in (expected_path, db_path):
        with monkeypatch.context() as patch:
            if path == db_path:
                patch.setattr(pipeline.PostWriter, "_in_known_channels", lambda self, posts: posts)
                patch.setattr(Post, "message_key", property(
                    lambda post: None if post.permalink else message_key(post.channel, post.post_id, post.date)
                ))
            for name in ("export", "s.html"):
                assert run("harvest", str(tmp_path / name), "--db", path, "-q").exit_code == 0
    db = open_db(db_path)
    assert db.execute("SELECT mention_channels FROM items WHERE repo IS NOT NULL").fetchone() == (2,)
    db.execute("DELETE FROM channels")
    db.execute("ALTER TABLE channels DROP COLUMN username")
    db.execute("INSERT INTO channels(name, title, newest_message_id) VALUES ('ml_stuff', 'ML & Stuff', 100)")
    db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm014_channels_by_username'")
    db.conn.commit()
    db.conn.close()

    migrated, expected = open_db(db_path), open_db(expected_path)
    # last_mentioned is the kept post's date: the same instant, written by t.me or by the export.
    columns = "url, mention_posts, mention_channels, channels, julianday(last_mentioned), rank_key"
    for query in (f"SELECT {columns} FROM items ORDER BY url", "SELECT message_key, channel FROM posts ORDER BY 1"):
        assert migrated.execute(query).fetchall() == expected.execute(query).fetchall()
    assert migrated.execute("SELECT username FROM channels").fetchall() == [("ML_stuff",)]


def test_a_long_paragraph_without_links_is_harvested(db_path, tmp_path):
    """Such a line is read only for cue words; it once aborted the harvest (references.find_candidates)."""
    dump = tmp_path / "long.txt"
    dump.write_text("Chan\nDownload Telegram\n" + "A long paragraph about language models without any link in it. " * 20 + "\n")
    result = run("harvest", str(dump), "--db", db_path)
    assert (result.exit_code, result.output) == (0, "Harvested: 1 post read from 1 file, 0 links found, 0 new items, 0 files skipped.\n")


# --------------------------------------------------------------- edited messages


def edited_export(folder, name, text, edited=None):
    """A JSON export of one channel message (id 100), ``edited`` at that time if given."""
    message = {"id": 100, "type": "message", "date": "2024-05-01T10:00:00", "from": "ML & Stuff", "text": text}
    if edited:
        message["edited"] = edited
    export = {"name": "ML & Stuff", "type": "public_channel", "id": 777, "messages": [message]}
    path = folder / name
    path.write_text(json.dumps(export, ensure_ascii=False), encoding="utf-8")
    return str(path)


OLD_LINK = "https://github.com/deepseek-ai/DeepSeek-V2"
NEW_LINK = "https://github.com/deepseek-ai/DeepSeek-V3"


def mentioned_urls(db_path):
    db = open_db(db_path)
    return sorted(db.execute("SELECT url, mention_posts FROM items"))


SEE_OLD, FIXED = f"See {OLD_LINK}", f"Fixed: {NEW_LINK}"


@pytest.mark.parametrize(
    "first, second, text_after, urls_after, contexts",
    [
        ((SEE_OLD, None), (FIXED, "2024-05-02T09:00:00"), FIXED, [(OLD_LINK.lower(), 0), (NEW_LINK.lower(), 1)], [FIXED]),
        ((SEE_OLD, "2024-05-01T12:00:00"), (FIXED, "2024-05-02T09:00:00"), FIXED, [(OLD_LINK.lower(), 0), (NEW_LINK.lower(), 1)], [FIXED]),
        # An earlier version read after a later one changes nothing and adds none of its links.
        ((FIXED, "2024-05-02T09:00:00"), (SEE_OLD, "2024-05-01T12:00:00"), FIXED, [(NEW_LINK.lower(), 1)], [FIXED]),
        # The original (no edit time in a JSON export) read again after its edit, as harvesting a folder of exports does.
        ((FIXED, "2024-05-02T09:00:00"), (SEE_OLD, None), FIXED, [(NEW_LINK.lower(), 1)], [FIXED]),
        # Unedited in both: the stored text stays, a link only the second gives is added.
        ((SEE_OLD, None), (FIXED, None), SEE_OLD, [(OLD_LINK.lower(), 1), (NEW_LINK.lower(), 1)], [SEE_OLD, FIXED]),
    ],
    ids=["original, then edit", "edit, then later edit", "edit, then earlier edit", "edit, then original", "no edit times"],
)
def test_a_later_export_of_an_edited_message_replaces_its_text_and_links(
    db_path, tmp_path, first, second, text_after, urls_after, contexts
):
    assert run("harvest", edited_export(tmp_path, "a.json", *first), "--db", db_path, "-q").exit_code == 0
    assert run("harvest", edited_export(tmp_path, "b.json", *second), "--db", db_path, "-q").exit_code == 0
    db = open_db(db_path)
    assert [row[0] for row in db.execute("SELECT text FROM posts")] == [text_after]
    assert mentioned_urls(db_path) == urls_after
    assert sorted(row[0] for row in db.execute("SELECT context FROM mentions")) == sorted(contexts)


def test_an_edit_is_reported_and_keeps_when_a_kept_link_was_first_seen(db_path, tmp_path):
    both = f"{OLD_LINK} and {NEW_LINK}"
    run("harvest", edited_export(tmp_path, "a.json", f"See {OLD_LINK}"), "--db", db_path, "-q")
    db = open_db(db_path)
    db.execute("UPDATE mentions SET added_at = '2024-05-01T00:00:00+00:00'")
    db.conn.commit()
    result = run("harvest", edited_export(tmp_path, "b.json", both, "2024-05-03T10:00:00"), "--db", db_path)
    assert result.output == (
        "Harvested: 1 post read from 1 file, 2 links found, 1 new item, 1 edited post updated, 0 files skipped.\n"
    )
    added = dict(db.execute("SELECT url, added_at FROM mentions"))
    assert added[OLD_LINK] == "2024-05-01T00:00:00+00:00"
    assert added[NEW_LINK] != "2024-05-01T00:00:00+00:00"
    assert db.execute("SELECT edited FROM posts").fetchone()[0] == "2024-05-03T10:00:00"
    again = run("harvest", edited_export(tmp_path, "b.json", both, "2024-05-03T10:00:00"), "--db", db_path)
    assert again.output == "Harvested: 1 post read from 1 file, 2 links found, 0 new items, 0 files skipped.\n"


@pytest.mark.parametrize("misdated", ["2999-01-01T10:00:00", "9999-99-99T10:00:00"])
def test_a_misdated_edit_is_taken_for_one_made_when_the_post_was(db_path, tmp_path, misdated):
    run("harvest", edited_export(tmp_path, "a.json", SEE_OLD, misdated), "--db", db_path, "-q")
    db = open_db(db_path)
    assert db.execute("SELECT text, edited FROM posts").fetchall() == [(SEE_OLD, "2024-05-01T10:00:00")]
    again = run("harvest", edited_export(tmp_path, "a.json", SEE_OLD, misdated), "--db", db_path)
    assert again.output == "Harvested: 1 post read from 1 file, 1 link found, 0 new items, 0 files skipped.\n"
    # A real later edit still replaces it; stored as 2999 it never could.
    later = run("harvest", edited_export(tmp_path, "b.json", FIXED, "2024-05-02T09:00:00"), "--db", db_path)
    assert later.output == (
        "Harvested: 1 post read from 1 file, 1 link found, 1 new item, 1 edited post updated, 0 files skipped.\n"
    )
    assert db.execute("SELECT text, edited FROM posts").fetchall() == [(FIXED, "2024-05-02T09:00:00")]


def test_a_link_edited_out_of_its_only_post_is_archived_not_queued(db_path, tmp_path):
    run("harvest", edited_export(tmp_path, "a.json", SEE_OLD), "--db", db_path, "-q")
    run("harvest", edited_export(tmp_path, "b.json", FIXED, "2024-05-02T09:00:00"), "--db", db_path, "-q")
    db = open_db(db_path)
    assert sorted(db.execute("SELECT url, status FROM items")) == [(OLD_LINK.lower(), "archived"), (NEW_LINK.lower(), "unread")]
    assert db.execute("SELECT action, value FROM events").fetchall() == [("archive", "edited out of the post that gave it")]
    queued = run("next", "--db", db_path, "--json")
    assert [item["url"] for item in json.loads(queued.output)] == [NEW_LINK.lower()]


def test_an_edit_that_only_changes_where_a_link_points_is_taken(db_path, tmp_path):
    def linked(href):
        return ["Код ", {"type": "text_link", "text": "тут", "href": href}]

    run("harvest", edited_export(tmp_path, "a.json", linked(OLD_LINK)), "--db", db_path, "-q")
    run("harvest", edited_export(tmp_path, "b.json", linked(NEW_LINK), "2024-05-02T09:00:00"), "--db", db_path, "-q")
    assert mentioned_urls(db_path) == [(OLD_LINK.lower(), 0), (NEW_LINK.lower(), 1)]


def test_an_edit_drops_a_cited_title_it_removed(db_path, tmp_path):
    cited = 'Новая статья: "Attention Is All You Need" (Vaswani et al.)'
    run("harvest", edited_export(tmp_path, "a.json", cited), "--db", db_path, "-q")
    db = open_db(db_path)
    assert db.execute("SELECT title, mention_posts FROM items WHERE kind = 'unresolved'").fetchall() == [
        ("Attention Is All You Need", 1)
    ]
    run("harvest", edited_export(tmp_path, "b.json", f"Код: {NEW_LINK}", "2024-05-02T09:00:00"), "--db", db_path, "-q")
    assert db.execute("SELECT title, mention_posts FROM items WHERE kind = 'unresolved'").fetchall() == [
        ("Attention Is All You Need", 0)
    ]
    assert db.execute("SELECT candidates FROM reference_scans").fetchall() == [(0,)]


@pytest.mark.parametrize("edited, replaced", [("2024-05-02T09:00:00", False), ("IN 2 HOURS", True)])
def test_an_edit_replaces_a_tme_post_only_if_made_after_it_was_read(db_path, tmp_path, edited, replaced):
    from datetime import datetime, timedelta, timezone

    if edited == "IN 2 HOURS":  # after the read, as an export made later in the day (a later day would be misdated)
        edited = (datetime.now(timezone.utc) + timedelta(hours=2)).replace(tzinfo=None).isoformat(timespec="seconds")
    write_channel_page(tmp_path / "s.html")
    assert run("harvest", str(tmp_path / "s.html"), "--db", db_path, "-q").exit_code == 0
    before = open_db(db_path).execute("SELECT text FROM posts WHERE message_id LIKE '%100'").fetchone()[0]
    export = edited_export(tmp_path, "a.json", f"Fixed: {NEW_LINK}", edited)
    assert run("harvest", export, "--db", db_path, "-q").exit_code == 0
    after = open_db(db_path).execute("SELECT text FROM posts WHERE message_id LIKE '%100'").fetchone()[0]
    assert after == (f"Fixed: {NEW_LINK}" if replaced else before)


@pytest.mark.parametrize(
    "user_action, status_after",
    [(None, "unread"), ("archive", "archived"), ("read", "read")],
    ids=["archived by the edit", "archived by the user since", "read by the user since"],
)
def test_a_link_an_edit_restores_comes_back_to_the_queue(db_path, tmp_path, user_action, status_after):
    run("harvest", edited_export(tmp_path, "a.json", SEE_OLD), "--db", db_path, "-q")
    run("harvest", edited_export(tmp_path, "b.json", FIXED, "2024-05-02T09:00:00"), "--db", db_path, "-q")
    db = open_db(db_path)
    (old_id,) = db.execute("SELECT id FROM items WHERE url = ?", [OLD_LINK.lower()]).fetchone()
    if user_action:
        assert run(user_action, old_id[:8], "--db", db_path).exit_code == 0
    # A third version puts the first link back.
    both = f"{SEE_OLD} and {FIXED}"
    run("harvest", edited_export(tmp_path, "c.json", both, "2024-05-03T09:00:00"), "--db", db_path, "-q")
    assert db.execute("SELECT status, mention_posts FROM items WHERE id = ?", [old_id]).fetchone() == (status_after, 1)
    if not user_action:
        assert db.execute("SELECT action, value FROM events ORDER BY id").fetchall() == [
            ("archive", "edited out of the post that gave it"), ("unread", "a post links it again")]
        queued = run("next", "--db", db_path, "--json")
        assert sorted(item["url"] for item in json.loads(queued.output)) == sorted([OLD_LINK.lower(), NEW_LINK.lower()])


def test_a_link_edited_out_and_back_in_one_run_stays_queued(db_path, tmp_path):
    """A folder holding three exports of the message: the link leaves in the second and is back in the third."""
    folder = tmp_path / "exports"
    folder.mkdir()
    for name, version in (("a.json", (SEE_OLD,)), ("b.json", (FIXED, "2024-05-02T09:00:00")),
                          ("c.json", (f"{SEE_OLD} and {FIXED}", "2024-05-03T09:00:00"))):
        edited_export(folder, name, *version)
    assert run("harvest", str(folder), "--db", db_path, "-q").exit_code == 0
    db = open_db(db_path)
    assert sorted(db.execute("SELECT url, status FROM items")) == [(OLD_LINK.lower(), "unread"), (NEW_LINK.lower(), "unread")]
