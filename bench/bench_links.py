"""Benchmark ``harvester.links.find_links`` against the ``urlextract`` library.

Run from anywhere: ``python bench/bench_links.py [--mb 5] [--slice-kb 200]``.
Needs the ``bench`` extra (``pip install -e .[bench]``). Not part of the test suite.

* Speed: ~5 MB of seeds-like text (the bundled ``seeds/*.txt`` repeated), best
  of 3. ``urlextract`` is slow, so it runs on a smaller slice and its MB/s is
  measured there; ``find_links`` is also timed on that slice so the link counts
  compare like with like.
* Quality: a small labelled set (below) of Telegram-like snippets with the URLs
  a reader would want, traps included (``Open.AI``, ``node.js``, ``e.g.``,
  ``v1.2.3``, ``model.py``). Both tools are scored on precision and recall after
  a light normalisation (scheme added when missing, host lowercased, trailing
  ``/`` dropped).

No network: ``urlextract`` is pointed at an empty cache directory so it uses
the TLD list bundled with the package (it never downloads unless
``update()`` is called; a failure there is caught anyway).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
sys.path.insert(0, str(ROOT))

from harvester.links import find_links  # noqa: E402

# (text, the URLs a reader would want from it)
LABELLED: list[tuple[str, list[str]]] = [
    ("Open.AI выпустили новую модель, а Lindy.AI и Dealer.AI повторили", []),
    ("Фронт на node.js и vue.js, бэк на FastAPI", []),
    ("Many tricks, e.g. warmup, i.e. a schedule", []),
    ("Релиз v1.2.3 и torch==2.1.0 на Python 3.11.7", []),
    ("Код в model.py и train.py, конфиг в config.yaml", []),
    ("Цена 3.14159 за 1.2345 BTC, дата 12.05.2024", []),
    ("1.e4 e5 2.Nf3 Nc6 3.Bb5 ... 1/2-1/2", []),
    ("Пиши на team@example.com", []),
    ("Блог: https://t.me/asisakov_channel", ["https://t.me/asisakov_channel"]),
    ("Код: https://github.com/suno-ai/bark.", ["https://github.com/suno-ai/bark"]),
    (
        "(см. https://en.wikipedia.org/wiki/Transformer_(deep_learning))",
        ["https://en.wikipedia.org/wiki/Transformer_(deep_learning)"],
    ),
    ("https://github.com/mlabonne/llm-courseСмотрите, там всё", ["https://github.com/mlabonne/llm-course"]),
    ("🔥https://habr.com/ru/articles/318970🔥", ["https://habr.com/ru/articles/318970"]),
    ("[курс](https://github.com/mlabonne/llm-course)", ["https://github.com/mlabonne/llm-course"]),
    ("«https://huggingface.co/AiArtLab/waifu-2b»", ["https://huggingface.co/AiArtLab/waifu-2b"]),
    (
        "<https://docs.cohere.ai/docs/controlling-generation-with-top-k-top-p>",
        ["https://docs.cohere.ai/docs/controlling-generation-with-top-k-top-p"],
    ),
    ("blogpost: https://huggingface.co/blog/welcome-open...", ["https://huggingface.co/blog/welcome-open"]),
    ("https://ru.wikipedia.org/wiki/Трансформер_(модель)", ["https://ru.wikipedia.org/wiki/Трансформер_(модель)"]),
    (
        "Репо: github.com/karpathy/nanoGPT, сайт www.deeplearning.ai/courses",
        ["https://github.com/karpathy/nanoGPT", "https://www.deeplearning.ai/courses"],
    ),
    (
        "Статья arXiv:2401.12345v2 и arxiv 1706.03762",
        ["https://arxiv.org/abs/2401.12345v2", "https://arxiv.org/abs/1706.03762"],
    ),
    ("arXiv:hep-th/9901001", ["https://arxiv.org/abs/hep-th/9901001"]),
    ("doi:10.1145/3290605.3300857.", ["https://doi.org/10.1145/3290605.3300857"]),
    (
        "https://srcd.onlinelibrary.wiley.com/doi/10.1111/cdev.14129",
        ["https://srcd.onlinelibrary.wiley.com/doi/10.1111/cdev.14129"],
    ),
    (
        "https://www.youtube.com/watch?v=b3XogyyXgUs&feature=youtu.be",
        ["https://www.youtube.com/watch?v=b3XogyyXgUs&feature=youtu.be"],
    ),
    ("http://localhost:8000/docs — локальный сервер", []),
    (
        "Смотри x.com/karpathy/status/1 и youtu.be/b3XogyyXgUs!",
        ["https://x.com/karpathy/status/1", "https://youtu.be/b3XogyyXgUs"],
    ),
]


def seeds_text() -> str:
    paths = sorted(SEEDS.glob("*.txt"))
    if not paths:
        sys.exit(f"no seeds in {SEEDS}")
    return "\n".join(p.read_text(encoding="utf-8") for p in paths)


def build_corpus(megabytes: float) -> str:
    seed = seeds_text()
    target = int(megabytes * 1_000_000)
    copies = target // len(seed.encode("utf-8")) + 1
    return "\n".join([seed] * copies)


def utf8_slice(text: str, kilobytes: int) -> str:
    return text.encode("utf-8")[: kilobytes * 1000].decode("utf-8", errors="ignore")


def best_of(fn, arg, repeat: int = 3) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(arg)
        best = min(best, time.perf_counter() - start)
    return best, result


def make_urlextract(cache_dir: str):
    try:
        from urlextract import URLExtract
    except ImportError:
        return None
    try:
        return URLExtract(cache_dir=cache_dir)
    except Exception as exc:  # a network or cache problem: use the bundled list
        print(f"urlextract: {exc!r}; using the bundled TLD list", file=sys.stderr)
        return URLExtract()


def normalise(url: str) -> str:
    if "://" not in url[:10]:
        url = "https://" + url
    parts = urlsplit(url)
    rest = url[len(parts.scheme) + 3 + len(parts.netloc) :]
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{rest}".rstrip("/")


def score(extract) -> tuple[float, float, int, int, int]:
    """Micro-averaged precision and recall over ``LABELLED``: (p, r, tp, fp, fn)."""
    tp = fp = fn = 0
    for text, expected in LABELLED:
        want = {normalise(u) for u in expected}
        got = {normalise(u) for u in extract(text)}
        tp += len(want & got)
        fp += len(got - want)
        fn += len(want - got)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, tp, fp, fn


def mb(text: str) -> float:
    return len(text.encode("utf-8")) / 1e6


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=5.0, help="size of the corpus for find_links (MB)")
    parser.add_argument("--slice-kb", type=int, default=200, help="size of the slice for urlextract (KB)")
    args = parser.parse_args(argv)

    corpus = build_corpus(args.mb)
    piece = utf8_slice(corpus, args.slice_kb)
    posts = [p for p in corpus.split("\n\n") if p.strip()]

    ours_time, ours = best_of(find_links, corpus)
    ours_speed = mb(corpus) / ours_time
    piece_time, ours_piece = best_of(find_links, piece)
    posts_time, per_post = best_of(lambda ps: sum(len(find_links(p)) for p in ps), posts)

    rows = [
        (f"harvester.links.find_links ({mb(corpus):.1f} MB)", ours_speed, len(ours)),
        (f"harvester.links.find_links, per post ({len(posts)} posts)", mb(corpus) / posts_time, per_post),
        (f"harvester.links.find_links ({mb(piece) * 1000:.0f} KB slice)", mb(piece) / piece_time, len(ours_piece)),
    ]
    cache = tempfile.TemporaryDirectory(prefix="urlextract-")
    extractor = make_urlextract(cache.name)
    theirs_speed = None
    if extractor is not None:
        theirs_time, theirs = best_of(extractor.find_urls, piece)
        theirs_speed = mb(piece) / theirs_time
        rows.append((f"urlextract.URLExtract.find_urls ({mb(piece) * 1000:.0f} KB slice)", theirs_speed, len(theirs)))

    print("## Speed\n")
    print("| tool | MB/s | links found | ratio |")
    print("|---|---:|---:|---:|")
    for name, speed, count in rows:
        ratio = f"{speed / theirs_speed:.0f}x" if theirs_speed else "n/a"
        print(f"| {name} | {speed:.2f} | {count} | {ratio} |")

    print("\n## Quality on the labelled set\n")
    print(f"{len(LABELLED)} snippets, {sum(len(e) for _, e in LABELLED)} expected URLs.\n")
    print("| tool | precision | recall | TP | FP | FN |")
    print("|---|---:|---:|---:|---:|---:|")
    tools = [("harvester.links.find_links", lambda t: [link.url for link in find_links(t)])]
    if extractor is not None:
        tools.append(("urlextract", extractor.find_urls))
    for name, extract in tools:
        p, r, tp, fp, fn = score(extract)
        print(f"| {name} | {p:.2f} | {r:.2f} | {tp} | {fp} | {fn} |")
    if extractor is None:
        print("\n(urlextract is not installed: pip install -e .[bench])")
    try:
        import psutil

        print(f"\nRSS after the run: {psutil.Process().memory_info().rss / 1e6:.0f} MB")
    except ImportError:
        pass
    cache.cleanup()


if __name__ == "__main__":
    main()
