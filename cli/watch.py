"""`motcua watch DIR`: the drop folder (``loaders.watch.DropFolder``); this module only parses options."""

from __future__ import annotations

import signal
import threading

import click

from cli.common import db_option, fail
from loaders.watch import DropFolder
from motcua import units as unitsmod
from motcua.jsonlog import setup_logging
from motcua.service_config import apply_config_dir


@click.command("watch")
@click.argument("inbox", type=click.Path(file_okay=False, exists=True))
@db_option
@click.option("--unit", default=None, help="Đơn vị dùng khi tệp không ghi đơn vị (như `motcua load --unit`).")
@click.option("--interval", type=click.FloatRange(min=0.05), default=5.0, show_default=True,
              help="Số giây giữa hai lần quét thư mục.")
@click.option("--settle", "settle_seconds", type=click.FloatRange(min=0), default=10.0, show_default=True,
              help="Tệp mới thấy lần đầu chỉ được nạp khi đã không bị ghi trong bấy nhiêu giây.")
@click.option("--once", is_flag=True, help="Quét một lần rồi thoát (dùng với systemd timer hoặc cron).")
@click.option("--max-polls", type=click.IntRange(min=1), default=None, help="Dừng sau bấy nhiêu lần quét.")
@click.option("--config-dir", type=click.Path(file_okay=False), default=None,
              help="Thư mục cấu hình (mặc định: MOTCUA_CONFIG_DIR hoặc config/).")
@click.option("--log-file", type=click.Path(dir_okay=False), default=None,
              help="Ghi nhật ký JSON vào tệp này (mặc định: stderr, journald thu lại).")
def watch_command(inbox, db_path, unit, interval, settle_seconds, once, max_polls, config_dir, log_file) -> None:
    """Tự động nạp các tệp xuất được chép vào thư mục INBOX.

    Tệp nạp xong chuyển sang INBOX/done/, tệp lỗi sang INBOX/failed/ kèm tệp .txt ghi lý do. Tệp đang
    được chép (kích thước hoặc thời điểm sửa còn đổi, hoặc đang bị khóa) được để yên đến lần quét sau.
    Khởi động lại không bao giờ nạp một tệp hai lần.
    """
    apply_config_dir(config_dir)
    setup_logging(log_file)
    stop = threading.Event()
    # systemd stops the service with SIGTERM: finish the current import and move, then exit.
    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {signum: signal.signal(signum, lambda *_: stop.set()) for signum in (signal.SIGTERM, signal.SIGINT)}
    folder = DropFolder(inbox, db_path=db_path, unit=unit, settle_seconds=settle_seconds)
    try:
        outcomes = folder.run(interval=interval, max_polls=1 if once else max_polls, stop=stop)
    except unitsmod.UnitError as exc:
        fail(f"--unit: {exc}")
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    for outcome in outcomes:
        click.echo(f"{outcome.file_name} -> {outcome.status}/ : {outcome.message}")
