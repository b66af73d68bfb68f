"""Telegram Desktop HTML exports: ``messages.html``, ``messages2.html``, ...

Each ``div.message.default`` is a post; ``div.message.service`` blocks (date
separators, "X joined the group"...) are skipped. A *joined* message
(``div.message.default.joined``, same author a moment later) has no
``from_name`` but is a post all the same. The chat title in the page header
is the channel of every post. A multi-file export is several files: each one
parses on its own.

Telegram Desktop does not render link previews into the HTML export, so these
posts never carry previews; the URLs stay in the text and the anchors.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import BinaryIO, Iterator

from selectolax.lexbor import LexborNode

from ..errors import SourceError
from ..models import Anchor, Post
from ._html import (
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

NAME = "telegram-html"

# ``class="history"`` alone is too common (scholarly pages use it): not a sign by itself.
_SNIFF_RE = re.compile(rb"""class=["'](?:page_wrap["']|message (?:default|service)\b)""")
_DATE_RE = re.compile(
    r"^\s*(?P<day>\d{1,2})\.(?P<month>\d{1,2})\.(?P<year>\d{4})"
    r"\s+(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?"
    r"(?:\s*(?P<zone>UTC|GMT|Z)?\s*(?:(?P<sign>[+-])(?P<oh>\d{1,2})(?::?(?P<om>\d{2}))?)?)?\s*$",
    re.IGNORECASE,
)
_HASHTAG_CALL_RE = re.compile(r"""ShowHashtag\(\s*["']([^"']*)["']""")
_VIA_RE = re.compile(r"\s+via\s+@\w+$")


def sniff(head: bytes) -> bool:
    """A Telegram Desktop export page: a ``page_wrap`` block or ``message default``/``service`` blocks."""
    return _SNIFF_RE.search(head) is not None


def parse(stream: BinaryIO, source: str) -> Iterator[Post]:
    """The posts of one export file (read whole: an export file holds at most 1000 messages)."""
    html = decode(stream.read())
    if looks_binary(html):
        raise SourceError(source, "binary data, not a Telegram Desktop HTML export")
    yield from parse_html(html, source)


def parse_html(html: str, source: str) -> list[Post]:
    """All posts of one export page, in page order."""
    tree = parse_document(html)
    messages = tree.css("div.message")
    if not messages and tree.css_first("div.page_wrap, div.history") is None:
        raise SourceError(source, "not a Telegram Desktop HTML export (no page_wrap, history or messages)")
    channel = collapse(node_text(tree.css_first("div.page_header .text"))) or None

    posts: list[Post] = []
    previous_forward: str | None = None
    for message in messages:
        kind = classes(message)
        if "default" not in kind or "service" in kind:
            continue
        forwarded = _forwarded_from(message, previous_forward)
        previous_forward = forwarded
        posts.append(_parse_message(message, source, channel, forwarded))
    return posts


def _parse_message(message: LexborNode, source: str, channel: str | None, forwarded: str | None) -> Post:
    message_id = (message.attributes.get("id") or "").strip()
    post_id = message_id.removeprefix("message") or None

    text_node = message.css_first("div.text")
    text = node_text(text_node)
    anchors: list[Anchor] = []
    hashtags: list[str] = []
    if text_node is not None:
        for link in text_node.css("a"):
            onclick = link.attributes.get("onclick") or ""
            call = _HASHTAG_CALL_RE.search(onclick)
            if call:
                add_hashtag(hashtags, call.group(1))
                continue
            url = resolve_href(link.attributes.get("href"))
            if url is None:
                continue
            anchor = Anchor(url, collapse(node_text(link)))
            if anchor not in anchors:
                anchors.append(anchor)
    for tag in hashtags_in(text):
        add_hashtag(hashtags, tag)

    date_node = message.css_first("div.date[title]")
    date = export_date_to_iso(date_node.attributes.get("title")) if date_node is not None else None

    return Post(
        source=source,
        text=text,
        channel=channel,
        post_id=post_id,
        date=date,
        forwarded_from=forwarded,
        anchors=anchors,
        hashtags=hashtags,
    )


def _forwarded_from(message: LexborNode, previous: str | None) -> str | None:
    """The name in ``div.forwarded.body > div.from_name``, without its date.

    A forwarded message joined to the previous one (same source) shows no
    name: it inherits the previous message's.
    """
    body = message.css_first("div.forwarded.body")
    if body is None:
        return None
    name_node = body.css_first("div.from_name")
    if name_node is None:
        return previous
    pieces: list[str] = []
    for child in name_node.iter(include_text=True):
        if child.tag == "-text":
            pieces.append(child.text_content or "")
        elif "date" in classes(child) or "details" in classes(child):
            continue
        else:
            pieces.append(" " + node_text(child) + " ")
    name = _VIA_RE.sub("", collapse("".join(pieces)))
    return name or previous


def export_date_to_iso(title: str | None) -> str | None:
    """``"05.06.2020 12:00:00 UTC+03:00"`` -> ``"2020-06-05T12:00:00+03:00"``.

    Without an offset the result is a naive ISO time (the exporting computer's
    local time). None when ``title`` is not such a date.
    """
    if not title:
        return None
    match = _DATE_RE.match(title)
    if match is None:
        return None
    tz = None
    if match.group("sign"):
        hours, minutes = int(match.group("oh")), int(match.group("om") or 0)
        if hours > 23 or minutes > 59:
            return None
        delta = timedelta(hours=hours, minutes=minutes)
        tz = timezone(-delta if match.group("sign") == "-" else delta)
    elif match.group("zone"):
        tz = timezone.utc
    try:
        value = datetime(
            int(match.group("year")),
            int(match.group("month")),
            int(match.group("day")),
            int(match.group("hour")),
            int(match.group("minute")),
            int(match.group("second") or 0),
            tzinfo=tz,
        )
    except ValueError:
        return None
    return value.isoformat()
