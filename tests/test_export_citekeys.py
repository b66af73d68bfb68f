"""Citation keys: authorYEARfirstword, unique with a/b/c, and stable as the database grows."""

from __future__ import annotations

import json

import pytest

from export_fixtures import build_library, by_url, library  # noqa: F401
from readinglist.db import item_id_for, open_db
from readinglist.export import select_items
from readinglist.export.citekeys import ascii_fold, base_key, suffixes
from readinglist.export.records import parse_person


@pytest.mark.parametrize(
    "authors, year, title, expected",
    [
        (["Ashish Vaswani", "Noam Shazeer"], 2017, "Attention Is All You Need", "vaswani2017attention"),
        (["Johannes van der Waals"], 1873, "On the Continuity", "waals1873continuity"),
        (["Иван Петров"], 2024, "Как устроены трансформеры", "petrov2024ustroeny"),
        (["Петров А. В.", "Сидорова Е.Н."], 2023, "Применение трансформеров", "petrov2023primenenie"),
        (["Smith J."], 2020, "Deep Learning", "smith2020deep"),
        (["Łukasz Kaiser"], 2017, "One Model To Learn Them All", "kaiser2017one"),
        (["Hugging Face"], 2018, "Transformers: State-of-the-art", "huggingface2018transformers"),
        (["Center for History and New Media"], 2014, "Zotero Quick Start", "center2014zotero"),
        (["Andrej Karpathy"], 2023, "Let's build GPT", "karpathy2023lets"),
        (["José Ñúñez"], 2020, "Über Große Modelle", "nunez2020uber"),
        ([], 2021, None, "anon2021"),
    ],
)
def test_base_key(authors, year, title, expected):
    assert base_key([parse_person(a) for a in authors], year, title) == expected


@pytest.mark.parametrize(
    "owner, title, repo, expected",
    [
        # A repository's key takes its name, not its owner's name again.
        ("yandex", "yandex/YaFSDP: Yet another Fully Sharded Data Parallel", "yandex/yafsdp", "yandex2024yafsdp"),
        ("karpathy", "karpathy/nanoGPT", "karpathy/nanoGPT", "karpathy2024nanogpt"),
        ("meta-llama", "meta-llama/Llama-3.1-8B", "meta-llama/Llama-3.1-8B", "metallama2024llama"),
        ("HuggingFaceFW", "HuggingFaceFW/fineweb", "datasets/HuggingFaceFW/fineweb", "huggingfacefw2024fineweb"),
        ("someone", "A demo Space", "spaces/someone/demo", "someone2024demo"),
        ("someone", "other/thing: a title", "someone/repo", "someone2024other"),  # a title naming another repo is kept
    ],
)
def test_base_key_of_a_repository(owner, title, repo, expected):
    assert base_key([parse_person(owner)], 2024, title, repo) == expected


def test_a_stored_repository_key_never_changes(db_path):
    from readinglist.db import item_id_for, open_db as open_library

    db = open_library(db_path)
    url = "https://github.com/yandex/yafsdp"
    db["items"].insert({"id": item_id_for(url), "url": url, "kind": "repo", "domain": "github.com", "status": "unread",
                        "added_at": "2024-06-10T12:00:00+00:00", "published": "2024-06-01", "repo": "yandex/yafsdp",
                        "title": "yandex/YaFSDP: Yet another Fully Sharded Data Parallel", "authors": '["yandex"]'})
    db["citekeys"].insert({"item_id": item_id_for(url), "citekey": "yandex2024yandex", "assigned_at": "2024-06-11T00:00:00+00:00"})
    db.conn.commit()
    assert [record.citekey for record in select_items(db)] == ["yandex2024yandex"]
    db.execute("DELETE FROM citekeys")
    db.conn.commit()
    assert [record.citekey for record in select_items(db)] == ["yandex2024yafsdp"]


def test_ascii_fold_transliterates_cyrillic_and_drops_accents():
    assert ascii_fold("Щука й ёж Ärger") == "shchuka y ezh arger"


def test_suffixes_go_a_to_z_then_aa():
    generated = []
    for suffix in suffixes():
        generated.append(suffix)
        if len(generated) == 29:
            break
    assert generated[:3] == ["", "a", "b"]
    assert generated[26:29] == ["z", "aa", "ab"]


def test_every_exported_item_has_a_unique_key(library):
    records = select_items(library)
    keys = [record.citekey for record in records]
    assert len(keys) == len(set(keys)) == 16
    assert by_url(records, "https://arxiv.org/abs/1706.03762").citekey == "vaswani2017attention"
    # No title, no author, no date: the domain and the year of the first mention.
    assert by_url(records, "https://example.org/some_page?id=5&ref=a%20b#frag").citekey == "exampleorg2023"


def _add_twin(db, url, title="Attention Is All You Need", authors=("Ashish Vaswani",), published="2017-06-12", minute=59):
    db["items"].insert(
        {"id": item_id_for(url), "url": url, "kind": "article", "domain": url.split("/")[2], "status": "unread",
         "added_at": f"2024-07-01T00:{minute:02d}:00+00:00", "title": title,
         "authors": json.dumps(list(authors)), "published": published}
    )


def test_collisions_get_letters_in_the_order_items_were_added(library):
    _add_twin(library, "https://example.com/twin-1", minute=1)
    _add_twin(library, "https://example.com/twin-2", minute=2)
    records = select_items(library)
    assert by_url(records, "https://arxiv.org/abs/1706.03762").citekey == "vaswani2017attention"
    assert by_url(records, "https://example.com/twin-1").citekey == "vaswani2017attentiona"
    assert by_url(records, "https://example.com/twin-2").citekey == "vaswani2017attentionb"


def test_keys_are_stable_as_the_database_grows_and_metadata_changes(db_path):
    db = build_library(db_path)
    first = {record.id: record.citekey for record in select_items(db, kind="paper")}
    # A twin added *before* (by added_at) the existing items must not steal their key.
    _add_twin(db, "https://example.com/earlier-twin", minute=0)
    db.execute("UPDATE items SET added_at = '2000-01-01' WHERE url = 'https://example.com/earlier-twin'")
    # Metadata arriving later does not move a key either.
    db.execute("UPDATE items SET title = 'Renamed', authors = '[\"Someone Else\"]' WHERE arxiv_id = '1706.03762'")
    db.conn.commit()
    again = {record.id: record.citekey for record in select_items(open_db(db_path))}
    assert all(again[item_id] == key for item_id, key in first.items())
    assert again[item_id_for("https://example.com/earlier-twin")] == "vaswani2017attentiona"


def test_a_filtered_export_and_a_full_one_agree(db_path):
    db = build_library(db_path)
    partial = {record.id: record.citekey for record in select_items(db, kind="repo")}
    full = {record.id: record.citekey for record in select_items(db)}
    assert partial.items() <= full.items()
    assert len(set(full.values())) == len(full)


def test_keys_survive_deleting_an_item(db_path):
    db = build_library(db_path)
    select_items(db)
    item_id = item_id_for("https://example.net/bare")
    db.execute("DELETE FROM mentions WHERE item_id = ?", [item_id])
    db.execute("DELETE FROM events WHERE item_id = ?", [item_id])
    db.execute("DELETE FROM items WHERE id = ?", [item_id])  # the citekeys row cascades
    db.conn.commit()
    assert db.execute("SELECT COUNT(*) FROM citekeys WHERE item_id = ?", [item_id]).fetchone()[0] == 0
