"""Console pages: exports."""
from exam_server.console import bp  # noqa: F401
