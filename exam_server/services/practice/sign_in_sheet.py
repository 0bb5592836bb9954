"""The QR code of a one-time sign-in address, drawn as inline SVG for the console's printable sheet."""

from __future__ import annotations

import segno


def qr_svg(url: str) -> str:
    """Return an <svg> element of the address's QR code (medium error correction: it survives a smudged print)."""
    return segno.make(url, error="m").svg_inline(scale=4, border=2)
