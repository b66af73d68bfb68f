"""Benchmark: `readinglist fetch` (fetch + extract + store) against its bound, on a local multi-host server.

    python bench/bench_fetch.py --urls 5000

A server process simulates HOSTS hosts (127.0.0.1 .. 127.0.0.HOSTS, one port)
answering every request after LATENCY seconds with realistic article pages
(generated: navigation, header, a 600-1500-word article, comments, footer).
The fetch stage runs on a fresh database of URLS items, in its own process,
with per-host limit 2, no per-host delay and robots.txt on (each host's
robots.txt is a 404).

The bound is min(network bound, CPU bound), as issue 3 defines it:

* network bound = hosts x per-host limit / latency (requests per second);
* CPU bound = trafilatura alone (``bare_extraction`` with the options
  harvester.extract passes) on the same pages across all cores, in a process
  pool that is handed the bodies as the fetch stage's pool is.

A second, looser reference is the whole extraction job alone (extract() and
summarize(): what each fetched page costs in a worker). A CPU account per
page says where a page's CPU goes in the fetch run: trafilatura, the rest of
the extraction job (charset, our parse, language, summary), the fetch process
(network, pickling, SQLite) and the simulated hosts, which share the same
cores here (a real crawl would not pay for them).

Side by side: a naive loop (GET one page, extract it, next) on a sample, and
peak RSS of the fetch process (and of its largest worker) at three URL counts
(urls/5, urls and 3 x urls: the last is past the fill of SQLite's page cache).
Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HOSTS = 50
LATENCY = 0.1
PER_HOST = 2
TEMPLATES = 400  # distinct article bodies; every URL gets its own title on one of them

WORDS_EN = (
    "model training data attention layer network gradient loss transformer token embedding benchmark dataset "
    "evaluation inference latency memory parameter optimizer learning rate batch sequence context retrieval "
    "agent reasoning alignment fine-tuning quantization distillation sparse dense mixture expert scaling law "
    "the a of to and in that is for with as on by this we it from be are our results show method approach"
).split()
WORDS_RU = (
    "модель обучение данные внимание слой сеть градиент потеря трансформер токен эмбеддинг бенчмарк датасет "
    "оценка вывод задержка память параметр оптимизатор скорость батч последовательность контекст поиск агент "
    "рассуждение выравнивание дообучение квантование дистилляция и в на что это мы с по для как из не результаты"
).split()


def _sentence(rng: random.Random, words: list[str]) -> str:
    chosen = [rng.choice(words) for _ in range(rng.randint(8, 22))]
    return chosen[0].capitalize() + " " + " ".join(chosen[1:]) + "."


def article_template(index: int) -> str:
    """A page like a blog or news article, with ``{title}`` to fill in."""
    rng = random.Random(index)
    words = WORDS_RU if index % 3 == 0 else WORDS_EN
    lang = "ru" if index % 3 == 0 else "en"
    paragraphs = []
    for _ in range(rng.randint(10, 25)):
        paragraphs.append("<p>" + " ".join(_sentence(rng, words) for _ in range(rng.randint(3, 6))) + "</p>")
        if rng.random() < 0.15:
            paragraphs.append(f"<h2>{_sentence(rng, words)[:-1]}</h2>")
        if rng.random() < 0.1:
            paragraphs.append("<pre><code>for step in range(steps):\n    loss = model(batch)\n    loss.backward()</code></pre>")
    nav = "".join(f"<li><a href='/section/{i}'>Section {i}</a></li>" for i in range(25))
    comments = "".join(f"<div class='comment'><b>user{i}</b><p>{_sentence(rng, words)}</p></div>" for i in range(rng.randint(3, 12)))
    related = "".join(f"<li><a href='/p/{rng.randint(0, 99999)}'>{_sentence(rng, words)[:-1]}</a></li>" for _ in range(10))
    author = f"{rng.choice(['Anna', 'Boris', 'Maria', 'John', 'Li', 'Sara'])} {rng.choice(['Ivanova', 'Smith', 'Chen', 'Petrov', 'Garcia'])}"
    date = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    return (
        f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'><title>{{title}} | ML Blog</title>"
        f"<meta name='description' content='{_sentence(rng, words)}'><meta name='author' content='{author}'>"
        f"<meta property='og:title' content='{{title}}'><meta property='og:site_name' content='ML Blog'>"
        f"<meta property='article:published_time' content='{date}T10:00:00Z'>"
        "<style>body{font-family:sans-serif} .nav li{display:inline}</style><script>var analytics = {};</script></head>"
        f"<body><header><div class='logo'>ML Blog</div><ul class='nav'>{nav}</ul></header>"
        f"<main><article><h1>{{title}}</h1><div class='byline'>By {author}, <time datetime='{date}'>{date}</time></div>"
        + "".join(paragraphs)
        + f"</article><aside><h3>Related</h3><ul>{related}</ul></aside><section class='comments'>{comments}</section></main>"
        "<footer><p>© 2024 ML Blog. All rights reserved.</p><a href='/privacy'>Privacy</a> <a href='/terms'>Terms</a></footer>"
        "</body></html>"
    )


def page(path_index: int, templates: list[str]) -> bytes:
    return templates[path_index % len(templates)].replace("{title}", f"Article number {path_index}").encode("utf-8")


# ---------------------------------------------------------------- the server (its own process)


def serve(port_queue, hosts: int, latency: float) -> None:
    templates = [article_template(i) for i in range(TEMPLATES)]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1].decode()
                await asyncio.sleep(latency)
                if path.startswith("/p/"):
                    body, status = page(int(path[3:]), templates), b"200 OK"
                    content_type = b"text/html; charset=utf-8"
                else:
                    body, status, content_type = b"not found", b"404 Not Found", b"text/plain"
                writer.write(
                    b"HTTP/1.1 " + status + b"\r\nContent-Type: " + content_type
                    + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        first = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
        port = first.sockets[0].getsockname()[1]
        servers = [first] + [await asyncio.start_server(handle, f"127.0.0.{h}", port, backlog=1024) for h in range(2, hosts + 1)]
        port_queue.put(port)
        await asyncio.gather(*(server.serve_forever() for server in servers))

    asyncio.run(main())


def urls_for(count: int, hosts: int, port: int) -> list[str]:
    return [f"http://127.0.0.{i % hosts + 1}:{port}/p/{i}" for i in range(count)]


# ---------------------------------------------------------------- one fetch run (its own process)


def run_one(count: int, port: int, hosts: int) -> None:
    """Fetch ``count`` URLs into a fresh database; print 'seconds ok main_rss_kb worker_rss_kb'."""
    from harvester.settings import Settings
    from readinglist import fetching
    from readinglist.db import item_id_for, open_db

    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "bench.db")
        db["items"].insert_all(
            (
                {"id": item_id_for(url), "url": url, "kind": "article", "domain": url.split("/")[2].split(":")[0],
                 "status": "unread", "added_at": "2024-01-01T00:00:00+00:00"}
                for url in urls_for(count, hosts, port)
            ),
            pk="id",
            batch_size=1000,
        )
        settings = Settings(allow_private=True, per_host=PER_HOST, per_host_delay=0.0, concurrency=hosts * PER_HOST)
        started = time.perf_counter()
        stats = fetching.run(db, settings, site_metadata=False)
        seconds = time.perf_counter() - started
        texts = db["texts"].count
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    print(seconds, stats.ok, texts, own.ru_maxrss, children.ru_maxrss,
          own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU of a running process so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured_run(count: int, port: int, hosts: int, server_pid: int) -> dict:
    server_before = process_cpu_seconds(server_pid)
    output = subprocess.run(
        [sys.executable, __file__, "--run-one", str(count), "--port", str(port), "--hosts", str(hosts)],
        capture_output=True, text=True, check=True, cwd=ROOT,
    ).stdout.split()
    seconds, ok, texts, main_rss, worker_rss = float(output[0]), int(output[1]), int(output[2]), int(output[3]), int(output[4])
    main_cpu, worker_cpu = float(output[5]), float(output[6])
    server_cpu = process_cpu_seconds(server_pid) - server_before
    return {"urls": count, "seconds": seconds, "ok": ok, "texts": texts, "rate": ok / seconds,
            "main_rss_mb": main_rss / 1024, "worker_rss_mb": worker_rss / 1024,
            "main_cpu_ms": 1000 * main_cpu / ok, "worker_cpu_ms": 1000 * worker_cpu / ok,
            "server_cpu_ms": 1000 * server_cpu / ok}


# ---------------------------------------------------------------- the bound and the naive loop


def _job(body: bytes, url: str) -> int:
    from readinglist.fetching import extract_page

    return extract_page(body, url, "text/html; charset=utf-8", "utf-8")["word_count"] or 0


def _trafilatura_only(body: bytes, url: str) -> int:
    """trafilatura alone, called as harvester.extract calls it (the bound issue 3 names)."""
    import trafilatura

    document = trafilatura.bare_extraction(
        body.decode("utf-8"), url=url, with_metadata=True, include_comments=False, include_tables=True,
        include_images=False, include_links=False, deduplicate=False,
    )
    return len((getattr(document, "text", None) or "").split())


def _extract_only(body: bytes, url: str) -> int:
    from harvester.extract import extract

    return extract(body, url=url, content_type="text/html; charset=utf-8", declared_charset="utf-8").word_count


def cpu_bound(sample: int, job) -> tuple[float, float]:
    """Pages per second of ``job`` alone over ``sample`` pages, all cores; and its CPU ms per page.

    The CPU per page is the cores' time per page at that rate (cores x wall /
    pages): the workers' own CPU counters would include their start-up
    (imports, the language model), which the timed part leaves out.
    """
    templates = [article_template(i) for i in range(TEMPLATES)]
    bodies = [page(i, templates) for i in range(sample)]
    import harvester.extract  # noqa: F401  (loaded before forking, as the fetch stage does)
    import harvester.summarize  # noqa: F401

    cores = os.cpu_count() or 1
    with ProcessPoolExecutor(cores) as pool:
        list(pool.map(job, bodies[:8], ["http://x/"] * 8))  # warm up every worker
        started = time.perf_counter()
        list(pool.map(job, bodies, ["http://example.org/p"] * len(bodies), chunksize=4))
        seconds = time.perf_counter() - started
    return len(bodies) / seconds, 1000 * cores * seconds / len(bodies)


def naive_loop(sample: int, port: int, hosts: int) -> float:
    """One request, then extract, then the next: pages per second."""
    import httpx

    from readinglist.fetching import extract_page

    urls = urls_for(sample, hosts, port)
    with httpx.Client() as client:
        started = time.perf_counter()
        for url in urls:
            response = client.get(url)
            extract_page(response.content, url, response.headers.get("content-type"), "utf-8")
        return sample / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--urls", type=int, default=5000)
    parser.add_argument("--hosts", type=int, default=HOSTS)
    parser.add_argument("--small", type=int, help="a smaller URL count for the memory comparison (default urls/5)")
    parser.add_argument("--large", type=int, help="a larger URL count for the memory comparison (default 3 x urls; 0: none)")
    parser.add_argument("--naive", type=int, default=60, help="pages for the naive loop")
    parser.add_argument("--cpu-sample", type=int, default=400, help="pages for the CPU bound")
    parser.add_argument("--run-one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_one:
        run_one(args.run_one, args.port, args.hosts)
        return

    ports = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve, args=(ports, args.hosts, LATENCY), daemon=True)
    server.start()
    port = ports.get(timeout=30)
    try:
        small = args.small or max(args.urls // 5, 100)
        print(f"server: {args.hosts} hosts on port {port}, {LATENCY * 1000:.0f} ms latency; {os.cpu_count()} cores", file=sys.stderr)
        cpu_trafilatura, trafilatura_ms = cpu_bound(args.cpu_sample, _trafilatura_only)
        cpu_job, job_ms = cpu_bound(args.cpu_sample, _job)
        cpu_extract, _ = cpu_bound(args.cpu_sample, _extract_only)
        network = args.hosts * PER_HOST / LATENCY
        print(f"CPU bound: {cpu_trafilatura:.1f} pages/s (trafilatura alone), {cpu_job:.1f} (extract+summarize),"
              f" {cpu_extract:.1f} (extract only)", file=sys.stderr)
        naive = naive_loop(args.naive, port, args.hosts)
        print(f"naive: {naive:.1f} pages/s", file=sys.stderr)
        large = 3 * args.urls if args.large is None else args.large
        runs = [measured_run(count, port, args.hosts, server.pid) for count in (small, args.urls)]
        # Past the SQLite page cache's fill (32 MiB): memory that still grows with the URLs would show here.
        larger = [measured_run(large, port, args.hosts, server.pid)] if large > args.urls else []
        for run in runs + larger:
            print(f"run {run}", file=sys.stderr)
    finally:
        server.terminate()
        server.join()

    big = runs[-1]
    bound = min(network, cpu_trafilatura)
    cores = os.cpu_count() or 1
    print(f"| measure | {small} URLs | {args.urls} URLs |")
    print("|---|---:|---:|")
    print(f"| fetch + extract + store, pages/s | {runs[0]['rate']:.1f} | {big['rate']:.1f} |")
    print(f"| wall time, s | {runs[0]['seconds']:.1f} | {big['seconds']:.1f} |")
    print(f"| pages ok / texts stored | {runs[0]['ok']} / {runs[0]['texts']} | {big['ok']} / {big['texts']} |")
    print(f"| peak RSS, fetch process, MB | {runs[0]['main_rss_mb']:.0f} | {big['main_rss_mb']:.0f} |")
    print(f"| peak RSS, largest extraction worker, MB | {runs[0]['worker_rss_mb']:.0f} | {big['worker_rss_mb']:.0f} |")
    print(f"| CPU per page, fetch process (network, DB), ms | {runs[0]['main_cpu_ms']:.1f} | {big['main_cpu_ms']:.1f} |")
    print(f"| CPU per page, extraction workers, ms | {runs[0]['worker_cpu_ms']:.1f} | {big['worker_cpu_ms']:.1f} |")
    print(f"| CPU per page, simulated hosts (the server), ms | {runs[0]['server_cpu_ms']:.1f} | {big['server_cpu_ms']:.1f} |")
    print()
    print("| bound | pages/s |")
    print("|---|---:|")
    print(f"| network: {args.hosts} hosts x {PER_HOST} per host / {LATENCY * 1000:.0f} ms | {network:.0f} |")
    print(f"| CPU: trafilatura alone, {cores} cores ({trafilatura_ms:.1f} ms of the cores per page) | {cpu_trafilatura:.1f} |")
    print(f"| CPU: extract + summarize alone, {cores} cores ({job_ms:.1f} ms of the cores per page) | {cpu_job:.1f} |")
    print(f"| CPU: extract alone, {cores} cores | {cpu_extract:.1f} |")
    print(f"| **fetch stage, % of bound (min of network, trafilatura alone)** | **{100 * big['rate'] / bound:.0f}%** |")
    print(f"| fetch stage, % of the extraction job alone (extract + summarize) | {100 * big['rate'] / min(network, cpu_job):.0f}% |")
    print(f"| naive loop (GET, extract, next; {args.naive} pages) | {naive:.1f} |")
    print(f"| **fetch stage / naive loop** | **{big['rate'] / naive:.1f}x** |")
    print()
    # Where a page's CPU goes in the fetch run, against what the machine had per page (cores x wall / pages).
    rest_of_job = max(0.0, big["worker_cpu_ms"] - trafilatura_ms)
    available = 1000 * cores / big["rate"]
    accounted = big["worker_cpu_ms"] + big["main_cpu_ms"] + big["server_cpu_ms"]
    print(f"| CPU per page in the {args.urls}-URL run | ms | share of the machine ({cores} cores x wall / pages) |")
    print("|---|---:|---:|")
    for label, value in (
        ("trafilatura (as measured alone)", trafilatura_ms),
        ("rest of the extraction job (charset, parse, language, summary)", rest_of_job),
        ("fetch process (network, pickling, SQLite)", big["main_cpu_ms"]),
        ("simulated hosts (the bench server, same cores)", big["server_cpu_ms"]),
        ("not accounted for (kernel, idle)", max(0.0, available - accounted)),
    ):
        print(f"| {label} | {value:.1f} | {100 * value / available:.0f}% |")
    print(f"| machine, per page | {available:.1f} | 100% |")
    print()
    print("| URLs | peak RSS, fetch process, MB | peak RSS, largest extraction worker, MB | pages/s |")
    print("|---:|---:|---:|---:|")
    for run in runs + larger:
        print(f"| {run['urls']} | {run['main_rss_mb']:.0f} | {run['worker_rss_mb']:.0f} | {run['rate']:.1f} |")
    load = os.getloadavg()[0]
    print(f"\nload average at the end: {load:.1f} on {os.cpu_count()} cores (other processes share the CPU bound)")


if __name__ == "__main__":
    main()
