"""Edge camera analysis: camera health (frozen, covered, blurred, moved) and the safety analytics."""
