"""Comparison reports of training runs against the oracle: ``python -m trainer.report RUN_OR_SWEEP_DIR ... --out DIR``.

Writes ``report.html`` (self-contained, figures inlined) and ``report.md`` with the PNG figures beside it.
"""

from trainer.report.compose import NoRunsError, OutDirError, Report, build_report, main, write_report

__all__ = ["NoRunsError", "OutDirError", "Report", "build_report", "main", "write_report"]
