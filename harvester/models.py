"""The data that flows out of the sources: posts with their anchors and preview cards."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Anchor:
    """A link whose target is known exactly: an HTML ``<a href>`` or a ``text_link`` entity."""

    href: str
    text: str = ""


@dataclass(frozen=True)
class Preview:
    """A link-preview card shown under a post.

    ``url`` is None when the source only rendered the card's text (the plain-text
    dumps), so the target has to be inferred from the title, e.g.
    ``GitHub - owner/repo: ...``.
    """

    site_name: str | None = None
    title: str | None = None
    description: str | None = None
    url: str | None = None


@dataclass
class Post:
    """One Telegram post (or message) as a source saw it.

    ``text`` is the visible text. Links whose target is not visible in the text
    (anchors, ``text_link`` entities) are in ``anchors``; links that *are* in the
    text are found later by ``harvester.links``.
    """

    source: str
    text: str
    channel: str | None = None
    post_id: str | None = None
    permalink: str | None = None
    date: str | None = None
    forwarded_from: str | None = None
    anchors: list[Anchor] = field(default_factory=list)
    previews: list[Preview] = field(default_factory=list)
    hashtags: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        """A stable identity, so harvesting the same post twice stores it once.

        Posts with a permalink or a native id use it. Posts from plain-text dumps
        have neither, so their key hashes the channel and the text: the same post
        in two overlapping dumps of one channel is one post.
        """
        if self.permalink:
            basis = "permalink\0" + self.permalink
        elif self.post_id:
            basis = f"id\0{self.channel or ''}\0{self.post_id}"
        else:
            normalized = " ".join(self.text.split())
            basis = f"text\0{self.channel or ''}\0{self.forwarded_from or ''}\0{normalized}"
        return hashlib.sha1(basis.encode("utf-8")).hexdigest()[:16]
