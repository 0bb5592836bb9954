"""Worker import at city scale: rows with and without a phone number go to the database in one batch."""

from __future__ import annotations

from sqlalchemy import event, select

from exam_server.models import Worker
from exam_server.services.admin import worker_import
from tests.console.helpers import csv_bytes, worker_rows

ROWS = 300


def test_mixed_phone_rows_are_inserted_in_one_batch_per_chunk(db, world):
    rows = worker_rows(ROWS, seed=31)
    for row in rows[1::2]:
        row[3] = ""  # alternate rows without a phone: the case that split the ORM's batches
    result = worker_import.check(db.session, csv_bytes(rows), "city.csv", world.city, world.enterprise_a)
    assert not result.problems and len(result.valid) == ROWS
    inserts = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO WORKER"):
            inserts.append(statement)

    engine = db.session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        outcome = worker_import.write(db.session, result, world.city, accept_valid_rows=False, filename="city.csv")
        db.session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert outcome.imported == ROWS
    # One executemany for the chunk (the ORM insert sent one statement per run of equal column sets: ~ROWS/2).
    assert len(inserts) == 1, f"{len(inserts)} INSERT statements for {ROWS} rows"
    phones = dict(
        db.session.execute(
            select(Worker.citizen_id, Worker.phone).where(Worker.citizen_id.in_([r[1] for r in rows]))
        ).all()
    )
    assert [phones[r[1]] for r in rows] == [r[3] or None for r in rows]
