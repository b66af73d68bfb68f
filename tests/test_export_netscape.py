"""Netscape bookmarks HTML: one escaped link per item, read back with an HTML parser."""

from __future__ import annotations

from html.parser import HTMLParser

from export_fixtures import library  # noqa: F401
from readinglist.export import FORMATS, select_items


class Bookmarks(HTMLParser):
    """Reads links the way browsers' bookmark importers do: <A> with attributes, then its text."""

    def __init__(self):
        super().__init__()
        self.links: list[dict] = []
        self._in_a = False
        self.descriptions: list[str] = []
        self._in_dd = False

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.links.append({**dict(attrs), "text": ""})
            self._in_a = True
        self._in_dd = tag == "dd"

    def handle_endtag(self, tag):
        if tag == "a":
            self._in_a = False

    def handle_data(self, data):
        if self._in_a:
            self.links[-1]["text"] += data
        elif self._in_dd and data.strip():
            self.descriptions.append(data.strip())
            self._in_dd = False


def test_bookmarks_round_trip(library):
    text = FORMATS["netscape"].write(select_items(library))
    assert text.startswith("<!DOCTYPE NETSCAPE-Bookmark-file-1>")
    parser = Bookmarks()
    parser.feed(text)
    links = {link["href"]: link for link in parser.links}
    assert len(links) == 16
    specials = links["https://example.com/specials"]
    assert specials["text"] == 'Cost & Benefit: 50% of $100, #1 in C_t, {braces}, ~tilde^hat, back\\slash, "quoted" and {unbalanced'
    assert specials["tags"] == "c++,a_b"
    assert specials["toread"] == "1"
    untitled = links["https://example.org/some_page?id=5&ref=a%20b#frag"]
    assert untitled["text"] == "https://example.org/some_page?id=5&ref=a%20b#frag"
    paper = links["https://arxiv.org/abs/1706.03762"]
    assert "toread" not in paper  # already read
    assert paper["tags"] == "transformers,classic,nlp"
    assert int(paper["add_date"]) > 1_700_000_000
    assert "Разбираем механизм внимания шаг за шагом." in parser.descriptions


def test_markup_in_titles_is_escaped(library):
    library.execute("UPDATE items SET title = '<script>alert(1)</script> & co' WHERE url = 'https://example.net/bare'")
    text = FORMATS["netscape"].write(select_items(library))
    assert "<script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in text
