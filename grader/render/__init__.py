"""Renderers: pure functions of a ``grader.core.models.GradeResult`` (terminal, HTML, JSON, CSV, ...).

Everything a student controls (names, outputs, exception text, the notebook path) is untrusted
here: HTML escapes it, the terminal strips escape sequences from it (``render.text``).
"""
