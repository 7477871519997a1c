"""Renderers that turn an :class:`~revspine.domain.assessment.Assessment` into a report.

``text`` renders for the terminal (Rich); ``html`` renders one self-contained, printable page.
Renderers only format: every clinical statement comes from the assessment itself.
"""
