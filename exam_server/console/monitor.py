"""Console pages: monitor."""
from exam_server.console import bp  # noqa: F401
