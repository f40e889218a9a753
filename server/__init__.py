"""carewatch server: ingest, rules, alerts, HTTP API and the monitoring screen."""
