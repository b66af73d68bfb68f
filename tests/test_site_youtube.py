"""YouTube adapter: oEmbed title and channel; missing, private and rate-limited videos."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from harvester.settings import Settings
from harvester.sites import youtube
from sites_helpers import add_item, fixture_bytes, item, run_stage, settings_for

VIDEO = "https://youtube.com/watch?v=kCc8FmEb1nY"


def test_oembed_url():
    url = youtube.oembed_url(Settings(youtube_oembed="http://yt.local/oembed"), VIDEO)
    assert url.startswith("http://yt.local/oembed?")
    assert parse_qs(urlsplit(url).query) == {"url": [VIDEO], "format": ["json"]}


def test_mapping():
    metadata = youtube.parse_oembed(fixture_bytes("youtube_oembed.json"))
    assert metadata.title == "Let's build GPT: from scratch, in code, spelled out."
    assert metadata.authors == ["Andrej Karpathy"] and metadata.site_name == "YouTube"
    assert metadata.meta == {
        "channel": "Andrej Karpathy",
        "channel_url": "https://www.youtube.com/@AndrejKarpathy",
        "provider": "YouTube",
        "thumbnail_url": "https://i.ytimg.com/vi/kCc8FmEb1nY/hqdefault.jpg",
    }


@pytest.mark.parametrize("status, outcome", [(404, "dead"), (400, "dead"), (401, "failed"), (403, "failed"), (429, "deferred"), (500, "failed")])
def test_classify(status, outcome):
    assert youtube.classify(status).status == outcome


def test_realworld_oembed(realworld):
    folder = realworld / "oembed"
    for name in ("youtube_oembed_watch_eiHXASgRTcA.json", "youtube_oembed_watch_pO5L6vXtxsI_2024.json"):
        metadata = youtube.parse_oembed((folder / name).read_bytes())
        assert metadata.status == "ok" and metadata.title and metadata.authors and metadata.meta["channel_url"].startswith("https://www.youtube.com/")
    assert youtube.parse_oembed((folder / "youtube_oembed_403_forbidden_NHriYTkvd0g.txt").read_bytes()).status == "failed"


def test_video_item(httpserver, fresh_db):
    item_id = add_item(fresh_db, "https://youtu.be/kCc8FmEb1nY", title="youtu.be link")
    httpserver.expect_request("/oembed", query_string={"url": VIDEO, "format": "json"}).respond_with_data(fixture_bytes("youtube_oembed.json"))
    stats = run_stage(fresh_db, settings_for(httpserver))
    row = item(fresh_db, item_id)
    assert stats.ok == 1
    assert (row["title"], row["authors"], row["site_name"]) == ("Let's build GPT: from scratch, in code, spelled out.", ["Andrej Karpathy"], "YouTube")


@pytest.mark.parametrize("status, body, fetch_status", [(404, "Not Found", "dead"), (403, "Forbidden", "failed"), (401, "Unauthorized", "failed")])
def test_unavailable_videos(httpserver, fresh_db, status, body, fetch_status):
    item_id = add_item(fresh_db, VIDEO)
    httpserver.expect_request("/oembed").respond_with_data(body, status=status)
    run_stage(fresh_db, settings_for(httpserver))
    row = item(fresh_db, item_id)
    assert row["fetch_status"] == fetch_status and row["http_status"] == status


def test_playlist_is_not_an_oembed_item(httpserver, fresh_db):
    add_item(fresh_db, "https://www.youtube.com/playlist?list=PL123")
    stats = run_stage(fresh_db, settings_for(httpserver))
    assert stats.total == 0 and httpserver.log == []
