"""Perceptual hashes of frames, to tell a replayed or re-encoded picture from a newly filmed one."""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

# A DCT pHash of 256 bits (the 16x16 lowest frequencies of a 64x64 grey copy, each bit "above the
# median). Measured with scripts/measure_replay_hash.py on shared/faces (17 photos of 7 people, 640 px):
# re-encoding at JPEG quality 95-40, resizing to 0.5-1.5x and a shift of 1 px move a frame by at most
# 16 of 256 bits; two different photos of the same person are at least 118 bits apart (median 129), two
# different people at least 102. 40 bits sits between, with room for heavier re-encoding. A 64-bit hash
# (8x8) separated them too, but with 4 bits for the worst copy against 22 for the nearest different photo.
HASH_SIDE = 16
REPLAY_MAX_BITS = 40
# The largest distance of a copy measured above (16 bits): a burst is compared with the worker's earlier
# frames at this bound, not at REPLAY_MAX_BITS, because the same person filmed again before the same
# background lands within 40 bits as soon as the head moves less than about 8 px (same script).
COPY_MAX_BITS = 16
_WORK = 64
# A picture this flat (a covered lens, a black or white frame) has no content to recognise: every such
# frame would look like every other, so it gets no hash (the face engine refuses it for what it is).
_FLAT_STD = 2.0


def phash(rgb: np.ndarray) -> bytes | None:
    """Return the 256-bit DCT perceptual hash of an RGB (or grey) image as 32 bytes (None for a flat picture)."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb
    small = cv2.resize(grey, (_WORK, _WORK), interpolation=cv2.INTER_AREA).astype(np.float32)
    if float(small.std()) < _FLAT_STD:
        return None
    low = cv2.dct(small)[:HASH_SIDE, :HASH_SIDE].flatten()
    # The DC term is the mean brightness: left out of the median so a brighter copy hashes alike.
    bits = low > np.median(low[1:])
    return np.packbits(bits).tobytes()


def distance(a: bytes, b: bytes) -> int:
    """Return the Hamming distance between two hashes of the same length."""
    return int(np.unpackbits(np.bitwise_xor(np.frombuffer(a, np.uint8), np.frombuffer(b, np.uint8))).sum())


def nearest(probe: bytes, known: Iterable[bytes]) -> int | None:
    """Return the smallest distance from probe to any known hash (None when there is none)."""
    found = [distance(probe, k) for k in known if len(k) == len(probe)]
    return min(found) if found else None


def is_replay(probe: bytes, known: Iterable[bytes], max_bits: int = REPLAY_MAX_BITS) -> bool:
    """Tell whether probe is near-identical to any known hash."""
    near = nearest(probe, known)
    return near is not None and near <= max_bits
