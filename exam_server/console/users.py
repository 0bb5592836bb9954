"""Console pages: users."""
from exam_server.console import bp  # noqa: F401
