"""The kiosk JSON API under /api/v1 (contract: docs/kiosk-api.md, document: /api/v1/openapi.json)."""

from exam_server.api import admission, checkins, errors, sittings  # noqa: F401  (importing attaches the routes)
from exam_server.api.blueprint import bp
from exam_server.extensions import csrf

csrf.exempt(bp)
errors.install_on_blueprint(bp)
bp.record_once(lambda state: errors.install_on_app(state.app))
bp.record_once(lambda state: admission.install(state.app))

__all__ = ["bp"]
