#!/bin/sh
# Bring the schema up to date, then run the given command (gunicorn by default).
set -e
exam-server init-db
exec "$@"
