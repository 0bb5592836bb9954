"""gunicorn settings for `gunicorn exam_server.wsgi:app` run from the repository root or the image."""

from exam_server.gunicorn_conf import *  # noqa: F401,F403
