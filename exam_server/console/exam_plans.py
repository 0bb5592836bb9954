"""Console pages: exam_plans."""
from exam_server.console import bp  # noqa: F401
