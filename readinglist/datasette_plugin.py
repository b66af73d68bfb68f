"""The Datasette plugin that makes the reading list look like one.

Registered as the ``readinglist`` entry point in the ``datasette`` group, so a
plain ``datasette readinglist.db -m metadata.yml`` loads it too;
``readinglist serve`` registers it itself when the package was installed
without entry points (see :func:`readinglist.serve.register_plugin`).

* Items (table, row and query pages): the title links to the item's URL, with
  a kind badge; reading time as "12 min"; the summary as escaped paragraphs.
* The item page gets a card (title link, badge, reading time, summary) and,
  for whoever may run the ``mark_read`` canned query (the owner), a "Mark
  read" button that POSTs to it with the CSRF token.
* ``/-/next``: the top 10 of the queue, computed by the same code as
  ``readinglist next``.
* ``?_search=`` on items uses the ``readinglist search`` query syntax (terms
  ANDed, ``a OR b``, ``-word``, ``"a phrase"``, ``word*`` for a prefix) and, like it, looks at the
  :data:`SEARCH_WINDOW` most recently added matches (all of them for most
  queries), so a word in a third of a million items still answers at once.
* Facets on items (kind, status, domain, tags, channels) filtered by nothing
  but kind, status and domain are summed from ``item_facet_counts`` (kept by
  triggers, migration m009) instead of grouping a million rows; any other
  filter gets Datasette's own facet queries.
* ``?_channel=NAME`` and ``?_tag=NAME`` on items (repeat them for items with
  all of them): one channel's or tag's items, read off ``item_channels`` and
  ``item_tags``, their facets and row count summed from ``item_facet_counts``
  and ``item_facet_pairs`` (migration m010). Tags and channels facet values
  link to them; Datasette's ``?channels__arraycontains=`` and
  ``?tags__arraycontains=`` (a scan of every row's JSON) are rewritten to them.

Everything that came from the web is escaped (Jinja autoescape, or
``Markup(...).format``, which escapes, for cells), and only http(s) URLs become links.
"""

from __future__ import annotations

import asyncio
import contextvars
import re
from pathlib import Path
from urllib.parse import quote_plus, unquote_plus, urlsplit

from datasette import hookimpl
from datasette.database import QueryInterrupted, Results
from datasette.facets import ArrayFacet, ColumnFacet
from datasette.filters import FilterArguments
from datasette.utils import escape_sqlite, path_with_added_args, path_with_removed_args, sqlite3
from datasette.utils.asgi import Response
from markupsafe import Markup

DATABASE = "readinglist"
TEMPLATES = Path(__file__).resolve().parent / "templates"
NEXT_UP_SIZE = 10
# Who may change things: whoever passes the mark_read query's allow block.
WRITE_QUERY = "mark_read"
KIND_COLORS = {
    "paper": "#b03a2e",
    "repo": "#24292f",
    "model": "#d4a017",
    "dataset": "#1e8449",
    "video": "#c0392b",
    "article": "#2e86c1",
    "post": "#229ed9",
    "channel": "#7d3c98",
    "unresolved": "#7f8c8d",
}
SUMMARY_CELL_CHARS = 300
CELL_COLUMNS = frozenset({"title", "kind", "reading_minutes", "summary"})  # the cells render_cell changes


def safe_href(url) -> str | None:
    """``url`` if it may become a link (an absolute http or https URL), else None."""
    if not isinstance(url, str):
        return None
    candidate = url.strip()
    # Control characters and spaces can hide a scheme from a parser or a browser.
    if not candidate or any(ord(ch) < 33 or ord(ch) == 127 for ch in candidate):
        return None
    try:
        parts = urlsplit(candidate)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return candidate


def kind_badge(kind) -> Markup:
    if not kind:
        return Markup("")
    color = KIND_COLORS.get(kind, "#555")
    return Markup(
        '<span class="rl-kind" style="background:{}; color:#fff; border-radius:3px;'
        ' padding:0 0.35em; font-size:0.8em; white-space:nowrap">{}</span>'
    ).format(color, kind)


def title_link(title, url, kind=None, final_url=None) -> Markup:
    """The title (or the URL) linking to the item's reading address when it is http(s), then the kind badge.

    That is ``url``, or ``final_url`` where fetching fell back to plain http
    (see :func:`readinglist.queue.reading_url`).
    """
    from .queue import reading_url

    shown = title or url or ""
    href = safe_href(reading_url(url, final_url))
    # <bdi>: a bidi override in a title (U+202E from a post's anchor text) stops at its end, not
    # running on over the badge, the reading time and the links after it.
    if href:
        html = Markup('<bdi><a href="{}" rel="noopener noreferrer">{}</a></bdi>').format(href, shown)
    else:
        html = Markup("<bdi>{}</bdi>").format(shown)
    return html + Markup(" ") + kind_badge(kind) if kind else html


def minutes(value) -> str:
    return "" if value is None else f"{value} min"


def paragraphs(text, limit: int | None = None) -> Markup:
    """Plain text as escaped HTML paragraphs (blank lines separate them), each line isolated (<bdi>)."""
    if not text:
        return Markup("")
    text = str(text)
    if limit is not None and len(text) > limit:
        text = text[:limit].rstrip() + "…"
    blocks = [block.strip() for block in text.replace("\r\n", "\n").split("\n\n") if block.strip()]
    return Markup("").join(
        Markup('<p class="rl-summary">{}</p>').format(
            Markup("<br>").join(Markup("<bdi>{}</bdi>").format(line) for line in block.split("\n"))
        )
        for block in blocks
    )


def _columns(row) -> set:
    try:
        return set(row.keys())
    except AttributeError:
        return set()


def row_title_link(row) -> Markup:
    """:func:`title_link` of an items row (a dict, or Datasette's row), with its final_url where it has one."""
    columns = _columns(row)
    return title_link(
        row["title"], row["url"], row["kind"] if "kind" in columns else None,
        row["final_url"] if "final_url" in columns else None,
    )


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    # Items on their table and row pages, and in the canned queries (table None).
    # Called for every cell of every page: leave the others at once.
    if column not in CELL_COLUMNS or database != DATABASE or table not in ("items", None):
        return None
    if column == "title":
        if "url" in _columns(row) and (value or row["url"]):
            return row_title_link(row)
        return None
    if table == "items" and column == "kind":
        return kind_badge(value)
    if column == "reading_minutes" and value is not None:
        return minutes(value)
    if column == "summary" and value:
        return paragraphs(value, SUMMARY_CELL_CHARS if table is None else None)
    return None


async def can_write(datasette, actor) -> bool:
    """Whether ``actor`` may run the writable canned queries (their allow block: the owner)."""
    if not actor:
        return False
    return await datasette.permission_allowed(actor, "view-query", (DATABASE, WRITE_QUERY), default=True)


@hookimpl
def extra_template_vars(template, database, table, view_name, request, datasette):
    if database != DATABASE or request is None:
        return {}

    async def inner():
        return {
            "readinglist_can_write": await can_write(datasette, request.actor),
            "readinglist_mark_read_url": datasette.urls.database(DATABASE) + "/" + WRITE_QUERY,
        }

    return inner


@hookimpl
def prepare_jinja2_environment(env, datasette):
    # Our templates sit where Datasette puts a plugin's templates directory:
    # after --template-dir and other plugins, before Datasette's own.
    loader = env.loader.loaders[0]
    if str(TEMPLATES) not in loader.searchpath:
        loader.searchpath.insert(len(loader.searchpath) - 1, str(TEMPLATES))
    env.filters["rl_href"] = safe_href
    env.filters["rl_minutes"] = minutes
    env.filters["rl_paragraphs"] = paragraphs
    env.filters["rl_kind_badge"] = kind_badge
    env.filters["rl_title_link"] = row_title_link


def readinglist_escape_fts(query: str) -> str:
    """``?_search=`` text as an FTS5 query, the way ``readinglist search`` reads it (never an FTS5 syntax error)."""
    from .search import fts_query

    return fts_query(query, forgiving=True)


@hookimpl(trylast=True)
def prepare_connection(conn, database, datasette):
    # Runs after Datasette's own escape_fts is registered, so this one wins (for our database only).
    if database == DATABASE:
        from .db import BUSY_TIMEOUT_MS

        # Datasette connects with sqlite3's 5 s timeout: a "Mark read" while a
        # harvest batch holds the write lock longer failed with "database is
        # locked". The browser's writes wait as long as the CLI's do.
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.create_function("escape_fts", 1, readinglist_escape_fts, deterministic=True)
        # For the "Add a tag" query's trigger (db.ITEM_ACTIONS_TRIGGER).
        conn.create_function("readinglist_name_key", 1, readinglist_name_key, deterministic=True)


def readinglist_name_key(name):
    """``search.name_key`` for SQL: how a tag is compared (a value that is no text is itself)."""
    from .search import name_key

    return name_key(name) if isinstance(name, str) else name


async def next_up(request, datasette):
    """``/-/next``: the top of the queue, as ``readinglist next`` computes it."""
    from .queue import NextFilter, next_items

    if DATABASE not in datasette.databases:
        return Response.text(f"No {DATABASE} database is being served", status=404)
    await datasette.ensure_permissions(request.actor, [("view-table", (DATABASE, "items")), ("view-database", DATABASE), "view-instance"])

    def top(conn):
        import sqlite_utils

        return next_items(sqlite_utils.Database(conn), NextFilter(n=NEXT_UP_SIZE))

    items = await datasette.get_database(DATABASE).execute_fn(top)
    if request.args.get("_json"):
        return Response.json(items)
    return Response.html(
        await datasette.render_template(
            "readinglist_next.html",
            {
                "database": DATABASE,
                "items": items,
                "item_url": lambda item_id: datasette.urls.row(DATABASE, "items", item_id),
                "readinglist_can_write": await can_write(datasette, request.actor),
                "readinglist_mark_read_url": datasette.urls.database(DATABASE) + "/" + WRITE_QUERY,
            },
            request=request,
            view_name="readinglist_next",
        )
    )


@hookimpl
def register_routes():
    return [(r"^/-/next$", next_up)]


@hookimpl
def menu_links(datasette, actor, request):
    if DATABASE in datasette.databases:
        return [{"href": datasette.urls.path("/-/next"), "label": "Next up"}]
    return None


# ------------------------------------------------------------------ search (?_search= on items)

# The most recently added matches a table search looks at, as readinglist
# search ranks within its own window (readinglist/search.py, RANK_WINDOW): the
# page, its count and its facets then cost about the same for "model" in
# 380,000 items as for a rare word. The page sorts, counts and facets these
# rows three times over, hence half the CLI's window (see bench_datasette.py).
SEARCH_WINDOW = 5_000
# By rowid: a lookup SQLite prefers to a kind or status index, so a filtered
# search is counted from its matches, not by probing every paper.
# :search_match is the FTS5 query (see search_match below).
SEARCH_MARK = "search_docs_fts MATCH :search_match"
SEARCH_WHERE = (
    "rowid IN (SELECT items.rowid FROM search_docs JOIN items ON items.id = search_docs.item_id"
    f" WHERE search_docs.id IN (SELECT rowid FROM search_docs_fts WHERE {SEARCH_MARK}"
    " ORDER BY rowid DESC LIMIT {window}))"
)
# Datasette's first page of a sorted table: one sort column, no tie-breaker (see wrap_execute).
FIRST_PAGE_ORDER = re.compile(r" order by (?P<order>[^,()]+) limit (?P<limit>\d+)$")
# The table whose page this request builds (set by filters_from_request, which
# Datasette calls for table pages only; read by wrap_execute in the same task).
PAGE_TABLE: contextvars.ContextVar[str | None] = contextvars.ContextVar("readinglist_page_table", default=None)


def search_match(conn, query: str) -> str:
    """``?_search=`` text as the FTS5 query ``readinglist search`` runs, prefixes and word forms expanded the same way.

    A word finds its other forms (``трансформеры``, ``трансформеров``); ``word*`` becomes an OR of the index's terms with that prefix: FTS5 would
    otherwise merge the prefix's whole doclist before the newest matches come.
    Whatever was typed gives a valid query (a stray quote is closed, no words
    match nothing), so a search page is never an SQL error.
    """
    import sqlite_utils

    from .search import _index_lookups, fts_query

    return fts_query(query, **_index_lookups(sqlite_utils.Database(conn)), forgiving=True)


@hookimpl(trylast=True)
def filters_from_request(request, database, table, datasette):
    # In place of Datasette's fts_table search (metadata.yml sets none for
    # items): that one gathers every match before sorting, counting and
    # faceting them. trylast: our supports_search is applied after Datasette's.
    # And ?_channel= / ?_tag=, the one-channel and one-tag views.
    # Every table page of ours gets its tie-breaker (see wrap_execute).
    if database != DATABASE:
        return None
    wrap_execute(datasette.get_database(DATABASE))
    PAGE_TABLE.set(table)
    if table != "items":
        return None

    async def inner():
        search = (request.args.get("_search") or "").strip()
        context = {"supports_search": True, "search": search}
        db = datasette.get_database(DATABASE)
        where, params, descriptions = await array_filter_arguments(request, db)
        if not search:
            return FilterArguments(where, params, descriptions, extra_context=context)
        description = f'search matches "{search}"'
        match = await db.execute_fn(lambda conn: search_match(conn, search))
        try:
            beyond = await db.execute(
                "SELECT COUNT(*) FROM (SELECT 1 FROM search_docs_fts WHERE search_docs_fts MATCH :search_match"
                f" LIMIT {SEARCH_WINDOW + 1})",
                {"search_match": match},
            )
            if beyond.rows[0][0] > SEARCH_WINDOW:
                description += f" (the {SEARCH_WINDOW:,} most recently added matches)"
        except (sqlite3.OperationalError, QueryInterrupted):
            pass  # an FTS5 syntax error or a slow count: the main query reports the one, the other is a note
        return FilterArguments(
            where + [SEARCH_WHERE.format(window=SEARCH_WINDOW)], {**params, "search_match": match},
            descriptions + [description], context,
        )

    return inner


# ------------------------------------------------------------------ one channel's or tag's items (?_channel=, ?_tag=)

# The array columns, the parameter that picks one of their values (repeat it
# for items with all of them), the table with one row per (value, item)
# (migrations m009, m010) and its value column, and the name a page shows.
ARRAY_FILTERS = {
    "channels": ("_channel", "item_channels", "channel", "channel"),
    "tags": ("_tag", "item_tags", "tag", "tag"),
}
ARRAY_PARAMS = {spec[0]: column for column, spec in ARRAY_FILTERS.items()}
# Datasette's own links (facets of other tables' arrays, its filter form,
# bookmarks): rewritten to ours, see asgi_wrapper.
ARRAYCONTAINS_PARAMS = {f"{column}__arraycontains": spec[0] for column, spec in ARRAY_FILTERS.items()}
# Up to this many matching items, a page's rows are read off the value's own
# rows in item_channels / item_tags and sorted; past it, SQLite walks the table
# in rank_key order and looks each row up there until it has a page (it meets
# one match in every items/matches rows). At a million items the walk wins
# down to about 0.1% of the items (bench_datasette.py measures both); the rows
# of a rarer value are fewer than the walk's lookups.
DRIVE_LIMIT = 3_000
# The same when Datasette counts the rows itself (two channels or tags, other
# filters): that count reads every matching row anyway, which the walk cannot
# spare it, so the value's rows drive up to this many.
DRIVE_LIMIT_COUNTED_BY_SQL = 20_000
# A params key that no SQL names: a row count the plugin already knows from
# item_facet_counts (see wrap_execute).
KNOWN_COUNT = "readinglist_known_count"


def array_filters(request) -> dict[str, list[str]]:
    """``{column: [values]}`` from ``?_channel=`` and ``?_tag=`` (empty values are no filter)."""
    chosen = {}
    for param, column in ARRAY_PARAMS.items():
        values = [v for v in dict.fromkeys(request.args.getlist(param)) if v != ""]
        if values:
            chosen[column] = values
    return chosen


def array_param_names(request) -> list[tuple[str, str, str]]:
    """``(column, value, params name)`` of each picked channel and tag, as the filter hook names them."""
    return [
        (column, value, f"readinglist_{ARRAY_FILTERS[column][3]}_{n}")
        for n, (column, value) in enumerate((c, v) for c, values in array_filters(request).items() for v in values)
    ]


def array_clause(column: str, name: str, drive: bool) -> str:
    """``items`` rows with the value of ``:name`` in ``column``, as a WHERE clause.

    ``drive``: the value's own rows give the candidates (few of them). Else
    each row SQLite reaches (in rank_key order) is looked up on the whole key
    of the value's table, so no list of 170,000 ids is built first.
    """
    _, table, value_column, _ = ARRAY_FILTERS[column]
    if drive:
        return f"id IN (SELECT item_id FROM {table} WHERE {value_column} = :{name})"
    if table == "item_channels":
        # item_channels_order's whole key: channel, unread, rank_key, item_id.
        key = "unread = (items.status = 'unread') AND rank_key IS items.rank_key AND item_id = items.id"
    else:
        key = "item_id = items.id"
    return f"EXISTS (SELECT 1 FROM {table} WHERE {value_column} = :{name} AND {key})"


async def counted_total(db, column: str, value: str, filters: dict) -> int:
    """Items with ``value`` in ``column`` and the exact ``filters`` (kind, status, domain), from item_facet_counts."""
    where = "".join(f" AND {name} = :{name}" for name in filters)
    rows = await db.execute(
        f"SELECT COALESCE(SUM(n), 0) FROM item_facet_counts WHERE facet = :facet AND value = :value{where}",
        {"facet": column, "value": value, **filters},
    )
    return rows.rows[0][0]


async def array_filter_arguments(request, db) -> tuple[list[str], dict, list[str]]:
    """The WHERE clauses, params and descriptions of ``?_channel=`` and ``?_tag=``."""
    chosen = array_filters(request)
    if not chosen:
        return [], {}, []
    answerable = counted_filters(request)
    filters = answerable[0] if answerable else {}
    picked = [
        (await counted_total(db, column, value, filters), column, value, name)
        for column, value, name in array_param_names(request)
    ]
    count_known = answerable is not None and not answerable[1] and len(picked) == 1
    # The rarest value drives the query if it is rare enough; the others are looked up.
    fewest = min(total for total, *_ in picked)
    limit = DRIVE_LIMIT if count_known else DRIVE_LIMIT_COUNTED_BY_SQL
    where, params, descriptions = [], {}, []
    for total, column, value, name in picked:
        drive = total == fewest and total <= limit and not any(c.startswith("id IN") for c in where)
        where.append(array_clause(column, name, drive))
        params[name] = value
        descriptions.append(f'{ARRAY_FILTERS[column][3]} is "{value}"')
    if count_known:
        params[KNOWN_COUNT] = picked[0][0]
    # For the facets of a view of two values (CountedFacetMixin.listed_counts).
    request.scope["readinglist_array_where"] = where
    return where, params, descriptions


def wrap_execute(db) -> None:
    """Two corrections to the SQL Datasette 0.65 runs on our tables, which it has no hook for.

    * A known row count. Datasette counts a filtered table page with
      ``select count(*) from items where ...``; counting a channel's 170,000
      items that way takes 200 ms. When the filters are ones
      item_facet_counts answers (kind, status, domain and one channel or
      tag), the filter hook puts the count in the params under
      :data:`KNOWN_COUNT`, which no SQL names, and the count query is
      answered with it.
    * The tie-breaker of a sorted table's first page. Datasette sorts the
      first page by the sort column alone (``order by title limit 101``) and
      the pages after it by the column and the primary key (``order by
      title, id``), starting after the last row's (title, id): a column
      ascending has its NULLs first, descending last, and the key ascends
      either way. Rows with equal values (every text-dump post's NULL date,
      an added_at shared by a harvest batch, equal rank_keys of a search)
      came on the first page in any order: rows were skipped and repeated
      from page to page, and so in the streamed CSV. The first page of every
      table of ours (:data:`PAGE_TABLE`) is ordered by its primary key
      (rowid if none) after the sort column too, exactly as the later pages.
    """
    if getattr(db, "_readinglist_execute_wrapped", False):
        return
    execute = db.execute
    tie_breakers: dict[str, str | None] = {}

    async def tie_breaker(table: str) -> str | None:
        """What Datasette orders ``table``'s later pages by after the sort column; None for a view (paged by offset)."""
        if table not in tie_breakers:
            if table in await db.view_names():
                tie_breakers[table] = None
            else:
                pks = await db.primary_keys(table)
                tie_breakers[table] = ", ".join(escape_sqlite(pk) for pk in pks) if pks else "rowid"
        return tie_breakers[table]

    async def execute_items_sql(sql, params=None, *args, **kwargs):
        if isinstance(params, dict) and KNOWN_COUNT in params and sql.startswith("select count(*) from items where "):
            return Results([(params[KNOWN_COUNT],)], False, [("count(*)", None, None, None, None, None, None)])
        table = PAGE_TABLE.get()
        first_page = FIRST_PAGE_ORDER.search(sql) if table and sql.startswith("select ") else None
        if first_page and f" from {escape_sqlite(table)} " in sql:
            pks = await tie_breaker(table)
            if pks and first_page["order"] != pks:
                sql = sql[: first_page.start()] + f" order by {first_page['order']}, {pks} limit {first_page['limit']}"
        return await execute(sql, params, *args, **kwargs)

    db.execute = execute_items_sql
    db._readinglist_execute_wrapped = True


def rename_arraycontains(query: bytes) -> bytes:
    """A query string with ``channels__arraycontains`` / ``tags__arraycontains`` keys renamed; values byte for byte."""
    parts = []
    for part in query.split(b"&"):
        key, sep, value = part.partition(b"=")
        new_key = ARRAYCONTAINS_PARAMS.get(unquote_plus(key.decode("latin-1")))
        parts.append(new_key.encode() + sep + value if new_key else part)
    return b"&".join(parts)


async def stored_array_values(datasette, query: bytes) -> bytes:
    """A query string with each ``_tag=`` and ``_channel=`` value replaced by the stored value it names.

    ``?_tag=LLM`` or ``#llm`` is the tag ``llm``, ``?_channel=@TestChan`` the
    channel ``testchan``: see :func:`readinglist.queue.stored_value`, which
    ``list`` and ``next`` use too. Other arguments stay byte for byte.
    """
    import sqlite_utils

    from .queue import stored_value

    db = datasette.get_database(DATABASE)
    parts = []
    for part in query.split(b"&"):
        key, sep, value = part.partition(b"=")
        column = ARRAY_PARAMS.get(unquote_plus(key.decode("latin-1")))
        typed = unquote_plus(value.decode("latin-1"))
        if column and typed:
            stored = await db.execute_fn(lambda conn: stored_value(sqlite_utils.Database(conn), column, typed))
            if stored != typed:
                part = key + b"=" + quote_plus(stored).encode("ascii")
        parts.append(part)
    return b"&".join(parts)


@hookimpl
def asgi_wrapper(datasette):
    # ?channels__arraycontains=X and ?tags__arraycontains=X on items (Datasette's
    # own filter, which reads every row's JSON) become ?_channel=X and ?_tag=X
    # before Datasette sees them: old bookmarks and Datasette's filter form keep
    # working, at the speed of ours. The URL stays; the page's links use ours.
    # Then ?_tag= and ?_channel= name the stored value, as in readinglist list:
    # what the page, its count and its facets read is that value.
    def wrap(app):
        async def rewrite_items_query(scope, receive, send):
            query = scope.get("query_string") or b""
            if scope.get("type") == "http" and any(key in query for key in (b"__arraycontains=", b"_tag=", b"_channel=")):
                table = datasette.urls.table(DATABASE, "items")
                path = scope.get("path", "")
                if DATABASE in datasette.databases and (
                    path == table or (path.startswith(table + ".") and "/" not in path[len(table):])
                ):
                    query = await stored_array_values(datasette, rename_arraycontains(query))
                    scope = dict(scope, query_string=query)
            await app(scope, receive, send)

        return rewrite_items_query

    return wrap


# ------------------------------------------------------------------ facets from item_facet_counts

COUNTED_COLUMNS = ("kind", "status", "domain")  # item_facet_counts' dimensions
COUNTED_ARRAYS = ("tags", "channels")
# Query-string arguments that do not change which rows a table page covers.
ROW_NEUTRAL_ARGS = {
    "_facet", "_facet_array", "_facet_date", "_facet_size", "_sort", "_sort_desc", "_size", "_next",
    "_nocount", "_nofacet", "_nosuggest", "_col", "_nocol", "_labels", "_nolabels", "_timelimit", "_shape",
    "_json", "_trace", "_ttl", "_nl", "_stream", "_dl", "_json_infinity", "_context", "_extra",
}


def counted_filters(request) -> tuple[dict, str, dict] | None:
    """``({column: value}, search, {array column: [values]})`` for a page our facets can answer, else None.

    That is: exact matches on kind, status and domain, each at most once,
    and optionally ``?_search=``, ``?_channel=`` and ``?_tag=``. (Datasette
    computes the facets of a later page, ``?_next=``, over the rows after it;
    ours describe the whole filtered table, as its row count does.)
    """
    filters = {}
    for key in request.args:
        if key.startswith("_") and "__" not in key:
            if key in ROW_NEUTRAL_ARGS or key.startswith("_facet_") or key == "_search" or key in ARRAY_PARAMS:
                continue
            return None
        column, lookup = key.rsplit("__", 1) if "__" in key else (key, "exact")
        values = request.args.getlist(key)
        # '' stands for a NULL domain in item_facet_counts, so an empty value is left to Datasette.
        if lookup != "exact" or column not in COUNTED_COLUMNS or column in filters or len(values) != 1 or not values[0]:
            return None
        filters[column] = values[0]
    if len(request.args.getlist("_search")) > 1:
        return None
    return filters, (request.args.get("_search") or "").strip(), array_filters(request)


def counts_by_column(rows, columns) -> dict[str, list[dict]]:
    """(column, value, count) rows as {column: [{"value", "count"}, ...]}, in their order."""
    counts = {column: [] for column in columns}
    for column, value, n in rows:
        counts[column].append({"value": value, "count": n})
    return counts


class CountedFacetMixin:
    """Facets of the readinglist items table that do not group a million rows.

    Filtered only by kind, status and domain: sums of ``item_facet_counts``;
    and by one channel or tag (``?_channel=``, ``?_tag=``): sums of its rows
    in ``item_facet_counts`` and (for the tags and channels facets, unless a
    status is picked too) ``item_facet_pairs``. A status with one channel:
    counted over the channel's items that are not unread (its pairs less
    those, for its unread items). With a search as well, two channels or
    tags, or a status with a tag: one query per page counts them over the
    matching rows, which the search window (or the rarer value) bounds.
    Anything else (another database or table, other filters, other columns) is computed by
    Datasette's own facet class, config by config; tags and channels values
    link to ``?_tag=`` and ``?_channel=`` either way.
    """

    counted: tuple = ()
    facet_param = ""  # the query-string key that asks for this kind of facet

    def counted_query(self, column: str, where: str) -> str:
        raise NotImplementedError

    def picked_query(self, column: str, where: str) -> str:
        """The facet's counts among the items with one channel or tag (:picked_facet, :picked_value)."""
        raise NotImplementedError

    def get_configs(self):
        only = getattr(self, "_only_config", None)
        return [only] if only is not None else super().get_configs()

    async def listed_counts(self, filters: dict, search: str) -> dict[str, list[dict]]:
        """Every counted facet of a search page or a view of two channels or tags, {column: rows}.

        One query per request, shared by both classes, over the page's rows
        (a search's window, or the rarest value's items).
        """
        return await self.once_per_request("readinglist_listed_counts", lambda: self._listed_counts(filters, search))

    async def once_per_request(self, key: str, make_counts) -> dict[str, list[dict]]:
        """``make_counts()``'s result, computed by whichever facet class asks first in this request."""
        scope = self.request.scope
        if key not in scope:
            scope[key] = asyncio.ensure_future(make_counts())
        return await asyncio.shield(scope[key])

    async def _listed_counts(self, filters: dict, search: str) -> dict[str, list[dict]]:
        # Not at import: Datasette loads this plugin for every database it serves.
        from .db import json_list

        # "+kind": the search's few thousand rows (or a channel's or tag's) drive the query, not the kind index.
        where = [f"+{name} = :{name}" for name in filters]
        if search:
            # The page's channels and tags, looked up for each of the search's rows.
            where += [SEARCH_WHERE.format(window=SEARCH_WINDOW)]
            where += [array_clause(column, name, drive=False) for column, _value, name in array_param_names(self.request)]
        else:
            where += self.request.scope["readinglist_array_where"]
        # An array value counts once per row, as in Datasette's array facet.
        parts = [f"SELECT '{c}', {c}, COUNT(*) FROM matched WHERE {c} IS NOT NULL GROUP BY {c}" for c in COUNTED_COLUMNS]
        parts += [
            f"SELECT '{a}', j.value, COUNT(DISTINCT matched.row) FROM matched,"
            f" json_each({json_list(f'matched.{a}')}) AS j WHERE j.value IS NOT NULL GROUP BY j.value"
            for a in COUNTED_ARRAYS
        ]
        sql = (
            f"WITH matched AS MATERIALIZED (SELECT rowid AS row, {', '.join(COUNTED_COLUMNS + COUNTED_ARRAYS)}"
            f" FROM items WHERE {' AND '.join(where)}) " + " UNION ALL ".join(parts)
            # Datasette's order: most frequent first, then by value.
            + " ORDER BY 1, 3 DESC, 2"
        )
        # The page's own FTS5 query, from filters_from_request.
        params = {name: value for _column, value, name in array_param_names(self.request)}
        rows = await self.ds.execute(
            self.database, sql, {**filters, **params, "search_match": self.params.get("search_match")}, truncate=False,
            custom_time_limit=self.ds.setting("facet_time_limit_ms"),
        )
        return counts_by_column(rows.rows, COUNTED_COLUMNS + COUNTED_ARRAYS)

    async def channel_status_counts(self, filters: dict, channel: str) -> dict[str, list[dict]]:
        """The tags and channels facets of one channel's items with one status, {column: rows}.

        Counted over the channel's items that are not unread, off
        item_channels' (channel, unread) key: a reader has read far fewer of
        a channel's items than are waiting. For its unread items, those counts
        are taken from the channel's pairs, which count every status. One
        query per request, for both facets.
        """
        return await self.once_per_request(
            "readinglist_channel_status_counts", lambda: self._channel_status_counts(filters, channel)
        )

    async def _channel_status_counts(self, filters: dict, channel: str) -> dict[str, list[dict]]:
        from .db import json_list

        others_where = "".join(f" AND items.{name} = :{name}" for name in filters if name != "status")
        status_where = " AND others.status = :status" if filters["status"] != "unread" else ""
        # Each item's distinct values, then a plain count (cheaper than COUNT(DISTINCT row) per value).
        counted = " UNION ALL ".join(
            f"SELECT '{a}' AS facet, value, COUNT(*) AS n FROM (SELECT DISTINCT others.row, CAST(j.value AS TEXT) AS value"
            f" FROM others, json_each({json_list(f'others.{a}')}) AS j WHERE j.value IS NOT NULL{status_where})"
            f" GROUP BY value"
            for a in COUNTED_ARRAYS
        )
        sql = (
            f"WITH others AS MATERIALIZED (SELECT items.rowid AS row, items.status, {', '.join(COUNTED_ARRAYS)}"
            f" FROM item_channels JOIN items ON items.id = item_channels.item_id"
            f" WHERE item_channels.channel = :picked_value AND item_channels.unread = 0{others_where}),"
            f" counted AS ({counted})"
        )
        if filters["status"] != "unread":
            sql += " SELECT facet, value, n FROM counted"
        else:
            pairs_where = " AND ".join([f"{name} = :{name}" for name in filters if name != "status"] + ["n > 0"])
            itself_where = " AND ".join([f"{name} = :{name}" for name in filters] + ["n > 0"])
            sql += (
                f", every AS (SELECT other_facet AS facet, other_value AS value, SUM(n) AS n FROM item_facet_pairs"
                f" WHERE facet = 'channels' AND value = :picked_value AND {pairs_where} GROUP BY 1, 2)"
                f" SELECT every.facet, every.value, every.n - COALESCE(counted.n, 0) FROM every"
                f" LEFT JOIN counted ON counted.facet = every.facet AND counted.value = every.value"
                f" WHERE every.n > COALESCE(counted.n, 0)"
                # The channel itself: every item of the view has it.
                f" UNION ALL SELECT 'channels', :picked_value, c FROM (SELECT SUM(n) AS c FROM item_facet_counts"
                f" WHERE facet = 'channels' AND value = :picked_value AND {itself_where}) WHERE c > 0"
            )
        # Datasette's order: most frequent first, then by value.
        sql += " ORDER BY 1, 3 DESC, 2"
        # One query for two facets, bounded by the channel's items that are
        # not unread (17,200 in the bench's largest channel: about 250 ms):
        # the page's query limit, not one facet's.
        rows = await self.ds.execute(
            self.database, sql, {**filters, "picked_value": channel}, truncate=False,
            custom_time_limit=self.ds.setting("sql_time_limit_ms"),
        )
        return counts_by_column(rows.rows, COUNTED_ARRAYS)

    async def facet_results(self):
        answerable = None
        if self.database == DATABASE and self.table == "items":
            answerable = counted_filters(self.request)
        picked = []
        if answerable is not None:
            filters, search, arrays = answerable
            picked = [(column, value) for column, values in arrays.items() for value in values]
        results, timed_out = [], []
        size = self.get_facet_size()
        for source_and_config in self.get_configs():
            config = source_and_config["config"]
            column = config.get("column") or config["simple"]
            if answerable is None or column not in self.counted:
                self._only_config = source_and_config
                try:
                    more, more_timed_out = await super().facet_results()
                finally:
                    self._only_config = None
                results.extend(self.relink(result) for result in more)
                timed_out.extend(more_timed_out)
                continue
            try:
                # item_facet_pairs has no status (see db._PAIRS_MOVED): with one, count over the rows
                # (for one channel, over its items that are not unread).
                over_rows = picked and column in COUNTED_ARRAYS and "status" in filters
                if over_rows and not search and len(picked) == 1 and picked[0][0] == "channels":
                    rows = (await self.channel_status_counts(filters, picked[0][1]))[column][: size + 1]
                elif search or len(picked) > 1 or over_rows:
                    rows = (await self.listed_counts(filters, search))[column][: size + 1]
                else:
                    where = " AND ".join([f"{name} = :{name}" for name in filters] + ["n > 0"])
                    params = {**filters, "limit": size + 1}
                    if picked:
                        sql = self.picked_query(column, where)
                        params.update(picked_facet=picked[0][0], picked_value=picked[0][1])
                    else:
                        sql = self.counted_query(column, where)
                    rows = (await self.ds.execute(
                        self.database, sql, params,
                        truncate=False, custom_time_limit=self.ds.setting("facet_time_limit_ms"),
                    )).rows
            except QueryInterrupted:
                timed_out.append(column)
                continue
            results.append(await self.format_result(column, source_and_config["source"], rows, size))
        return results, timed_out

    def relink(self, result: dict) -> dict:
        """A result of Datasette's own facet class, its links as ours would be."""
        return result

    def value_link(self, column: str, value) -> tuple[bool, str]:
        raise NotImplementedError

    def shown_value(self, value):
        return value

    async def format_result(self, column, source, rows, size):
        # As Datasette's own facet classes format their rows (their facet_results).
        values = []
        for row in rows[:size]:
            value = self.shown_value(row["value"])
            selected, toggle_url = self.value_link(column, value)
            values.append(
                {"value": value, "label": value, "count": row["count"], "toggle_url": toggle_url, "selected": selected}
            )
        return {
            "name": column,
            "type": self.type,
            "hideable": source != "metadata",
            "toggle_url": self.ds.urls.path(path_with_removed_args(self.request, {self.facet_param: column})),
            "results": values,
            "truncated": len(rows) > size,
        }


class CountedColumnFacet(CountedFacetMixin, ColumnFacet):
    counted = COUNTED_COLUMNS
    facet_param = "_facet"

    def counted_query(self, column, where):
        # '' is a NULL domain: Datasette's column facets leave NULL out.
        return (
            f"SELECT {column} AS value, SUM(n) AS count FROM item_facet_counts"
            f" WHERE facet = '' AND {where} AND {column} != '' GROUP BY {column}"
            f" ORDER BY count DESC, value LIMIT :limit"
        )

    def picked_query(self, column, where):
        return (
            f"SELECT {column} AS value, SUM(n) AS count FROM item_facet_counts"
            f" WHERE facet = :picked_facet AND item_facet_counts.value = :picked_value AND {where} AND {column} != ''"
            f" GROUP BY {column} ORDER BY count DESC, value LIMIT :limit"
        )

    def value_link(self, column: str, value) -> tuple[bool, str]:
        """Whether ``value`` is picked, and the URL that toggles it (as Datasette's ColumnFacet links)."""
        selected = (column, str(value)) in self.get_querystring_pairs()
        if selected:
            path = path_with_removed_args(self.request, {column: str(value)})
        else:
            path = path_with_added_args(self.request, {column: value})
        return selected, self.ds.absolute_url(self.request, self.ds.urls.path(path))


class CountedArrayFacet(CountedFacetMixin, ArrayFacet):
    counted = COUNTED_ARRAYS
    facet_param = "_facet_array"

    def counted_query(self, column, where):
        return (
            f"SELECT value, SUM(n) AS count FROM item_facet_counts WHERE facet = '{column}' AND {where}"
            f" GROUP BY value ORDER BY count DESC, value LIMIT :limit"
        )

    def picked_query(self, column, where):
        # The picked value itself, when it is one of this facet's: every item of the view has it.
        itself = (
            f" UNION ALL SELECT v, c FROM (SELECT :picked_value AS v, SUM(n) AS c FROM item_facet_counts"
            f" WHERE facet = :picked_facet AND value = :picked_value AND {where}) WHERE c > 0"
        )
        return (
            f"SELECT other_value AS value, SUM(n) AS count FROM item_facet_pairs"
            f" WHERE facet = :picked_facet AND item_facet_pairs.value = :picked_value AND other_facet = '{column}'"
            f" AND {where} GROUP BY other_value"
            + (itself if column in self.picked_columns() else "")
            + " ORDER BY count DESC, value LIMIT :limit"
        )

    def picked_columns(self) -> set:
        return set(array_filters(self.request))

    def value_link(self, column: str, value: str) -> tuple[bool, str]:
        """Whether ``value`` is picked (``?_channel=``, ``?_tag=``), and the URL that toggles it."""
        param = ARRAY_FILTERS[column][0]
        selected = value in array_filters(self.request).get(column, [])
        if selected:
            path = path_with_removed_args(self.request, {param: value})
        else:
            path = path_with_added_args(self.request, {param: value})
        return selected, self.ds.absolute_url(self.request, path)

    def relink(self, result):
        if self.database != DATABASE or self.table != "items" or result.get("name") not in ARRAY_FILTERS:
            return result
        for value in result["results"]:
            value["selected"], value["toggle_url"] = self.value_link(result["name"], str(value["value"]))
        return result

    def shown_value(self, value):
        return str(value)


COUNTED_FACETS = {ColumnFacet: CountedColumnFacet, ArrayFacet: CountedArrayFacet}


@hookimpl(wrapper=True)
def register_facet_classes():
    # Our classes take the place of Datasette's column and array facets (same
    # types, so ?_facet= and ?_facet_array= URLs keep working) and defer to
    # them wherever item_facet_counts cannot answer.
    registered = yield
    return [[COUNTED_FACETS.get(klass, klass) for klass in classes] for classes in registered]
