"""The camera source: a video file or a folder of images through cv2.VideoCapture, paced like a camera."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from kiosk_client.camera import Camera, CameraError, resolve, sequence_pattern


def numbered_frames(count: int) -> list[np.ndarray]:
    """Frames whose grey level tells their number: 10, 20, 30..."""
    return [np.full((120, 160, 3), 10 * (n + 1), np.uint8) for n in range(count)]


@pytest.fixture()
def video(tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 20, (160, 120))
    for frame in numbered_frames(10):
        writer.write(frame)
    writer.release()
    return path


@pytest.fixture()
def folder(tmp_path):
    directory = tmp_path / "frames"
    directory.mkdir()
    for n, frame in enumerate(numbered_frames(6)):
        cv2.imwrite(str(directory / f"frame_{n:03d}.png"), frame)
    return directory


def levels(camera: Camera, count: int) -> list[int]:
    seen, number = [], 0
    for _ in range(count):
        number, frame = camera.next_frame(number)
        seen.append(int(round(frame.mean() / 10.0)))
    return seen


def test_a_video_file_plays_at_its_own_rate_and_loops(video):
    camera = Camera(resolve(str(video)), loop=True).start()
    try:
        started = time.monotonic()
        seen = levels(camera, 25)
        elapsed = time.monotonic() - started
    finally:
        camera.stop()
    assert camera.nominal_fps == pytest.approx(20)
    # 25 frames at 20 fps take about 1.2 s: the file is paced, not read as fast as it decodes.
    assert 0.9 < elapsed < 3.0
    assert seen[:10] == list(range(1, 11)) and 1 in seen[10:]  # played in order, then again from the start
    assert camera.measured_fps() == pytest.approx(20, rel=0.25)


def test_a_video_without_loop_ends_with_a_clear_error(video):
    camera = Camera(resolve(str(video)), loop=False, fps=200).start()
    try:
        with pytest.raises(CameraError, match="no more frames"):
            levels(camera, 20)
    finally:
        camera.stop()


def test_a_folder_is_read_through_a_printf_pattern(folder):
    source = resolve(str(folder))
    assert source.target == str(folder / "frame_%03d.png") and source.is_sequence
    camera = Camera(source, loop=True, fps=50).start()
    try:
        assert levels(camera, 8) == [1, 2, 3, 4, 5, 6, 1, 2]
    finally:
        camera.stop()
    assert camera.nominal_fps == 50


@pytest.mark.parametrize(
    "names", [["a.jpg", "b.jpg"], ["frame_007.jpg", "frame_008.jpg"], ["frame_000.jpg", "frame_002.jpg"], []]
)
def test_folders_that_are_not_a_sequence_are_refused(tmp_path, names):
    for name in names:
        cv2.imwrite(str(tmp_path / name), numbered_frames(1)[0])
    assert sequence_pattern(tmp_path) is None
    with pytest.raises(CameraError, match="numbered from 0-4"):
        resolve(str(tmp_path))


def test_sources_that_do_not_exist_are_refused(tmp_path):
    with pytest.raises(CameraError, match="neither a device index"):
        resolve(str(tmp_path / "missing.avi"))
    assert resolve("0").target == 0 and not resolve("0").is_file
    with pytest.raises(CameraError, match="cannot open"):
        Camera(resolve("57"))  # no such device here
