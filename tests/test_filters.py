from datetime import datetime

import pandas as pd
import pytest

from motcua.db import Database, connect_memory, write_transaction
from motcua.filters import Scope, unit_names

UNITS = pd.DataFrame({
    "code": ["10001", "10002", "10003"],
    "name": ["Xã Tứ Kỳ", "Phường Đức Thuận", "Xã O'Reilly"],
    "division_type": ["xã", "phường", "xã"],
    "province_code": ["01"] * 3,
    "province_name": ["Thành phố Hà Nội"] * 3,
    "level": ["commune"] * 3,
    "in_catalogue": [True] * 3,
    "successor_code": [None] * 3,
    "fold_name": ["tu ky", "duc thuan", "o reilly"],
})

# (receiving, resolving, field, procedure, channel, level)
ROWS = [
    ("10001", "10001", "Hộ tịch", "1.001", "online", "toan_trinh"),
    ("10001", "10002", "Hộ tịch", "1.001", "direct", "mot_phan"),
    ("10001", "10001", "Chứng thực", "2.002", "online", "mot_phan"),
    ("10002", "10002", "Hộ tịch", "1.003", "postal", "thong_tin"),
    ("10003", "10003", "Đất đai", "3.003", "online", "unknown"),
]


def _fill(con) -> None:
    con.register("units_frame", UNITS)
    con.execute("INSERT INTO units SELECT * FROM units_frame")
    con.unregister("units_frame")
    frame = pd.DataFrame(ROWS, columns=["receiving_unit_code", "resolving_unit_code", "field_name",
                                        "procedure_code", "channel", "dvc_level"])
    frame["source"] = "test"
    frame["dossier_code"] = [f"HS{i}" for i in range(len(frame))]
    frame["received_at"] = frame["state_at"] = datetime(2026, 3, 9, 8)
    frame["import_id"] = 1
    con.register("dossier_frame", frame)
    columns = ", ".join(frame.columns)
    con.execute(f"INSERT INTO dossiers ({columns}) SELECT {columns} FROM dossier_frame")
    con.unregister("dossier_frame")


@pytest.fixture
def con():
    connection = connect_memory()
    _fill(connection)
    yield connection
    connection.close()


def _codes(con, scope: Scope) -> list[str]:
    sql, params = scope.where("d", on_facts=False)
    rows = con.execute(f"SELECT dossier_code FROM dossiers d WHERE {sql} ORDER BY dossier_code", params)
    return [r[0] for r in rows.fetchall()]


def test_empty_scope_is_true_and_all_units():
    assert Scope().where() == ("TRUE", [])
    assert Scope().caption() == "Tất cả đơn vị"
    assert Scope().filters() == []
    assert Scope().is_empty()


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (Scope(), ["HS0", "HS1", "HS2", "HS3", "HS4"]),
        (Scope(unit_codes=("10001",)), ["HS0", "HS1", "HS2"]),
        (Scope(unit_codes=("10001",), unit_role="resolving"), ["HS0", "HS2"]),
        (Scope(unit_codes=("10002", "10003")), ["HS3", "HS4"]),
        (Scope(field_names=("Hộ tịch",)), ["HS0", "HS1", "HS3"]),
        (Scope(procedure_codes=("1.001", "3.003")), ["HS0", "HS1", "HS4"]),
        (Scope(channels=("online",)), ["HS0", "HS2", "HS4"]),
        (Scope(channels=("direct", "postal")), ["HS1", "HS3"]),
        (Scope(dvc_levels=("mot_phan",)), ["HS1", "HS2"]),
        (Scope(unit_codes=("10001",), field_names=("Hộ tịch",), channels=("online",)), ["HS0"]),
        (Scope(unit_codes=("99999",)), []),
    ],
)
def test_where_selects_the_right_rows(con, scope, expected):
    assert _codes(con, scope) == expected


def test_values_travel_as_parameters_never_in_sql(con):
    hostile = "x' OR '1'='1"
    scope = Scope(unit_codes=(hostile, "10001"), field_names=(hostile,))
    sql, params = scope.where()
    assert hostile not in sql and "10001" not in sql
    assert sql.count("?") == len(params) == 2
    assert _codes(con, scope) == []


def test_alias_and_bare_columns():
    assert Scope(channels=("online",)).where("f")[0] == "(f.channel = ?)"
    assert Scope(channels=("online",)).where("")[0] == "(channel = ?)"
    sql, params = Scope(unit_codes=("1", "2")).where()
    assert sql == "(d.receiving_unit_code IN (SELECT unnest(?)))" and params == [["1", "2"]]


def test_captions():
    names = {"10001": "Xã Tứ Kỳ"}
    assert Scope(unit_codes=("10001",)).caption(names) == "Xã Tứ Kỳ"
    assert Scope(unit_codes=("10001",)).caption() == "10001"  # no names: the code, never empty
    assert Scope(unit_codes=("1", "2", "3")).caption() == "3 đơn vị"
    full = Scope(unit_codes=("10001",), field_names=("Hộ tịch",), channels=("online",), dvc_levels=("toan_trinh",))
    assert full.caption(names) == "Xã Tứ Kỳ; lĩnh vực Hộ tịch; kênh trực tuyến; mức độ Toàn trình"
    assert Scope(field_names=("Hộ tịch",)).caption() == "Tất cả đơn vị; lĩnh vực Hộ tịch"
    assert Scope(field_names=("A", "B", "C", "D")).caption() == "Tất cả đơn vị; 4 lĩnh vực"
    assert Scope(procedure_codes=("1.001",)).caption() == "Tất cả đơn vị; thủ tục 1.001"
    assert Scope(channels=("direct", "postal")).caption().endswith("kênh trực tiếp, bưu chính công ích")
    assert "(nơi giải quyết)" in Scope(unit_codes=("10001",), unit_role="resolving").caption(names)
    unit_filter = Scope(unit_codes=("10001",), channels=("online",)).filters(names)
    assert [f.caption for f in unit_filter] == ["Xã Tứ Kỳ", "kênh trực tuyến"]


def test_key_is_hashable_and_order_independent():
    a = Scope(unit_codes=("2", "1"), channels=("online", "direct"))
    b = Scope(unit_codes=["1", "2", "1"], channels=["direct", "online"])
    assert a.key() == b.key() and hash(a.key()) == hash(b.key())
    assert a.key() != Scope(unit_codes=("1", "2"), unit_role="resolving", channels=("online", "direct")).key()
    assert a.key() != Scope(unit_codes=("1",)).key()


def test_inputs_are_normalised_and_validated():
    assert Scope(channels="online").channels == ("online",)
    assert Scope(unit_codes=["1", "", None, "1"]).unit_codes == ("1",)
    with pytest.raises(ValueError, match="kênh nộp"):
        Scope(channels=("email",))
    with pytest.raises(ValueError, match="mức độ"):
        Scope(dvc_levels=("level4",))
    with pytest.raises(ValueError, match="Vai trò đơn vị"):
        Scope(unit_role="owner")


def test_with_units_keeps_other_dimensions():
    scope = Scope(unit_codes=("1",), channels=("online",), unit_role="resolving")
    other = scope.with_units(["2", "3"])
    assert other.unit_codes == ("2", "3") and other.channels == ("online",) and other.unit_role == "resolving"


def test_unit_names_from_connection(con):
    assert unit_names(con, ["10002", "10001", "nope"]) == {"10001": "Xã Tứ Kỳ", "10002": "Phường Đức Thuận"}
    assert unit_names(con, []) == {}
    assert unit_names(con, ["10003"]) == {"10003": "Xã O'Reilly"}


def test_unit_names_from_database(tmp_path):
    path = tmp_path / "motcua.duckdb"
    with write_transaction(path) as connection:
        _fill(connection)
    database = Database(path)
    assert unit_names(database, ("10001",)) == {"10001": "Xã Tứ Kỳ"}
    scope = Scope(unit_codes=("10001", "10003"))
    sql, params = scope.where()
    frame = database.query_df(f"SELECT count(*) AS n FROM dossiers d WHERE {sql}", params)
    assert int(frame["n"].iloc[0]) == 4
