#!/usr/bin/env python3
"""Rebuild docs/benchmarks.md from the per-area result files the bench_*.py scripts write.

Each benchmark script writes its own docs/benchmarks_<area>.md (machine, date, medians, ratios)
and then calls rebuild(), so docs/benchmarks.md always holds every latest result in one place.
"""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"
TARGET = DOCS / "benchmarks.md"
# Reading order: foundation libraries first, then the face engine, the kiosk, and city scale.
ORDER = ("question_bank", "face", "face_models", "kiosk", "stats", "scale", "jobs")
HEADER = """# Benchmarks

Every figure below was written by a script in `scripts/` that anyone can rerun from a clean
checkout (after `scripts/bootstrap.sh --test`); each section names its command, the machine and
the date. Comparisons are measured against their baseline in the same run and quoted as ratios.
This file is rebuilt from `docs/benchmarks_<area>.md` by `python scripts/benchdoc.py`, which
every benchmark script runs when it finishes.
"""


def replace_section(doc: Path, begin: str, end: str, text: str, append: bool = False) -> None:
    """Put `text` (markers included) in place of the section between `begin` and `end` of a document.

    append: add it at the end when the document has no such section yet (else that is an error).
    """
    content = doc.read_text(encoding="utf-8")
    if begin in content:
        content = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: text, content, flags=re.S)
    elif append:
        content += "\n" + text + "\n"
    else:
        raise SystemExit(f"{doc} has no {begin} … {end} section to replace")
    doc.write_text(content, encoding="utf-8")


def machine(*extras: str) -> str:
    """Describe the CPU, cores, memory, OS, Python and load, plus any library versions given."""
    cpu = platform.processor() or platform.machine()
    memory = ""
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
        memory = f", {int(Path('/proc/meminfo').read_text().split()[1]) / 1024 / 1024:.0f} GiB RAM"
    except (OSError, StopIteration, ValueError, IndexError):
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    parts = [
        f"{cpu}, {os.cpu_count()} cores{memory}",
        f"{platform.system()} {platform.release()}",
        f"Python {platform.python_version()}",
        *extras,
        f"load average at start {load}",
    ]
    return "; ".join(parts)


def face_libraries() -> tuple[str, ...]:
    """Name the versions of the libraries the face benchmarks measure."""
    import cv2
    import dlib
    import numpy

    return (f"numpy {numpy.__version__}", f"OpenCV {cv2.__version__}", f"dlib {dlib.__version__}")


def rebuild() -> Path:
    """Concatenate the area files into docs/benchmarks.md, each area's top heading at level 2."""
    areas = {p.stem.removeprefix("benchmarks_"): p for p in DOCS.glob("benchmarks_*.md")}
    names = [n for n in ORDER if n in areas] + sorted(set(areas) - set(ORDER))
    parts = [HEADER]
    for name in names:
        text = areas[name].read_text(encoding="utf-8").strip()
        levels = [len(line) - len(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")]
        shift = "#" * (2 - min(levels)) if levels and min(levels) < 2 else ""
        demoted = "\n".join(shift + line if line.startswith("#") else line for line in text.splitlines())
        parts.append(f"<!-- from docs/benchmarks_{name}.md -->\n{demoted}\n")
    TARGET.write_text("\n".join(parts), encoding="utf-8")
    return TARGET


if __name__ == "__main__":
    print(f"wrote {rebuild()}")
