"""Console pages: audit_log."""
from exam_server.console import bp  # noqa: F401
