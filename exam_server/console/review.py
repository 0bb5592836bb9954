"""Console pages: review."""
from exam_server.console import bp  # noqa: F401
