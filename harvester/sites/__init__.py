"""Site adapters: a site's own API (or its own page markup) describes an item better than generic extraction.

``adapter_for(row)`` names the adapter that handles an item row (a mapping with
the ``items`` columns ``url``, ``kind``, ``arxiv_id``, ``doi``, ``repo``,
``hf_id``), or None when the item stays with generic fetching:

* ``arxiv_id`` -> ``arxiv`` (export API, batched);
* ``doi`` -> ``crossref`` (with DataCite as the fallback);
* ``repo`` -> ``github`` (REST API);
* ``hf_id`` -> ``huggingface`` (Hub API);
* a YouTube video URL -> ``youtube`` (oEmbed);
* a ``t.me/<name>/<n>`` post -> ``telegram`` (the ``?embed=1`` widget);
* a Habr article -> ``habr`` (the article page itself).

Each adapter module is pure: request URLs from Settings, bodies in,
:class:`~harvester.sites.base.SiteMetadata` out.
"""

from __future__ import annotations

import re
from typing import Mapping

from harvester.sites.base import DEAD, DEFERRED, FAILED, OK, SiteMetadata

__all__ = ["ADAPTERS", "adapter_for", "SiteMetadata", "OK", "DEAD", "DEFERRED", "FAILED"]

ADAPTERS = ("arxiv", "crossref", "github", "huggingface", "youtube", "telegram", "habr")

_YOUTUBE_VIDEO_RE = re.compile(r"^https://youtube\.com/watch\?v=[A-Za-z0-9_\-]{6,}$")
_TELEGRAM_POST_RE = re.compile(r"^https://t\.me/(?:s/)?[A-Za-z0-9_]{3,}/\d+$")
_HABR_ARTICLE_RE = re.compile(r"^https://habr\.com/(?:[a-z]{2}/)?(?:articles|post|news|companies/[^/]+/articles)/\d+/?$")


def adapter_for(row: Mapping) -> str | None:
    """The adapter for an item row, by identifier first, then by canonical URL."""
    if row.get("arxiv_id"):
        return "arxiv"
    if row.get("doi"):
        return "crossref"
    if row.get("repo"):
        return "github"
    if row.get("hf_id"):
        return "huggingface"
    url = row.get("url") or ""
    if _YOUTUBE_VIDEO_RE.match(url):
        return "youtube"
    if _TELEGRAM_POST_RE.match(url):
        return "telegram"
    if _HABR_ARTICLE_RE.match(url):
        return "habr"
    return None
