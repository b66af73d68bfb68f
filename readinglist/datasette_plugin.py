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
  ANDed, ``"a phrase"``, ``word*`` for a prefix).

Everything that came from the web is escaped (Jinja autoescape, or
:func:`markupsafe.escape` for cells), and only http(s) URLs become links.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from datasette import hookimpl
from datasette.utils import escape_fts as datasette_escape_fts
from datasette.utils.asgi import Response
from markupsafe import Markup, escape

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


def title_link(title, url, kind=None) -> Markup:
    """The title (or the URL) linking to ``url`` when it is http(s), then the kind badge."""
    shown = title or url or ""
    href = safe_href(url)
    if href:
        html = Markup('<a href="{}" rel="noopener noreferrer">{}</a>').format(href, shown)
    else:
        html = escape(shown)
    return html + Markup(" ") + kind_badge(kind) if kind else html


def minutes(value) -> str:
    return "" if value is None else f"{value} min"


def paragraphs(text, limit: int | None = None) -> Markup:
    """Plain text as escaped HTML paragraphs (blank lines separate them)."""
    if not text:
        return Markup("")
    text = str(text)
    if limit is not None and len(text) > limit:
        text = text[:limit].rstrip() + "…"
    blocks = [block.strip() for block in text.replace("\r\n", "\n").split("\n\n") if block.strip()]
    return Markup("").join(
        Markup('<p class="rl-summary">{}</p>').format(Markup("<br>").join(escape(line) for line in block.split("\n")))
        for block in blocks
    )


def _columns(row) -> set:
    try:
        return set(row.keys())
    except AttributeError:
        return set()


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    # Items on their table and row pages, and in the canned queries (table None).
    if database != DATABASE or table not in ("items", None):
        return None
    columns = _columns(row)
    if column == "title" and "url" in columns and (value or row["url"]):
        return title_link(value, row["url"], row["kind"] if "kind" in columns else None)
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
    env.filters["rl_title_link"] = lambda row: title_link(row["title"], row["url"], row["kind"])


def readinglist_escape_fts(query: str) -> str:
    """``?_search=`` text as an FTS5 query, the way ``readinglist search`` reads it."""
    from .search import BadQuery, fts_query

    try:
        return fts_query(query)
    except BadQuery:
        return datasette_escape_fts(query)


@hookimpl(trylast=True)
def prepare_connection(conn, database, datasette):
    # Runs after Datasette's own escape_fts is registered, so this one wins (for our database only).
    if database == DATABASE:
        conn.create_function("escape_fts", 1, readinglist_escape_fts, deterministic=True)


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
