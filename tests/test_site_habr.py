"""Habr adapter: the article page (both layouts): title, author, date, hubs as tags, reading time."""

from __future__ import annotations

import datetime
import re

import pytest

from harvester.sites import habr
from sites_helpers import add_item, fixture_bytes, item, local_page_client, run_stage, settings_for

ARTICLE = "https://habr.com/ru/articles/840000/"


def test_mapping():
    metadata = habr.parse_article(fixture_bytes("habr_article.html"))
    assert metadata.title == "Как мы ускорили инференс LLM в три раза"
    assert metadata.authors == ["ivanov"]
    assert metadata.published == "2024-09-10"
    assert metadata.tags == ["Машинное обучение", "Python"]
    assert metadata.reading_minutes == 12
    assert metadata.language == "ru" and metadata.site_name == "Хабр"
    assert metadata.summary == "Рассказываем, как квантизация и спекулятивное декодирование ускорили ответы нашей модели."
    assert metadata.meta == {"hubs": ["Машинное обучение", "Python"], "company": "ACME", "reading_time": "12 мин"}


HABR_BODY = (
    "<p>В этой статье я расскажу, как мы сократили время ответа модели втрое без новой архитектуры.</p>"
    "<p>Содержание</p><ul><li>Квантизация. Подготовка весов и</li><li>Спекулятивное декодирование</li></ul>"
    + "".join(
        f"<h2>Часть {n}</h2><p>{sentence} Измерения мы повторяли на одном и том же наборе запросов. "
        "Результаты сравнивали с исходной моделью на тех же данных.</p>"
        for n, sentence in enumerate(
            [
                "Сначала мы перевели веса модели в восьмибитный формат и проверили качество ответов.",
                "Затем маленькая модель стала предлагать черновик, а большая проверяла его целиком.",
                "Наконец, мы объединили оба приёма и получили ускорение втрое на реальной нагрузке.",
            ],
            1,
        )
    )
)


@pytest.mark.parametrize("description", [None, "Рассказываем, как квантизация ускорила ответы."])
def test_summary_is_whole_sentences_of_the_article(description):
    page = fixture_bytes("habr_article.html").decode().replace("<p>Текст статьи.</p>", HABR_BODY)
    if description is None:
        page = page.replace('<meta name="description"', '<meta name="no-description"')
    else:
        page = page.replace("Рассказываем, как квантизация и спекулятивное декодирование ускорили ответы нашей модели.", description)
    metadata = habr.parse_article(page.encode())
    assert metadata.description == description
    summary = metadata.summary
    assert summary.startswith("В этой статье я расскажу, как мы сократили время ответа модели втрое")
    assert len(summary) <= habr.SUMMARY_CHARS and summary.endswith(".") and "…" not in summary
    assert "Содержание" not in summary and "Часть" not in summary  # no table of contents, no heading
    sentences = [s for s in re.split(r"(?<=\.) ", summary)]
    assert 2 <= len(sentences) <= 4 and all(s in HABR_BODY for s in sentences)


def test_summary_quotes_no_heading_of_the_article():
    # Headings that read like prose: the title and an <h2>, both ending in "?"
    body = HABR_BODY.replace("<h2>Часть 1</h2>", "<h2>Зачем вообще ускорять ответы большой модели?</h2>")
    page = fixture_bytes("habr_article.html").decode().replace("<p>Текст статьи.</p>", body)
    title = "Как мы ускорили инференс LLM в три раза"
    page = page.replace(title, "Как мы ускорили инференс LLM в три раза и зачем это нужно?")
    page = page.replace(
        "<p>В этой статье", "<p>Как мы ускорили инференс LLM в три раза и зачем это нужно?</p><p>В этой статье"
    )
    metadata = habr.parse_article(page.encode())
    assert metadata.title == "Как мы ускорили инференс LLM в три раза и зачем это нужно?"
    assert metadata.summary.startswith("В этой статье я расскажу")
    assert "Зачем" not in metadata.summary and "?" not in metadata.summary


@pytest.mark.parametrize(
    "text, expected",
    [
        ("26 декабря 2006 в 12:10", "2006-12-26"),
        ("3 мая 2020", "2020-05-03"),
        ("1 марта 2021", "2021-03-01"),
        # relative days, as the old layout shows recent posts: from the day the page is read
        ("вчера", "2024-05-09"),
        ("вчера в 14:20", "2024-05-09"),
        ("Сегодня в 09:05", "2024-05-10"),
        ("позавчера в 23:10", "2024-05-08"),
        ("вчерашний выпуск, 3 мая 2020", "2020-05-03"),
        ("3 мая 2020, обновлено вчера", "2020-05-03"),
        # abbreviated months: "мар" is March, not May ("мая")
        ("3 мар 2024 в 10:00", "2024-03-03"),
        ("12 май 2022", "2022-05-12"),
        ("7 февр. 2024", "2024-02-07"),
        ("10 сент. 2023 в 09:15", "2023-09-10"),
        ("31 февраля 2024", None),
        # this year's posts show no year: the last such day not after the day the page is read
        ("15 марта в 10:00", "2024-03-15"),
        ("10 мая в 10:00", "2024-05-10"),
        ("28 декабря в 23:59", "2023-12-28"),
        ("29 февраля в 10:00", "2024-02-29"),
        ("5 минут назад", None),
    ],
)
def test_russian_dates(text, expected):
    assert habr.russian_date(text, today=datetime.date(2024, 5, 10)) == expected


def test_a_date_without_a_year_is_this_years():
    today = datetime.date.today()
    assert habr.russian_date(f"{today.day} {MONTHS_GENITIVE[today.month - 1]} в 10:00") == today.isoformat()


MONTHS_GENITIVE = (
    "января", "февраля", "марта", "апреля", "мая", "июня",
    "июля", "августа", "сентября", "октября", "ноября", "декабря",
)  # fmt: skip


def test_old_layout_abbreviated_date():
    page = """<html><head><meta charset="utf-8"><title>t</title></head><body><div class="post">
<h1 class="post__title"><span class="post__title-text">Обзор</span></h1><span class="post__time">3 мар 2024 в 10:00</span>
<div class="post__text">Текст статьи о трансформерах. Второе предложение статьи здесь есть.</div></div></body></html>"""
    assert habr.parse_article(page.encode()).published == "2024-03-03"


def test_not_an_article():
    assert habr.parse_article(b"<html><body><p>nothing</p></body></html>").status == "failed"


def test_realworld_old_layout(realworld):
    metadata = habr.parse_article((realworld / "habr-html" / "habr_post_1000_2018__cloud-crawler.html").read_bytes())
    assert metadata.title == "Wikiasaria — комедия ошибок"
    assert metadata.authors == ["Maxime"] and metadata.published == "2006-12-26"
    assert metadata.tags == ["Поисковые технологии"] and metadata.language == "ru"


def test_article_item(httpserver, fresh_db):
    item_id = add_item(fresh_db, ARTICLE, tags='["to-read"]')
    httpserver.expect_request("/ru/articles/840000/").respond_with_data(fixture_bytes("habr_article.html"), content_type="text/html; charset=utf-8")
    with local_page_client(httpserver) as pages:
        stats = run_stage(fresh_db, settings_for(httpserver), page_client=pages)
    row = item(fresh_db, item_id)
    assert stats.ok == 1
    assert row["tags"] == ["to-read", "Машинное обучение", "Python"]
    assert row["reading_minutes"] == 12 and row["authors"] == ["ivanov"] and row["published"] == "2024-09-10"


@pytest.mark.parametrize("label", ["99999999999999999999999 мин", "0 мин", "100000 min"])
def test_implausible_reading_time_is_the_body_s_own(httpserver, fresh_db, label):
    item_id = add_item(fresh_db, ARTICLE)
    page = fixture_bytes("habr_article.html").decode().replace("12 мин", label).replace("<p>Текст статьи.</p>", HABR_BODY)
    assert label in page
    metadata = habr.parse_article(page.encode())
    assert metadata.reading_minutes == 1 and "reading_time" not in metadata.meta
    httpserver.expect_request("/ru/articles/840000/").respond_with_data(page.encode(), content_type="text/html; charset=utf-8")
    with local_page_client(httpserver) as pages:
        stats = run_stage(fresh_db, settings_for(httpserver), page_client=pages)
    assert stats.ok == 1 and item(fresh_db, item_id)["reading_minutes"] == 1


def test_hubs_are_replaced_on_refetch_user_tags_kept(httpserver, fresh_db):
    item_id = add_item(fresh_db, ARTICLE, tags='["to-read"]')
    httpserver.expect_request("/ru/articles/840000/").respond_with_data(fixture_bytes("habr_article.html"))
    with local_page_client(httpserver) as pages:
        run_stage(fresh_db, settings_for(httpserver), page_client=pages)
        fresh_db.execute("UPDATE items SET tags = json_insert(tags, '$[#]', 'mine') WHERE id = ?", [item_id])
        httpserver.clear()
        page = fixture_bytes("habr_article.html").decode().replace("<span>Python</span>", "<span>Go</span>")
        httpserver.expect_request("/ru/articles/840000/").respond_with_data(page)
        run_stage(fresh_db, settings_for(httpserver), page_client=pages, ids=[item_id])
    assert item(fresh_db, item_id)["tags"] == ["to-read", "Машинное обучение", "mine", "Go"]


@pytest.mark.parametrize("status, fetch_status", [(404, "dead"), (410, "dead"), (503, "pending"), (500, "failed")])
def test_error_paths(httpserver, fresh_db, status, fetch_status):
    item_id = add_item(fresh_db, ARTICLE)
    httpserver.expect_request("/ru/articles/840000/").respond_with_data("error", status=status)
    with local_page_client(httpserver) as pages:
        run_stage(fresh_db, settings_for(httpserver), page_client=pages)
    assert item(fresh_db, item_id)["fetch_status"] == fetch_status


def test_private_address_is_refused(httpserver, fresh_db):
    # Without an injected page client the article goes through the private-address guard.
    item_id = add_item(fresh_db, "https://habr.com/ru/articles/1/")
    from harvester.fetch import make_sync_client

    guarded = make_sync_client(settings_for(httpserver, allow_private=False), resolver=lambda host, port: [__import__("ipaddress").ip_address("127.0.0.1")])
    with guarded:
        stats = run_stage(fresh_db, settings_for(httpserver), page_client=guarded)
    row = item(fresh_db, item_id)
    assert stats.skipped == 1 and row["fetch_status"] == "skipped" and "private address" in row["last_error"]
    assert httpserver.log == []
