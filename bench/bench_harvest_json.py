"""Benchmark harvesting a big Telegram JSON export: wall time and peak memory.

    python bench/bench_harvest_json.py [--size 1GB] [--size 200MB ...] [--no-cli] [--no-parser]

For each size, generates (or reuses) ``bench/out/telegram_<size>.json`` with
``gen_telegram_json.py``, then measures, each in a fresh subprocess:

* ``parser``: iterating ``harvester.sources.telegram_json.parse`` over the file;
* ``harvest``: ``readinglist harvest FILE --db bench/out/bench.db --quiet``
  (the installed script, else ``python -m readinglist.cli``), on a fresh database.

Peak RSS is the child's ``ru_maxrss`` from ``os.wait4``. Prints a Markdown
table; the goal is a flat peak RSS of at most 300 MB whatever the file size.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
RSS_GOAL_MB = 300

sys.path.insert(0, str(BENCH))
import gen_telegram_json  # noqa: E402

PARSER_SNIPPET = """
import sys
from harvester.sources.telegram_json import parse
posts = anchors = 0
with open(sys.argv[1], "rb") as stream:
    for post in parse(stream, sys.argv[1]):
        posts += 1
        anchors += len(post.anchors)
print(f"{posts} posts, {anchors} anchors")
"""


def label(size: int) -> str:
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= factor and size % factor == 0:
            return f"{size // factor}{unit}"
    return f"{size}B"


def ensure_export(size: int, seed: int) -> Path:
    path = OUT / f"telegram_{label(size)}_seed{seed}.json"
    if path.exists() and path.stat().st_size >= size:
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.part")
    started = time.perf_counter()
    with open(partial, "wb", buffering=1024 * 1024) as out:
        gen_telegram_json.generate(out, size, seed)
    partial.replace(path)
    print(f"generated {path.relative_to(ROOT)} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return path


def measure(command: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MB and stdout of ``command`` run from the project root."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=stdout, stderr=stderr)
        # Reap the child ourselves: wait4 gives this child's own resource usage.
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        stdout.seek(0)
        stderr.seek(0)
        out, err = stdout.read().decode(errors="replace"), stderr.read().decode(errors="replace")
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}):\n{err[-2000:]}")
    return seconds, usage.ru_maxrss / 1024, out.strip()


def harvest_command(path: Path, db: Path) -> list[str]:
    script = shutil.which("readinglist")
    base = [script] if script else [sys.executable, "-m", "readinglist.cli"]
    return base + ["harvest", str(path), "--db", str(db), "--quiet"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=gen_telegram_json.parse_size, action="append",
                        help="export size, e.g. 200MB or 1GB; repeat to compare sizes (default 1GB)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-cli", action="store_true", help="skip `readinglist harvest`")
    parser.add_argument("--no-parser", action="store_true", help="skip the parser-only run")
    args = parser.parse_args(argv)
    sizes = args.size or [gen_telegram_json.parse_size("1GB")]

    rows = []
    for size in sizes:
        path = ensure_export(size, args.seed)
        megabytes = path.stat().st_size / 2**20
        runs = []
        if not args.no_parser:
            runs.append(("parser only (telegram_json.parse)", [sys.executable, "-c", PARSER_SNIPPET, str(path)]))
        if not args.no_cli:
            db = OUT / "bench.db"
            for leftover in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
                leftover.unlink(missing_ok=True)
            runs.append(("readinglist harvest", harvest_command(path, db)))
        for what, command in runs:
            try:
                seconds, rss, output = measure(command)
            except (RuntimeError, OSError) as error:
                print(f"{what}: {error}", file=sys.stderr)
                rows.append((what, megabytes, None, None, None, "failed"))
                continue
            if output:
                print(f"{what} on {path.name}: {output.splitlines()[-1]}", file=sys.stderr)
            goal = "ok" if rss <= RSS_GOAL_MB else "OVER"
            rows.append((what, megabytes, seconds, megabytes / seconds, rss, goal))

    print(f"| what | size MB | seconds | MB/s | peak RSS MB | goal (≤ {RSS_GOAL_MB} MB RSS) |")
    print("|---|---:|---:|---:|---:|---|")
    for what, megabytes, seconds, rate, rss, goal in rows:
        if seconds is None:
            print(f"| {what} | {megabytes:.0f} | – | – | – | {goal} |")
        else:
            print(f"| {what} | {megabytes:.0f} | {seconds:.1f} | {rate:.1f} | {rss:.0f} | {goal} |")
    return 1 if any(row[5] != "ok" for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
