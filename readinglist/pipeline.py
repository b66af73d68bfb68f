"""Orchestration: inputs -> posts -> links -> identities -> the database.

``harvest`` is what ``readinglist harvest`` runs. It writes in batches, each in
its own transaction, so an interrupted run keeps every finished batch and a
second run over the same input changes nothing.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import BinaryIO, Callable, Iterable
from urllib.parse import urlsplit

import sqlite_utils

from harvester.errors import SourceError
from harvester.extract import clean_line
from harvester.identity import identify
from harvester.links import CALL_TO_ACTION, FoundLink, find_hashtags, links_in_post
from harvester.models import Post
from harvester.sources import SNIFF_BYTES, detect_format, read_posts

from .db import item_id_for, mention_id_for, mentions_written, stored_item_ids
from .ranking import parse_julian_day
from .render import count_of

logger = logging.getLogger(__name__)

# Posts per transaction: each commit rewrites the index pages its batch touched.
BATCH_POSTS = 2_000
STDIN = "-"
# An anchor text shorter than this ("тут", "link", "статья") says nothing about the page.
MIN_ANCHOR_TITLE = 15
# Nor, however long, does one that only asks to follow the link (``CALL_TO_ACTION``)...
# ...or it is made of words that name a link, not a work ("paper and code on GitHub", "код и статья тут").
_LINK_WORDS = re.compile(
    r"""(?:\W*\b(?:
        link|here|source|paper|code|github|repo|repository|pdf|arxiv|project|page|website|demo|blog|post|article
      | the|a|this|our|and|on|to|at|in|of|for
      | ссылк[аиуе]|тут|здесь|источник|статья|статью|статьи|код|гитхаб|репозиторий|проект|пост|блог|демо|и|на|в|к|по
    )\b)+\W*""",
    re.IGNORECASE | re.VERBOSE,
)


@dataclass
class HarvestStats:
    files: int = 0
    channels: int = 0
    # Channels named for a live harvest, read or not (``channels`` counts those read).
    channels_named: int = 0
    posts: int = 0
    new_posts: int = 0
    links: int = 0
    new_items: int = 0
    # Unresolved items made for papers the posts cite by title (not in ``new_items``, which counts links).
    new_references: int = 0
    new_mentions: int = 0
    skipped: list[str] = field(default_factory=list)
    # Channel lists named as inputs (also in ``skipped``): they are read with --channels.
    channel_lists: list[str] = field(default_factory=list)
    errors: list[SourceError] = field(default_factory=list)
    truncated_completed: int = 0
    truncated_dropped: int = 0
    # Stored posts whose text a newer edit replaced.
    edited_posts: int = 0

    def summary(self) -> str:
        read_from = []
        if self.files or not self.channels_named:
            read_from.append(count_of(self.files, "file"))
        if self.channels_named:
            read_from.append(count_of(self.channels, "channel"))
        parts = [
            f"{count_of(self.posts, 'post')} read from {' and '.join(read_from)}",
            f"{count_of(self.links, 'link')} found",
            f"{count_of(self.new_items, 'new item')}",
        ]
        if self.new_references:
            # They are items too: without them the line added up to fewer items than `stats` then shows.
            parts.append(f"{count_of(self.new_references, 'new paper')} cited by title")
        if self.edited_posts:
            parts.append(f"{count_of(self.edited_posts, 'edited post')} updated")
        parts.append(f"{count_of(len(self.skipped), 'file')} skipped")
        if self.errors:
            parts.append(f"{len(self.errors)} failed")
        return "Harvested: " + ", ".join(parts) + "."


@dataclass(frozen=True)
class InputFile:
    """One input to read: a path, or ``-`` for stdin. ``walked`` inputs came from a directory.

    ``error``: why it cannot be read (it is reported, not read): a path that does not exist, or a
    directory met while walking that could not be read.
    """

    path: str
    walked: bool = False
    error: str | None = None
    #: Why a file met while walking is skipped unread (an attachment of a Telegram Desktop export).
    skip: str | None = None

    @property
    def size(self) -> int:
        if self.path == STDIN or self.error:
            return 0
        try:
            return os.path.getsize(self.path)
        except OSError:
            return 0


def expand_inputs(paths: Iterable[str]) -> list[InputFile]:
    """Files named directly, and every non-hidden file under named directories, sorted.

    Symlinked directories are followed, each directory once (a link back up
    would loop); a directory that cannot be read is an input with its
    ``error``, so it is reported rather than silently holding no files. The
    attachment folders of a Telegram Desktop export (``files/``, ``photos/``,
    ...) hold what the messages carried, not posts: their files are inputs to
    ``skip``, whatever their content (a ``requirements.txt`` reads as a dump).
    A path that does not exist is an input with its ``error``.
    """
    inputs: list[InputFile] = []
    for path in paths:
        if path != STDIN and os.path.isdir(path):
            seen: set[str] = set()
            skipped_roots: set[str] = set()

            def unreadable(error: OSError) -> None:
                inputs.append(InputFile(error.filename or path, walked=True, error=_os_reason(error)))

            for root, dirs, files in os.walk(path, onerror=unreadable, followlinks=True):
                real = os.path.realpath(root)
                if real in seen:
                    dirs[:] = []
                    continue
                seen.add(real)
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                if _is_export_folder(files):
                    attachments = {os.path.join(root, d) for d in dirs if d in EXPORT_ATTACHMENT_DIRS}
                    skipped_roots.update(os.path.realpath(folder) for folder in attachments)
                skip = "an attachment of a Telegram export" if any(
                    real == folder or real.startswith(folder + os.sep) for folder in skipped_roots
                ) else None
                for name in sorted(files):
                    if not name.startswith("."):
                        inputs.append(InputFile(os.path.join(root, name), walked=True, skip=skip))
        elif path != STDIN and not os.path.exists(path):
            inputs.append(InputFile(path, error=NO_SUCH_FILE))
        else:
            inputs.append(InputFile(path))
    return inputs


def nothing_readable(inputs: list[InputFile]) -> HarvestStats | None:
    """The outcome of harvesting ``inputs`` when none of them can be read (each one's error), else None.

    Such a harvest stores nothing, so it needs no database: it must not create one.
    """
    if not inputs or not all(input_file.error for input_file in inputs):
        return None
    return HarvestStats(errors=[SourceError(input_file.path, input_file.error) for input_file in inputs])


# Folders of a Telegram Desktop export that hold the messages' attachments.
EXPORT_ATTACHMENT_DIRS = frozenset(
    {"files", "photos", "video_files", "voice_messages", "round_video_messages", "stickers", "contacts", "calls", "images"}
)
_EXPORT_PAGE = re.compile(r"messages\d*\.html")


def _is_export_folder(files: list[str]) -> bool:
    """Whether a folder holding ``files`` is a Telegram Desktop export (its ``result.json`` or ``messages*.html``)."""
    return "result.json" in files or any(_EXPORT_PAGE.fullmatch(name) for name in files)


class _CountingReader:
    """Reports bytes read to a callback: drives the progress bar."""

    def __init__(self, raw: BinaryIO, on_read: Callable[[int], None]):
        self._raw = raw
        self._on_read = on_read

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self._on_read(len(data))
        return data

    def readable(self) -> bool:
        return True

    def __iter__(self):
        for line in self._raw:
            self._on_read(len(line))
            yield line


def harvest(
    db: sqlite_utils.Database | Callable[[], sqlite_utils.Database],
    paths: Iterable[str],
    *,
    format: str | None = None,
    channel: str | None = None,
    on_progress: Callable[[int], None] | None = None,
    stdin: BinaryIO | None = None,
) -> HarvestStats:
    """Harvest every input into ``db``. Errors in one input never stop the others.

    ``db`` may be a function that opens it: it is called only when there is a post
    to store, so a harvest of files that hold none creates no database.
    """
    from harvester.sources.live import looks_like_channel_list

    stats = HarvestStats()
    writer = PostWriter(db, stats)
    for input_file in expand_inputs(paths):
        if input_file.error:
            stats.errors.append(SourceError(input_file.path, input_file.error))
            continue
        if input_file.skip:
            stats.skipped.append(input_file.path)
            logger.info("skipped %s: %s", input_file.path, input_file.skip)
            continue
        try:
            opened = _open(input_file, stdin)
        except SourceError as error:
            stats.errors.append(error)
            continue
        with opened as stream:
            reader: BinaryIO = _CountingReader(stream, on_progress) if on_progress else stream
            try:
                file_format = format
                if file_format is None and (input_file.walked or os.path.isfile(input_file.path)):
                    head = _head(input_file.path)  # a second open: not for pipes (<(cmd)), which it would drain
                    if looks_like_channel_list(head):
                        # It names channels and holds no posts, in a directory or named.
                        stats.skipped.append(input_file.path)
                        if not input_file.walked:
                            stats.channel_lists.append(input_file.path)
                        logger.info("skipped %s: a channel list", input_file.path)
                        continue
                    if input_file.walked:
                        # Files of other kinds inside a directory (images, CSS of an HTML export) are skipped, not errors.
                        file_format = _format_or_none(head, input_file.path)
                        if file_format is None:
                            stats.skipped.append(input_file.path)
                            logger.info("skipped %s: unknown format", input_file.path)
                            continue
                posts = read_posts(reader, _source_name(input_file), file_format)
                for post in posts:
                    if channel:
                        post.channel = channel
                    writer.add(post)
                stats.files += 1  # read to its end: a file that failed is not a file read
            except SourceError as error:
                stats.errors.append(error)
            except (OSError, UnicodeError) as error:
                stats.errors.append(SourceError(input_file.path, _os_reason(error)))
            finally:
                # Whatever was read before an error is kept.
                writer.flush()
    writer.complete_truncated()
    return stats


def _open(input_file: InputFile, stdin: BinaryIO | None):
    if input_file.path == STDIN:
        return _NoClose(stdin or sys.stdin.buffer)
    try:
        return open(input_file.path, "rb")
    except OSError as error:
        raise SourceError(input_file.path, _os_reason(error)) from None


class _NoClose:
    def __init__(self, raw: BinaryIO):
        self._raw = raw

    def __enter__(self):
        return self._raw

    def __exit__(self, *exc):
        return False


NO_SUCH_FILE = "no such file or directory"


def _os_reason(error: BaseException) -> str:
    if isinstance(error, FileNotFoundError):
        return NO_SUCH_FILE
    if isinstance(error, PermissionError):
        return "permission denied"
    if isinstance(error, IsADirectoryError):
        return "is a directory"
    return getattr(error, "strerror", None) or str(error)


def _head(path: str) -> bytes:
    """The first bytes of a file, which its format is told from."""
    with open(path, "rb") as head_stream:
        return head_stream.read(SNIFF_BYTES)


def _format_or_none(head: bytes, path: str) -> str | None:
    """The format of a file met while walking a directory; None for unknown formats."""
    try:
        return detect_format(head, path)
    except SourceError:
        return None


def _source_name(input_file: InputFile) -> str:
    return "<stdin>" if input_file.path == STDIN else input_file.path


def utc_now() -> str:
    """Now, as stored in ``harvested_at`` columns (ISO 8601, UTC, to the second)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class _PendingTruncated:
    post_id: str
    link: FoundLink


class PostWriter:
    """Buffers posts and writes them a batch at a time, each batch in one transaction."""

    def __init__(
        self,
        db: sqlite_utils.Database | Callable[[], sqlite_utils.Database],
        stats: HarvestStats,
        find_references: bool = True,
    ):
        self._db = db
        self.stats = stats
        self.find_references = find_references
        self.posts: list[Post] = []
        self.truncated: list[_PendingTruncated] = []
        self._pairs: set[tuple[str, str]] = set()
        # The (post, item) pairs already counted for posts with a cut URL: its completion may repeat one.
        self._pairs_of_cut_posts: set[tuple[str, str]] = set()
        # Mention id -> added_at, for the mentions of edited posts, which are written again.
        self._kept_added_at: dict[str, str] = {}
        self._edit_archives: bool | None = None

    @property
    def db(self) -> sqlite_utils.Database:
        """The database, opened by the first batch that has posts when given as a function that opens it."""
        if callable(self._db):
            self._db = self._db()
        return self._db

    def add(self, post: Post) -> None:
        if post.edited is not None and post_date(post.edited, utc_now()) is None:
            post = replace(post, edited=misdated_edit(post))
        self.posts.append(post)
        self.stats.posts += 1
        if len(self.posts) >= BATCH_POSTS:
            self.flush()

    def flush(self) -> None:
        if not self.posts:
            return
        now = utc_now()
        post_rows: dict[str, dict] = {}
        items: dict[str, dict] = {}
        mentions: dict[str, dict] = {}
        self.posts = self._in_known_channels(self.posts)
        stored_as = _stored_post_ids(self.db, self.posts)
        stored_edits = _stored_versions(
            self.db, [stored_as.get(post.key, post.key) for post in self.posts if post.edited or post.reports_edits]
        )
        # Posts whose cited titles are (re)scanned: new ones, and stored ones edited since.
        first_seen: list[tuple[str, Post]] = []
        edited: list[str] = []
        cut_before = len(self.truncated)
        for post in self.posts:
            post_id = stored_as.get(post.key, post.key)
            if post_id in stored_edits and post_id not in post_rows:
                order = _edit_order(post, stored_edits[post_id])
                if order == "older":  # an earlier version of what is stored: its links may since have been edited away
                    continue
                if order == "newer":
                    post_rows[post_id] = _post_row(post, now, post_id)
                    edited.append(post_id)
                    first_seen.append((post_id, post))
            if post_id == post.key and post_id not in post_rows:
                post_rows[post_id] = _post_row(post, now)
                first_seen.append((post_id, post))
            for link in links_in_post(post):
                if link.truncated:
                    self.truncated.append(_PendingTruncated(post_id, link))
                    continue
                self._collect(post_id, link, now, items, mentions)
        self.posts = []
        if len(self.truncated) > cut_before:
            cut_posts = {pending.post_id for pending in self.truncated[cut_before:]}
            self._pairs_of_cut_posts.update(pair for pair in self._pairs if pair[0] in cut_posts)
        self._pairs.clear()
        with self.db.atomic():
            unlinked = self._replace_edited(edited, post_rows)
            self._write(post_rows, items, mentions)
            if self.find_references:
                # Cited titles need the posts' preview cards and anchors, which only the parsed posts have.
                from .references import record_candidates

                self.stats.new_references += record_candidates(self.db, first_seen).new_references
            if unlinked:
                from .state import archive_unmentioned

                mentions_written(self.db, unlinked)
                # Else the ranking would take a link edited out of its only post for one added by hand, today.
                if archive_unmentioned(self.db, unlinked):
                    self._edit_archives = True

    def _archived_by_edits(self) -> bool:
        """Whether any item was ever archived for being edited out of its post (almost never: one cheap query per run)."""
        if self._edit_archives is None:
            from .state import EDITED_OUT

            self._edit_archives = self.db.execute(
                "SELECT EXISTS (SELECT 1 FROM events WHERE action = 'archive' AND value = ?)", [EDITED_OUT]
            ).fetchone()[0] == 1
        return self._edit_archives

    def _replace_edited(self, post_ids: list[str], post_rows: dict) -> set[str]:
        """Give stored posts their edited text, dropping their mentions, which the new text gives again; the items they were of.

        A mention the edit keeps gets back its ``added_at`` when it is written
        again (``_write``), and is not counted as new.
        """
        items: set[str] = set()
        for post_id in post_ids:
            row = post_rows[post_id]
            self.db.execute(
                "UPDATE posts SET text = ?, hashtags = ?, edited = ? WHERE id = ?",
                [row["text"], row["hashtags"], row["edited"], post_id],
            )
            for mention_id, item_id, added_at in self.db.execute(
                "SELECT id, item_id, added_at FROM mentions WHERE post_id = ?", [post_id]
            ).fetchall():
                self._kept_added_at[mention_id] = added_at
                items.add(item_id)
            self.db.execute("DELETE FROM mentions WHERE post_id = ?", [post_id])
            self.db.execute("DELETE FROM reference_scans WHERE post_id = ?", [post_id])  # its cited titles are found again
        self.stats.edited_posts += len(post_ids)
        return items

    def _in_known_channels(self, posts: list[Post]) -> list[Post]:
        """``posts`` with export chats named as the public channels they are (readinglist/channels.py)."""
        from . import channels

        with self.db.atomic():
            changed = channels.learn(self.db, posts)
            if changed:
                mentions_written(self.db, changed)
        usernames = channels.usernames_by_title(self.db)
        return [channels.as_channel_post(post, usernames) for post in posts] if usernames else posts

    def _collect(self, post_id: str, link: FoundLink, now: str, items: dict, mentions: dict) -> None:
        identity = identify(link.url)
        if identity is None:
            return
        item_id = item_id_for(identity.url)
        if (post_id, item_id) not in self._pairs:
            # A link counts once per post, however many times or ways the post gives it.
            self._pairs.add((post_id, item_id))
            self.stats.links += 1
        title, title_source = _title_from(link)
        if identity.repo and title_source == "preview" and not title.startswith("GitHub - "):
            # A card for a deep link ("Release v4.55.0 · owner/repo") titles that page, not the repo.
            title, title_source = None, None
        existing = items.get(item_id)
        if existing is None:
            items[item_id] = {
                "id": item_id,
                "url": identity.url,
                "kind": identity.kind,
                "domain": identity.domain,
                "arxiv_id": identity.arxiv_id,
                "doi": identity.doi,
                "repo": identity.repo,
                "hf_id": identity.hf_id,
                "title": title,
                "title_source": title_source,
                "status": "unread",
                "added_at": now,
            }
        elif title and _better_title(title_source, existing["title_source"]):
            existing["title"], existing["title_source"] = title, title_source
        mention_id = mention_id_for(item_id, post_id, link.written)
        if mention_id not in mentions:
            mentions[mention_id] = {
                "id": mention_id,
                "item_id": item_id,
                "post_id": post_id,
                "url": link.written if link.via in ("text", "anchor", "preview") else link.url,
                "anchor_text": link.anchor_text,
                "context": link.context,
                "via": link.via,
                "added_at": now,
            }

    def _write(self, post_rows: dict, items: dict, mentions: dict) -> None:
        db = self.db
        with db.atomic():
            existing_posts = _existing_ids(db, "posts", post_rows)
            new_posts = [row for key, row in post_rows.items() if key not in existing_posts]
            if new_posts:
                _insert_rows(db, "posts", new_posts)
            self.stats.new_posts += len(new_posts)
            items, mentions = _follow_aliases(db, items, mentions)
            existing_items = _existing_ids(db, "items", items, columns="id, title_source")
            new_items = [row for key, row in items.items() if key not in existing_items]
            if new_items:
                db["items"].insert_all(new_items, pk="id")
            self.stats.new_items += len(new_items)
            for key, row in items.items():
                if key in existing_items and row["title"] and _better_title(row["title_source"], existing_items[key]):
                    db.execute(
                        "UPDATE items SET title = ?, title_source = ? WHERE id = ?",
                        [row["title"], row["title_source"], key],
                    )
            existing_mentions = _existing_ids(db, "mentions", mentions)
            new_mentions = [row for key, row in mentions.items() if key not in existing_mentions]
            kept: list[tuple[str, str]] = []
            if new_mentions:
                for row in new_mentions:
                    row["post_julianday"] = post_rows[row["post_id"]]["julianday"] if row["post_id"] in post_rows else None
                _insert_rows(db, "mentions", new_mentions)
                kept = [(self._kept_added_at.pop(row["id"]), row["id"]) for row in new_mentions if row["id"] in self._kept_added_at]
                if kept:
                    db.conn.executemany("UPDATE mentions SET added_at = ? WHERE id = ?", kept)
                mentions_written(db, (row["item_id"] for row in new_mentions), _added(new_mentions, post_rows, existing_posts))
                _tag_with_hashtags(db, new_mentions, post_rows)
                if self._archived_by_edits():
                    from .state import restore_mentioned

                    restore_mentioned(db, (row["item_id"] for row in new_mentions))
            self.stats.new_mentions += len(new_mentions) - len(kept)

    def complete_truncated(self) -> None:
        """Replace each URL Telegram cut short with the complete URL it stands for (see ``_completion``), or drop it."""
        if not self.truncated:
            return
        now = utc_now()
        items: dict[str, dict] = {}
        mentions: dict[str, dict] = {}
        self._pairs, self._pairs_of_cut_posts = self._pairs_of_cut_posts, set()
        for pending in self.truncated:
            complete = self._completion(pending.link.url)
            if complete is None:
                self.stats.truncated_dropped += 1
                logger.info("dropped truncated URL %s (no one complete URL has its prefix)", pending.link.written)
                continue
            self.stats.truncated_completed += 1
            link = FoundLink(
                url=complete,
                written=complete,
                start=pending.link.start,
                end=pending.link.end,
                via=pending.link.via,
                anchor_text=pending.link.anchor_text,
                title=pending.link.title,
                context=pending.link.context,
            )
            self._collect(pending.post_id, link, now, items, mentions)
        self.truncated = []
        self._pairs.clear()
        self._write({}, items, mentions)

    def _completion(self, prefix: str) -> str | None:
        """The complete URL that ``prefix``, written with an ellipsis, stands for; None if unknown.

        That is the prefix itself when it ends exactly where an arXiv id does,
        or when it was written complete elsewhere; else, when the complete URLs
        that start with it are all of one item (a repository and a file in it),
        the first of them.
        """
        if _names_a_whole_paper(prefix):
            return prefix
        extent = [prefix, prefix + "\U0010ffff"]
        (first,) = self.db.execute("SELECT min(url) FROM mentions WHERE url >= ? AND url < ?", extent).fetchone()
        if first is None or first == prefix:
            return first
        items = self.db.execute("SELECT DISTINCT item_id FROM mentions WHERE url >= ? AND url < ? LIMIT 2", extent).fetchall()
        return first if len(items) == 1 else None


def _names_a_whole_paper(url: str) -> bool:
    """Whether ``url`` ends exactly where an arXiv id ends (``.../2401.01234...``).

    Whatever followed such a URL where Telegram cut it (a version, ``.pdf``),
    it is that paper. A cut that ends where a GitHub repository name could
    end is not told apart so: ``github.com/openai/whis...`` is a cut
    ``whisper`` as often as ``github.com/x/llama...`` is the ``llama`` repo
    followed by an ellipsis, so those follow the other rules.
    """
    identity = identify(url)
    if identity is None or not identity.arxiv_id:
        return False
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        return False
    path = parts.path.rstrip("/")
    number = identity.arxiv_id.rsplit("/", 1)[-1]
    if "." in number and len(number) != (9 if number < "1501" else 10):
        return False  # "2401.0123" is the start of a five-digit id
    return re.fullmatch(r".*/" + re.escape(number) + r"(?:v\d+)?(?:\.pdf)?", path, re.IGNORECASE) is not None


TITLE_RANK = {None: 0, "anchor": 1, "preview": 2}
# Link text that is itself a URL without a scheme, maybe cut short: "github.com/x/y", "www.x.org", "example.com/a…".
_URL_TEXT = re.compile(r"(?:www\.)?[^\s/@]+\.[^\W\d_]{2,}(?:[/?#:…]\S*|\.{3})?", re.IGNORECASE)


def _title_from(link: FoundLink) -> tuple[str | None, str | None]:
    # Cleaned as fetched titles are (bidi controls and all).
    preview = clean_line(link.title)
    if preview:
        return preview, "preview"
    text = clean_line(link.anchor_text) or ""
    if len(text) < MIN_ANCHOR_TITLE or "://" in text or text.startswith("@") or _URL_TEXT.fullmatch(text):
        return None, None
    if CALL_TO_ACTION.match(text) or _LINK_WORDS.fullmatch(text):
        return None, None
    return text, "anchor"


def _better_title(candidate_source: str | None, current_source: str | None) -> bool:
    """Whether a title from ``candidate_source`` should replace one from ``current_source``.

    Sources this stage does not know (set by fetching) are never overridden.
    """
    if current_source not in TITLE_RANK:
        return False
    return TITLE_RANK.get(candidate_source, 0) > TITLE_RANK[current_source]


def _follow_aliases(db: sqlite_utils.Database, items: dict, mentions: dict) -> tuple[dict, dict]:
    """Send links to a URL that an item holds under another id (``db.stored_item_ids``: a DOI merged
    into its arXiv paper, a renamed repository's new URL) to that item."""
    held = stored_item_ids(db, [row["url"] for row in items.values()])
    targets = {item_id_for(url): item_id for url, item_id in held.items()}
    if not targets:
        return items, mentions
    items = {key: row for key, row in items.items() if key not in targets}
    moved: dict[str, dict] = {}
    for key, row in mentions.items():
        target = targets.get(row["item_id"])
        if target is None:
            moved[key] = row
            continue
        new_id = mention_id_for(target, row["post_id"], row["url"])
        moved.setdefault(new_id, {**row, "id": new_id, "item_id": target})
    return items, moved


def _insert_rows(db: sqlite_utils.Database, table: str, rows: list[dict]) -> None:
    """Insert rows that all have the same keys. The harvest's hot path: plain
    ``executemany`` costs a fraction of ``insert_all``'s per-value checks."""
    columns = [column for column in rows[0] if column != "julianday"]
    db.conn.executemany(
        f"INSERT INTO [{table}] ({', '.join(f'[{c}]' for c in columns)}) VALUES ({', '.join('?' * len(columns))})",
        [[row[column] for column in columns] for row in rows],
    )


def _added(new_mentions: list[dict], post_rows: dict, existing_posts: dict) -> dict:
    """For :func:`readinglist.db.mentions_written`: what new mentions from new posts add to each item.

    An item with a new mention from a post stored earlier is left out, so it is recounted.
    """
    from .ranking import NewMentions

    added: dict[str, NewMentions] = {}
    old: set[str] = set()
    for mention in new_mentions:
        post_id, item_id = mention["post_id"], mention["item_id"]
        if post_id in existing_posts or post_id not in post_rows:
            old.add(item_id)
            continue
        post = post_rows[post_id]
        added.setdefault(item_id, NewMentions()).add(
            post_id, post["channel"], post["forwarded_from"], post["date"], post["julianday"]
        )
    for item_id in old:
        added.pop(item_id, None)
    return added


def _tag_with_hashtags(db: sqlite_utils.Database, new_mentions: list[dict], post_rows: dict) -> None:
    """Give items the hashtags of the posts that newly mention them, as tags (kept as written, no case duplicates)."""
    wanted: dict[str, list[str]] = {}
    for mention in new_mentions:
        post = post_rows.get(mention["post_id"])
        hashtags = json.loads(post["hashtags"]) if post else []
        if hashtags:
            wanted.setdefault(mention["item_id"], []).extend(hashtags)
    ids = list(wanted)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = db.execute(f"SELECT id, tags FROM items WHERE id IN ({', '.join('?' * len(chunk))})", chunk).fetchall()
        for item_id, tags_json in rows:
            tags = json.loads(tags_json or "[]")
            known = {tag.casefold() for tag in tags}
            added = False
            for tag in wanted[item_id]:
                if tag.casefold() not in known:
                    tags.append(tag)
                    known.add(tag.casefold())
                    added = True
            if added:
                db.execute("UPDATE items SET tags = ? WHERE id = ?", [json.dumps(tags, ensure_ascii=False), item_id])


def _stored_post_ids(db: sqlite_utils.Database, posts: list[Post]) -> dict[str, str]:
    """``Post.key`` -> the id the post is stored under, for posts already stored under another key.

    A Telegram Desktop export in both formats holds each message twice, once
    per format, under two keys; both give one ``message_key``. The first seen
    (stored earlier, or earlier in ``posts``) is the post; the other adds its
    links to it.
    """
    messages = {post.key: post.message_key for post in posts if post.message_key is not None}
    by_message: dict[str, str] = {}
    for key, message in messages.items():
        by_message.setdefault(message, key)
    by_message.update(_existing_ids(db, "posts", by_message, columns="message_key, id", by="message_key"))
    return {key: by_message[message] for key, message in messages.items()}


def _existing_ids(
    db: sqlite_utils.Database, table: str, rows: dict, columns: str = "id", by: str = "id", whole_row: bool = False
) -> dict:
    """Which of ``rows``' keys are already in ``table``'s column ``by`` (mapping key -> second column if asked, or the rest of the row)."""
    found: dict = {}
    keys = list(rows)
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        placeholders = ", ".join("?" * len(chunk))
        for row in db.execute(f"SELECT {columns} FROM [{table}] WHERE [{by}] IN ({placeholders})", chunk):
            found[row[0]] = tuple(row[1:]) if whole_row else row[1] if len(row) > 1 else True
    return found


def _stored_versions(db: sqlite_utils.Database, post_ids: list[str]) -> dict[str, tuple]:
    """Stored post id -> (edited, permalink, harvested_at), for those of ``post_ids`` that are stored."""
    return _existing_ids(db, "posts", dict.fromkeys(post_ids), columns="id, edited, permalink, harvested_at", whole_row=True)


def _edit_order(post: Post, stored: tuple) -> str:
    """Whether ``post`` (from a source that reports edits) is a ``newer`` or ``older`` version of the stored post, or the ``same``.

    Unedited, it is the original: older than a stored edit. A stored text with
    no edit time is the original when it came from an export (an edit made
    before the export would be in it), so any edit is newer; from t.me it was
    current when harvested, so only a later edit is. Edits are compared by
    time, not text: an edit may change only where a link points.
    """
    edited, permalink, harvested_at = stored
    if post.edited is None:
        return "older" if edited else "same"
    if not edited and not permalink:
        return "newer"
    known = (edited or harvested_at or "")[:19]
    if post.edited[:19] > known:
        return "newer"
    if edited and post.edited[:19] < known:
        return "older"
    return "same"


# A post dated later than its harvest by more than this is misdated: an export's times are the
# exporting computer's local time, at most 14 hours ahead of UTC, and that is all it may be ahead.
FUTURE_DATE_SLACK_DAYS = 1.0


def post_date(date: str | None, harvested_at: str) -> str | None:
    """A post's ``date`` as stored: None (the post kept, its date unknown) for a date that is no
    date (``9999-99-99``) or lies in the future (``2999-01-01``, which would keep its links first
    in ``next`` for ever), as an HTML export's unreadable date is None."""
    day = parse_julian_day(date)
    if day is None or day > parse_julian_day(harvested_at) + FUTURE_DATE_SLACK_DAYS:
        return None
    return date


def misdated_edit(post: Post) -> str | None:
    """The edit time taken for an edit dated in the future or on no day: the post's
    own time, the earliest it can have been. A stored ``2999-…`` edit would be newer
    than every real one, so no later edit could replace it; this way any real later
    edit still does, and reading the same file again changes nothing."""
    return post_date(post.date, utc_now())


def _post_row(post: Post, now: str, post_id: str | None = None) -> dict:
    hashtags = list(dict.fromkeys([*post.hashtags, *find_hashtags(post.text)]))
    date = post_date(post.date, now)
    return {
        "id": post_id or post.key,
        "source": post.source,
        "channel": post.channel,
        "message_id": post.post_id,
        "permalink": post.permalink,
        "date": date,
        "forwarded_from": post.forwarded_from,
        "text": post.text,
        "hashtags": json.dumps(hashtags, ensure_ascii=False),
        "harvested_at": now,
        "message_key": post.message_key,
        "edited": post.edited,
        # Not a column: copied onto the post's mentions (mentions.post_julianday).
        "julianday": parse_julian_day(date),
    }
