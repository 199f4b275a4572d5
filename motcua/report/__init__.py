"""Quarterly report pack: Excel Biểu 06 workbook, Word draft report, batch zip for a province."""

from motcua.report.data import EmptyReport, ReportData, collect
from motcua.report.pack import Pack, batch_zip_bytes, build_batch_zip, build_pack, make_pack

__all__ = ["EmptyReport", "Pack", "ReportData", "batch_zip_bytes", "build_batch_zip", "build_pack", "collect",
           "make_pack"]
