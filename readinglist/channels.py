"""Which channel a post is in: t.me names a public channel by its username, a Desktop export by its title.

The same message read from both was two posts, and the channel two channels,
so every item they mention counted twice. The ``channels`` table keeps each
username with its title, learned from t.me pages (their header gives both).
An export chat whose title is exactly one known channel's is that channel:
its posts take the username as their channel and are keyed by username and
message number, as t.me's are (``harvester.models.Post.message_key``).

A chat of another kind (a group, a private chat) titled exactly like a public
channel would be taken for it; titles that two usernames share are not matched.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import sqlite_utils

from harvester.models import Post, channel_message_key

from .db import fold_post


def usernames_by_title(db: sqlite_utils.Database) -> dict[str, str]:
    """Title -> username, for the titles that exactly one known channel has."""
    found: dict[str, set[str]] = {}
    for title, username in db.execute(
        "SELECT title, username FROM channels WHERE title IS NOT NULL AND username IS NOT NULL"
    ):
        found.setdefault(title, set()).add(username)
    return {title: next(iter(names)) for title, names in found.items() if len(names) == 1}


def learn(db: sqlite_utils.Database, posts: Iterable[Post]) -> set[str]:
    """Record the username and title that t.me ``posts`` give; adopt the export posts of newly known titles.

    Returns the items whose counts changed (for ``mentions_written``).
    """
    pairs = {(post.channel, post.channel_title) for post in posts if post.permalink and post.channel and post.channel_title}
    changed: set[str] = set()
    for username, title in pairs:
        row = db.execute("SELECT username, title FROM channels WHERE name = ?", [username.lower()]).fetchone()
        if row == (username, title):
            continue
        db["channels"].upsert({"name": username.lower(), "username": username, "title": title}, pk="name")
        changed |= adopt_export_posts(db, title, username)
    return changed


def as_channel_post(post: Post, usernames: dict[str, str]) -> Post:
    """An export ``post`` of a chat whose title is a known channel's, as that channel's post."""
    if post.permalink or not post.post_id or post.channel not in usernames:
        return post
    return dataclasses.replace(post, channel=usernames[post.channel], channel_title=post.channel)


def adopt_export_posts(db: sqlite_utils.Database, title: str, username: str) -> set[str]:
    """Make the stored export posts of chat ``title`` posts of channel ``username``; the items to recount.

    Nothing happens when another channel has the same title. A message
    stored from t.me as well is folded into that post (it has the permalink).
    """
    if usernames_by_title(db).get(title) != username:
        return set()
    changed: set[str] = set()
    for post_id, number in db.execute(
        "SELECT id, message_id FROM posts WHERE channel = ? AND permalink IS NULL AND message_id IS NOT NULL", [title]
    ).fetchall():
        key = channel_message_key(username, number)
        same = db.execute("SELECT id FROM posts WHERE message_key = ? AND id != ? LIMIT 1", [key, post_id]).fetchone()
        if same:
            changed |= fold_post(db, post_id, same[0])
        else:
            db.execute("UPDATE posts SET channel = ?, message_key = ? WHERE id = ?", [username, key, post_id])
            changed |= {item for (item,) in db.execute("SELECT item_id FROM mentions WHERE post_id = ?", [post_id])}
    return changed
