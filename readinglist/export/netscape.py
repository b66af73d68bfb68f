"""Netscape bookmark HTML: what browsers, Pocket, Raindrop, Pinboard and linkding import.

Every title, URL, tag and summary is HTML-escaped (they come from the web).
``TAGS`` carries the tags, ``TOREAD="1"`` marks unread items, ``<DD>`` the summary.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from .records import Record

HEADER = """<!DOCTYPE NETSCAPE-Bookmark-file-1>
<!-- This is an automatically generated file.
     It will be read and overwritten.
     DO NOT EDIT! -->
<META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=UTF-8">
<TITLE>Bookmarks</TITLE>
<H1>Bookmarks</H1>
<DL><p>
"""
FOOTER = "</DL><p>\n"


def _unix_time(iso: str | None) -> int | None:
    if not iso:
        return None
    try:
        return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None


def format_bookmark(record: Record) -> str:
    attributes = [f'HREF="{escape(record.url, quote=True)}"']
    added = _unix_time(record.added_at)
    if added is not None:
        attributes.append(f'ADD_DATE="{added}"')
    if record.tags:
        attributes.append(f'TAGS="{escape(",".join(tag.replace(",", " ") for tag in record.tags), quote=True)}"')
    if record.status == "unread":
        attributes.append('TOREAD="1"')
    line = f"    <DT><A {' '.join(attributes)}>{escape(record.title_or_url, quote=False)}</A>\n"
    if record.summary:
        line += f"    <DD>{escape(' '.join(record.summary.split()), quote=False)}\n"
    return line


def write_netscape(records: list[Record]) -> str:
    return HEADER + "".join(format_bookmark(record) for record in records) + FOOTER
