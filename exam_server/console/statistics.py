"""Console pages: statistics."""
from exam_server.console import bp  # noqa: F401
