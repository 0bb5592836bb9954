"""Flask application factory for the face-verified safety-training exam server."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l

from exam_server import citizen_id, localday, security
from exam_server import config as config_module
from exam_server.extensions import babel, csrf, db, job_queue, limiter, login_manager, migrate

__all__ = ["create_app"]


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build and wire the application; settings come from the environment unless given."""
    app = Flask(__name__, instance_relative_config=False)
    settings = config_module.from_env()
    settings.update(config or {})
    app.config.update(settings)
    config_module.validate(app.config)
    localday.configure(app.config["TIMEZONE"])

    _init_extensions(app)
    _register_blueprints(app)
    _register_request_guard(app)
    _register_cli(app)
    _register_template_helpers(app)
    logging.getLogger(__name__).debug("app created for %s", app.config["ENV_NAME"])
    return app


def _init_extensions(app: Flask) -> None:
    from flask_babel import get_locale

    from exam_server.auth.session import load_user
    from exam_server.database import install_engine_hooks
    from exam_server.i18n import locale_selector
    from exam_server.services.admin.accounts import CONSOLE_LOCALES

    install_engine_hooks()
    db.init_app(app)
    migrate.init_app(app, db, directory=str(_migrations_dir()), render_as_batch=True)
    csrf.init_app(app)
    security.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=locale_selector, default_locale="zh_Hans_CN")
    app.jinja_env.globals.update(get_locale=get_locale, console_locales=CONSOLE_LOCALES)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("请先登录")
    login_manager.user_loader(load_user)
    _init_job_queue(app)


def _init_job_queue(app: Flask) -> None:
    from exam_server.jobs import tasks

    job_queue.init_app(app)
    tasks.register(app.extensions["job_queue"])


def _register_blueprints(app: Flask) -> None:
    from exam_server.api import bp as api_bp
    from exam_server.auth import bp as auth_bp
    from exam_server.console import bp as console_bp
    from exam_server.public import bp as public_bp
    from exam_server.worker import bp as worker_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(console_bp)
    app.register_blueprint(public_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(worker_bp)


def _register_request_guard(app: Flask) -> None:
    from exam_server import request_guard

    # After the blueprints: their upload-limit hook must raise the limit before this one reads the form.
    request_guard.install(app)


def _register_cli(app: Flask) -> None:
    from exam_server.cli import register

    register(app)


def _register_template_helpers(app: Flask) -> None:
    from exam_server.i18n import bilingual, translate_label
    from exam_server.models import JOB_CATEGORY_LABELS, ROLE_LABELS

    # One filter writes every stored instant on the bureau's clock: {{ t|local_time }}, {{ t|local_time("%Y-%m-%d") }}.
    app.add_template_filter(localday.format_local, "local_time")
    # Lists and case pages show a citizen ID masked; the full one only on the worker's page, audited.
    app.add_template_filter(citizen_id.mask, "masked_id")

    app.jinja_env.globals.update(
        role_label=lambda role: translate_label(ROLE_LABELS.get(role, role)),
        job_label=lambda job: translate_label(JOB_CATEGORY_LABELS.get(job, job)),
    )
    # A stored state's label in the console's language: {{ case.status.label|tr }} (exam_server/i18n.py).
    app.add_template_filter(translate_label, "tr")
    # A question bank message ("中文 / English") in the console's language: {{ p.message|bilingual }}.
    app.add_template_filter(bilingual, "bilingual")


def _migrations_dir():
    from pathlib import Path

    return Path(__file__).parent / "migrations"
