"""Telegram Desktop JSON exports (``result.json``), streamed with bounded memory.

Two shapes are read:

* a single chat: ``{"name", "type", "id", "messages": [...]}``;
* a whole-account export: ``{"about", "personal_information", ...,
  "chats": {"list": [chat, ...]}, "left_chats": {"list": [chat, ...]}}``.

Each ``"type": "message"`` message with some text, a ``text_link`` or a URL
button becomes a ``Post``; service messages (joins, pins, calls, ...), ``unsupported`` ones and
media without a caption are skipped. The text is the concatenation of the
``text_entities`` (modern exports) or of the ``text`` parts (older exports,
where ``text`` is a string or a list of strings and ``{"type", "text"}`` parts).
``text_link`` entities become anchors, ``hashtag`` entities hashtags. The URL
buttons under a message (``inline_bot_buttons``: "read more", "paper") become
anchors with their text too. Visible
``link`` entities stay in the text; the ones ``harvester.links`` would not find
there (``example.com/path``: a host it does not know without a scheme) become
anchors too.

How the stream is read
----------------------
Exports reach gigabytes, so the file is never loaded. ijson's C backend builds
the document, but every JSON object it creates comes from our ``map_type``
factory, which hands us the root object. Between chunks (64 KB) the reader
takes every *finished* message out of the ``messages`` lists of the chats being
built, turns it into a ``Post`` and frees it; finished chats and bulky
top-level sections (contacts, sessions) are dropped too. At any moment the
memory holds the chat headers, one chunk's worth of messages and the one
message being built. The chat's ``name`` and ``id`` come before ``messages`` in
real exports, so they are known when its messages are drained.

ijson only hands control back between whole top-level items, so the C parser
runs as ijson's async iterator over an ``async`` reader, driven by hand (no
event loop): when the reader has posts ready it suspends, the driver yields
them, then resumes the parser. The parser proper stays in C.

Errors carry the byte offset of the problem (0-based, counting a BOM): the
reader knows where each chunk started, and yajl's message shows the text around
the byte it stopped at (the bad byte, or the last of a token it could not
accept), which is looked up in the last chunk. A stream that ends early is
*truncated* (at its length); anything else is *malformed*. Posts before the
error have been yielded. The message the parser was in when it stopped is one
too if its bytes show it closed before the error (``, x]`` after it); if it may
be incomplete, or began more than a chunk before the error, it is not.
"""

from __future__ import annotations

import ast
import datetime as _dt
import re
from typing import Any, BinaryIO, Iterator

import ijson

from ..errors import SourceError
from ..links import find_links
from ..models import Anchor, Post
from ._html import collapse

NAME = "telegram-json"

CHUNK_SIZE = 64 * 1024
# A JSON object that shows none of the export's top-level keys in this many
# bytes is not an export; without this limit a big unrelated JSON document
# would be built in memory.
MARKER_LIMIT = 8 * 1024 * 1024

BOM = b"\xef\xbb\xbf"
# Top-level keys of single-chat and account exports.
CHAT_GROUPS = ("chats", "left_chats")
POST_KEYS = ("messages",) + CHAT_GROUPS
EXPORT_KEYS = frozenset(
    POST_KEYS
    + ("personal_information", "profile_pictures", "stories", "contacts", "frequent_contacts",
       "sessions", "web_sessions", "other_data")
)
CHAT_TYPES = (
    "personal_chat", "bot_chat", "private_group", "private_supergroup", "public_supergroup",
    "private_channel", "public_channel", "saved_messages", "replies", "verify_codes",
)
SAVED_MESSAGES = "Saved Messages"

# yajl's verbose error: the context line puts the error at column 40; the arrow
# line below it is 21 spaces and this marker.
_ARROW = b"(right here) ------^"
_ARROW_INDENT = 21
_ERROR_COLUMN = 40

_PYTHON_BACKEND_POSITION = re.compile(r" at (\d+)$")

_SNIFF_STRONG = re.compile(
    rb'"(?:personal_information|chats|left_chats)"\s*:\s*\{'
    rb'|"about"\s*:\s*"Here is the data you requested'
)
_SNIFF_MESSAGES = re.compile(rb'"messages"\s*:\s*\[')
_SNIFF_TYPE = re.compile(rb'"type"\s*:\s*"(?:message|service|' + "|".join(CHAT_TYPES).encode() + rb')"')


def _backend():
    try:
        return ijson.get_backend("yajl2_c")
    except ImportError:  # pragma: no cover - ijson without its C extension
        return ijson.get_backend("python")


_BACKEND = _backend()


def sniff(head: bytes) -> bool:
    """A JSON object with an account export's keys, or a ``messages`` array with Telegram types.

    ``head`` may end mid-token; only complete key/value openings are matched.
    """
    stripped = head[3:] if head.startswith(BOM) else head
    stripped = stripped.lstrip(b" \t\r\n")
    if not stripped.startswith(b"{"):
        return False
    if _SNIFF_STRONG.search(stripped):
        return True
    return bool(_SNIFF_MESSAGES.search(stripped) and _SNIFF_TYPE.search(stripped))


def parse(stream: BinaryIO, source: str) -> Iterator[Post]:
    """The posts of a Telegram Desktop JSON export, read incrementally."""
    reader = _Reader(stream, source)
    items = _BACKEND.items_async(reader, "", map_type=reader.new_map, buf_size=CHUNK_SIZE, use_float=True)
    step = items.__aiter__().__anext__().__await__()
    try:
        while True:
            next(step)  # runs the parser until the reader has posts ready
            yield from reader.take()
    except StopIteration:  # the whole document has been read
        pass
    except ijson.JSONError as error:
        failure = reader.error(error)
        # The messages finished before the error, the last one too if it was closed before the error.
        reader.drain(final=reader.last_message_closed())
        yield from reader.take()
        raise failure from None
    reader.drain(final=True)
    yield from reader.take()
    reader.check_export(final=True)


class _Suspend:
    """Awaiting this hands control from the reader back to ``parse``'s driver loop."""

    def __await__(self):
        yield self


_SUSPEND = _Suspend()


class _Reader:
    """The async file ijson reads from. Between chunks it drains finished messages."""

    def __init__(self, raw: BinaryIO, source: str):
        self._raw = raw
        self._source = source
        self.root: dict | None = None
        self._posts: list[Post] = []
        self._validated = False
        self._started = False
        self._eof = False
        self._consumed = 0  # file offset after the last chunk
        self._chunk = b""
        self._chunk_start = 0
        # The chunk before ``_chunk`` (at the end of the stream: the last one read), so the bytes
        # of a message that started there are at hand when parsing stops.
        self._previous_chunk = b""
        self._error_position: int | None = None
        self._bom = 0

    # -- ijson side ------------------------------------------------------

    def new_map(self) -> dict:
        """``map_type`` for ijson: every JSON object; the first one is the root."""
        mapping: dict = {}
        if self.root is None:
            self.root = mapping
        return mapping

    async def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson probes the stream's type with an empty read
            return b""
        data = self._raw.read(size)
        if isinstance(data, str):
            data = data.encode("utf-8")
        if not self._started and data:
            data = self._first_chunk(data)
        self._chunk_start = self._consumed
        self._consumed += len(data)
        self._previous_chunk, self._chunk = self._chunk or self._previous_chunk, data
        if not data:
            self._eof = True
        self.drain(final=False)
        if not self._validated and self.root is not None:
            self.check_export(final=False)
        if self._posts:
            await _SUSPEND
        return data

    def _first_chunk(self, data: bytes) -> bytes:
        if data.startswith(BOM):
            data = data[len(BOM):]
            self._consumed += len(BOM)
            self._bom = len(BOM)
        first = data.lstrip(b" \t\r\n")[:1]
        if first:
            self._started = True
            if first != b"{":
                raise SourceError(self._source, "not a Telegram export: the JSON document is not an object")
        return data

    # -- posts -----------------------------------------------------------

    def take(self) -> list[Post]:
        posts, self._posts = self._posts, []
        return posts

    def drain(self, final: bool) -> None:
        """Turn finished messages into posts and free them.

        Only the last chat in document order can be in progress, and its
        ``messages`` list may end with a message still being built: that one
        message stays until the next call (or ``final``). Every earlier chat is
        finished, so it is drained completely and dropped.
        """
        root = self.root
        if root is None:
            return
        chats: list[dict] = []
        chat_lists: list[list] = []
        keys = list(root)
        for index, key in enumerate(keys):
            value = root[key]
            if key == "messages":
                chats.append(root)
            elif key in CHAT_GROUPS:
                group = value.get("list") if isinstance(value, dict) else None
                if isinstance(group, list):
                    chats.extend(chat for chat in group if isinstance(chat, dict))
                    chat_lists.append(group)
            elif index < len(keys) - 1 and isinstance(value, (dict, list)):
                root[key] = None  # a finished section the posts do not need (contacts, ...)
        last = len(chats) - 1
        for index, chat in enumerate(chats):
            messages = chat.get("messages")
            if not isinstance(messages, list):
                continue
            end = len(messages) if final or index < last else len(messages) - 1
            if end <= 0:
                continue
            self._posts.extend(_posts(messages[:end], chat, self._source))
            del messages[:end]
        for group in chat_lists:
            if len(group) > 1:
                del group[:-1]  # finished chats, drained above

    def check_export(self, final: bool) -> None:
        root = self.root
        if final:
            if root is None or not any(key in root for key in POST_KEYS):
                raise SourceError(self._source, 'not a Telegram export: no "messages" or "chats"')
            return
        if any(key in root for key in EXPORT_KEYS):
            self._validated = True
        elif self._consumed > MARKER_LIMIT:
            raise SourceError(
                self._source,
                f'not a Telegram export: no "messages" or "chats" in the first {MARKER_LIMIT // 2**20} MB',
            )

    # -- errors ----------------------------------------------------------

    def _current_message_start(self, data: bytes) -> int | None:
        """Where, in ``data``, the ``"id"`` of the message being built when parsing stopped is (None: unknown)."""
        root = self.root
        if root is None:
            return None
        chat: Any = root
        for key in CHAT_GROUPS:
            group = root.get(key)
            if isinstance(group, dict) and isinstance(group.get("list"), list) and group["list"]:
                chat = group["list"][-1]
        messages = chat.get("messages") if isinstance(chat, dict) else None
        if not isinstance(messages, list) or not messages or not isinstance(messages[-1], dict):
            return None
        msg_id = messages[-1].get("id")
        if not isinstance(msg_id, int):
            return None
        starts = [m.start() for m in re.finditer(rb'"id"\s*:\s*%d(?![\d.eE])' % msg_id, data)]
        return starts[-1] if starts else None

    def last_message_closed(self) -> bool:
        """Whether the message being built when parsing stopped was closed before the error.

        Read off the bytes from the message's ``{`` (just before its ``"id"``,
        the first key in Telegram's exports) to the error. False when they are
        not at hand (the message began more than a chunk before the error) or
        the error's position is unknown: a message that may be incomplete is never a post.
        """
        if self._error_position is None:
            return False
        data = self._previous_chunk + self._chunk
        stop = self._error_position - (self._chunk_start - len(self._previous_chunk))
        if not 0 <= stop <= len(data):
            return False
        id_at = self._current_message_start(data[:stop])
        if id_at is None:
            return False
        brace = data.rfind(b"{", 0, id_at)
        if brace < 0 or data[brace + 1 : id_at].strip():
            return False
        return _closes(data[brace:stop])

    def error(self, error: Exception) -> SourceError:
        if self._eof:
            self._error_position = self._consumed
            return SourceError(self._source, f"truncated JSON at byte {self._consumed}")
        message = str(error)
        pure = _PYTHON_BACKEND_POSITION.search(message)
        if pure:  # ijson's pure-Python backend counts from the start of what it read
            reason, position = message[: pure.start()], self._bom + int(pure.group(1))
        else:
            reason, offset = _yajl_error(message, self._chunk, self._current_message_start(self._chunk) or 0)
            position = self._chunk_start + (offset or 0)
            self._error_position = None if offset is None else position
        return SourceError(self._source, f"malformed JSON at byte {position}: {reason}")


# A JSON string (maybe cut off by the end of the bytes) or a bracket: enough to follow nesting.
_STRING_OR_BRACKET = re.compile(rb'"(?:[^"\\]|\\.)*(?:"|\Z)|[{}\[\]]', re.DOTALL)


def _closes(data: bytes) -> bool:
    """Whether the object that ``data`` starts with is closed within ``data``."""
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(data):
        token = match.group()
        if token in (b"{", b"["):
            depth += 1
        elif token in (b"}", b"]"):
            depth -= 1
            if depth == 0:
                return True
    return False


def _posts(messages: list, chat: dict, source: str) -> Iterator[Post]:
    # Names are one line, as the HTML export and t.me pages show them: a newline in one would
    # start a forged line wherever it is printed.
    name = collapse(chat.get("name")) if isinstance(chat.get("name"), str) else None
    if not name:
        name = SAVED_MESSAGES if chat.get("type") == "saved_messages" else None
    chat_id = chat.get("id")
    for message in messages:
        if isinstance(message, dict) and message.get("type") == "message":
            post = _post(message, name, chat_id, source)
            if post is not None:
                yield post


def _post(message: dict, channel: str | None, chat_id: Any, source: str) -> Post | None:
    entities = message.get("text_entities")
    if not isinstance(entities, list) or not entities:
        entities = message.get("text")
        if not isinstance(entities, list):
            entities = [entities] if isinstance(entities, str) else []
    texts: list[str] = []
    anchors: list[Anchor] = []
    hashtags: list[str] = []
    links: list[tuple[int, str]] = []  # ``link`` entities: where they start in the post's text, and their text
    offset = 0
    for part in entities:
        if isinstance(part, str):
            texts.append(part)
            offset += len(part)
            continue
        if not isinstance(part, dict):
            continue
        text = part.get("text")
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        texts.append(text)
        kind = part.get("type")
        if kind == "text_link":
            href = part.get("href")
            if isinstance(href, str) and href:
                anchors.append(_anchor(href, text, offset))
        elif kind == "link" and text.strip():
            links.append((offset, text))
        elif kind == "hashtag":
            tag = text.strip().lstrip("#").lower()
            if tag and tag not in hashtags:
                hashtags.append(tag)
        offset += len(text)
    text = "".join(texts)
    if links:
        anchors.extend(_link_anchors(text, links))
    anchors.extend(_button_anchors(message.get("inline_bot_buttons")))
    if not text.strip() and not anchors:
        return None
    msg_id = message.get("id")
    if msg_id is None:
        post_id = None
    elif chat_id is not None:
        post_id = f"{chat_id}/{msg_id}"
    else:
        post_id = str(msg_id)
    forwarded = message.get("forwarded_from")
    return Post(
        source=source,
        text=text,
        channel=channel,
        post_id=post_id,
        date=_time(message, "date"),
        edited=_time(message, "edited"),
        reports_edits=True,
        forwarded_from=collapse(forwarded) or None if isinstance(forwarded, str) else None,
        anchors=anchors,
        hashtags=hashtags,
    )


def _link_anchors(text: str, links: list[tuple[int, str]]) -> list[Anchor]:
    """Anchors for the ``link`` entities that the link finder does not find in ``text`` by itself.

    Telegram marks exactly the link, so it is one whatever its host
    (``example.com/path``, where the finder only knows some hosts without a
    scheme); ``https://`` is added when it has no scheme. Without a scheme it
    needs a path, as in the finder: Telegram also marks file names whose
    extension is a country's domain (``train.py``, ``README.md``, ``run.sh``),
    and a bare host names a site, not something to read. A link the finder
    finds in the text anyway is not given twice, unless the finder took it for
    one Telegram cut short (an ellipsis the author wrote after it: ``url…``):
    the entity is the whole link, so it is given as an anchor.
    """
    found = [link for link in find_links(text) if not link.truncated]
    anchors = []
    for start, link_text in links:
        end = start + len(link_text)
        if any(link.start < end and start < link.end for link in found):
            continue
        href = link_text.strip()
        if "://" not in href:
            _host, slash, path = href.partition("/")
            if not (slash and path.strip("/")):
                continue
            href = "https://" + href
        anchors.append(_anchor(href, link_text, start))
    return anchors


def _button_anchors(rows: Any) -> list[Anchor]:
    """Anchors for the URL buttons under a message, with their text: channels attach "read more" links so.

    ``inline_bot_buttons`` is a list of rows of buttons; a ``url`` button
    holds its URL in ``data``. Other buttons (callbacks, logins, games) are
    no links to read. A button is not in the post's text: no offset.
    """
    anchors: list[Anchor] = []
    for row in rows if isinstance(rows, list) else ():
        for button in row if isinstance(row, list) else ():
            if not isinstance(button, dict) or button.get("type") != "url":
                continue
            href, label = button.get("data"), button.get("text")
            if isinstance(href, str) and href.strip():
                anchor = Anchor(href.strip(), collapse(label) if isinstance(label, str) else "")
                if anchor not in anchors:
                    anchors.append(anchor)
    return anchors


def _anchor(href: str, entity_text: str, offset: int) -> Anchor:
    """The anchor of an entity whose ``entity_text`` starts at ``offset`` in the post's text: its text stripped."""
    text = entity_text.strip()
    return Anchor(href, text, offset + entity_text.find(text) if text else None)


def _time(message: dict, name: str) -> str | None:
    """``message[name]`` (``date``, ``edited``) as written (local time, no zone); else ``<name>_unixtime`` in UTC."""
    written = message.get(name)
    if isinstance(written, str) and written:
        return written
    unixtime = message.get(f"{name}_unixtime")
    try:
        seconds = int(unixtime)
    except (TypeError, ValueError):
        return None
    try:
        return _dt.datetime.fromtimestamp(seconds, _dt.timezone.utc).isoformat()
    except (OverflowError, OSError, ValueError):
        return None


def _yajl_error(message: str, chunk: bytes, start: int = 0) -> tuple[str, int | None]:
    """The reason in a yajl error and the error's offset in ``chunk`` (None if not found).

    yajl writes ``<reason>\\n<padding + 30 bytes before + 30 after>\\n<caret line>``,
    the caret under the byte it stopped at, newlines shown as spaces. ijson gives
    the ``repr`` of the bytes when they are not valid UTF-8. The context can occur
    more than once in a chunk of pretty-printed JSON: the first occurrence at or
    after ``start`` (where the message being built began) is taken.
    """
    raw: bytes
    if message[:2] in ("b'", 'b"'):
        try:
            raw = ast.literal_eval(message)
        except (ValueError, SyntaxError):
            raw = message.encode("utf-8", "replace")
    else:
        raw = message.encode("utf-8", "surrogateescape")
    reason_line, _, rest = raw.partition(b"\n")
    reason = reason_line.decode("utf-8", "replace").strip().rstrip(".")
    arrow = rest.find(_ARROW)
    if arrow < _ARROW_INDENT:
        return reason, None
    context = rest[: arrow - _ARROW_INDENT]
    haystack = chunk.replace(b"\n", b" ").replace(b"\r", b" ")
    if context.endswith(b"\n"):
        before, after = context[:_ERROR_COLUMN].lstrip(b" "), context[_ERROR_COLUMN:-1]
    else:
        # yajl cut its context at a NUL byte (C string), which is then the error.
        found = haystack.find(context.lstrip(b" ") + b"\x00")
        return reason, found + len(context.lstrip(b" ")) if found >= 0 else None
    if not before and not after.strip():
        return reason, None
    found = haystack.find(before + after, max(0, start - len(before)))
    if found < 0 and start:
        found = haystack.find(before + after)
    # The caret is just past the last byte yajl read: the bad byte, or the end of the token it could not accept.
    return reason, max(0, found + len(before) - 1) if found >= 0 else None
