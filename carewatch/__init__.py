"""carewatch command line and demo: the one place that composes devices, edge and server."""
