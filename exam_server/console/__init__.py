"""The administrators' and enterprises' web console."""

# Importing each view module attaches its routes to the blueprint.
from exam_server.console import (  # noqa: F401
    audit_log,
    certificates,
    exam_plans,
    exports,
    jobs,
    kiosks,
    monitor,
    nav,
    notifications,
    paper_rules,
    questions,
    questions_import,
    review,
    routes,
    statistics,
    users,
    workers,
    workers_import,
    workers_photos,
)
from exam_server.console.blueprint import bp

__all__ = ["bp"]
