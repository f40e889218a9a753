"""Shared vocabulary of carewatch: device kinds, facility model, envelope, topics, vendor formats."""
