"""A reading list with every kind of item an export meets, awkward ones included.

Items that a site adapter describes get their metadata the way ``fetch``
gives it: the adapter's parser reads a saved answer of the site
(``tests/fixtures/export/``) and the metadata stage writes it
(``answer=(adapter, file)``), so the export tests read what the adapters
really store. Other items have their metadata written straight into the
columns the page fetcher fills (authors, published, site_name, summary, ...);
no test depends on the network.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from harvester.sites import arxiv, crossref
from readinglist.db import item_id_for, mention_id_for, mentions_written, open_db
from readinglist.metadata import write_metadata

ANSWERS = Path(__file__).parent / "fixtures" / "export"
# When the items described by a site were fetched: the day they were added.
FETCHED = datetime(2024, 6, 10, 12, 0, tzinfo=timezone.utc)

SPECIALS_TITLE = 'Cost & Benefit: 50% of $100, #1 in C_t, {braces}, ~tilde^hat, back\\slash, "quoted" and {unbalanced'
NESTED_TITLE = 'The "Bitter Lesson" and {Nested {Braces}} in GPT-4o\'s LoRA'

ITEMS = [
    dict(
        url="https://arxiv.org/abs/1706.03762", kind="paper", arxiv_id="1706.03762",
        title="Attention Is All You Need",
        authors=["Ashish Vaswani", "Noam Shazeer", "Niki Parmar", "Jakob Uszkoreit", "Llion Jones",
                 "Aidan N. Gomez", "Łukasz Kaiser", "Illia Polosukhin"],
        published="2017-06-12", site_name="arXiv", language="en", tags=["transformers"],
        summary="The dominant sequence transduction models are based on complex recurrent or convolutional neural networks.",
        meta={"primary_category": "cs.CL", "categories": ["cs.CL", "cs.LG"], "version": 7},
        fetched_at="2024-05-02T10:00:00+00:00", status="read",
    ),
    # Published: arXiv's journal reference and the DOI of the published version.
    dict(url="https://arxiv.org/abs/1810.04805", kind="paper", arxiv_id="1810.04805", answer=("arxiv", "arxiv_bert.atom.xml")),
    dict(
        url="https://arxiv.org/abs/hep-th/9711200", kind="paper", arxiv_id="hep-th/9711200",
        title="The Large N Limit of Superconformal Field Theories and Supergravity",
        authors=["Juan M. Maldacena"], published="1997-11-27",
        meta={"primary_category": "hep-th", "categories": ["hep-th"]},
    ),
    dict(url="https://doi.org/10.1038/nature14539", kind="paper", doi="10.1038/nature14539",
         answer=("crossref", "crossref_nature.json")),
    dict(url="https://doi.org/10.1109/cvpr.2016.90", kind="paper", doi="10.1109/cvpr.2016.90",
         answer=("crossref", "crossref_cvpr.json")),
    dict(url="https://doi.org/10.1101/2020.03.24.005678", kind="paper", doi="10.1101/2020.03.24.005678",
         answer=("crossref", "crossref_biorxiv.json")),
    dict(
        url="https://github.com/karpathy/nanogpt", kind="repo", repo="karpathy/nanogpt", title="nanoGPT",
        summary="The simplest, fastest repository for training/finetuning medium-sized GPTs.",
        published="2022-12-28", site_name="GitHub", fetched_at="2024-06-01T08:00:00+00:00",
        meta={"stars": 30000, "language": "Python", "license": "MIT"},
    ),
    dict(
        url="https://github.com/huggingface/transformers", kind="repo", repo="huggingface/transformers",
        title="Transformers: State-of-the-art Machine Learning for Pytorch, TensorFlow, and JAX",
        authors=["Hugging Face"], published="2018-10-29", site_name="GitHub",
        meta={"stars": 120000, "language": "Python", "license": {"spdx_id": "Apache-2.0"}},
    ),
    dict(
        url="https://habr.com/ru/articles/785432/", kind="article",
        title="Как устроены трансформеры: разбор Attention и GPT на пальцах",
        authors=["Иван Петров"], published="2024-03-15", site_name="Хабр", language="ru",
        summary="Разбираем механизм внимания шаг за шагом.", tags=["трансформеры"],
        fetched_at="2024-03-20T12:00:00+00:00",
    ),
    dict(
        url="https://vc.ru/ml/987654-ii-itogi", kind="article",
        title="ИИ в 2024 году: итоги & прогнозы — 100% честно", site_name="vc.ru", language="ru",
    ),
    dict(
        url="https://www.youtube.com/watch?v=kCc8FmEb1nY", kind="video",
        title="Let's build GPT: from scratch, in code, spelled out.", published="2023-01-17",
        site_name="YouTube", meta={"channel": "Andrej Karpathy"}, summary="We build a Generatively Pretrained Transformer.",
    ),
    dict(
        url="https://huggingface.co/meta-llama/Llama-2-7b", kind="model", hf_id="meta-llama/Llama-2-7b",
        title="Llama 2 7B", site_name="Hugging Face", meta={"pipeline_tag": "text-generation"},
    ),
    dict(
        url="https://example.com/specials", kind="article", title=SPECIALS_TITLE,
        authors=["Johannes van der Waals", "Jean-Luc Picard Jr."], published="2021-07-04",
        summary="Prices: 5$ & 10%; path C:\\temp\\x_y; {curly} ~ ^", note="Check #3 & #4",
        tags=["c++", "a_b"],
    ),
    dict(
        url="https://example.com/nested", kind="article", title=NESTED_TITLE, authors=["OpenAI"],
        published="2023-11",
    ),
    # No title, no author, no date: the URL, the domain, the year of the first mention.
    dict(url="https://example.org/some_page?id=5&ref=a%20b#frag", kind="article"),
    # Nothing at all and never mentioned: the year it was added.
    dict(url="https://example.net/bare", kind="article", status="archived"),
    dict(url="https://t.me/ml_digest", kind="channel", title="ML digest"),
]

# (item url, channel, date, hashtags, text)
POSTS = [
    ("https://arxiv.org/abs/1706.03762", "ml_digest", "2023-02-01T10:00:00+00:00", ["nlp", "classic"],
     "Классика: <b>Attention</b> & all that"),
    ("https://arxiv.org/abs/1706.03762", "ai_notes", "2023-03-05T09:30:00+00:00", ["NLP"], "Read this again"),
    ("https://habr.com/ru/articles/785432/", "ml_digest", "2024-03-16T08:00:00+00:00", ["habr"], "Хороший разбор"),
    ("https://example.org/some_page?id=5&ref=a%20b#frag", "ai_notes", "2023-05-04T11:00:00+00:00", [],
     "see <this> page"),
    ("https://vc.ru/ml/987654-ii-itogi", "ml_digest", "2024-12-30T18:00:00+00:00", ["итоги"], "Итоги года"),
]
ADDED_AT = "2024-06-10T12:00:00+00:00"


def site_metadata(adapter: str, answer: str):
    """What ``adapter``'s parser makes of the saved answer ``tests/fixtures/export/<answer>``."""
    body = (ANSWERS / answer).read_bytes()
    if adapter == "arxiv":
        return arxiv.to_metadata(arxiv.parse_feed(body)[0])
    if adapter == "datacite":
        return crossref.parse_datacite(body)
    return crossref.parse_crossref(body)


def write_answer(db, item_id: str, adapter: str, answer: str) -> None:
    """Give an item what the metadata stage of ``fetch`` writes for the site's saved answer."""
    row = dict(db["items"].get(item_id))
    stage_adapter = "crossref" if adapter == "datacite" else adapter  # the DOI stage asks Crossref, then DataCite
    write_metadata(db, row, site_metadata(adapter, answer), FETCHED, adapter=stage_adapter)


def add_described_item(db, url: str, answer: tuple[str, str], **identifiers) -> str:
    """Add the paper at ``url`` (``identifiers``: its arxiv_id or doi) as ``fetch`` describes it from ``answer``."""
    item_id = item_id_for(url)
    db["items"].insert({"id": item_id, "url": url, "kind": "paper", "domain": url.split("/")[2], "status": "unread",
                        "added_at": ADDED_AT, **identifiers})
    write_answer(db, item_id, *answer)
    db.conn.commit()
    return item_id


def build_library(path) -> "sqlite_utils.Database":  # noqa: F821
    db = open_db(path)
    for number, spec in enumerate(ITEMS):
        spec = dict(spec)
        url = spec.pop("url")
        answer = spec.pop("answer", None)
        row = {
            "id": item_id_for(url), "url": url, "domain": url.split("/")[2].removeprefix("www."),
            "status": spec.pop("status", "unread"),
            # Items are added one minute apart, in list order.
            "added_at": f"2024-06-10T12:{number:02d}:00+00:00",
            "tags": json.dumps(spec.pop("tags", []), ensure_ascii=False),
            "authors": json.dumps(spec.pop("authors", []), ensure_ascii=False) if "authors" in spec else None,
            "meta": json.dumps(spec.pop("meta", {}), ensure_ascii=False),
            **spec,
        }
        db["items"].insert(row)
        if answer:
            write_answer(db, row["id"], *answer)
    for number, (url, channel, date, hashtags, text) in enumerate(POSTS):
        post_id = f"post{number:03d}"
        db["posts"].insert(
            {"id": post_id, "source": "test", "channel": channel, "message_id": str(100 + number),
             "permalink": f"https://t.me/{channel}/{100 + number}", "date": date, "text": text,
             "hashtags": json.dumps(hashtags, ensure_ascii=False)}
        )
        item_id = item_id_for(url)
        db["mentions"].insert(
            {"id": mention_id_for(item_id, post_id, url), "item_id": item_id, "post_id": post_id, "url": url,
             "context": text}
        )
    mentions_written(db, [item_id_for(url) for url, *_ in POSTS])
    return db


@pytest.fixture
def library(db_path):
    """The database of :data:`ITEMS`, at ``db_path``."""
    return build_library(db_path)


def by_url(records, url: str):
    return next(record for record in records if record.url == url)
