"""The worker's own pages: PIN sign-in, practice, the wrong-answer book, exams and certificates."""

from exam_server.worker import routes  # noqa: F401  (importing attaches the routes)
from exam_server.worker.blueprint import bp

__all__ = ["bp"]
