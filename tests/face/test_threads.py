"""gunicorn's gthread workers run face checks in parallel threads of one process."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from exam_server.face.detection import DlibHogDetector


def test_parallel_detection_in_one_process_gives_the_serial_answer(photos):
    # Without the detector's lock this crashed the process (SIGSEGV) under load.
    images = [photos.rgb(path, max_side=640) for path in photos.paths("single")[:4]]
    detector = DlibHogDetector()
    serial = [detector.detect(image, 1) for image in images]
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(3):
            parallel = list(pool.map(lambda image: detector.detect(image, 1), images))
            assert [[(b.left, b.top, b.right, b.bottom) for b in boxes] for boxes in parallel] == [
                [(b.left, b.top, b.right, b.bottom) for b in boxes] for boxes in serial
            ]
    assert all(len(boxes) == 1 for boxes in serial) and np.isfinite(serial[0][0].score)
