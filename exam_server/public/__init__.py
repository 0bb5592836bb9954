"""Pages anyone may open: certificate verification and health."""

from exam_server.public import routes  # noqa: F401  (importing attaches the routes)
from exam_server.public.blueprint import bp

__all__ = ["bp"]
