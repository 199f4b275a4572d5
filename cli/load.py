"""`motcua load`: parse options, call ``loaders.pipeline.import_files``, print a Vietnamese summary."""

from __future__ import annotations

import json
import sys

import click

from cli.audit import record_cli
from cli.common import EXIT_FAILED, fail
from loaders.pipeline import (
    STATUS_DUPLICATE,
    STATUS_FAILED,
    FileResult,
    ImportSummary,
    ProgressEvent,
    import_files,
)
from motcua import db as dbmod
from motcua import units as unitsmod
from motcua.fmt import fmt_int

_STATUS_TEXT = {"loaded": "ĐÃ NẠP", STATUS_DUPLICATE: "BỎ QUA (trùng tệp)", STATUS_FAILED: "LỖI"}


class _ProgressBar:
    """tqdm bar over files on stderr; silent when stderr is not a terminal (tqdm's disable=None)."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.bar = None

    def __call__(self, event: ProgressEvent) -> None:
        if self.quiet:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=event.file_count, unit="tệp", file=sys.stderr, disable=None,
                            desc="Nạp dữ liệu", leave=False)
        if event.stage == "done":
            self.bar.update(1)
        elif event.stage == "publishing":
            self.bar.set_postfix_str("đang ghi cơ sở dữ liệu")
        else:
            rows = f" ({fmt_int(event.rows)} dòng)" if event.rows else ""
            self.bar.set_postfix_str(f"{event.file_name}: {_STAGE_TEXT.get(event.stage, event.stage)}{rows}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


_STAGE_TEXT = {"reading": "đang đọc", "normalizing": "đang chuẩn hóa", "writing": "đang ghi"}


def _echo_file(result: FileResult) -> None:
    click.echo(f"[{_STATUS_TEXT.get(result.status, result.status)}] {result.file_name} ({result.format})")
    if result.status != STATUS_DUPLICATE and result.rows_read:
        click.echo(f"    Đọc {fmt_int(result.rows_read)} dòng · nạp {fmt_int(result.rows_loaded)} · "
                   f"từ chối {fmt_int(result.rows_rejected)}"
                   + (f" · đơn vị {result.unit_code}" if result.unit_code else ""))
    if result.message:
        click.echo(f"    {result.message}")
    for sample in result.reject_samples:
        column = f", cột '{sample['column_name']}'" if sample["column_name"] else ""
        click.echo(f"    - dòng {sample['row_number']}{column}: {sample['reason']}")
    if result.rows_rejected > len(result.reject_samples):
        click.echo(f"    ... (xem đủ {fmt_int(result.rows_rejected)} dòng bị từ chối ở trang Dữ liệu, "
                   f"lần nạp #{result.import_id})")


def _echo_summary(summary: ImportSummary) -> None:
    for result in summary.files:
        _echo_file(result)
    totals = summary.to_dict()["totals"]
    click.echo(f"Tổng cộng: {fmt_int(len(summary.files))} tệp, nạp {fmt_int(totals['rows_loaded'])} hồ sơ, "
               f"từ chối {fmt_int(totals['rows_rejected'])} dòng. Cơ sở dữ liệu: {summary.db_path}")


@click.command("load")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--db", "db_path", type=click.Path(dir_okay=False), default=None,
              help="Tệp cơ sở dữ liệu DuckDB (mặc định: biến MOTCUA_DB hoặc data/motcua.duckdb).")
@click.option("--unit", default=None,
              help="Đơn vị (tên hoặc mã xã/phường) dùng khi tệp không có cột đơn vị và tiêu đề không ghi đơn vị.")
@click.option("--user", default=None, help="Tên người nạp, ghi vào nhật ký nạp.")
@click.option("--json", "as_json", is_flag=True, help="Chỉ in kết quả dạng JSON.")
@click.option("--replace", is_flag=True,
              help="Nạp lại tệp đã nạp (ví dụ với --unit đã sửa): các dòng của lần nạp trước được thay thế.")
@click.help_option("-h", "--help", help="Hiện hướng dẫn này rồi thoát.")
def load_command(files, db_path, unit, user, as_json, replace) -> None:
    """Nạp các tệp xuất hồ sơ TTHC (Excel, HTML .xls, CSV, JSON DVCQG) vào cơ sở dữ liệu.

    Cả lần nạp được ghi một lần: hoặc tất cả các tệp được ghi, hoặc không có gì thay đổi. Tệp đã nạp
    rồi được bỏ qua; hồ sơ trùng mã giữa các tệp giữ trạng thái mới nhất. Mã thoát khác 0 khi không nạp
    được dòng nào.
    """
    bar = _ProgressBar(quiet=as_json)
    try:
        summary = import_files(list(files), db_path=db_path, unit=unit, user=user, progress=bar,
                               replace=replace)
    except unitsmod.UnitError as exc:
        raise click.UsageError(f"--unit: {exc}") from exc
    except dbmod.DatabaseUnavailable as exc:  # full disk, damaged database: nothing was published
        fail(str(exc), EXIT_FAILED)
    finally:
        bar.close()
    for result in summary.files:
        record_cli("import", result.file_name, [result.unit_code] if result.unit_code else [],
                   f"{result.status} · {result.rows_loaded} dòng nạp, {result.rows_rejected} dòng bị loại · "
                   f"sha256 {result.sha256[:12]}", user, db_path)
    if as_json:
        click.echo(json.dumps(summary.to_dict(), ensure_ascii=False, default=str, indent=2))
    else:
        _echo_summary(summary)
    if not summary.ok:
        sys.exit(1)
