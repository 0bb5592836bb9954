#!/usr/bin/env python3
"""Generate a city's data (9,032 enterprises, 310,000 workers, a year of 374,000 sittings) into a database.

Usage: python scripts/generate_city.py [--database-url URL] [--data-dir DIR] [--scale city|tiny] [--seed N]
                                       [--anchor YYYY-MM-DD] [--workers N --enterprises N --counties N ...]
The default is an SQLite file DIR/exam.db (DIR defaults to var/city); a PostgreSQL URL works as well.
The database is migrated first and must hold no enterprises.
"""

from __future__ import annotations

import argparse
import secrets
import sys
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="SQLAlchemy URL (default sqlite:///DATA_DIR/exam.db)")
    parser.add_argument("--data-dir", default="var/city", help="photos, evidence and the 1:N index go here")
    parser.add_argument("--scale", choices=("city", "tiny"), default="city")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--anchor", type=date.fromisoformat, help="the day the year of exams ends (default today)")
    for name in ("counties", "enterprises", "workers", "sittings", "answer-sample"):
        parser.add_argument(f"--{name}", type=int, dest=name.replace("-", "_"))
    parser.add_argument("--template-share", type=float, help="share of workers given a synthetic template")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--record", action="store_true", help="write the timing to docs/benchmarks_scale.md")
    return parser.parse_args(argv)


def generate_into(database_url: str, data_dir: Path, scale, anchor: date | None = None, progress: bool = True):
    """Migrate the database at database_url and generate the city into it; return the Summary."""
    from flask_migrate import upgrade

    from exam_server import create_app
    from exam_server.demo.city_generator import generate
    from exam_server.extensions import db

    data_dir.mkdir(parents=True, exist_ok=True)
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": database_url, "DATA_DIR": str(data_dir), "SECRET_KEY": secrets.token_hex(16)}
    )
    with app.app_context():
        upgrade()
        summary = generate(db.session, scale, anchor=anchor, data_dir=str(data_dir), progress=progress)
        db.session.remove()
        db.engine.dispose()
    return summary


def main(argv: list[str] | None = None) -> int:
    import logging

    from exam_server.demo.city_generator import scale_named

    args = parse_args(argv)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    data_dir = Path(args.data_dir).resolve()
    url = args.database_url or f"sqlite:///{data_dir / 'exam.db'}"
    scale = scale_named(
        args.scale,
        seed=args.seed,
        counties=args.counties,
        enterprises=args.enterprises,
        workers=args.workers,
        sittings=args.sittings,
        answer_sample=args.answer_sample,
        template_share=args.template_share,
    )
    summary = generate_into(url, data_dir, scale, args.anchor, not args.no_progress)
    print(f"generated {summary.describe()}")
    for table, rows in sorted(summary.rows.items()):
        print(f"  {table:<18} {rows:>10,}")
    if args.record:
        record(summary, url, args.scale)
    return 0


def record(summary, url: str, scale: str) -> None:
    """Write the generation time and row counts to this script's section of docs/benchmarks_scale.md."""
    sys.path.insert(0, str(REPO / "scripts"))
    from bench_common import machine, stamp, write_section

    database = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    rows = ", ".join(f"{table} {count:,}" for table, count in sorted(summary.rows.items()))
    write_section(
        f"generate_city_{database.lower()}",
        "\n".join(
            [
                f"## City generator on {database} ({scale} scale)",
                "",
                f"Measured {stamp()} by `python scripts/generate_city.py --record{'' if database == 'SQLite' else ' --database-url ...'}` on: "
                f"{machine(url if database == 'PostgreSQL' else None)}.",
                "",
                "| what | measured | target | met |",
                "| --- | --- | --- | --- |",
                f"| generate the whole city (migrated empty database to committed data, one run) | {summary.seconds:.0f} s | "
                f"< 600 s on SQLite | {'yes' if summary.seconds < 600 else 'no'} |",
                f"| participation / pass rate | {summary.rates['participation']:.1%} / {summary.rates['pass_rate']:.1%} | "
                "near 95% / 95% | |",
                "",
                f"Rows: {rows}.",
            ]
        ),
    )


if __name__ == "__main__":
    sys.exit(main())
