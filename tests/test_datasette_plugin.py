"""The plugin's rendering: title links, kind badge, reading time, summary, Mark read button, Next up; escaping."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest

from datasette_fixtures import HOSTILE_SUMMARY, HOSTILE_TITLE, HOSTILE_URL, client, list_ids  # noqa: F401
from queue_fixtures import Builder
from readinglist.datasette_plugin import paragraphs, safe_href, title_link
from readinglist.db import open_db
from readinglist.queue import NextFilter, next_items


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://arxiv.org/abs/1706.03762", "https://arxiv.org/abs/1706.03762"),
        ("http://example.com/a?b=c", "http://example.com/a?b=c"),
        ("HTTPS://Example.com/", "HTTPS://Example.com/"),
        ("javascript:alert(1)", None),
        ("JavaScript:alert(1)//https://x", None),
        (" javascript:alert(1)", None),
        ("java\tscript:alert(1)", None),
        ("https://exa mple.com/", None),
        ("data:text/html,<script>alert(1)</script>", None),
        ("vbscript:msgbox(1)", None),
        ("//evil.example/x", None),
        ("https:alert(1)", None),
        ("ftp://example.com/file", None),
        (None, None),
        (42, None),
    ],
)
def test_only_http_urls_become_links(url, expected):
    assert safe_href(url) == expected


def test_title_link_escapes_everything():
    html = str(title_link('<b>"x"</b>', 'https://e.com/?q="><script>', "paper"))
    assert html.startswith('<bdi><a href="https://e.com/?q=&#34;&gt;&lt;script&gt;" rel="noopener noreferrer">&lt;b&gt;&#34;x&#34;&lt;/b&gt;</a></bdi> ')
    assert 'class="rl-kind"' in html and ">paper</span>" in html
    assert str(title_link("<i>t</i>", "javascript:alert(1)")) == "<bdi>&lt;i&gt;t&lt;/i&gt;</bdi>"


def test_paragraphs_are_escaped():
    assert str(paragraphs("a <script>\nb\n\nc & d")) == (
        '<p class="rl-summary"><bdi>a &lt;script&gt;</bdi><br><bdi>b</bdi></p><p class="rl-summary"><bdi>c &amp; d</bdi></p>'
    )
    assert str(paragraphs("x" * 10, limit=4)) == '<p class="rl-summary"><bdi>xxxx…</bdi></p>'


def assert_no_live_markup(page: str):
    """Nothing from the hostile item reaches the page as markup or as a link."""
    assert "<script>alert" not in page
    assert '<a href="javascript:' not in page.lower()
    assert "href=\"javascript" not in page.lower()
    assert not re.search(r"<[^>]+\bhref=[\"']?\s*javascript:", page, re.I)
    assert "<b>is</b>" not in page and "<i>para</i>" not in page


@pytest.mark.parametrize("who", [None, "root"])
def test_hostile_item_page_is_escaped(client, list_ids, who):
    cookies = client.actor_cookie(who) if who else None
    page = client.get(f"/readinglist/items/{list_ids['hostile']}", cookies=cookies).text
    assert_no_live_markup(page)
    # Shown, as text.
    assert "&lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt; Attention &lt;b&gt;is&lt;/b&gt; all" in page
    assert "&lt;a href=&#34;javascript:alert(2)&#34;&gt;a link&lt;/a&gt;" in page
    assert "javascript:alert(document.cookie)//https://arxiv.org/abs/1" in page


@pytest.mark.parametrize(
    "path",
    [
        "/readinglist/items",
        "/readinglist/items?_search=attention",
        "/readinglist/queue",
        "/readinglist/by_channel?channel=other_channel",
        "/readinglist/mentions?_labels=on",
        "/-/next",
    ],
)
def test_hostile_item_is_escaped_on_every_page(client, list_ids, path):
    response = client.get(path, cookies=client.actor_cookie("root"))
    assert response.status_code == 200
    assert list_ids["hostile"] in response.text or "mentions" in path
    assert_no_live_markup(response.text)


def test_item_card(client, list_ids):
    page = client.get(f"/readinglist/items/{list_ids['paper']}").text
    card = page[page.index('<div class="rl-card">'):]
    card = card[: card.index("</div>\n")]
    assert '<a href="https://arxiv.org/abs/1706.03762" rel="noopener noreferrer">Attention Is All You Need</a>' in card
    assert 'class="rl-kind"' in card and ">paper</span>" in card
    assert '<span class="rl-minutes">25 min</span>' in card
    assert '<p class="rl-summary"><bdi>The Transformer architecture.</bdi></p>' in card


PLAIN_URL = "https://plain.example/bitter.html"
# An item's final_url after a fetch, and where its title links to.
FINAL_URLS = [
    ("http://plain.example/bitter.html", "http://plain.example/bitter.html"),  # the plain-http fallback
    ("https://plain.example/bitter.html", PLAIN_URL),
    ("https://plain.example/moved.html", PLAIN_URL),  # a redirect: the item is still its url
    ("http://plain.example/moved.html", PLAIN_URL),  # the fallback, then a redirect
    ("https://api.plain.example/v1/bitter", PLAIN_URL),  # a site adapter's API request
    (None, PLAIN_URL),
]
TITLE_PAGES = ["item", "/-/next", "/readinglist/items", "/readinglist/queue", "/readinglist/by_channel?channel=plainchan"]


@pytest.mark.parametrize("final_url, href", FINAL_URLS)
@pytest.mark.parametrize("page", TITLE_PAGES)
def test_title_links_where_the_fetch_could_read_it(client, db_path, list_ids, final_url, href, page):
    # A link posted as http:// to a site with no https is stored as https://; the fetch fell back to http.
    b = Builder(db_path)
    b._posts = 1000  # after the list's posts
    item_id = b.item(PLAIN_URL, "article", "The Bitter Lesson", fetch_status="ok", final_url=final_url, priority="high")
    b.mention(item_id, "plainchan", 0.1, "the bitter lesson")
    b.db.conn.commit()
    b.db.conn.close()
    response = client.get(f"/readinglist/items/{item_id}" if page == "item" else page)
    assert response.status_code == 200
    # The item page links it twice: the card and the row's title cell.
    links = re.findall(r'<a href="([^"]*)" rel="noopener noreferrer">The Bitter Lesson</a>', response.text)
    assert links == [href] * (2 if page == "item" else 1)


RLO_TITLE = "Paper draft \u202efdp.exe"
RLO_SUMMARY = "First line \u202eenil tsrif\nSecond \u2067line"


@pytest.mark.parametrize("page", ["item", "/-/next", "/readinglist/items", "/readinglist/queue"])
def test_bidi_overrides_in_web_text_stop_at_its_end(client, db_path, list_ids, page):
    # Stored as an older harvest left it: the override and an isolate still in the text.
    b = Builder(db_path)
    item_id = b.item("https://example.org/bidi", "article", RLO_TITLE, summary=RLO_SUMMARY, priority="high")
    b.db.conn.commit()
    b.db.conn.close()
    text = client.get(f"/readinglist/items/{item_id}" if page == "item" else page).text
    assert '<bdi><a href="https://example.org/bidi" rel="noopener noreferrer">Paper draft \u202efdp.exe</a></bdi>' in text
    if page in ("item", "/-/next"):
        assert "<bdi>First line \u202eenil tsrif</bdi><br><bdi>Second \u2067line</bdi>" in text
    # Every bidi control shown is inside a <bdi> that holds it alone.
    for control in re.finditer("[\u202a-\u202e\u2066-\u2069]", text):
        before, after = text[: control.start()], text[control.end():]
        next_open = after.find("<bdi>") if "<bdi>" in after else len(after)
        assert before.rindex("<bdi>") > before.rfind("</bdi>") and after.index("</bdi>") < next_open


def test_table_cells(client, list_ids):
    page = client.get("/readinglist/items").text
    assert '<a href="https://arxiv.org/abs/1706.03762" rel="noopener noreferrer">Attention Is All You Need</a>' in page
    assert "25 min" in page
    # The hostile URL is shown as text, not linked, in the url column too.
    assert '<td class="col-url type-str">javascript:alert(document.cookie)//https://arxiv.org/abs/1</td>' in page


def mark_read_forms(page: str) -> list[str]:
    return re.findall(r'<form class="rl-mark-read" action="/readinglist/mark_read" method="post">.*?</form>', page, re.S)


@pytest.mark.parametrize("who, shown", [(None, False), ("someone", False), ("root", True), ("owner", True)])
def test_mark_read_button_only_for_the_owner(client, list_ids, who, shown):
    cookies = client.actor_cookie(who) if who else None
    page = client.get(f"/readinglist/items/{list_ids['paper']}", cookies=cookies).text
    forms = mark_read_forms(page)
    assert len(forms) == (1 if shown else 0)
    assert ("Mark read" in page) == shown
    if shown:
        assert f'<input type="hidden" name="item_id" value="{list_ids["paper"]}">' in forms[0]
        assert re.search(r'<input type="hidden" name="csrftoken" value="[^"]+">', forms[0])


def test_no_mark_read_button_on_a_read_item(client, list_ids):
    page = client.get(f"/readinglist/items/{list_ids['read']}", cookies=client.actor_cookie("root")).text
    assert mark_read_forms(page) == []


def test_the_button_works(client, db_path, list_ids):
    cookies = client.actor_cookie("root")
    page = client.get(f"/readinglist/items/{list_ids['paper']}", cookies=cookies)
    form = mark_read_forms(page.text)[0]
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form))
    response = client.post("/readinglist/mark_read", data=fields, cookies={**cookies, "ds_csrftoken": page.cookies["ds_csrftoken"]})
    assert response.status_code == 302
    assert open_db(db_path).execute("SELECT status FROM items WHERE id = ?", [list_ids["paper"]]).fetchone()[0] == "read"


def test_other_tables_keep_the_default_row_page(client):
    post_id = client.json("/readinglist/posts.json?_shape=array")[0]["id"]
    page = client.get(f"/readinglist/posts/{post_id}").text
    assert "rl-card" not in page and "Mark read" not in page


def test_next_up_lists_the_top_10_of_the_queue(client, db_path):
    expected = next_items(open_db(db_path), NextFilter(n=10))
    data = client.json("/-/next?_json=1")
    assert [item["id"] for item in data] == [item["id"] for item in expected]
    page = client.get("/-/next").text
    positions = [page.index(f'href="/readinglist/items/{item["id"]}"') for item in expected]
    assert positions == sorted(positions)
    assert mark_read_forms(page) == []
    owner_page = client.get("/-/next", cookies=client.actor_cookie("root")).text
    assert len(mark_read_forms(owner_page)) == len(expected)


def test_next_up_is_in_the_menu(client):
    assert '<li><a href="/-/next">Next up</a></li>' in client.get("/").text


def test_next_up_top_10_at_most(db_path, tmp_path):
    from queue_fixtures import Builder
    from readinglist.serve import build_datasette
    from datasette_fixtures import Client

    b = Builder(str(db_path))
    for i in range(15):
        b.item(f"https://example.com/{i}", title=f"Item {i}")
    b.db.conn.commit()
    c = Client(build_datasette(db_path))
    try:
        assert len(c.json("/-/next?_json=1")) == 10
    finally:
        c.close()


@pytest.mark.parametrize(
    "query, expected",
    [("transformer", {"paper", "repo"}),  # "Transformer architecture", "the transformers library"
     ("transformers", {"paper", "repo"}),
     ('"transformers library"', {"repo"})],
)
def test_search_box_finds_a_words_other_forms(client, list_ids, query, expected):
    rows = client.json("/readinglist/items.json?" + urlencode({"_search": query, "_shape": "array", "_size": "max"}))
    names = {name for name, item_id in list_ids.items() if item_id in {row["id"] for row in rows}}
    assert names == expected
