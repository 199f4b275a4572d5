"""`motcua serve`: the production entry point of the dashboard (``dashboard.launch``)."""

from __future__ import annotations

import click

from cli.common import db_option, fail
from dashboard.launch import ServeOptions, normalise_base_path, serve
from motcua.service_config import apply_config_dir


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Địa chỉ lắng nghe (127.0.0.1 khi đứng sau nginx; 0.0.0.0 để mở cho mạng nội bộ).")
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True, help="Cổng.")
@click.option("--base-path", default="", help="Đường dẫn gốc sau reverse proxy, ví dụ kpi → https://tên-miền/kpi/.")
@db_option
@click.option("--config-dir", type=click.Path(file_okay=False), default=None,
              help="Thư mục cấu hình: users.toml, holiday_overrides.toml, motcua.toml (mặc định: "
                   "MOTCUA_CONFIG_DIR hoặc config/).")
@click.option("--log-file", type=click.Path(dir_okay=False), default=None,
              help="Ghi nhật ký JSON (mỗi dòng một bản ghi) vào tệp này; mặc định: stdout (journald).")
@click.option("--require-login", is_flag=True,
              help="Bắt buộc đăng nhập: thiếu tệp người dùng là lỗi, không bao giờ chạy chế độ demo (máy chủ thật).")
def serve_command(host, port, base_path, db_path, config_dir, log_file, require_login) -> None:
    """Chạy bảng điều khiển cho người dùng (Streamlit không giao diện dòng lệnh, bật chống XSRF, tắt thống
    kê sử dụng). Kiểm tra sống: GET http://HOST:PORT/<base-path>/_stcore/health trả về "ok"."""
    try:
        base = normalise_base_path(base_path)
    except ValueError as exc:
        fail(str(exc))
    apply_config_dir(config_dir)
    options = ServeOptions(host=host, port=port, base_path=base, db_path=db_path, log_file=log_file,
                           require_login=require_login)
    raise click.exceptions.Exit(serve(options))
