"""Run every benchmark in bench/ and print one combined Markdown table.

    python -m bench [--quick] [--repeat N] [--only NAME ...] [--out FILE]
    python bench/run.py --quick

Each benchmark script runs in its own process (the full profile uses each
script's own default sizes: a 1 GB export, 1,000,000 queue items, 5,000
fetched pages, ...; ``--quick`` uses small sizes and finishes in a few
minutes). Its Markdown output is kept in ``bench/out/run/<name>.md`` (stderr
in ``<name>.log``), parsed, and summarised as one row per figure: what was
measured, our figure, the peer or bound measured on the same input in the
same run (or the goal), and the ratio. With ``--repeat N`` every script runs
N times and each figure is the median of the N runs; the scripts take
medians (or best-of) of their own repeated measurements inside a run too.
The machine (CPU, cores, RAM, load, Python, SQLite) heads the table.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"


@dataclass(frozen=True)
class Benchmark:
    name: str
    script: str
    what: str  # what it measures, for the progress line
    full: tuple[str, ...]
    quick: tuple[str, ...]


BENCHMARKS = (
    Benchmark("links", "bench_links.py", "link finding vs urlextract", (), ("--mb", "1", "--slice-kb", "50")),
    Benchmark("harvest", "bench_harvest_json.py", "harvesting a generated Telegram JSON export", (), ("--size", "20MB")),
    Benchmark("extract", "bench_extract.py", "extraction vs trafilatura alone", (), ("--pages", "30")),
    Benchmark(
        "fetch", "bench_fetch.py", "fetch + extract on a local multi-host server", (),
        ("--urls", "300", "--small", "100", "--naive", "20", "--cpu-sample", "60"),
    ),
    Benchmark(
        "queue", "bench_queue.py", "queue operations on a generated list", (),
        ("--items", "20000", "--mentions", "60000", "--db", str(OUT / "queue_quick.db")),
    ),
    Benchmark(
        "datasette", "bench_datasette.py", "Datasette pages on a generated list", (),
        ("--items", "20000", "--mentions", "60000", "--db", str(OUT / "datasette_quick.db"),
         "--source", str(OUT / "queue_quick.db"), "--runs", "3"),
    ),
    Benchmark("export", "bench_export.py", "exports in every format", (), ("--items", "2000", "--db", str(OUT / "export_quick.db"))),
)


@dataclass
class Figure:
    """One measured figure, with what it is compared against and how the ratio reads."""

    what: str
    ours: float | None
    unit: str
    peer_label: str = "–"
    peer: float | None = None
    # faster: ours / peer (a rate); faster_time: peer / ours (a time); of_bound: ours / peer in %; of_goal: the same, lower is better;
    # growth: ours / peer as a factor (how much a figure grew with the input)
    ratio: str | None = None
    digits: int = 1


# ---------------------------------------------------------------- parsing the scripts' output


def markdown_tables(text: str) -> list[list[dict[str, str]]]:
    """Every Markdown table in ``text`` as a list of rows, each a dict by header (cells stripped of ** and `)."""
    tables, lines = [], text.splitlines()
    index = 0
    while index < len(lines):
        if lines[index].lstrip().startswith("|") and index + 1 < len(lines) and re.match(r"^\s*\|[\s:|-]+\|\s*$", lines[index + 1]):
            header = _cells(lines[index])
            rows = []
            index += 2
            while index < len(lines) and lines[index].lstrip().startswith("|"):
                cells = _cells(lines[index])
                rows.append(dict(zip(header, cells + [""] * (len(header) - len(cells)))))
                index += 1
            tables.append(rows)
        else:
            index += 1
    return tables


def _cells(line: str) -> list[str]:
    return [cell.strip().replace("**", "") for cell in line.strip().strip("|").split("|")]


def number(text: str | None) -> float | None:
    """The first number in a cell ('1,234.5', '59%', '4.1x', '3.2 MB'), or None ('–', '')."""
    if not text:
        return None
    match = re.search(r"-?\d[\d,]*(?:\.\d+)?", text)
    return float(match.group(0).replace(",", "")) if match else None


def find_row(rows: list[dict], prefix: str) -> dict | None:
    for row in rows:
        if next(iter(row.values()), "").strip("`").startswith(prefix):
            return row
    return None


def column(rows_or_row, name: str):
    """A column of a row by (the start of) its header name."""
    for key, value in rows_or_row.items():
        if key.lower().startswith(name.lower()):
            return value
    raise KeyError(name)


def first_cell(row: dict) -> str:
    return next(iter(row.values()))


def parse_links(text: str) -> list[Figure]:
    speed, quality = markdown_tables(text)[:2]
    figures = []
    slice_rows = [row for row in speed if "slice" in first_cell(row)]
    ours_slice = next(row for row in slice_rows if first_cell(row).startswith("harvester"))
    theirs = next((row for row in slice_rows if first_cell(row).startswith("urlextract")), None)
    size = re.search(r"\(([^)]*)\)", first_cell(ours_slice)).group(1)
    figures.append(Figure(f"link finding, MB/s ({size})", number(column(ours_slice, "MB/s")), "MB/s",
                          "urlextract" if theirs else "urlextract not installed",
                          number(column(theirs, "MB/s")) if theirs else None, "faster", 2))
    whole = speed[0]
    figures.append(Figure(f"link finding, MB/s ({re.search(r'[(]([^)]*)[)]', first_cell(whole)).group(1)} corpus)",
                          number(column(whole, "MB/s")), "MB/s", digits=1))
    ours_q = find_row(quality, "harvester")
    theirs_q = find_row(quality, "urlextract")
    for measure in ("precision", "recall"):
        figures.append(Figure(f"link finding, {measure} (labelled set)", number(column(ours_q, measure)), "",
                              "urlextract" if theirs_q else "–", number(column(theirs_q, measure)) if theirs_q else None,
                              "faster", 2))
    return figures


def parse_harvest(text: str) -> list[Figure]:
    rows = markdown_tables(text)[0]
    parser = find_row(rows, "parser only")
    harvest = find_row(rows, "readinglist harvest")
    figures = []
    goal = number(next(key for key in rows[0] if key.startswith("goal")))
    for row, label in ((parser, "JSON export parsing"), (harvest, "`readinglist harvest`")):
        if row is None:
            continue
        size = f"{number(column(row, 'size MB')):.0f} MB export"
        rate = number(column(row, "MB/s"))
        if row is harvest and parser is not None:
            figures.append(Figure(f"{label}, MB/s ({size})", rate, "MB/s", "parser alone (the bound)",
                                  number(column(parser, "MB/s")), "of_bound"))
        else:
            figures.append(Figure(f"{label}, MB/s ({size})", rate, "MB/s"))
        figures.append(Figure(f"{label}, peak RSS ({size})", number(column(row, "peak RSS")), "MB", f"goal ≤ {goal:.0f} MB", goal,
                              "of_goal", 0))
    return figures


def parse_fetch(text: str) -> list[Figure]:
    runs, bounds = markdown_tables(text)[:2]
    urls = list(runs[0].keys())[-1]
    rate_row = find_row(runs, "fetch + extract + store")
    ours = number(rate_row[urls])
    network = number(column(find_row(bounds, "network"), "pages/s"))
    trafilatura = number(column(find_row(bounds, "CPU: trafilatura alone"), "pages/s"))
    job = number(column(find_row(bounds, "CPU: extract + summarize"), "pages/s"))
    naive = number(column(find_row(bounds, "naive loop"), "pages/s"))
    label = f"fetch + extract + store, pages/s ({urls})"
    return [
        Figure(label, ours, "pages/s", "bound: min(network, CPU of trafilatura alone)", min(network, trafilatura), "of_bound"),
        Figure(label, ours, "pages/s", "min(network, CPU of our extraction job alone: extract + summarize)",
               min(network, job), "of_bound"),
        Figure(label, ours, "pages/s", "naive loop (GET, extract, next)", naive, "faster"),
        Figure(f"fetch: peak RSS of the fetch process ({urls})", number(find_row(runs, "peak RSS, fetch process")[urls]), "MB",
               digits=0),
    ] + _fetch_memory(text, urls)


def _fetch_memory(text: str, urls: str) -> list[Figure]:
    """The fetch process's peak RSS at the largest URL count, against its RSS at ``urls``."""
    tables = markdown_tables(text)
    memory = next((t for t in tables if t and "URLs" in t[0] and "peak RSS, fetch process, MB" in t[0]), None)
    if not memory or len(memory) < 2:
        return []
    by_count = {int(number(row["URLs"])): number(row["peak RSS, fetch process, MB"]) for row in memory}
    largest, headline = max(by_count), int(number(urls))
    if largest <= headline or headline not in by_count:
        return []
    return [Figure(f"fetch: peak RSS of the fetch process ({largest} URLs: {largest / headline:g}× the URLs)",
                   by_count[largest], "MB", f"at {headline} URLs", by_count[headline], "growth", 0)]


def parse_queue(text: str) -> list[Figure]:
    figures = []
    size = re.search(r"(\d[\d,]*) items, (\d[\d,]*) mentions", text)
    where = f" at {size.group(1)} items" if size else ""
    for row in markdown_tables(text)[0]:
        goal = number(column(row, "goal"))
        label = first_cell(row)
        figures.append(Figure(f"queue{where}: {label}", number(column(row, "median ms")), "ms",
                              f"goal ≤ {goal:g} ms" if goal else "–", goal, "of_goal" if goal else None))
    return figures


def parse_datasette(text: str) -> list[Figure]:
    rows = markdown_tables(text)[0]
    size = re.search(r"(\d[\d,]*) items", text)
    where = f" at {size.group(1)} items" if size else ""
    figures = []
    # "<page>, without <what>" rows measure <page> with an index dropped: (the what, its median).
    without = {
        first_cell(row).split(", without ")[0]: ("without " + first_cell(row).split(", without ", 1)[1],
                                                 number(column(row, "median ms")))
        for row in rows if ", without " in first_cell(row)
    }
    for row in rows:
        label = first_cell(row)
        if ", without " in label:
            continue
        ms = number(column(row, "median ms"))
        goal = number(column(row, "goal"))
        note = column(row, "notes")
        what = f"Datasette{where}: {label}" + (f" ({note})" if note else "")
        if label in without:
            peer_label, peer_ms = without[label]
            figures.append(Figure(what, ms, "ms", peer_label, peer_ms, "faster_time", 0))
        else:
            figures.append(Figure(what, ms, "ms", f"goal ≤ {goal:g} ms" if goal else "–", goal, "of_goal" if goal else None, 0))
    return figures


def parse_export(text: str) -> list[Figure]:
    count = re.search(r"^(\d+) items", text, re.M)
    where = f"{int(count.group(1)):,} items" if count else "items"
    figures = []
    for row in markdown_tables(text)[0]:
        label = first_cell(row)
        output = column(row, "output")
        figures.append(Figure(f"export {where}: {label}" + (f" ({output})" if output else ""), number(column(row, "time")), "s",
                              digits=3))
    return figures


def parse_extract(text: str) -> list[Figure]:
    """bench_extract prints a fixed-width table, not Markdown: name, CPU ms/page, pages/s 1 core, pages/s N cores."""
    rows = {}
    for line in text.splitlines():
        match = re.match(r"^(\S.*?)\s{2,}([\d.]+)\s+([\d.]+)(?:\s+([\d.]+))?\s*$", line)
        if match:
            rows[match.group(1)] = [float(value) if value else None for value in match.groups()[1:]]
    cores = re.search(r"pages/s \((\d+) cores\)", text)
    peer = rows["trafilatura alone"]
    ours = rows["extract() + summarize()"]
    plain = rows["extract()"]
    return [
        Figure(f"extract() + summarize(), pages/s ({cores.group(1) if cores else 'all'} cores)", ours[2], "pages/s",
               "trafilatura alone (same pages)", peer[2], "faster"),
        Figure("extract(), CPU ms per page", plain[0], "ms", "trafilatura alone", peer[0], "faster_time"),
    ]


PARSERS: dict[str, Callable[[str], list[Figure]]] = {
    "links": parse_links,
    "harvest": parse_harvest,
    "extract": parse_extract,
    "fetch": parse_fetch,
    "queue": parse_queue,
    "datasette": parse_datasette,
    "export": parse_export,
}


# ---------------------------------------------------------------- running


def run_script(benchmark: Benchmark, args: tuple[str, ...], log_dir: Path, attempt: int) -> tuple[str, float, int]:
    """Run one script; its stdout, wall seconds and exit status. stdout and stderr are kept in ``log_dir``."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    command = [sys.executable, str(BENCH / benchmark.script), *args]
    suffix = f".{attempt}" if attempt else ""
    with open(log_dir / f"{benchmark.name}{suffix}.log", "w") as stderr:
        started = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)
        seconds = time.perf_counter() - started
    (log_dir / f"{benchmark.name}{suffix}.md").write_text(done.stdout, encoding="utf-8")
    return done.stdout, seconds, done.returncode


def median_figures(runs: list[list[Figure]]) -> list[Figure]:
    """Figures with the same label across runs, their values replaced by the medians."""
    merged: dict[tuple[str, str], list[Figure]] = {}
    for figures in runs:
        for figure in figures:
            merged.setdefault((figure.what, figure.peer_label), []).append(figure)
    result = []
    for same in merged.values():
        first = same[0]
        ours = [f.ours for f in same if f.ours is not None]
        peers = [f.peer for f in same if f.peer is not None]
        result.append(Figure(first.what, statistics.median(ours) if ours else None, first.unit, first.peer_label,
                             statistics.median(peers) if peers else None, first.ratio, first.digits))
    return result


# ---------------------------------------------------------------- the report


def machine() -> dict[str, str]:
    info = {"machine": platform.machine(), "system": f"{platform.system()} {platform.release()}"}
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
        info["CPU"] = model.group(1).strip() if model else platform.processor() or "unknown"
    except OSError:
        info["CPU"] = platform.processor() or "unknown"
    info["cores"] = str(os.cpu_count())
    try:
        kib = int(re.search(r"^MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text(), re.M).group(1))
        info["RAM"] = f"{kib / 2**20:.1f} GiB"
    except (OSError, AttributeError):
        info["RAM"] = "unknown"
    info["Python"] = platform.python_version()
    info["SQLite"] = sqlite3.sqlite_version
    return info


def fmt(value: float | None, digits: int, unit: str) -> str:
    if value is None:
        return "–"
    text = f"{value:,.{digits}f}"
    return f"{text} {unit}".strip()


def ratio_text(figure: Figure) -> str:
    if figure.ratio is None or figure.ours is None or not figure.peer:
        return "–"
    if figure.ratio == "faster":
        value = figure.ours / figure.peer
    elif figure.ratio == "faster_time":
        value = figure.peer / figure.ours if figure.ours else float("inf")
    elif figure.ratio == "growth":
        return f"{figure.ours / figure.peer:.2f}×"
    else:
        percent = 100 * figure.ours / figure.peer
        return f"{percent:.0f}% of {'bound' if figure.ratio == 'of_bound' else 'goal'}"
    return f"{value:.1f}×" if value < 100 else f"{value:,.0f}×"


def table(results: list[tuple[Benchmark, list[Figure], str]]) -> str:
    lines = [
        "| benchmark | what | ours | peer, bound or goal (same input, same run) | ratio |",
        "|---|---|---:|---|---:|",
    ]
    for benchmark, figures, problem in results:
        if problem:
            lines.append(f"| {benchmark.name} | {benchmark.what} | – | {problem} | – |")
        for figure in figures:
            peer = figure.peer_label if figure.peer is None or figure.ratio == "of_goal" else (
                f"{figure.peer_label}: {fmt(figure.peer, figure.digits, figure.unit)}"
            )
            lines.append(f"| {benchmark.name} | {figure.what} | {fmt(figure.ours, figure.digits, figure.unit)} | {peer} | {ratio_text(figure)} |")
    return "\n".join(lines)


def positive_int(text: str) -> int:
    """An argparse type: 0 runs would otherwise mean the default of 3 (hours at full size)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text}: not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text}: must be 1 or more")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a few minutes instead of hours")
    parser.add_argument("--repeat", type=positive_int, help="runs of each script; figures are medians (default 3, --quick 1)")
    parser.add_argument("--only", action="append", choices=[b.name for b in BENCHMARKS], metavar="NAME",
                        help=f"run only this benchmark (repeatable): {', '.join(b.name for b in BENCHMARKS)}")
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    args = parser.parse_args(argv)
    repeat = args.repeat or (1 if args.quick else 3)
    chosen = [b for b in BENCHMARKS if not args.only or b.name in args.only]
    log_dir = OUT / "run"
    log_dir.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    results = []
    for benchmark in chosen:
        options = benchmark.quick if args.quick else benchmark.full
        runs, problem = [], ""
        for attempt in range(repeat):
            print(f"[{benchmark.name}] {benchmark.what}: {benchmark.script} {' '.join(options)} (run {attempt + 1}/{repeat})",
                  file=sys.stderr, flush=True)
            stdout, seconds, status = run_script(benchmark, options, log_dir, attempt)
            print(f"[{benchmark.name}] done in {seconds:.0f} s" + (f", exit status {status}" if status else ""), file=sys.stderr)
            try:
                runs.append(PARSERS[benchmark.name](stdout))
            except (IndexError, KeyError, StopIteration, AttributeError, TypeError, ValueError) as error:
                problem = f"could not read its output ({type(error).__name__}: {error}); see bench/out/run/{benchmark.name}.md/.log"
            if status and not problem:
                problem = f"exit status {status} (a goal missed or a failure; see bench/out/run/{benchmark.name}.log)"
        results.append((benchmark, median_figures(runs) if runs else [], problem))

    info = machine()
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    profile = "quick" if args.quick else "full"
    report = "\n".join([
        f"Machine: {info['CPU']}, {info['cores']} cores, {info['RAM']} RAM; {info['system']} {info['machine']};"
        f" Python {info['Python']}, SQLite {info['SQLite']}.",
        f"Profile: {profile}; {when}; {time.perf_counter() - started:.0f} s;"
        f" load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after.",
        f"Each figure is the median of {repeat} run{'s' if repeat > 1 else ''} of its script"
        " (inside a run: queries and pages are medians of 3-5 requests, exports of 3 writes, link finding the best of 3).",
        "Ratio: against a peer, how many times faster (or better) we are (peer time ÷ ours, or our rate ÷ the peer's);"
        " against a bound, our share of it (100% = the bound); against a goal, our share of it (≤ 100% meets it).",
        "",
        table(results),
        "",
        f"Reproduce: `python -m bench{' --quick' if args.quick else ''}{f' --repeat {repeat}' if args.repeat else ''}`"
        "; each script's own table is in bench/out/run/.",
    ])
    print(report)
    if args.out:
        args.out.write_text(report + "\n", encoding="utf-8")
    return 1 if any(problem for _, _, problem in results) else 0


if __name__ == "__main__":
    sys.exit(main())
