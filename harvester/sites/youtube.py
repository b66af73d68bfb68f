"""YouTube videos: oEmbed (https://oembed.com), ``{youtube_oembed}?url=<video>&format=json``.

oEmbed gives the title and the channel (``author_name``/``author_url``). A
video that does not exist answers 404 (or 400 for a malformed id): ``dead``.
A private or non-embeddable video answers 401/403: the video may well be
there, so the item ``failed`` and generic fetching can still try the page.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from harvester.sites.base import DEAD, DEFERRED, FAILED, OK, SiteMetadata, collapse

__all__ = ["oembed_url", "classify", "parse_oembed"]


def oembed_url(settings, video_url: str) -> str:
    base = settings.youtube_oembed
    return base + ("&" if "?" in base else "?") + urlencode({"url": video_url, "format": "json"})


def classify(status_code: int, headers=None) -> SiteMetadata | None:
    if status_code == 200:
        return None
    if status_code in (400, 404, 410):
        return SiteMetadata(status=DEAD, error=f"HTTP {status_code}: no such video", http_status=status_code)
    if status_code in (401, 403):
        return SiteMetadata(status=FAILED, error=f"HTTP {status_code}: private or not embeddable", http_status=status_code)
    if status_code == 429:
        return SiteMetadata(status=DEFERRED, error="HTTP 429: rate limited", http_status=status_code)
    return SiteMetadata(status=FAILED, error=f"HTTP {status_code}", http_status=status_code)


def parse_oembed(body: bytes | str) -> SiteMetadata:
    try:
        data = json.loads(body)
    except (TypeError, ValueError):
        return SiteMetadata(status=FAILED, error="oEmbed: not JSON")
    if not isinstance(data, dict) or not data.get("title"):
        return SiteMetadata(status=FAILED, error="oEmbed: no title in the answer")
    channel = collapse(data.get("author_name")) or None
    meta = {
        "channel": channel,
        "channel_url": data.get("author_url"),
        "provider": data.get("provider_name"),
        "thumbnail_url": data.get("thumbnail_url"),
    }
    return SiteMetadata(
        status=OK,
        title=collapse(data["title"]),
        authors=[channel] if channel else [],
        site_name=collapse(data.get("provider_name")) or "YouTube",
        meta={k: v for k, v in meta.items() if v},
    )
