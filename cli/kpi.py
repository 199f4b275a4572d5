"""`motcua kpi`: the KPIs of one or more units for one period, as a Vietnamese summary or JSON."""

from __future__ import annotations

import json
from datetime import date

import click

from cli.common import db_option, fail, resolve_units, settings_options
from motcua import db as dbmod
from motcua import engines, fmt, index_estimate, metrics
from motcua.filters import Scope
from motcua.periods import custom_period, parse_period


def _period(period_text: str | None, date_from: date | None, date_to: date | None, calendar: str):
    if period_text and (date_from or date_to):
        fail("Chỉ dùng --period hoặc --from/--to, không dùng cả hai.")
    if period_text:
        try:
            return parse_period(period_text, calendar)
        except ValueError as exc:
            fail(str(exc))
    if not (date_from and date_to):
        fail("Hãy chọn kỳ: --period 2026Q3, hoặc cả --from YYYY-MM-DD và --to YYYY-MM-DD (tính cả ngày cuối).")
    try:
        return custom_period(date_from, date_to, calendar)
    except ValueError as exc:
        fail(str(exc))


def _rebuild(db_path) -> None:
    """An empty write transaction: the derived tables are rebuilt and the file republished atomically."""
    path = dbmod.resolve_path(db_path)
    if not path.exists():
        fail(f"Chưa có cơ sở dữ liệu tại '{path}'.")
    with dbmod.write_transaction(path):
        pass
    click.echo(f"Đã dựng lại bảng tổng hợp chỉ tiêu trong '{path}'.", err=True)


def _non_territorial_line(received: dict) -> str:
    label = "Hồ sơ không phụ thuộc địa giới hành chính"
    if received.get("non_territorial") is None:
        return f"{label}: không có dữ liệu"
    return (f"{label}: {fmt.fmt_int(received['non_territorial'])} "
            f"(có dữ liệu cho {fmt.fmt_int(received['non_territorial_known'])}/{fmt.fmt_int(received['new'])} "
            "hồ sơ mới)")


def _summary(result: dict) -> list[str]:
    """Readable Vietnamese lines; numbers through motcua.fmt only."""
    names = ", ".join(unit["name"] for unit in result["units"]) or "Tất cả đơn vị"
    received, resolved, pending = result["received"], result["resolved"], result["pending"]
    rates = result["rates"]
    n = fmt.fmt_int
    lines = [
        f"{names} — {result['period']['caption']}",
        f"Số hồ sơ nhận giải quyết: {n(received['total'])} (từ kỳ trước: {n(received['carried_over'])}; "
        f"mới tiếp nhận: {n(received['new'])}, trong đó trực tuyến {n(received['online'])}, "
        f"trực tiếp {n(received['direct'])}, bưu chính {n(received['postal'])})",
        f"Đã giải quyết: {n(resolved['total'])} (trước hạn {n(resolved['early'])}, đúng hạn "
        f"{n(resolved['on_time'])}, quá hạn {n(resolved['late'])})",
        f"Đang giải quyết: {n(pending['total'])} (trong hạn {n(pending['within_deadline'])}, "
        f"quá hạn {n(pending['overdue'])}; chờ bổ sung {n(pending['waiting_supplement'])})",
        f"Trả lại, rút, dừng xử lý: {n(result['returned_or_withdrawn'])}",
        _non_territorial_line(received),
    ]
    coverage = result["coverage"]
    lines += [f"{metric.label}: {fmt.fmt_rate_coverage(rates[key], coverage[key])}"
              for key, metric in metrics.RATES.items()]
    levels = "; ".join(f"{metrics.LEVEL_LABELS[level]} {n(count)}" for level, count in result["levels"].items())
    lines.append(f"Hồ sơ mới theo mức độ DVC: {levels}")
    estimate = result.get("index_estimate")
    if estimate and estimate["total"] is not None:
        rank = f", {estimate['rank']['text']}" if estimate.get("rank") else ""
        lines.append(f"Chỉ số phục vụ ({estimate['label']}): {fmt.fmt_num(estimate['total'])}/"
                     f"{fmt.fmt_num(estimate['total_max_known'])} điểm tính được{rank}")
    lines += metrics.settings_notes(result["settings"])
    return lines


@click.command("kpi")
@db_option
@click.option("--unit", "unit_names", multiple=True,
              help="Đơn vị (tên hoặc mã), dùng nhiều lần để cộng nhiều đơn vị.")
@click.option("--period", "period_text", default=None, help="Kỳ: 2026Q3, 2026M07, 2026H1, 2026N9, 2026 ...")
@click.option("--from", "date_from", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Từ ngày (YYYY-MM-DD).")
@click.option("--to", "date_to", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Đến ngày (YYYY-MM-DD, tính cả ngày này).")
@click.option("--json", "as_json", is_flag=True, help="In đúng cấu trúc JSON của compute_kpis.")
@click.option("--rebuild", is_flag=True,
              help="Dựng lại bảng tổng hợp chỉ tiêu (sau khi nâng cấp phần mềm hoặc sửa tệp ngày nghỉ).")
@click.option("--engine", type=click.Choice(list(engines.ENGINES)), default="duckdb", show_default=True,
              help="Hệ xử lý: DuckDB (tệp CSDL hoặc kho Parquet) hoặc Apache Spark (cần --lake).")
@click.option("--lake", "lake", type=click.Path(file_okay=False), default=None,
              help="Kho Parquet (`motcua lake export`) thay cho tệp CSDL.")
@click.option("--spark-master", default=None,
              help="Cụm Spark: local[2] (mặc định, hoặc biến MOTCUA_SPARK_MASTER) hoặc spark://máy:cổng.")
@settings_options()
def kpi_command(db_path, unit_names, period_text, date_from, date_to, as_json, rebuild, engine, lake, spark_master,
                settings) -> None:
    """Tính các chỉ tiêu của một hoặc nhiều đơn vị trong một kỳ."""
    if rebuild:
        _rebuild(db_path)
        if not unit_names:
            return
    if not unit_names:
        fail("Hãy chọn ít nhất một đơn vị: --unit TÊN_HOẶC_MÃ (dùng nhiều lần để cộng nhiều đơn vị).")
    period = _period(period_text, date_from.date() if date_from else None, date_to.date() if date_to else None,
                     settings.calendar)
    try:
        choice = engines.open_engine(engine, db_path, lake, spark_master)
    except (ValueError, dbmod.DatabaseUnavailable) as exc:
        fail(str(exc))
    try:
        codes = resolve_units(choice.lookup, unit_names)
        scope = Scope(unit_codes=codes)
        result = metrics.compute_kpis(choice.engine, scope, period, settings)
        # The index estimate reads the entered index inputs, which stay in the database (not in a lake).
        result["index_estimate"] = (index_estimate.estimate_block(choice.engine, scope, period, settings)
                                    if lake is None else None)
    except dbmod.DatabaseUnavailable as exc:
        fail(str(exc))
    finally:
        choice.close()
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        click.echo("\n".join(_summary(result)))
