"""Reference implementations, one package per assignment (never shipped in the wheel)."""
