"""The report layer: findings -> text in the formats other tools read. Pure: no clock, no files.

* :mod:`~scanner.report.context`: what every writer needs besides the findings (scan time,
  profile, OU paths, standards' titles), built once by the shell.
* one module per format: :mod:`~scanner.report.csv_rows`, :mod:`~scanner.report.jsonl`,
  :mod:`~scanner.report.ocsf`, :mod:`~scanner.report.asff`, :mod:`~scanner.report.junit`,
  :mod:`~scanner.report.html_page`; each module's docstring states its mapping.
* :mod:`~scanner.report.formats`: the table the CLI's ``--format`` reads.
* :mod:`~scanner.report.summaries`: the counts by rule and by OU (the table and the page).
* :mod:`~scanner.report.causes`: failing findings grouped by what broke, most severe first,
  with what to do about an ERROR (the page).

This module only re-exports.
"""

from __future__ import annotations

from scanner.report.context import Control, ReportContext, standard_titles
from scanner.report.formats import FORMATS, Format, Writer, render

__all__ = ["FORMATS", "Control", "Format", "ReportContext", "Writer", "render", "standard_titles"]
