"""Console pages: questions."""
from exam_server.console import bp  # noqa: F401
