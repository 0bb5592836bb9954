#!/usr/bin/env python3
"""Benchmark the exports on the city-size data set of bench_statistics.py, on SQLite and PostgreSQL.

Reports one enterprise's downloads (target < 500 ms) and the whole city's worker-level CSV
(target < 60 s) with the memory it took, through the real HTTP routes, and writes the results to
docs/benchmarks_stats.md.

Usage: python scripts/bench_exports.py [--db sqlite|postgres|both] [--rounds 9] [--city-xlsx]
"""
from __future__ import annotations

import argparse
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_statistics as bench  # noqa: E402


def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class PeakRss:
    """Sample the resident set every 20 ms while the block runs; report the growth over the start."""

    def __enter__(self) -> "PeakRss":
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


def logged_in(app, role: str):
    client = app.test_client()
    client.post("/auth/login", data={"username": f"bench_{role}", "password": bench.PASSWORD})
    return client


def bench_exports(app, rounds: int, city_xlsx: bool) -> list[tuple[str, str]]:
    results = []
    enterprise = logged_in(app, "enterprise")
    for kind, fmt in (("figures", "csv"), ("results", "csv"), ("results", "xlsx"), ("figures", "xlsx")):
        url = f"/console/exports/{kind}.{fmt}"
        ms = bench.median_ms(lambda: download(enterprise, url), rounds)
        results.append((f"one enterprise: {url}", f"{ms:.0f} ms"))
    city = logged_in(app, "city")
    if city_xlsx:  # lift the route's row limit to time what it guards against
        from exam_server.console import exports

        exports.XLSX_ROW_LIMIT = 10**7
    for url in ["/console/exports/results.csv", "/console/exports/figures.csv"] + (
            ["/console/exports/results.xlsx"] if city_xlsx else []):
        download(city, "/console/exports/figures.csv?enterprise=1")  # warm the route once
        with PeakRss() as memory:
            started = time.perf_counter()
            size, lines = download(city, url)
            seconds = time.perf_counter() - started
        results.append((f"whole city: {url}", f"{seconds:.1f} s, {lines - 1:,} rows, {size / 2**20:.0f} MiB, "
                                              f"peak RSS +{memory.growth_mib:.0f} MiB"))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--city-xlsx", action="store_true", help="also time the whole city's results as XLSX")
    parser.add_argument("--out", type=Path, default=bench.DOC)
    args = parser.parse_args()
    table: dict[str, dict[str, str]] = {}
    labels = []
    for label, url in bench.database_urls(args.db).items():
        app = bench.make_app(url)
        built = bench.ensure_city(app)
        print(f"{label}: data set {'reused' if built is None else f'built in {built:.0f} s'}", flush=True)
        labels.append(label)
        for name, value in bench_exports(app, args.rounds, args.city_xlsx):
            table.setdefault(name, {})[label] = value
            print(f"  {label:10} {name:48} {value}", flush=True)
    lines = ["## Exports (`scripts/bench_exports.py`)", "",
             f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {bench.benchdoc.machine()}; same data set as above "
             f"(the enterprise has about {bench.WORKERS // bench.ENTERPRISES} workers).",
             f"Through the real HTTP routes, reading the streamed body chunk by chunk; one enterprise: median of "
             f"{args.rounds}; whole city: one run, peak RSS growth sampled every 20 ms. "
             "Targets: one enterprise < 500 ms, whole-city worker-level CSV < 60 s.", "",
             "| Download | " + " | ".join(labels) + " |", "| --- | " + " | ".join("---" for _ in labels) + " |"]
    for name, values in table.items():
        lines.append(f"| {name} | " + " | ".join(values.get(label, "–") for label in labels) + " |")
    lines += ["", "Worker-level XLSX downloads are refused above 100,000 rows (`XLSX_ROW_LIMIT` in "
              "`exam_server/console/exports.py`): a workbook is complete before its first byte can leave, and the "
              "whole city's 310,000 rows took 254 s with openpyxl's write-only mode (memory flat, +5 MiB; SQLite, "
              "2026-11-29, `--city-xlsx` times it again), long enough for a proxy to give up. The city downloads CSV."]
    bench.write_section(args.out, "bench_exports", "\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
