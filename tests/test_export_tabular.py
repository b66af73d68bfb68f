"""JSON and CSV exports: every field, stable names, formulas neutralised."""

from __future__ import annotations

import csv
import io
import json

import pytest

from export_fixtures import library  # noqa: F401
from readinglist.export import FORMATS, select_items
from readinglist.export.tabular import CSV_FIELDS, LISTED_FIELDS, csv_cell
from readinglist.queue import ListFilter, list_items


def test_json_carries_every_field(library):
    data = {row["citekey"]: row for row in json.loads(FORMATS["json"].write(select_items(library)))}
    assert len(data) == 16
    paper = data["vaswani2017attention"]
    assert (paper["type"], paper["kind"], paper["date"], paper["date_source"], paper["primary_class"]) == (
        "preprint", "paper", "2017-06-12", "published", "cs.CL")
    assert paper["tags"] == ["transformers", "classic", "nlp"]
    assert paper["authors"][:2] == ["Ashish Vaswani", "Noam Shazeer"]
    assert paper["meta"]["categories"] == ["cs.CL", "cs.LG"]
    untitled = data["exampleorg2023"]
    assert (untitled["title"], untitled["authors"], untitled["authors_are_fallback"], untitled["date_source"]) == (
        None, ["example.org"], True, "mentioned")
    assert data["huggingface2018transformers"]["license"] == "Apache-2.0"


def test_json_carries_every_field_list_json_has(library):
    # The JSON export lacked priority, reading_minutes, channels, fetch_status, final_url, word_count,
    # description, read_at, ... that `readinglist list --json` gives.
    library.execute(
        "UPDATE items SET priority = 'high', fetch_status = 'ok', http_status = 200, final_url = url, word_count = 900,"
        " reading_minutes = 5, description = 'A page.', read_at = '2024-06-11T08:00:00+00:00'"
        " WHERE url = 'https://arxiv.org/abs/1706.03762'"
    )
    exported = {row["id"]: row for row in json.loads(FORMATS["json"].write(select_items(library, with_listed=True)))}
    listed = {item["id"]: item for item in list_items(library, ListFilter(status="all")) if item["id"] in exported}
    assert len(listed) == len(exported) == 16
    for item_id, item in listed.items():
        assert set(item) <= set(exported[item_id])
        assert {name: exported[item_id][name] for name in LISTED_FIELDS if name != "score"} == {
            name: item[name] for name in LISTED_FIELDS if name != "score"}
        assert exported[item_id]["score"] == pytest.approx(item["score"], abs=0.01)
    paper = next(row for row in exported.values() if row["url"] == "https://arxiv.org/abs/1706.03762")
    assert {name: paper[name] for name in ("priority", "fetch_status", "word_count", "reading_minutes", "description")} == {
        "priority": "high", "fetch_status": "ok", "word_count": 900, "reading_minutes": 5, "description": "A page."}


def test_csv_has_every_flat_field_of_the_json(library):
    # The CSV had 19 columns: no kind, language, site_name, pages, volume, priority, reading_minutes, ...
    records = select_items(library, with_listed=True)
    exported = json.loads(FORMATS["json"].write(records))
    rows = list(csv.DictReader(io.StringIO(FORMATS["csv"].write(records))))
    assert set(CSV_FIELDS) == set(exported[0]) - {"meta"}
    for row, data in zip(rows, exported):
        assert row == {name: csv_cell(data[name] if name != "title" else data[name] or data["url"]) for name in CSV_FIELDS}


def test_csv_has_a_header_and_one_row_per_item(library):
    rows = list(csv.DictReader(io.StringIO(FORMATS["csv"].write(select_items(library)))))
    assert list(rows[0]) == list(CSV_FIELDS)
    assert len(rows) == 16
    by_key = {row["citekey"]: row for row in rows}
    assert by_key["petrov2024ustroeny"]["title"] == "Как устроены трансформеры: разбор Attention и GPT на пальцах"
    assert by_key["vaswani2017attention"]["tags"] == "transformers|classic|nlp"
    assert by_key["exampleorg2023"]["title"] == "https://example.org/some_page?id=5&ref=a%20b#frag"
    assert by_key["waals2021cost"]["summary"] == "Prices: 5$ & 10%; path C:\\temp\\x_y; {curly} ~ ^"


@pytest.mark.parametrize(
    "value, cell",
    [("=1+2", "'=1+2"), ("+1", "'+1"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"),
     (["-a", "b"], "'-a|b"), ("a-b", "a-b"), (None, ""), (-1.5, "-1.5"), (-3, "-3"), (0, "0")],
)
def test_csv_cell_makes_formulas_text_and_leaves_numbers(value, cell):
    # The OWASP list: = + - @ tab CR (a leading - was missing). A number is not text: -1.5 stays a number.
    assert csv_cell(value) == cell


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
@pytest.mark.parametrize("column", ["title", "note", "summary"])
def test_csv_cells_never_start_a_formula(library, column, start):
    # (Tabs and line breaks at the start of a field never reach a record: clean_text strips them.)
    value = f'{start}2+3+HYPERLINK("http://evil")'
    library.execute(f"UPDATE items SET {column} = ? WHERE url = 'https://example.com/specials'", [value])
    rows = list(csv.DictReader(io.StringIO(FORMATS["csv"].write(select_items(library)))))
    assert [row[column] for row in rows if row["url"] == "https://example.com/specials"] == ["'" + value]
