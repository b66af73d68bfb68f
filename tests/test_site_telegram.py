"""Telegram post adapter: the ?embed=1 widget gives the post text, channel title and date."""

from __future__ import annotations

import pytest

from harvester.settings import Settings
from harvester.sites import telegram
from sites_helpers import add_item, fixture_bytes, item, run_stage, settings_for


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://t.me/ml_digest/1024", "http://tg.local/ml_digest/1024?embed=1"),
        ("https://t.me/s/ml_digest/1024", "http://tg.local/ml_digest/1024?embed=1"),
        ("https://t.me/ml_digest", None),
        ("https://t.me/+AbCdEf", None),
    ],
)
def test_embed_url(url, expected):
    assert telegram.embed_url(Settings(telegram_base="http://tg.local"), url) == expected


def test_a_long_post_is_summarized_in_whole_sentences():
    sentences = [
        "Авторы предлагают новый метод квантизации весов больших языковых моделей до двух бит.",
        "Метод обучает кодбуки для групп весов и почти не теряет качество на стандартных бенчмарках.",
        "На моделях семейства Llama потеря перплексии составила меньше половины пункта.",
        "Для инференса написаны быстрые ядра, которые работают и на потребительских видеокартах.",
        "Сравнение с GPTQ и QuIP показывает заметный выигрыш при одинаковом размере модели.",
        "Отдельно авторы изучают, как дообучение после квантизации влияет на итоговое качество.",
        "Код и веса моделей выложены в открытый доступ, статья принята на крупную конференцию.",
    ]
    html = fixture_bytes("telegram_embed.html").decode("utf-8")
    start = html.index('js-message_text" dir="auto">') + len('js-message_text" dir="auto">')
    html = html[:start] + "<br/><br/>".join(sentences) + html[html.index("</div>", start):]
    summary = telegram.parse_embed(html, "https://t.me/ml_digest/1024").summary
    quoted = [sentence for sentence in sentences if sentence in summary]
    assert (" ".join(quoted), 2 <= len(quoted) <= 4) == (summary, True)
    assert len(summary) <= 600


def test_mapping():
    metadata = telegram.parse_embed(fixture_bytes("telegram_embed.html"), "https://t.me/ml_digest/1024")
    assert metadata.status == "ok"
    assert metadata.title == "Новая статья про квантизацию больших языковых моделей"
    assert metadata.summary.startswith("Новая статья про квантизацию больших языковых моделей Авторы показывают")
    assert metadata.summary.endswith("Код: AQLM, статья: arXiv")
    assert metadata.site_name == "ML Дайджест" and metadata.authors == ["ML Дайджест"]
    assert metadata.published == "2024-05-24" and metadata.language == "ru"
    assert metadata.meta == {"channel": "ml_digest", "post": "ml_digest/1024", "views": "12.3K"}


def test_missing_post():
    metadata = telegram.parse_embed(fixture_bytes("telegram_missing.html"))
    assert (metadata.status, metadata.error) == ("dead", "Post not found")


def test_realworld_preview_post(realworld):
    # A t.me/s/ preview page has the same widget markup: its first post parses.
    metadata = telegram.parse_embed((realworld / "telegram-web-preview" / "tme_s_durov__sherlock-telegram.html").read_bytes())
    assert metadata.status == "ok" and metadata.published and metadata.summary


def test_post_item(httpserver, fresh_db):
    item_id = add_item(fresh_db, "https://t.me/ml_digest/1024")
    httpserver.expect_request("/tme/ml_digest/1024", query_string="embed=1").respond_with_data(fixture_bytes("telegram_embed.html"), content_type="text/html")
    stats = run_stage(fresh_db, settings_for(httpserver))
    row = item(fresh_db, item_id)
    assert stats.ok == 1
    assert row["site_name"] == "ML Дайджест" and row["published"] == "2024-05-24" and row["language"] == "ru"
    assert row["summary"].startswith("Новая статья")


@pytest.mark.parametrize(
    "status, body, fetch_status",
    [(200, "telegram_missing.html", "dead"), (404, None, "dead"), (502, None, "failed"), (429, None, "pending")],
)
def test_error_paths(httpserver, fresh_db, status, body, fetch_status):
    item_id = add_item(fresh_db, "https://t.me/ml_digest/999999")
    data = fixture_bytes(body) if body else b"error"
    httpserver.expect_request("/tme/ml_digest/999999").respond_with_data(data, status=status, content_type="text/html")
    run_stage(fresh_db, settings_for(httpserver))
    assert item(fresh_db, item_id)["fetch_status"] == fetch_status
