"""The data that flows out of the sources: posts with their anchors and preview cards."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Anchor:
    """A link whose target is known exactly: an HTML ``<a href>`` or a ``text_link`` entity."""

    href: str
    text: str = ""
    #: Where ``text`` starts in the post's text, where the source knows it (JSON exports' entities):
    #: the context of each of several anchors with one text ("тут") is taken around its own.
    #: Not part of what the anchor is: the same link with the same text is one anchor.
    start: int | None = field(default=None, compare=False)


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
    #: The channel's title where the source also gives its username as ``channel``
    #: (t.me pages), or where a Desktop export's chat title was matched to one.
    channel_title: str | None = None
    post_id: str | None = None
    permalink: str | None = None
    date: str | None = None
    #: When the message was last edited, where the source says (Desktop JSON exports):
    #: a newer edit of a stored post replaces its text and links.
    edited: str | None = None
    #: The source says when messages were edited, so ``edited`` None means never
    #: edited: this text is the original, older than any edit.
    reports_edits: bool = field(default=False, compare=False)
    forwarded_from: str | None = None
    anchors: list[Anchor] = field(default_factory=list)
    previews: list[Preview] = field(default_factory=list)
    hashtags: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        """A stable identity, so harvesting the same post twice stores it once.

        Posts with a permalink use it. Export posts use their chat, number and
        minute: an HTML export names its chat only by title (or a ``--channel``
        label), which two chats may share, and message numbers restart in every
        chat, so the minute keeps their posts apart (as in :func:`message_key`).
        Posts from plain-text dumps have neither, so their key hashes the channel
        and the text: the same post in two overlapping dumps of one channel is
        one post. Posts stored under an earlier key are found by ``message_key``.
        """
        if self.permalink:
            basis = "permalink\0" + self.permalink
        elif self.post_id:
            basis = f"id\0{self.channel or ''}\0{self.post_id}\0{(self.date or '')[:16]}"
        else:
            normalized = " ".join(self.text.split())
            basis = f"text\0{self.channel or ''}\0{self.forwarded_from or ''}\0{normalized}"
        return hashlib.sha1(basis.encode("utf-8")).hexdigest()[:16]

    @property
    def message_key(self) -> str | None:
        """The message's identity whichever source read it (None without a message number).

        A Telegram Desktop export in both formats holds every message twice,
        and only the JSON one carries the chat's id, so their ``key``s differ;
        a public channel's message is also on t.me, keyed by its permalink.
        A channel known by its username (t.me, or an export's title matched to
        one) keys its messages by username and number; an export chat known
        only by its title, by title, number and minute (see :func:`message_key`).
        """
        if not self.post_id:
            return None
        if self.permalink or self.channel_title:
            return channel_message_key(self.channel or "", self.post_id)
        return message_key(self.channel, self.post_id, self.date)


def message_key(channel: str | None, message_id: str, date: str | None) -> str:
    """A key of the chat, the message's number and (for a chat known by title) its minute.

    ``channel`` is ``@username`` (lower case) or an export's chat title;
    ``message_id`` is ``<chat id or username>/<number>`` or ``<number>``;
    ``date`` is ISO, local time first (``2024-05-01T10:00:00`` in JSON,
    ``2024-05-01T10:00:00+03:00`` in HTML), so its first 16 characters agree.
    The minute tells apart two chats of one title whose numbers meet; None for
    a username, which no two channels share.
    """
    number = message_id.rsplit("/", 1)[-1]
    basis = f"message\0{channel or ''}\0{number}\0{(date or '')[:16]}"
    return hashlib.sha1(basis.encode("utf-8")).hexdigest()[:16]


def channel_message_key(username: str, message_id: str) -> str:
    """The :func:`message_key` of a message of the public channel ``username`` (any case), from t.me or an export."""
    return message_key("@" + username.lower(), message_id, None)
