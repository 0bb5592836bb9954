"""Login, logout and password change for console users."""

from exam_server.auth import routes  # noqa: F401  (importing attaches the routes)
from exam_server.auth.blueprint import bp

__all__ = ["bp"]
