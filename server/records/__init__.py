"""Safety records inspectors can trust: the audit chain first (drills, patrols, inspections follow)."""
