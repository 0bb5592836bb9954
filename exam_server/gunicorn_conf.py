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


def post_fork(server, worker):
    """Lower this worker's CPU priority by EXAM_NICE; the master keeps its own."""
    if nice:
        os.nice(nice)
