"""The ranking: one score, the order pinned on a crafted database, and `next`."""

import json
import math
from unittest import mock

import pytest

from queue_fixtures import builder, db_path, run  # noqa: F401
from readinglist import ranking
from readinglist.db import mentions_written


@pytest.fixture
def crafted(builder):
    b = builder
    ids = {}
    ids["popular"] = b.item("https://example.org/popular", title="Popular")
    for n, channel in enumerate(("a", "b", "c")):
        b.mention(ids["popular"], channel, 5 + n, f"context {channel}")
    ids["fresh"] = b.item("https://example.org/fresh", title="Fresh")
    b.mention(ids["fresh"], "a", 0.2, "today")
    ids["old"] = b.item("https://example.org/old", title="Old")
    b.mention(ids["old"], "a", 60, "old")
    ids["high"] = b.item("https://example.org/high", title="High", priority="high")
    b.mention(ids["high"], "a", 10, "high")
    ids["fetched"] = b.item("https://example.org/fetched", title="Fetched", fetch_status="ok", reading_minutes=50)
    b.mention(ids["fetched"], "b", 10, "fetched")
    ids["dead"] = b.item("https://example.org/dead", title="Dead", fetch_status="dead")
    b.mention(ids["dead"], "a", 0.1, "dead")
    ids["channel"] = b.item("https://t.me/somechannel", kind="channel", title="Channel")
    b.mention(ids["channel"], "a", 0.1)
    ids["read"] = b.item("https://example.org/read", title="Read", status="read")
    b.mention(ids["read"], "a", 0.1)
    return ids


def order(db_path, *args):
    result = run("next", "--db", db_path, "--json", "-n", "20", *args)
    assert result.exit_code == 0, result.output
    return [item["title"] for item in json.loads(result.output)]


def test_order_is_pinned(crafted, db_path):
    # Popular 2.09 (3 channels) > High 1.52 (priority, 10 days) > Fresh 1.01 > Fetched 0.82 > Old -1.95 (60 days).
    assert order(db_path) == ["Popular", "High", "Fresh", "Fetched", "Old"]


def test_filters(crafted, db_path):
    assert order(db_path, "--max-minutes", "30") == ["Popular", "High", "Fresh", "Old"]
    assert order(db_path, "--channel", "b") == ["Popular", "Fetched"]
    assert order(db_path, "--kind", "paper") == []


def test_sql_matches_reference_score(crafted, builder):
    db = builder.db
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc)
    offset = ranking.now_offset(now)
    for row in db.execute(
        "SELECT priority, mention_channels, mention_posts, fetch_status, rank_key,"
        " julianday(COALESCE(last_mentioned, added_at)) FROM items"
    ):
        age = ranking.julian_day(now) - row[5]
        expected = ranking.score(priority=row[0], channels=row[1], posts=row[2], age_days=age, fetch_status=row[3])
        assert math.isclose(row[4] - offset, expected, abs_tol=1e-6)


def test_score_terms():
    base = ranking.score(channels=1, posts=1)
    assert ranking.score(channels=3, posts=3) > ranking.score(channels=1, posts=1, priority="high")
    assert math.isclose(ranking.score(channels=1, posts=1, age_days=14) - base, -math.log(2))
    assert ranking.score(reading_minutes=40, max_minutes=30) is None


def test_ties_by_id(builder, db_path):
    ids = sorted(builder.item(f"https://example.org/t{n}", title=f"T{n}", added_days_ago=3) for n in range(5))
    result = json.loads(run("next", "--db", db_path, "--json", "-n", "5").output)
    assert [item["id"] for item in result] == ids


def test_next_plain_output_and_reason(builder, db_path):
    item_id = builder.item("https://example.org/p", title="Paper [bold]x[/bold]", priority="high")
    builder.mention(item_id, "ML заметки", 2.5, "Разбор статьи")
    builder.mention(item_id, "Data Digest", 3.5, "Classic")
    result = run("next", "--db", db_path)
    lines = result.output.splitlines()
    assert lines[0] == "1. Paper [bold]x[/bold]"
    assert lines[1] == f"   article · example.org · ? min · {item_id}"
    assert lines[2] == "   https://example.org/p"
    assert lines[3] == "   why: mentioned by 2 channels, last 2 days ago, priority high, not fetched yet"
    assert lines[4].startswith("   - ML заметки, ") and lines[4].endswith(": Разбор статьи")


@pytest.mark.parametrize(
    "dates, added_days_ago, why",
    [
        # Posts with no date (text dumps): the age runs from when the item was added, and the reason says so.
        ([None], 0, "mentioned by 1 channel, added today, not fetched yet"),
        ([None, None], 3, "mentioned by 2 channels, added 3 days ago, not fetched yet"),
        ([None, 2.5], 10, "mentioned by 2 channels, last 2 days ago, not fetched yet"),
        ([1.5], 10, "mentioned by 1 channel, last 1 day ago, not fetched yet"),
    ],
)
def test_the_reason_counts_an_undated_items_age_from_when_it_was_added(builder, db_path, dates, added_days_ago, why):
    from queue_fixtures import days_ago

    item_id = builder.item("https://example.org/p", title="Paper", added_days_ago=added_days_ago + 0.1)
    for n, days in enumerate(dates):
        builder.mention(item_id, f"channel {n}", 0)
        builder.db.execute("UPDATE posts SET date = ? WHERE channel = ?", [None if days is None else days_ago(days), f"channel {n}"])
    builder.db.execute("UPDATE mentions SET post_julianday = (SELECT julianday(date) FROM posts WHERE posts.id = post_id)")
    mentions_written(builder.db, [item_id])
    builder.db.conn.commit()
    assert run("next", "--db", db_path).output.splitlines()[3] == f"   why: {why}"
    assert f"reason: {why}" in run("show", "--db", db_path, item_id).output.splitlines()


@pytest.mark.parametrize(
    "final_url, shown",
    [
        ("http://plain.example/p", "http://plain.example/p"),  # fetched over the plain-http fallback
        ("https://plain.example/moved", "https://plain.example/p"),
        ("https://api.plain.example/p", "https://plain.example/p"),
        (None, "https://plain.example/p"),
    ],
)
def test_next_prints_and_opens_the_address_the_fetch_could_read(builder, db_path, final_url, shown):
    item_id = builder.item("https://plain.example/p", title="Plain", fetch_status="ok", final_url=final_url)
    builder.db.conn.commit()
    result = run("next", "--db", db_path)
    assert result.exit_code == 0
    assert result.output.splitlines()[:3] == ["1. Plain", f"   article · plain.example · ? min · {item_id}", f"   {shown}"]
    with mock.patch("webbrowser.open") as opened:
        assert run("next", "--db", db_path, "--open").exit_code == 0
    assert [call.args[0] for call in opened.call_args_list] == [shown]


def test_open_marks_nothing_read(crafted, db_path):
    with mock.patch("webbrowser.open") as opened:
        result = run("next", "--db", db_path, "-n", "2", "--open")
    assert result.exit_code == 0
    assert [call.args[0] for call in opened.call_args_list] == ["https://example.org/popular", "https://example.org/high"]
    assert order(db_path)[:2] == ["Popular", "High"]


def test_stats(crafted, db_path):
    run("read", "--db", db_path, crafted["old"])
    data = json.loads(run("stats", "--db", db_path, "--json").output)
    assert data["by_status"] == {"unread": 6, "read": 2}
    assert data["read_this_week"] == 1
    assert data["backlog"] == {"items": 4, "minutes": 50, "unknown_length": 3}


@pytest.mark.parametrize("count, line", [(1, "backlog: 1 item, 0 min known, 1 of unknown length"),
                                         (2, "backlog: 2 items, 0 min known, 2 of unknown length")])
def test_stats_backlog_counts_in_words(builder, db_path, count, line):
    for n in range(count):
        builder.item(f"https://example.org/{n}", title=f"T{n}")
    builder.db.conn.commit()
    result = run("stats", "--db", db_path)
    assert result.exit_code == 0 and result.output.splitlines()[-1] == line


@pytest.mark.parametrize("added_by_hand", [0, 1, 3])
def test_stats_top_channels_leave_out_links_added_by_hand(builder, db_path, added_by_hand):
    for n, channel in enumerate(["ML заметки", "ML заметки", "Data Digest"]):
        builder.mention(builder.item(f"https://example.org/c{n}", title=f"C{n}"), channel, 1)
    builder.db.conn.commit()
    for n in range(added_by_hand):  # their posts have no channel
        assert run("add", "--db", db_path, f"example.com/by-hand-{n}").exit_code == 0
    assert json.loads(run("stats", "--db", db_path, "--json").output)["by_channel"] == {"ML заметки": 2, "Data Digest": 1}
    assert "top channels: ML заметки 2, Data Digest 1" in run("stats", "--db", db_path).output.splitlines()


def test_stats_forget_a_read_that_was_undone(crafted, db_path):
    run("read", "--db", db_path, crafted["old"], crafted["high"])
    run("unread", "--db", db_path, crafted["old"])
    data = json.loads(run("stats", "--db", db_path, "--json").output)
    assert (data["read_this_week"], data["read_this_month"]) == (1, 1)
    run("archive", "--db", db_path, crafted["high"])
    assert json.loads(run("stats", "--db", db_path, "--json").output)["read_this_week"] == 1


def test_stats_top_domains_leave_out_unresolved_references(crafted, fresh_db, db_path):
    from readinglist.db import item_id_for

    fresh_db["items"].insert({"id": item_id_for("ref:attention"), "url": "ref:attention", "kind": "unresolved",
                              "domain": None, "title": "Attention Is All You Need", "status": "unread",
                              "added_at": "2026-01-01T00:00:00+00:00"})
    data = json.loads(run("stats", "--db", db_path, "--json").output)
    assert data["by_kind"]["unresolved"] == 1
    assert "" not in data["by_domain"] and sum(data["by_domain"].values()) == data["items"] - 1
