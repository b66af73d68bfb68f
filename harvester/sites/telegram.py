"""Telegram post links (``t.me/<name>/<n>``): the ``?embed=1`` widget.

The widget is the same ``tgme_widget_message`` markup as the ``t.me/s/``
previews, so ``harvester.sources.tme`` parses it. A post that was deleted, or
a channel that is private or gone, answers 200 with
``<div class="tgme_widget_message_error">Post not found</div>``: ``dead``.
"""

from __future__ import annotations

import re

from harvester.language import detect_language
from harvester.sites.base import DEAD, FAILED, OK, SiteMetadata, collapse, classify_status, shorten
from harvester.sources._html import decode, node_text, parse_document
from harvester.summarize import summarize

__all__ = ["post_path", "embed_url", "classify", "parse_embed"]

_POST_RE = re.compile(r"^https://t\.me/(?:s/)?(?P<name>[A-Za-z0-9_]{3,})/(?P<number>\d+)$")
TITLE_CHARS = 100


def post_path(url: str) -> tuple[str, str] | None:
    match = _POST_RE.match(url)
    return (match.group("name"), match.group("number")) if match else None


def embed_url(settings, url: str) -> str | None:
    path = post_path(url)
    if path is None:
        return None
    return f"{settings.telegram_base}/{path[0]}/{path[1]}?embed=1"


def classify(status_code: int, headers=None) -> SiteMetadata | None:
    return classify_status(status_code, headers, deferred=(429,), rate_reason="rate limited")


def parse_embed(body: bytes | str, url: str = "") -> SiteMetadata:
    """The embed widget of one post -> post text as summary, channel title as site_name, date."""
    from harvester.sources.tme import parse_page

    html = decode(body) if isinstance(body, (bytes, bytearray)) else body
    tree = parse_document(html)
    error = tree.css_first(".tgme_widget_message_error")
    if error is not None:
        return SiteMetadata(status=DEAD, error=collapse(node_text(error)) or "Post not found")
    posts, _info = parse_page(html, url or "embed")
    if not posts:
        return SiteMetadata(status=FAILED, error="no post in the embed widget")
    post = posts[0]
    owner = tree.css_first(".tgme_widget_message_owner_name")
    channel_title = collapse(node_text(owner)) or None if owner is not None else None
    text = (post.text or "").strip()
    language = detect_language(text)
    first_line = next((collapse(line) for line in text.splitlines() if collapse(line)), "")
    meta = {"channel": post.channel, "post": post.post_id, "views": None}
    views = tree.css_first(".tgme_widget_message_views")
    if views is not None:
        meta["views"] = collapse(node_text(views))
    if post.forwarded_from:
        meta["forwarded_from"] = post.forwarded_from
    return SiteMetadata(
        status=OK,
        title=shorten(first_line, TITLE_CHARS) if first_line else None,
        authors=[channel_title] if channel_title else [],
        published=post.date[:10] if post.date else None,
        # A long post is summarized as any page is: whole sentences, never cut mid-phrase.
        summary=summarize(text, language=language, fallback=text) if text else None,
        site_name=channel_title,
        language=language,
        meta={k: v for k, v in meta.items() if v},
    )
