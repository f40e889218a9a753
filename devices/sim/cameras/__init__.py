"""Simulated cameras: rendered rooms with a person, camera faults, a real inter-frame codec and an MJPEG server.

`scene` draws a frame (room, figure, conditions, t); `script` times what happens and says what is true
(`labels`); `stream.SimCamera` turns a script into decoded codec frames, as fast as the CPU allows
(`frames()`) or at a time (`frame_at(t)`); `server.MjpegServer` serves cameras as HTTP MJPEG on 127.0.0.1.
"""
