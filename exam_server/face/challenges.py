"""How often a recording made for one challenge answers another: the measure behind the challenge space."""

from __future__ import annotations

from collections.abc import Sequence

from .liveness import CHALLENGES, challenge_space, moves_seen, sequence_seen, steps_of

# What the judge reads of a frame (yaw, eye aspect ratio, mouth ratio): facing the camera, and at the
# height of each move. A turn of 30 degrees, eyes shut to a quarter, a mouth open to 0.6 of its width.
_FRONT = (0.0, 0.30, 0.02)
_POSE = {
    "turn_left": (30.0, 0.28, 0.02),
    "turn_right": (-30.0, 0.28, 0.02),
    "blink": (0.0, 0.08, 0.02),
    "open_mouth": (0.0, 0.30, 0.60),
}


def recording(kind: str, natural_blink: int | None = None) -> list[tuple[float, float, float]]:
    """Return the frames of a burst that answers `kind` exactly, with a natural blink after move n if given."""
    frames = [_FRONT, _FRONT]
    for n, step in enumerate([*steps_of(kind), None]):
        if natural_blink == n:
            frames += [_POSE["blink"], _FRONT]
        if step is not None:
            frames += [_POSE[step], _FRONT]
    return frames


def answers(frames: Sequence[tuple[float, float, float]], kind: str, min_yaw: float = 15.0, ratio: float = 0.7) -> bool:
    """Tell whether these frames pass challenge `kind` by the server's own sequence judge."""
    yaws, ears, mouths = (list(column) for column in zip(*frames, strict=True))
    return sequence_seen(steps_of(kind), moves_seen(yaws, ears, mouths, min_yaw, ratio))


def replay_pass_rate(space: Sequence[str], natural_blinks: bool = False) -> float:
    """Return the chance that a recording made for one drawn challenge passes the next drawn one.

    Both are drawn uniformly from `space`. With natural_blinks, every recording also holds one
    unrequested blink, at each possible place in turn (the worst case: people blink every few seconds).
    """
    total = 0.0
    for recorded in space:
        places = range(len(steps_of(recorded)) + 1) if natural_blinks else [None]
        variants = [recording(recorded, place) for place in places]
        for asked in space:
            total += sum(answers(frames, asked) for frames in variants) / len(variants)
    return total / len(space) ** 2


def measure(moves: Sequence[str] = CHALLENGES) -> list[tuple[int, int, float, float]]:
    """Return (moves in a challenge, size of the space, fail rate, fail rate with natural blinks) for 1-3 moves."""
    rows = []
    for length in (1, 2, 3):
        space = challenge_space(moves, length)
        rows.append((length, len(space), 1 - replay_pass_rate(space), 1 - replay_pass_rate(space, True)))
    return rows
