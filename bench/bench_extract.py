"""Benchmark content extraction: ``harvester.extract`` + ``harvester.summarize``
per page, against trafilatura alone on the same pages.

Run: ``python bench/bench_extract.py [--pages 200] [--words 1200] [--workers N]``.
Not part of the test suite; no network.

Pages are generated article pages (half English, half Russian; a header,
navigation, an article of ``--words`` words in paragraphs and subheadings, a
related-links aside and a footer, with the usual ``<meta>`` tags), so the
numbers are repeatable. Reported, per stage:

* CPU ms per page and pages/s on one core (a plain loop in this process,
  timed with ``process_time`` so other jobs on the machine do not count);
* pages/s on all cores (a ``ProcessPoolExecutor`` with ``--workers``
  processes, wall-clock: on a busy machine this is what you actually get).

"trafilatura alone" is ``trafilatura.bare_extraction`` with the options
``extract()`` uses, on the same bytes: the CPU bound the fetch benchmark
compares against. Reuse from another script::

    sys.path.insert(0, "bench")
    from bench_extract import make_article_page, trafilatura_only, pages_per_second
    bound = pages_per_second(pages, trafilatura_only, workers=os.cpu_count())
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EN_WORDS = (
    "model data training network layer attention transformer benchmark result gradient loss token language "
    "vision dataset paper method approach experiment accuracy baseline inference memory context retrieval "
    "evaluation optimizer schedule batch sequence embedding weights quantization latency throughput"
).split()
EN_GLUE = "the of and a to in is that for on with as by we it this from at".split()
RU_WORDS = (
    "модель данные обучение сеть слой внимание трансформер результат градиент потеря токен язык зрение "
    "датасет статья метод подход эксперимент точность память контекст поиск оценка оптимизатор батч "
    "последовательность эмбеддинг веса квантование задержка"
).split()
RU_GLUE = "и в на с по для это что как мы из к от при".split()


def _sentence(rng: random.Random, words: list[str], glue: list[str]) -> str:
    chosen = [rng.choice(words if rng.random() < 0.55 else glue) for _ in range(rng.randint(8, 24))]
    return chosen[0].capitalize() + " " + " ".join(chosen[1:]) + rng.choice([".", ".", ".", "?", "!"])


def make_article_page(index: int, *, words: int = 1200, seed: int = 0) -> bytes:
    """A realistic, deterministic article page (UTF-8 HTML bytes); even indexes
    are English, odd ones Russian."""
    rng = random.Random(seed * 1_000_003 + index)
    russian = index % 2 == 1
    vocabulary, glue = (RU_WORDS, RU_GLUE) if russian else (EN_WORDS, EN_GLUE)
    title = " ".join(rng.choice(vocabulary) for _ in range(6)).capitalize()
    paragraphs, count = [], 0
    while count < words:
        if paragraphs and rng.random() < 0.15:
            paragraphs.append(f"<h2>{' '.join(rng.choice(vocabulary) for _ in range(3)).capitalize()}</h2>")
        sentences = [_sentence(rng, vocabulary, glue) for _ in range(rng.randint(3, 7))]
        count += sum(len(s.split()) for s in sentences)
        paragraphs.append("<p>" + " ".join(sentences) + "</p>")
    navigation = "".join(f'<li><a href="/section/{i}">{rng.choice(vocabulary)}</a></li>' for i in range(12))
    related = "".join(f'<li><a href="/post/{rng.randint(1, 99999)}">{title} {i}</a></li>' for i in range(8))
    lang = "ru" if russian else "en"
    author = "Иван Петров" if russian else "Jane Doe"
    page = f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{title} | Site {index % 50}</title>
<meta name="description" content="{_sentence(rng, vocabulary, glue)}">
<meta name="author" content="{author}">
<meta property="og:site_name" content="Site {index % 50}">
<meta property="article:published_time" content="2024-{1 + index % 12:02d}-{1 + index % 28:02d}">
<link rel="stylesheet" href="/static/main.css"><script>window.dataLayer=[];</script></head>
<body><header><div class="logo">Site {index % 50}</div><nav><ul>{navigation}</ul></nav></header>
<main><article><h1>{title}</h1><div class="byline">{author}</div>
{chr(10).join(paragraphs)}
</article><aside><h3>Related</h3><ul>{related}</ul></aside></main>
<footer><p>© 2024 Site {index % 50}. All rights reserved.</p></footer></body></html>"""
    return page.encode("utf-8")


PAGE_URL = "https://site.example/post/{}"


def trafilatura_only(body: bytes, url: str = "https://site.example/post") -> int:
    """trafilatura alone, with the options ``extract()`` uses; returns the text length."""
    import trafilatura

    document = trafilatura.bare_extraction(
        body, url=url, with_metadata=True, include_comments=False, include_tables=True, include_images=False
    )
    return len(document.text or "") if document is not None else 0


def extract_only(body: bytes, url: str = "https://site.example/post") -> int:
    from harvester.extract import extract

    return extract(body, url=url, content_type="text/html").word_count


def extract_and_summarize(body: bytes, url: str = "https://site.example/post") -> int:
    """What a fetch worker does per page."""
    from harvester.extract import extract
    from harvester.summarize import summarize

    extracted = extract(body, url=url, content_type="text/html")
    summary = summarize(extracted.text, language=extracted.language, fallback=extracted.description)
    return len(summary or "")


def _warm_worker() -> None:
    from harvester.extract import warm_up

    warm_up()


def pages_per_second(pages: Sequence[bytes], work: Callable[[bytes], object], *, workers: int = 1) -> float:
    """Throughput of ``work`` over ``pages``: a loop here for one worker, a
    process pool (warmed up before the clock starts) for more."""
    if workers <= 1:
        work(pages[0])  # imports and model loading are not per-page costs
        # CPU time, so other jobs sharing the machine do not skew one core's figure.
        start = time.process_time()
        for body in pages:
            work(body)
        return len(pages) / (time.process_time() - start)
    with ProcessPoolExecutor(max_workers=workers, initializer=_warm_worker) as pool:
        list(pool.map(work, pages[:workers], chunksize=1))
        start = time.perf_counter()
        list(pool.map(work, pages, chunksize=4))
        return len(pages) / (time.perf_counter() - start)


def _summary_only_rate(pages: Sequence[bytes]) -> float:
    from harvester.extract import extract
    from harvester.summarize import summarize

    extracted = [extract(body, url="https://site.example/post", content_type="text/html") for body in pages]
    summarize(extracted[0].text, language=extracted[0].language)
    start = time.process_time()
    for item in extracted:
        summarize(item.text, language=item.language, fallback=item.description)
    return len(pages) / (time.process_time() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--words", type=int, default=1200, help="article length in words")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()

    from harvester.extract import warm_up

    warm_up()
    pages = [make_article_page(i, words=args.words) for i in range(args.pages)]
    size_kb = sum(map(len, pages)) / len(pages) / 1024
    print(f"{args.pages} generated article pages, ~{args.words} words, {size_kb:.0f} KB each; {args.workers} workers")
    print()
    print(f"{'stage':<28} {'CPU ms/page':>17} {'pages/s (1 core)':>17} {f'pages/s ({args.workers} cores)':>18}")
    rows = [
        ("trafilatura alone", trafilatura_only),
        ("extract()", extract_only),
        ("extract() + summarize()", extract_and_summarize),
    ]
    for name, work in rows:
        single = pages_per_second(pages, work)
        parallel = pages_per_second(pages, work, workers=args.workers) if args.workers > 1 else single
        print(f"{name:<28} {1000 / single:>17.1f} {single:>17.1f} {parallel:>18.1f}")
    summary_rate = _summary_only_rate(pages)
    print(f"{'summarize() alone':<28} {1000 / summary_rate:>17.1f} {summary_rate:>17.1f} {'':>18}")


if __name__ == "__main__":
    main()
