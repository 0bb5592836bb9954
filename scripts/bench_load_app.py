"""WSGI app of the load benchmark: the real app, with check-in challenges limited to head turns.

The shared photos hold a real head-turn sequence (four photos of one person at different yaw) but
no blink sequence, so simulated kiosks can answer turn_left and turn_right (the sequence reversed)
with real frames, never a blink. Everything else is the production app from the EXAM_ environment.
"""
from exam_server import create_app

app = create_app({"CHECKIN_CHALLENGES": ("turn_left", "turn_right")})
