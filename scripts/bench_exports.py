#!/usr/bin/env python3
"""Benchmark the exports on the generated city (scripts/bench_city.py), on SQLite and PostgreSQL.

Reports the largest and a median enterprise's downloads (target < 500 ms) and the whole city's
worker-level CSV (target < 60 s, memory flat) with the memory it took, through the real HTTP routes,
and writes the results to docs/benchmarks_stats.md.

Usage: python scripts/bench_exports.py [--db sqlite|postgres|both] [--rounds 9] [--city-xlsx] [--rebuild]
                                       [--scale city|tiny] [--seed N] [--anchor YYYY-MM-DD]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from datetime import date
from pathlib import Path

import bench_city as city
import bench_statistics as bench
import benchdoc
from bench_common import stamp, write_section


def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class PeakRss:
    """Sample the resident set every 20 ms while the block runs; report the growth over the start."""

    def __enter__(self) -> PeakRss:
        self.start = self.peak = rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_bytes())

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())

    @property
    def growth_mib(self) -> float:
        return (self.peak - self.start) / 2**20


def download(client, url: str) -> tuple[int, int]:
    """Read a streamed download chunk by chunk, as a browser does; return (bytes, lines)."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    size = lines = 0
    for chunk in response.response:
        size += len(chunk)
        lines += chunk.count(b"\n")
    response.close()
    return size, lines


def bench_exports(app, places, rounds: int, city_xlsx: bool) -> list[tuple[str, str]]:
    """Time the largest and a median enterprise's downloads, then the whole city's in one run each."""
    results = []
    for role in ("enterprise", "median_enterprise"):
        client = city.logged_in(app, role)
        for kind, fmt in (("figures", "csv"), ("results", "csv"), ("results", "xlsx"), ("figures", "xlsx")):
            url = f"/console/exports/{kind}.{fmt}"
            ms = bench.median_ms(lambda client=client, url=url: download(client, url), rounds)
            results.append((f"{role.replace('_', ' ')}: {url}", f"{ms:.0f} ms"))
    if city_xlsx:  # lift the route's row limit to time what it guards against
        from exam_server.console import exports

        exports.XLSX_ROW_LIMIT = 10**7
    # The largest county's rows beside the whole city's show whether memory grows with the row count.
    streamed = [
        ("largest county", "county", "/console/exports/results.csv"),
        ("whole city", "city", "/console/exports/results.csv"),
        ("whole city", "city", "/console/exports/figures.csv"),
    ]
    streamed += [("whole city", "city", "/console/exports/results.xlsx")] if city_xlsx else []
    for where, role, url in streamed:
        client = city.logged_in(app, role)
        download(client, f"/console/exports/figures.csv?county={places.county}")  # warm the route and session
        with PeakRss() as memory:
            started = time.perf_counter()
            size, lines = download(client, url)
            seconds = time.perf_counter() - started
        rows = f"{lines - 1:,} rows, " if url.endswith(".csv") else ""  # a workbook is zipped: no lines to count
        results.append(
            (f"{where}: {url}", f"{seconds:.1f} s, {rows}{size / 2**20:.0f} MiB, peak RSS +{memory.growth_mib:.1f} MiB")
        )
    return results


def section(args, runs: dict, machine_line: str) -> str:
    """Return the Markdown section: the data, the places, a table per download and database."""
    labels = list(runs)
    places = next(iter(runs.values()))["places"]
    lines = [
        "## Exports (`scripts/bench_exports.py`)",
        "",
        f"Run {stamp()} with `python scripts/bench_exports.py {bench.command_args(args)}"
        f"{' --city-xlsx' if args.city_xlsx else ''}` on {machine_line}.",
        "",
    ]
    for label, run in runs.items():
        lines.append(f"- {label} data: {city.describe(run['marker'])}; load average after the run {run['load']}.")
    lines += [
        "",
        f"Enterprise: the largest, {places.name('enterprise')}; median enterprise: "
        f"{places.name('median_enterprise')}; largest county: {places.name('county')}.",
        f"Through the real HTTP routes, reading the streamed body chunk by chunk; one enterprise: median of "
        f"{args.rounds} after one warm-up; whole city: one run, peak RSS growth sampled every 20 ms. "
        "Targets: one enterprise < 500 ms, whole-city worker-level CSV < 60 s with memory that does not grow "
        "with the row count.",
        "",
        "| Download | " + " | ".join(labels) + " |",
        "| --- | " + " | ".join("---" for _ in labels) + " |",
    ]
    names = list(dict.fromkeys(name for run in runs.values() for name, _ in run["exports"]))
    for name in names:
        lines.append(f"| {name} | " + " | ".join(dict(run["exports"]).get(name, "–") for run in runs.values()) + " |")
    lines += [
        "",
        "XLSX is written row by row by `exam_server/services/reporting/xlsx_writer.py` (inline strings, no "
        "shared-string table), not openpyxl, which spent about 20 µs a cell. Worker-level XLSX downloads are "
        "still refused above 100,000 rows (`XLSX_ROW_LIMIT` in `exam_server/console/exports.py`): a workbook "
        "is complete before its first byte can leave, so the browser waits in silence for all of it "
        "(`--city-xlsx` lifts the limit and times the whole city's). The city downloads CSV.",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--city-xlsx", action="store_true", help="also time the whole city's results as XLSX")
    parser.add_argument("--rebuild", action="store_true", help="regenerate the city even if it can be reused")
    parser.add_argument("--scale", choices=("city", "tiny"), default="city")
    parser.add_argument("--seed", type=int, help="generator seed (default the scale's)")
    parser.add_argument("--anchor", type=date.fromisoformat, help="generator anchor (default: today, or reuse any)")
    parser.add_argument("--out", type=Path, default=bench.DOC)
    args = parser.parse_args(argv)
    runs = {}
    targets = city.targets(args.db, args.scale)
    machine_line = bench.machine(targets)
    for target in targets:
        with city.prepared(target, args.scale, args.seed, args.anchor, args.rebuild) as (app, marker, places, _):
            print(f"{target.label}: {city.describe(marker)}", flush=True)
            exports = bench_exports(app, places, args.rounds, args.city_xlsx)
        for name, value in exports:
            print(f"  {target.label:10} {name:58} {value}", flush=True)
        runs[target.label] = {"marker": marker, "places": places, "exports": exports, "load": city.load_average()}
    write_section("bench_exports", section(args, runs, machine_line), args.out)
    if args.out.parent == benchdoc.DOCS:
        benchdoc.rebuild()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
