"""`list` filters, sorting and CSV; the stable JSON fields stay."""

import csv
import io
import json
from datetime import date, timedelta

import pytest

from queue_fixtures import builder, db_path, run  # noqa: F401

STABLE = {"id", "url", "kind", "title", "status", "mentions", "channels", "first_seen", "domain",
          "arxiv_id", "doi", "repo", "hf_id", "added_at"}


@pytest.fixture
def items(builder):
    ids = {}
    ids["a"] = builder.item("https://github.com/x/a", "repo", "Alpha", added_days_ago=3)
    builder.mention(ids["a"], "chan1", 3)
    builder.mention(ids["a"], "chan2", 2)
    ids["b"] = builder.item("https://example.org/b", "article", "beta", added_days_ago=1)
    builder.mention(ids["b"], "chan2", 400)
    return ids


def listed(db_path, *args):
    result = run("list", "--db", db_path, "--json", *args)
    assert result.exit_code == 0, result.output
    return [item["title"] for item in json.loads(result.output)]


def test_fields_are_a_superset(items, db_path):
    (first, _) = json.loads(run("list", "--db", db_path, "--json").output)
    assert set(first) >= STABLE | {"priority", "tags", "score"}


def test_filters(items, db_path):
    assert listed(db_path, "--channel", "chan1") == ["Alpha"]
    assert listed(db_path, "--domain", "example.org") == ["beta"]
    run("tag", "--db", db_path, items["b"], "+later")
    assert listed(db_path, "--tag", "later") == ["beta"]
    month_ago = (date.today() - timedelta(days=30)).isoformat()
    assert listed(db_path, "--since", month_ago) == ["Alpha"]  # beta was first seen 400 days ago
    assert run("list", "--db", db_path, "--since", "yesterday").output == (
        "Error: --since: invalid date 'yesterday' (use YYYY-MM-DD)\n"
    )


def test_sorts(items, db_path):
    assert listed(db_path, "--sort", "mentions") == ["Alpha", "beta"]
    assert listed(db_path, "--sort", "added") == ["beta", "Alpha"]
    assert listed(db_path, "--sort", "title") == ["Alpha", "beta"]
    assert listed(db_path, "--sort", "score") == ["Alpha", "beta"]


def test_csv(items, db_path):
    rows = list(csv.DictReader(io.StringIO(run("list", "--db", db_path, "--csv").output)))
    assert [(row["title"], row["channels"]) for row in rows] == [("Alpha", "chan1|chan2"), ("beta", "chan2")]
