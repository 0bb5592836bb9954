"""gunicorn settings, each from an EXAM_ environment variable."""

import multiprocessing
import os

bind = os.environ.get("EXAM_BIND", "127.0.0.1:8000")
# Face checks are CPU-bound: one process per core; threads keep autosave answering meanwhile.
workers = int(os.environ.get("EXAM_WORKERS", multiprocessing.cpu_count()))
threads = int(os.environ.get("EXAM_THREADS", "4"))
worker_class = "gthread"
timeout = int(os.environ.get("EXAM_TIMEOUT", "60"))
graceful_timeout = 30
max_requests = int(os.environ.get("EXAM_MAX_REQUESTS", "0"))
accesslog = os.environ.get("EXAM_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("EXAM_LOG_LEVEL", "info")
forwarded_allow_ips = os.environ.get("EXAM_FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn's control socket defaults to one path per user, shared by every instance on the host.
control_socket_disable = True

# A face pool sharing a host with the answer pool runs at lower CPU priority (docs/scaling.md).
nice = int(os.environ.get("EXAM_NICE", "0"))

# Sittings whose time is up are submitted even when no kiosk asks: one worker sweeps.
sweep_seconds = float(os.environ.get("EXAM_SWEEP_SECONDS", "15"))


def post_fork(server, worker):
    """Lower this worker's CPU priority by EXAM_NICE; the master keeps its own."""
    if nice:
        os.nice(nice)


def post_worker_init(worker):
    """Start the automatic-submission sweep in a background thread of this worker."""
    import threading

    app = getattr(worker, "wsgi", None)
    if sweep_seconds > 0 and hasattr(app, "app_context"):
        threading.Thread(target=_sweep_forever, args=(app, worker.log), name="exam-sweep", daemon=True).start()


def _sweep_forever(app, log):
    """Sweep while holding a lock file, so one worker per host sweeps; the others wait to take over."""
    import fcntl
    import time
    from pathlib import Path

    from exam_server.extensions import db
    from exam_server.services.exam.sittings import sweep

    lock_path = Path(app.config["DATA_DIR"]) / "sweep.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                time.sleep(sweep_seconds)
        log.info("worker %s runs the sweep every %s s", os.getpid(), sweep_seconds)
        while True:
            try:
                with app.app_context():
                    counts = sweep(db.session)
                if any(counts.values()):
                    log.info("sweep: %s", counts)
            except Exception:  # a failed sweep (database restarting...) must not end the thread
                log.exception("sweep failed")
            time.sleep(sweep_seconds)
