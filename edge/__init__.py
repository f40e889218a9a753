"""The on-site edge agent: reads the facility's devices over MQTT and forwards envelopes upstream."""
