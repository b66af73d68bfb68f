"""Saved public web previews of channels: ``https://t.me/s/<channel>`` pages.

Each ``.tgme_widget_message[data-post]`` block is a post. The same widget
markup serves single-post embeds (``t.me/<channel>/<id>?embed=1``), so those
parse too. A plain single-post page (``t.me/<channel>/<id>``) only holds the
post in an iframe; its ``og:description`` (the post text) becomes the post.

The channel's own info block (``.tgme_channel_info``: title, counters,
description and its links) is page header, never a post; nor are service
messages (``.service_message``: "Channel created"...).
"""

from __future__ import annotations

import re
from typing import BinaryIO, Iterator
from urllib.parse import parse_qs, urlsplit

from selectolax.lexbor import LexborNode

from ..errors import SourceError
from ..models import Anchor, Post, Preview
from ._html import (
    TME,
    add_hashtag,
    classes,
    collapse,
    decode,
    hashtags_in,
    looks_binary,
    node_text,
    parse_document,
    resolve_href,
)

NAME = "tme"

_SNIFF_RE = re.compile(rb"""class=["'][^"']*\btgme_(?:widget_message|channel_info|page_wrap)\b""")
_DATA_POST_RE = re.compile(r"^(?P<channel>[A-Za-z0-9_]{1,64})/(?P<id>\d+)$")
_RESOLVE_RE = re.compile(r"[?&]domain=(?P<channel>[A-Za-z0-9_]+)(?:&(?:amp;)?post=(?P<post>\d+))?")
_TME_HOSTS = frozenset({"t.me", "www.t.me", "telegram.me", "www.telegram.me"})


def sniff(head: bytes) -> bool:
    """A t.me page: its markup has ``tgme_widget_message``/``tgme_channel_info``/``tgme_page_wrap`` classes."""
    return _SNIFF_RE.search(head) is not None


def parse(stream: BinaryIO, source: str) -> Iterator[Post]:
    """The posts of a saved t.me page. These pages are small: read whole.

    A page that is no channel preview (``exists`` False in :func:`parse_page`) raises ``SourceError``.
    """
    data = stream.read()
    html = decode(data)
    if looks_binary(html):
        raise SourceError(source, "binary data, not a t.me page")
    if "tgme_" not in html:
        raise SourceError(source, "not a t.me page (no tgme_ markup)")
    posts, info = parse_page(html, source)
    if not info["exists"]:
        # What t.me shows for a missing channel ("Telegram: Contact @name") or a channel's landing page: read
        # silently as 0 posts, a saved page of the wrong kind looked like an empty channel.
        raise SourceError(source, "not a channel's t.me/s/ preview (a contact or landing page: no posts)")
    yield from posts


def parse_page(html: str, source: str) -> tuple[list[Post], dict]:
    """Posts of a t.me page, and what a crawler needs to know about the page.

    The dict has ``channel`` (username or None), ``title`` (channel title or
    None), ``before`` (smallest message id number on the page, service
    messages included, for ``?before=`` paging; None without messages) and
    ``exists`` (False when the page is no channel preview, e.g. the page t.me
    shows for a missing or private channel, or a channel's landing page).
    """
    tree = parse_document(html)
    info_block = tree.css_first(".tgme_channel_info")

    posts: list[Post] = []
    numbers: list[int] = []
    for message in tree.css(".tgme_widget_message[data-post]"):
        post = _parse_message(message, source)
        if post is None:
            continue
        # Service messages ("Channel created", "Channel photo updated") are no
        # posts, but they still count for ?before= paging.
        numbers.append(int(post.post_id.rsplit("/", 1)[1]))
        if "service_message" not in classes(message):
            posts.append(post)

    channel = posts[0].channel if posts else None
    title = None
    if info_block is not None:
        title = collapse(node_text(info_block.css_first(".tgme_channel_info_header_title"))) or None
        if channel is None:
            username = collapse(node_text(info_block.css_first(".tgme_channel_info_header_username")))
            channel = username.lstrip("@") or None
    if title is None:
        title = _page_title(tree)
    if channel is None:
        channel = _channel_from_meta(tree)

    if not numbers and info_block is None:
        single = _single_post_page(tree, source)
        if single is not None:
            posts.append(single)
            numbers.append(int(single.post_id.rsplit("/", 1)[1]))
            channel = single.channel

    if title and channel:
        for post in posts:
            if (post.channel or "").lower() == channel.lower():
                post.channel_title = title
    info = {
        "channel": channel,
        "title": title,
        "before": min(numbers) if numbers else None,
        "exists": bool(numbers) or info_block is not None,
    }
    return posts, info


def _parse_message(message: LexborNode, source: str) -> Post | None:
    match = _DATA_POST_RE.match((message.attributes.get("data-post") or "").strip())
    if match is None:
        return None
    channel, number = match.group("channel"), match.group("id")
    post_id = f"{channel}/{number}"

    text_node = _own_text_node(message)
    text = node_text(text_node)

    anchors: list[Anchor] = []
    hashtags: list[str] = []
    if text_node is not None:
        for link in text_node.css("a[href]"):
            href = link.attributes.get("href")
            label = collapse(node_text(link))
            query = _search_query(href)
            if query is not None:
                if query.startswith("#"):
                    add_hashtag(hashtags, query)
                continue
            url = resolve_href(href)
            if url is None:
                continue
            anchor = Anchor(url, label)
            if anchor not in anchors:
                anchors.append(anchor)
    for tag in hashtags_in(text):
        add_hashtag(hashtags, tag)

    return Post(
        source=source,
        text=text,
        channel=channel,
        post_id=post_id,
        permalink=f"{TME}{channel}/{number}",
        date=_date(message),
        forwarded_from=_forwarded_from(message),
        anchors=anchors,
        previews=[preview for preview in map(_preview, message.css("a.tgme_widget_message_link_preview")) if preview],
        hashtags=hashtags,
    )


def _own_text_node(message: LexborNode) -> LexborNode | None:
    """The post's own text block: not the quoted text of the post it replies to."""
    for node in message.css(".tgme_widget_message_text"):
        if "js-message_reply_text" in classes(node) or _inside_reply(node, message):
            continue
        return node
    return None


def _inside_reply(node: LexborNode, message: LexborNode) -> bool:
    parent = node.parent
    while parent is not None and parent.mem_id != message.mem_id:
        if classes(parent) & {"tgme_widget_message_reply", "tgme_widget_message_reply_text"}:
            return True
        parent = parent.parent
    return False


def _search_query(href: str | None) -> str | None:
    """The query of a t.me search link (``?q=%23tag``), or None for any other link."""
    if not href:
        return None
    href = href.strip()
    try:
        parts = urlsplit(href)
    except ValueError:  # a broken host ("//[x") in a saved page: no search link
        return None
    if not href.startswith("?"):
        if parts.netloc.lower() not in _TME_HOSTS or not (parts.path in ("", "/") or parts.path.startswith("/s/")):
            return None
    values = parse_qs(parts.query).get("q")
    if not values:
        return None
    return values[0].strip()


def _date(message: LexborNode) -> str | None:
    for selector in (".tgme_widget_message_date time[datetime]", "time[datetime]"):
        node = message.css_first(selector)
        if node is not None:
            value = (node.attributes.get("datetime") or "").strip()
            if value:
                return value
    return None


def _forwarded_from(message: LexborNode) -> str | None:
    node = message.css_first(".tgme_widget_message_forwarded_from_name")
    if node is not None:
        return collapse(node_text(node)) or None
    wrapper = message.css_first(".tgme_widget_message_forwarded_from")
    if wrapper is not None:
        name = re.sub(r"^Forwarded from\s*", "", collapse(node_text(wrapper)))
        return name or None
    return None


def _preview(card: LexborNode) -> Preview | None:
    def part(selector: str) -> str | None:
        return node_text(card.css_first(selector)) or None

    preview = Preview(
        site_name=part(".link_preview_site_name"),
        title=part(".link_preview_title"),
        description=part(".link_preview_description"),
        url=resolve_href(card.attributes.get("href")),
    )
    if preview == Preview():
        return None
    return preview


def _page_title(tree) -> str | None:
    """The channel title outside the info block: header, landing-page title or ``og:title``."""
    for selector in (".tgme_header_title", ".tgme_page_title > span", ".tgme_page_title"):
        title = collapse(node_text(tree.css_first(selector)))
        if title:
            return title
    meta = tree.css_first('meta[property="og:title"]')
    title = collapse(meta.attributes.get("content")) if meta is not None else ""
    # A page for a missing channel is titled "Telegram: Contact @name".
    if title and not title.startswith("Telegram:"):
        return title
    return None


def _channel_from_meta(tree) -> str | None:
    """The username of a t.me landing page: from its ``tg://resolve`` app links."""
    values = [meta.attributes.get("content") or "" for meta in tree.css("meta[content]")]
    values += [link.attributes.get("href") or "" for link in tree.css("a[href]")]
    for value in values:
        if value.startswith("tg://resolve?"):
            match = _RESOLVE_RE.search(value)
            if match:
                return match.group("channel")
    return None


def _single_post_page(tree, source: str) -> Post | None:
    """A plain ``t.me/<channel>/<id>`` page: the post text is only in its meta tags."""
    channel = number = None
    for meta in tree.css("meta[content]"):
        content = meta.attributes.get("content") or ""
        if content.startswith("tg://resolve?"):
            match = _RESOLVE_RE.search(content)
            if match and match.group("post"):
                channel, number = match.group("channel"), match.group("post")
                break
    if channel is None:
        return None
    text = ""
    for selector in ('meta[property="og:description"]', 'meta[name="twitter:description"]'):
        meta = tree.css_first(selector)
        if meta is not None and (meta.attributes.get("content") or "").strip():
            text = _meta_text(meta.attributes["content"])
            break
    return Post(
        source=source,
        text=text,
        channel=channel,
        post_id=f"{channel}/{number}",
        permalink=f"{TME}{channel}/{number}",
        hashtags=hashtags_in(text),
    )


def _meta_text(value: str) -> str:
    lines = [line.strip() for line in value.replace("\r\n", "\n").split("\n")]
    return "\n".join(lines).strip()
