"""The certificate as a PDF (ReportLab): Chinese text in an embedded TrueType CJK font and a QR of its address.

The font is a TrueType file installed with the system (fonts-wqy-microhei, by scripts/bootstrap.sh and the
Dockerfile), never fetched: ReportLab embeds the subset of glyphs used and a ToUnicode map, so the text
can be searched and extracted. ReportLab cannot embed the CFF outlines of Noto CJK, and its built-in
STSong-Light is not embedded at all (the reader must supply it), hence a TrueType font.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import segno
from reportlab.lib.colors import Color, HexColor
from reportlab.lib.pagesizes import A4, A5, landscape
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas

from exam_server.models import N_, DomainError

TITLE = "安全生产培训合格证书"
RED = HexColor("#a4161a")
INK = HexColor("#1d1d1f")
GREY = HexColor("#55555a")
_fonts: dict[str, str] = {}
_fonts_lock = threading.Lock()


@dataclass(frozen=True)
class DocumentSettings:
    authority: str  # the issuing authority's name, printed above its seal
    seal_image: str | None  # a PNG (transparent background) or JPEG of the seal
    page_size: str  # a4, a5, or a card size in millimetres "WxH"
    font_path: str  # a TrueType font (.ttf, or .ttc whose first face is used) with CJK glyphs


@dataclass(frozen=True)
class CertificateFacts:
    number: str
    name: str
    citizen_id: str  # masked
    enterprise: str
    exam: str
    score: float | None
    max_score: float | None
    issued_on: date
    valid_until: date
    verify_url: str
    photo_path: str | None = None
    revoked: bool = False


def page_size(name: str) -> tuple[float, float]:
    """Return the landscape page size in points for a4, a5 or "WxH" millimetres."""
    if name == "a4":
        return landscape(A4)
    if name == "a5":
        return landscape(A5)
    width, _, height = name.partition("x")
    w, h = float(width) * mm, float(height) * mm
    return (max(w, h), min(w, h))


def register_font(path: str) -> str:
    """Register the TrueType font once per process and return its ReportLab name, or refuse clearly."""
    with _fonts_lock:
        if path in _fonts:
            return _fonts[path]
        if not Path(path).is_file():
            raise DomainError(
                N_(
                    "证书字体文件不存在：%(path)s（请安装 fonts-wqy-microhei，或以 EXAM_CERTIFICATE_FONT 指定 TrueType 中文字体）"
                ),
                path=path,
            )
        name = f"CertificateCJK{len(_fonts)}"
        try:
            pdfmetrics.registerFont(TTFont(name, path, subfontIndex=0))
        except TTFError as exc:
            raise DomainError(
                N_("证书字体无法嵌入 PDF（需 TrueType 轮廓的中文字体）：%(path)s：%(error)s"), path=path, error=exc
            ) from None
        _fonts[path] = name
        return name


def _date(day: date) -> str:
    return f"{day.year}年{day.month:02d}月{day.day:02d}日"


def _score(facts: CertificateFacts) -> str:
    if facts.score is None:
        return "合格"
    full = f"（满分{facts.max_score:g}分）" if facts.max_score else ""
    return f"{facts.score:g}分{full}，合格"


def _fit(
    canvas: Canvas, text: str, font: str, size: float, width: float, max_lines: int = 2
) -> tuple[list[str], float]:
    """Return the text broken into at most ``max_lines`` lines of ``width``, shrinking the size until it fits."""
    while True:
        lines, line = [], ""
        for char in text:
            if line and canvas.stringWidth(line + char, font, size) > width:
                lines.append(line)
                line = char
            else:
                line += char
        lines.append(line)
        if len(lines) <= max_lines or size <= 6:
            return lines[:max_lines], size
        size *= 0.9


def draw_qr(canvas: Canvas, text: str, left: float, bottom: float, side: float) -> None:
    """Draw a QR code (error correction M, 4-module quiet zone) as one filled path of its dark runs."""
    matrix = segno.make(text, error="m", micro=False).matrix
    count = len(matrix) + 8  # the quiet zone a scanner needs
    module = side / count
    path = canvas.beginPath()
    for row_no, row in enumerate(matrix):
        y = bottom + side - (row_no + 5) * module
        start = None
        for col_no, dark in enumerate([*row, 0]):
            if dark and start is None:
                start = col_no
            elif not dark and start is not None:
                path.rect(left + (start + 4) * module, y, (col_no - start) * module, module)
                start = None
    canvas.saveState()
    canvas.setFillColor(INK)
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.restoreState()


class _Page:
    """One certificate drawn on the canvas, every length a fraction of the page so any card size works."""

    def __init__(self, canvas: Canvas, size: tuple[float, float], font: str, settings: DocumentSettings) -> None:
        self.c, (self.w, self.h), self.font, self.settings = canvas, size, font, settings
        self.u = min(self.w / (297 * mm), self.h / (210 * mm))  # 1.0 on A4 landscape

    def draw(self, facts: CertificateFacts) -> None:
        c, w, h, u = self.c, self.w, self.h, self.u
        self._frame()
        c.setFillColor(RED)
        c.setFont(self.font, 34 * u)
        c.drawCentredString(w / 2, h - 42 * mm * u, TITLE)
        c.setFillColor(GREY)
        c.setFont(self.font, 11 * u)
        c.drawRightString(w - 24 * mm * u, h - 24 * mm * u, f"证书编号：{facts.number}")
        photo_width = self._photo(facts.photo_path)
        self._facts(facts, right=w - 24 * mm * u - photo_width)
        self._qr(facts.verify_url)
        self._authority(facts.issued_on)
        if facts.revoked:
            self._revoked()

    def _frame(self) -> None:
        c, w, h, u = self.c, self.w, self.h, self.u
        c.setStrokeColor(RED)
        c.setLineWidth(3 * u)
        c.rect(8 * mm * u, 8 * mm * u, w - 16 * mm * u, h - 16 * mm * u)
        c.setLineWidth(0.8 * u)
        c.rect(11 * mm * u, 11 * mm * u, w - 22 * mm * u, h - 22 * mm * u)

    def _facts(self, facts: CertificateFacts, right: float) -> None:
        c, u = self.c, self.u
        rows = [
            ("姓　　名", facts.name),
            ("身份证号", facts.citizen_id),
            ("工作单位", facts.enterprise),
            ("考试项目", facts.exam),
            ("考试成绩", _score(facts)),
            ("发证日期", _date(facts.issued_on)),
            ("有效期至", _date(facts.valid_until)),
        ]
        left, y, size = 34 * mm * u, self.h - 64 * mm * u, 14 * u
        value_left = left + c.stringWidth("考试项目：", self.font, size) + 2 * mm * u
        for label, value in rows:
            c.setFillColor(GREY)
            c.setFont(self.font, size)
            c.drawString(left, y, f"{label}：")
            lines, fitted = _fit(c, value, self.font, size, right - value_left)
            c.setFillColor(INK)
            c.setFont(self.font, fitted)
            for n, line in enumerate(lines):
                c.drawString(value_left, y - n * fitted * 1.25, line)
            y -= size * 1.25 * (len(lines) - 1) + 10.5 * mm * u
        c.setFont(self.font, size)
        c.drawString(left, y - 2 * mm * u, "经考核合格，特发此证。")

    def _photo(self, path: str | None) -> float:
        """Draw the enrolled photo (3:4, top right) when there is one; return the width it takes."""
        if not path or not Path(path).is_file():
            return 0.0
        u = self.u
        width, height = 30 * mm * u, 40 * mm * u
        x, y = self.w - 24 * mm * u - width, self.h - 62 * mm * u - height + 10 * mm * u
        self.c.drawImage(ImageReader(path), x, y, width, height, preserveAspectRatio=True, anchor="c")
        self.c.setStrokeColor(GREY)
        self.c.setLineWidth(0.5)
        self.c.rect(x, y, width, height)
        return width + 8 * mm * u

    def _qr(self, url: str) -> None:
        c, u = self.c, self.u
        side = 34 * mm * u
        left, bottom = 30 * mm * u, 24 * mm * u
        draw_qr(c, url, left, bottom, side)
        c.setFillColor(GREY)
        c.setFont(self.font, 9 * u)
        c.drawString(left + side + 3 * mm * u, bottom + side - 10 * u, "扫码查验证书真伪")
        c.setFont(self.font, 7 * u)
        c.drawString(left + side + 3 * mm * u, bottom + side - 22 * u, url)

    def _authority(self, issued_on: date) -> None:
        c, w, u = self.c, self.w, self.u
        centre, base = w - 70 * mm * u, 34 * mm * u
        c.setFillColor(INK)
        lines, size = _fit(c, self.settings.authority, self.font, 15 * u, 90 * mm * u)
        c.setFont(self.font, size)
        for n, line in enumerate(lines):
            c.drawCentredString(centre, base + 12 * mm * u - n * size * 1.25, line)
        c.setFont(self.font, 13 * u)
        c.drawCentredString(centre, base, _date(issued_on))
        if seal := self.settings.seal_image:  # over the name and date, as a stamp is
            side = 42 * mm * u
            c.drawImage(ImageReader(seal), centre - side / 2, base - side / 2 + 4 * mm * u, side, side, mask="auto")

    def _revoked(self) -> None:
        c = self.c
        c.saveState()
        c.setFillColor(Color(0.64, 0.09, 0.1, alpha=0.25))
        c.setFont(self.font, 96 * self.u)
        c.translate(self.w / 2, self.h / 2)
        c.rotate(24)
        c.drawCentredString(0, -30 * self.u, "已撤销")
        c.restoreState()


def render(certificates: Sequence[CertificateFacts], settings: DocumentSettings) -> bytes:
    """Return one PDF with a page per certificate."""
    font = register_font(settings.font_path)
    size = page_size(settings.page_size)
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=size, pageCompression=1)
    canvas.setTitle(TITLE if len(certificates) != 1 else f"{TITLE} {certificates[0].number}")
    canvas.setAuthor(settings.authority)
    canvas.setCreator("exam-server")
    page = _Page(canvas, size, font, settings)
    for facts in certificates:
        page.draw(facts)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()
