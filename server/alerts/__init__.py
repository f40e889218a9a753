"""Alerts: lifecycle open → acknowledged → resolved, with a cleared flag and a history of who did what."""
