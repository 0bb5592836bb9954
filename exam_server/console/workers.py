"""Console pages: workers."""
from exam_server.console import bp  # noqa: F401
