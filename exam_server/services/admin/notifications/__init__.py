"""Reminders through an outbox: rules queue notifications once, dispatch sends them with retries.

Schedule both as periodic jobs (``exam-server notify run`` runs them once):
``rules.queue_due(session, now)`` decides who is told what (plans opening, plans closing for workers who
have not sat, certificates expiring, face alerts waiting for a reviewer); ``outbox.dispatch(session, now)``
sends what is due over SMS and e-mail. The console's inbox needs no sending: its messages are there
the moment they are queued.
"""

from exam_server.services.admin.notifications.outbox import dispatch
from exam_server.services.admin.notifications.rules import queue_due

__all__ = ["dispatch", "queue_due"]
