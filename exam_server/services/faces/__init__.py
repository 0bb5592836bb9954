"""Faces on the server: enrolment and templates, 1:1 decisions, re-enrolment, batch photo jobs, review of face alerts."""
