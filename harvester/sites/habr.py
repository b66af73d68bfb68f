"""Habr articles: the article page itself (no public API), parsed with selectolax.

Two layouts are in the wild: the current one (2021+, ``tm-*`` classes: title
in ``h1.tm-title``, author ``.tm-user-info__username``, date ``time[datetime]``,
hubs ``.tm-publication-hub__link``, reading time
``.tm-article-reading-time__label`` "7 мин") and the older one (``post__*``:
``.post__title-text``, ``.post__time``, ``.hub-link``). Meta tags
(``og:title``, ``article:published_time``, ``description``) fill the gaps.

Company blogs are listed among the hubs ("Блог компании X"); they go to
``meta.company``, not to the tags.

The summary is ``harvester.summarize``'s, of the article body, as for any
fetched page (whole sentences, headings and the table of contents skipped),
falling back to the page's description.
"""

from __future__ import annotations

import datetime
import re

from harvester import dates
from harvester.extract import reading_minutes
from harvester.sites.base import FAILED, OK, SiteMetadata, collapse, classify_status
from harvester.sources._html import decode, node_text, parse_document
from harvester.summarize import summarize

__all__ = ["classify", "parse_article", "russian_date"]

_MINUTES_RE = re.compile(r"(\d+)\s*(?:мин|min)", re.I)
_COMPANY_RE = re.compile(r"^(?:Блог компании|Company blog(?: of)?)\s+(.+)$", re.I)
_DATE_RE = re.compile(r"\d{4}-\d\d-\d\d")
SUMMARY_CHARS = 600
# Habr's longest articles claim a few hours; a label past this is a broken or
# hostile page, and the body's own length says more.
MAX_CLAIMED_MINUTES = 600


def classify(status_code: int, headers=None) -> SiteMetadata | None:
    return classify_status(status_code, headers)


def russian_date(text: str, *, today: datetime.date | None = None) -> str | None:
    """The old layout's date (no machine-readable one): "26 декабря 2006 в 12:10" ->
    "2006-12-26", "3 мар 2024" -> "2024-03-03". This year's posts show no year
    ("15 марта в 10:00"): the date is the last such day not after ``today``
    (the day the page is read; default: the current date)."""
    return dates.russian_date(text, today=today or datetime.date.today())


def _meta(tree, *names: str) -> str | None:
    for name in names:
        node = tree.css_first(f'meta[property="{name}"]') or tree.css_first(f'meta[name="{name}"]')
        if node is not None:
            value = collapse(node.attributes.get("content"))
            if value:
                return value
    return None


def _first_text(scope, *selectors: str) -> str | None:
    for selector in selectors:
        node = scope.css_first(selector)
        if node is not None:
            text = collapse(node_text(node))
            if text:
                return text
    return None


def parse_article(body: bytes | str) -> SiteMetadata:
    html = decode(body) if isinstance(body, (bytes, bytearray)) else body
    tree = parse_document(html)
    # The article's own header: listings and "read also" blocks repeat the same classes further down.
    scope = (
        tree.css_first(".tm-article-presenter__header")
        or tree.css_first("article.tm-article-presenter__content")
        or tree.css_first("article")
        or tree.css_first(".post_full")
        or tree.body
        or tree.root
    )
    title = _first_text(scope, "h1.tm-title span", "h1.tm-title", "h1.tm-article-snippet__title", ".post__title-text", "h1") or _meta(
        tree, "og:title", "twitter:title"
    )
    if not title:
        return SiteMetadata(status=FAILED, error="no article on the page")
    author = _first_text(scope, ".tm-user-info__username", ".post__user-info .user-info__nickname", ".post__user-info") or _meta(
        tree, "article:author", "author"
    )
    published = None
    time_node = scope.css_first(".tm-article-datetime-published time[datetime]") or scope.css_first("time[datetime]")
    if time_node is not None:
        published = (time_node.attributes.get("datetime") or "")[:10]
    if not published:
        published = (_meta(tree, "article:published_time", "aiturec:datetime") or "")[:10]
    if not published:
        published = russian_date(_first_text(scope, ".post__time") or "")
    if published and not _DATE_RE.fullmatch(published):
        published = None
    hubs: list[str] = []
    companies: list[str] = []
    hub_nodes = scope.css(".tm-publication-hub__link") or tree.css(".tm-article-presenter .tm-publication-hub__link")
    if not hub_nodes:
        hub_nodes = scope.css(".post__hubs .hub-link") or tree.css(".hub-link")
    for node in hub_nodes:
        name_node = node.css_first("span")
        name = collapse(node_text(name_node if name_node is not None else node)).rstrip("*").strip()
        if not name:
            continue
        company = _COMPANY_RE.match(name)
        if company:
            companies.append(company.group(1))
        elif name not in hubs:
            hubs.append(name)
    description = _meta(tree, "description", "og:description")
    language = (tree.css_first("html").attributes.get("lang") or "").split("-")[0].lower() or None if tree.css_first("html") else None
    body_node = tree.css_first(".tm-article-body") or tree.css_first(".post__text")
    reading = _first_text(scope, ".tm-article-reading-time__label") or _first_text(tree, ".tm-article-reading-time__label")
    match = _MINUTES_RE.search(reading or "")
    minutes = int(match.group(1)) if match else None
    if minutes is not None and not 1 <= minutes <= MAX_CLAIMED_MINUTES:
        reading = None
        minutes = reading_minutes(node_text(body_node), language) if body_node is not None else None
    # Whole sentences of the article, as for any page; its lines kept apart, so
    # a heading or a table of contents is never glued to a sentence.
    headings = [title]
    if body_node is not None:
        headings += [node_text(node) for node in body_node.css("h1, h2, h3, h4, h5, h6")]
    summary = summarize(
        node_text(body_node), language=language, fallback=description, max_chars=SUMMARY_CHARS, headings=headings
    )
    meta = {"hubs": hubs, "company": companies[0] if companies else None, "reading_time": reading}
    return SiteMetadata(
        status=OK,
        title=title,
        authors=[author] if author else [],
        published=published,
        summary=summary,
        description=description,
        site_name="Хабр" if (language or "ru") == "ru" else "Habr",
        language=language,
        tags=hubs,
        meta={k: v for k, v in meta.items() if v},
        reading_minutes=minutes,
    )
