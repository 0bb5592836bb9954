#!/usr/bin/env python3
"""Benchmark the certificate PDF: CPU time per page, the QR drawn as one path (segno) against ReportLab's QR widget.

An enterprise downloads all its workers' certificates as one PDF, so a page's cost bounds how many a
request may hold (console/certificates.py PDF_PAGE_LIMIT). The baseline is the same page with the QR
drawn by ReportLab's own QrCodeWidget (a shape per module), measured in the same run; both decode.
Writes docs/benchmarks_certificates.md.

Usage: python scripts/bench_certificates.py [--pages 200] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import benchdoc  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402
from reportlab.graphics import renderPDF  # noqa: E402
from reportlab.graphics.barcode.qr import QrCodeWidget  # noqa: E402
from reportlab.graphics.shapes import Drawing  # noqa: E402

from exam_server.services.reporting import certificate_pdf as cp  # noqa: E402

NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "欧阳明"]
RESULTS = REPO / "docs" / "benchmarks_certificates.md"


def widget_qr(canvas, text: str, left: float, bottom: float, side: float) -> None:
    """The baseline: ReportLab's QR widget scaled into the same square."""
    widget = QrCodeWidget(text, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(side, side, transform=[side / (x1 - x0), 0, 0, side / (y1 - y0), 0, 0])
    drawing.add(widget)
    renderPDF.draw(drawing, canvas, left, bottom)


def facts(pages: int) -> list[cp.CertificateFacts]:
    return [
        cp.CertificateFacts(
            number=f"AQ2026{n:010d}",
            name=NAMES[n % len(NAMES)],
            citizen_id="371302********123X",
            enterprise="临沂市兰山区安泰化工有限公司",
            exam="2026年度危险化学品行业从业人员安全生产培训考试",
            score=80 + n % 20,
            max_score=100,
            issued_on=date(2026, 12, 2),
            valid_until=date(2029, 12, 1),
            verify_url=f"https://aq.example.cn/verify/{n:024d}",
        )
        for n in range(pages)
    ]


def measure(items, settings, rounds: int) -> tuple[float, float, int]:
    """Return the median CPU and wall seconds of rendering ``items`` as one PDF, and its size."""
    cp.render(items[:1], settings)  # font registered, imports warm
    cpu, wall, size = [], [], 0
    for _ in range(rounds):
        c0, w0 = time.process_time(), time.perf_counter()
        size = len(cp.render(items, settings))
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return statistics.median(cpu), statistics.median(wall), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    header = benchdoc.machine(
        f"ReportLab {__import__('reportlab').Version}", f"segno {__import__('segno').__version__}"
    )
    folder = Path(tempfile.mkdtemp(prefix="bench_cert_"))
    seal = folder / "seal.png"
    image = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((8, 8, 292, 292), outline=(200, 20, 20, 220), width=12)
    image.save(seal)
    settings = cp.DocumentSettings(
        "临沂市应急管理局", str(seal), "a4", "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
    )
    items = facts(args.pages)
    ours = measure(items, settings, args.rounds)
    real_qr = cp.draw_qr
    cp.draw_qr = widget_qr  # the same page with the baseline's QR
    try:
        base = measure(items, settings, args.rounds)
    finally:
        cp.draw_qr = real_qr
    per_page = [1000 * x / args.pages for x in (ours[0], ours[1], base[0], base[1])]
    text = f"""# Certificate PDF

`python scripts/bench_certificates.py --pages {args.pages} --rounds {args.rounds}`, {datetime.now():%Y-%m-%d}; {header}.

One PDF of {args.pages} A4 certificates (an enterprise's "all workers" download), median of {args.rounds} runs.
CPU time is `time.process_time`; wall time, beside it, includes waiting for the shared cores.

| QR drawn by | CPU ms per page | wall ms per page | PDF size |
| --- | ---: | ---: | ---: |
| segno matrix, one filled path (used) | {per_page[0]:.1f} | {per_page[1]:.1f} | {ours[2] / 1024:.0f} KiB |
| ReportLab QrCodeWidget (baseline) | {per_page[2]:.1f} | {per_page[3]:.1f} | {base[2] / 1024:.0f} KiB |

The page with the one-path QR takes **{base[0] / ours[0]:.1f}x less CPU** than the baseline. At this rate
the console's limit of 1,000 certificates per download costs about {per_page[0]:.0f} s of CPU.
"""
    RESULTS.write_text(text, encoding="utf-8")
    benchdoc.rebuild()
    print(text)


if __name__ == "__main__":
    main()
