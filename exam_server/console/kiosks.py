"""Console pages: kiosks."""
from exam_server.console import bp  # noqa: F401
