"""The queue's ranking: one score, documented here and in the README.

An item's score is a sum of logs (so it reads as "how many times more worth
reading"), with exponential decay on the age of its latest mention::

    score = PRIORITY[priority]                       high +1.0, normal 0, low -1.0
          + CHANNEL_WEIGHT * ln(1 + distinct channels)      1.5: the strongest signal
          + POST_WEIGHT    * ln(1 + distinct posts)         0.4
          - ln 2 * age_days / HALF_LIFE_DAYS                halves every 14 days
          + NOT_FETCHED_PENALTY   if fetch_status is 'pending' (or NULL)   -0.3
          + UNKNOWN_LENGTH_PENALTY if --max-minutes is given and the
                                   reading time is unknown                 -0.2

``age_days`` is the time since the latest post mentioning the item
(``posts.date``), or since ``items.added_at`` if no post has a date. Channels
count the channel a post appeared in and the channel it was forwarded from.
With ``--max-minutes M``, items whose known reading time exceeds M are left out.
Dead links (``fetch_status = 'dead'``), ``channel`` items, ``unresolved`` ones
and items that are read, archived or snoozed never come up. Ties go to the
smaller id.

Why it scales: exponential decay makes ``-ln2 * (now - t) / H`` equal to
``ln2 * t / H`` minus a term that is the same for every item. So the order never
depends on "now", and the database keeps a time-invariant ``rank_key`` per item
(the score with ``ln2 * t / H`` in place of the age term), kept current by
triggers when mentions arrive or priority/fetch status change. ``next`` then
reads the top of an index instead of scoring a million rows:
``score = rank_key - ln2 * (now - EPOCH) / H``.

:func:`score` is the reference implementation; :data:`RANK_KEY_SQL` is the same
formula in SQL (a test keeps them equal).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterator

PRIORITIES = ("high", "normal", "low")
PRIORITY = {"high": 1.0, "normal": 0.0, "low": -1.0}
CHANNEL_WEIGHT = 1.5
POST_WEIGHT = 0.4
HALF_LIFE_DAYS = 14.0
NOT_FETCHED_PENALTY = -0.3
UNKNOWN_LENGTH_PENALTY = -0.2
DECAY_PER_DAY = math.log(2) / HALF_LIFE_DAYS
# Julian day of 2000-01-01T12:00Z: keeps rank keys small numbers.
EPOCH_JD = 2451545.0
UNIX_EPOCH_JD = 2440587.5


def julian_day(when: datetime) -> float:
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp() / 86400.0 + UNIX_EPOCH_JD


def score(
    *,
    priority: str = "normal",
    channels: int = 0,
    posts: int = 0,
    age_days: float = 0.0,
    fetch_status: str | None = "pending",
    reading_minutes: float | None = None,
    max_minutes: float | None = None,
) -> float | None:
    """The score of one item (higher ranks first); None if it does not fit ``max_minutes``.

    See the module docstring for the formula and why each term is there.
    """
    if max_minutes is not None and reading_minutes is not None and reading_minutes > max_minutes:
        return None
    value = PRIORITY.get(priority or "normal", 0.0)
    value += CHANNEL_WEIGHT * math.log1p(channels) + POST_WEIGHT * math.log1p(posts)
    value -= DECAY_PER_DAY * age_days
    if fetch_status in (None, "pending"):
        value += NOT_FETCHED_PENALTY
    if max_minutes is not None and reading_minutes is None:
        value += UNKNOWN_LENGTH_PENALTY
    return value


# The score without the "now" part; columns of ``items`` (unqualified, usable in triggers as NEW.x via {p}).
_RANK_KEY_TEMPLATE = (
    "(CASE {p}priority WHEN 'high' THEN {high} WHEN 'low' THEN {low} ELSE 0.0 END"
    " + {cw} * ln(1 + COALESCE({p}mention_channels, 0))"
    " + {pw} * ln(1 + COALESCE({p}mention_posts, 0))"
    " + CASE WHEN {p}fetch_status IS NULL OR {p}fetch_status = 'pending' THEN {nf} ELSE 0.0 END"
    " + {decay} * (COALESCE(julianday({p}last_mentioned), julianday({p}added_at), {epoch}) - {epoch}))"
)


def rank_key_sql(prefix: str = "") -> str:
    return _RANK_KEY_TEMPLATE.format(
        p=prefix,
        high=PRIORITY["high"],
        low=PRIORITY["low"],
        cw=CHANNEL_WEIGHT,
        pw=POST_WEIGHT,
        nf=NOT_FETCHED_PENALTY,
        decay=repr(DECAY_PER_DAY),
        epoch=EPOCH_JD,
    )


RANK_KEY_SQL = rank_key_sql()


def in_queue_order(db, select: str, params: list, *, chunk: int) -> Iterator[list[tuple]]:
    """The rows of ``select`` in queue order (``rank_key DESC, id``), ``chunk`` at a time.

    ``select`` is a ``SELECT ... FROM items WHERE ...`` without ORDER BY whose
    first column is ``id`` and last ``rank_key``. Each chunk continues below
    the last row read (a keyset, so one chunk is held however many rows), and
    rows without a key (which sort last) come in a final phase. Rows may be
    written while this is read: one whose key rises above the cursor (an item
    that stops being "not fetched") is not met again.
    """
    after: tuple | None = None  # (rank_key, id) of the last row read
    while True:
        if after is None:
            where, keyset = "", []
        elif after[0] is None:  # NULL keys sort last
            where, keyset = " AND rank_key IS NULL AND id > ?", [after[1]]
        else:  # this form keeps to a range of the items_rank index (an OR with IS NULL would scan it all)
            where, keyset = " AND rank_key <= ? AND NOT (rank_key = ? AND id <= ?)", [after[0], after[0], after[1]]
        rows = db.execute(f"{select}{where} ORDER BY rank_key DESC, id LIMIT ?", [*params, *keyset, chunk]).fetchall()
        if rows:
            yield rows
        if len(rows) == chunk:
            after = (rows[-1][-1], rows[-1][0])
        elif after is not None and after[0] is not None:
            after = (None, "")  # the ranked rows are done; the keyset above never reads unranked ones
        else:
            return


def now_offset(now: datetime) -> float:
    """What to subtract from ``rank_key`` to get the score at ``now``."""
    return DECAY_PER_DAY * (julian_day(now) - EPOCH_JD)


# Aggregates of one item's mentions ({item} is the item id). ``channels`` is a
# sorted JSON list of the channels that posted or were forwarded from;
# ``mention_channels`` is its length, set in a second step.
_CHANNEL_NAMES = (
    "SELECT posts.channel AS c FROM mentions JOIN posts ON posts.id = mentions.post_id"
    " WHERE mentions.item_id = {item} AND posts.channel IS NOT NULL"
    " UNION SELECT posts.forwarded_from FROM mentions JOIN posts ON posts.id = mentions.post_id"
    " WHERE mentions.item_id = {item} AND posts.forwarded_from IS NOT NULL"
)
STATS_SQL = {
    "mention_posts": "(SELECT COUNT(DISTINCT post_id) FROM mentions WHERE item_id = {item})",
    "channels": "(SELECT COALESCE(json_group_array(c), '[]') FROM (" + _CHANNEL_NAMES + " ORDER BY c))",
    # The latest dated mention comes off the mentions_item_latest index.
    "last_mentioned": (
        "(SELECT posts.date FROM mentions JOIN posts ON posts.id = mentions.post_id"
        " WHERE mentions.item_id = {item} AND mentions.post_julianday IS NOT NULL"
        " ORDER BY mentions.post_julianday DESC LIMIT 1)"
    ),
}
CHANNEL_COUNT_SQL = "mention_channels = json_array_length(COALESCE(channels, '[]'))"


def _stats_update(item: str) -> str:
    sets = ", ".join(f"{column} = {sql.format(item=item)}" for column, sql in STATS_SQL.items())
    return f"UPDATE items SET {sets} WHERE id = {item}; UPDATE items SET {CHANNEL_COUNT_SQL} WHERE id = {item};"


TRIGGERS = {
    "items_rank_insert": f"""
        CREATE TRIGGER IF NOT EXISTS items_rank_insert AFTER INSERT ON items BEGIN
            UPDATE items SET rank_key = {rank_key_sql("items.")} WHERE id = NEW.id;
        END""",
    "items_rank_update": f"""
        CREATE TRIGGER IF NOT EXISTS items_rank_update
        AFTER UPDATE OF priority, fetch_status, mention_posts, mention_channels, last_mentioned, added_at ON items
        BEGIN
            UPDATE items SET rank_key = {rank_key_sql("items.")} WHERE id = NEW.id;
        END""",
    "mentions_rank_delete": f"""
        CREATE TRIGGER IF NOT EXISTS mentions_rank_delete AFTER DELETE ON mentions BEGIN
            {_stats_update("OLD.item_id")}
        END""",
}


def refresh(db, item_ids) -> None:
    """Recompute the mention aggregates (and so the rank key) of ``item_ids``.

    Called through ``db.mentions_written`` once per batch rather than from a
    trigger per mention row: a per-row recount is quadratic for an item
    mentioned thousands of times in one large export.
    """
    ids = list(item_ids)
    where = f"WHERE id IN ({', '.join('?' * len(ids))})"
    sets = ", ".join(f"{column} = {sql.format(item='items.id')}" for column, sql in STATS_SQL.items())
    db.execute(f"UPDATE items SET {sets} {where}", ids)
    db.execute(f"UPDATE items SET {CHANNEL_COUNT_SQL} {where}", ids)


@dataclass
class NewMentions:
    """What a batch of new mentions adds to one item, all from posts new in the same batch."""

    posts: set = field(default_factory=set)
    channels: set = field(default_factory=set)
    latest_julianday: float | None = None
    latest_date: str | None = None

    def add(self, post_id: str, channel: str | None, forwarded_from: str | None, date: str | None,
            julianday: float | None) -> None:
        self.posts.add(post_id)
        self.channels.update(name for name in (channel, forwarded_from) if name)
        if julianday is not None and (self.latest_julianday is None or julianday > self.latest_julianday):
            self.latest_julianday, self.latest_date = julianday, date


def add_incrementally(db, added: dict[str, NewMentions]) -> None:
    """Fold new mentions into the aggregates without recounting an item's older mentions.

    Exact only when every post in ``added`` is new (so no (item, post) pair
    was counted before): the harvest knows that for posts it just inserted.
    An item mentioned in thousands of posts costs the same as one in a single post.
    """
    ids = list(added)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = db.execute(
            f"SELECT id, channels, last_mentioned FROM items WHERE id IN ({', '.join('?' * len(chunk))})", chunk
        ).fetchall()
        updates = []
        for item_id, channels_json, last_mentioned in rows:
            new = added[item_id]
            channels = sorted(set(json.loads(channels_json or "[]")) | new.channels)
            latest = last_mentioned
            if new.latest_date is not None:
                current = parse_julian_day(last_mentioned)
                if current is None or new.latest_julianday > current:
                    latest = new.latest_date
            updates.append((len(new.posts), json.dumps(channels, ensure_ascii=False, separators=(",", ":")), len(channels), latest, item_id))
        db.conn.executemany(
            "UPDATE items SET mention_posts = COALESCE(mention_posts, 0) + ?, channels = ?, mention_channels = ?,"
            " last_mentioned = ? WHERE id = ?",
            updates,
        )


def parse_julian_day(text: str | None) -> float | None:
    """``julianday(text)`` for the ISO dates posts carry (naive = UTC); None where Python cannot read it."""
    if not text:
        return None
    try:
        return julian_day(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        return None


def install_triggers(db) -> None:
    for sql in TRIGGERS.values():
        db.execute(sql)


def drop_triggers(db) -> None:
    """For bulk loads: drop, load, then :func:`rebuild` and :func:`install_triggers`."""
    for name in TRIGGERS:
        db.execute(f"DROP TRIGGER IF EXISTS {name}")


def rebuild(db) -> None:
    """Recompute every item's mention aggregates and rank key in a few set-based statements."""
    db.execute("DROP TABLE IF EXISTS temp._item_stats")
    db.execute(
        """
        CREATE TEMP TABLE _item_stats AS
        WITH m AS (
            SELECT mentions.item_id, mentions.post_id, posts.channel, posts.forwarded_from, posts.date,
                   julianday(posts.date) AS jd
            FROM mentions JOIN posts ON posts.id = mentions.post_id
        ),
        ch AS (
            SELECT item_id, COUNT(*) AS n, json_group_array(c) AS names FROM (
                SELECT item_id, channel AS c FROM m WHERE channel IS NOT NULL
                UNION SELECT item_id, forwarded_from FROM m WHERE forwarded_from IS NOT NULL
                ORDER BY 1, 2
            ) GROUP BY item_id
        ),
        agg AS (
            -- SQLite: a bare column beside MAX() comes from the row holding the maximum.
            SELECT item_id, COUNT(DISTINCT post_id) AS n_posts, MAX(jd) AS max_jd, date AS last_mentioned
            FROM m GROUP BY item_id
        )
        SELECT agg.item_id, agg.n_posts, COALESCE(ch.n, 0) AS n_channels, COALESCE(ch.names, '[]') AS names,
               CASE WHEN agg.max_jd IS NULL THEN NULL ELSE agg.last_mentioned END AS last_mentioned
        FROM agg LEFT JOIN ch ON ch.item_id = agg.item_id
        """
    )
    db.execute("CREATE UNIQUE INDEX temp._item_stats_id ON _item_stats(item_id)")
    db.execute(
        """
        UPDATE items SET
            mention_posts = COALESCE((SELECT n_posts FROM _item_stats s WHERE s.item_id = items.id), 0),
            mention_channels = COALESCE((SELECT n_channels FROM _item_stats s WHERE s.item_id = items.id), 0),
            channels = COALESCE((SELECT names FROM _item_stats s WHERE s.item_id = items.id), '[]'),
            last_mentioned = (SELECT last_mentioned FROM _item_stats s WHERE s.item_id = items.id)
        """
    )
    db.execute(f"UPDATE items SET rank_key = {RANK_KEY_SQL}")
    db.execute("DROP TABLE temp._item_stats")
