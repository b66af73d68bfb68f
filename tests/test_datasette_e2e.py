"""A real browser on a real `readinglist serve`: search, open an item, Mark read; anonymous visitors cannot.

Playwright drives Debian's Chromium (/usr/bin/chromium). Screenshots of the
items page and the Next up page are saved in the test's tmp_path.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from datasette_fixtures import Server
from readinglist.cli import cli
from readinglist.db import open_db

CHROMIUM = Path("/usr/bin/chromium")
SEEDS = Path(__file__).resolve().parent.parent / "seeds"

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
if not CHROMIUM.exists() and not shutil.which("chromium"):
    pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)


def item_state(db_path, item_id):
    db = open_db(db_path)
    try:
        status = db.execute("SELECT status FROM items WHERE id = ?", [item_id]).fetchone()[0]
        events = db.execute("SELECT action FROM events WHERE item_id = ? ORDER BY id", [item_id]).fetchall()
        return status, [e[0] for e in events]
    finally:
        db.conn.close()


@pytest.fixture
def harvested(db_path):
    result = CliRunner().invoke(cli, ["harvest", str(SEEDS), "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    return db_path


@pytest.fixture
def browser():
    with playwright_api.sync_playwright() as p:
        executable = str(CHROMIUM) if CHROMIUM.exists() else shutil.which("chromium")
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield browser
        browser.close()


def test_owner_marks_read_in_the_browser_and_anonymous_cannot(harvested, tmp_path, browser):
    server = Server(harvested, tmp_path)
    try:
        assert server.lines[0] == f"Serving {harvested} at {server.url}/"
        owner = browser.new_context()
        page = owner.new_page()
        page.goto(server.root_link)
        assert page.url == server.url + "/"
        assert "root" in page.locator("div.actor").inner_text()

        # Search the items, as the owner.
        page.goto(server.url + "/readinglist/items")
        page.screenshot(path=str(tmp_path / "items.png"), full_page=True)
        page.fill('input[name="_search"]', "alpaca")
        page.press('input[name="_search"]', "Enter")
        page.wait_for_url("**/readinglist/items?_search=alpaca*")
        rows = page.locator("table.rows-and-columns tbody tr")
        assert rows.count() == 1
        title_link = rows.first.locator("td.col-title a")
        assert title_link.get_attribute("href") == "https://github.com/tatsu-lab/stanford_alpaca"

        # Open the item; press Mark read.
        rows.first.locator("td.type-pk a").click()
        page.wait_for_selector("div.rl-card")
        item_id = page.url.rsplit("/", 1)[1]
        assert item_state(harvested, item_id) == ("unread", [])
        assert "Stanford" in page.locator("div.rl-card h2").inner_text()
        page.click("form.rl-mark-read button")
        page.wait_for_url(server.url + "/-/next")
        assert "Marked read" in page.locator("p.message-info").inner_text()
        assert item_state(harvested, item_id) == ("read", ["read"])
        assert page.locator(f'a[href="/readinglist/items/{item_id}"]').count() == 0  # left the queue
        page.screenshot(path=str(tmp_path / "next-up.png"), full_page=True)
        next_up_ids = [href.rsplit("/", 1)[1] for href in
                       page.locator('ol.rl-next a[href^="/readinglist/items/"]').evaluate_all("els => els.map(e => e.getAttribute('href'))")]
        assert len(next_up_ids) == 10

        # An anonymous visitor sees no button, and a forged POST is refused.
        other_id = next_up_ids[0]
        anonymous = browser.new_context()
        visitor = anonymous.new_page()
        visitor.goto(f"{server.url}/readinglist/items/{other_id}")
        assert visitor.locator("div.rl-card").count() == 1
        assert visitor.locator("form.rl-mark-read").count() == 0
        assert "Mark read" not in visitor.content()
        forged = anonymous.request.post(f"{server.url}/readinglist/mark_read", form={"item_id": other_id})
        assert forged.status == 403
        # Even from the visitor's own page, with the visitor's CSRF cookie and token.
        status = visitor.evaluate(
            """async (id) => {
                const body = new URLSearchParams({item_id: id, csrftoken: document.cookie.replace(/.*ds_csrftoken=([^;]*).*/, '$1')});
                const response = await fetch('/readinglist/mark_read', {method: 'POST', body});
                return response.status;
            }""",
            other_id,
        )
        assert status == 403
        assert item_state(harvested, other_id) == ("unread", [])
        owner.close()
        anonymous.close()
    finally:
        server.stop()
    assert (tmp_path / "items.png").stat().st_size > 10_000
    assert (tmp_path / "next-up.png").stat().st_size > 10_000
