"""Registers (隐患台账) as tables: read the description column of an Excel or CSV file, write the rows back with
columns added. The header row is looked for in the first rows (registers often have a title row above it); a file
without the column is refused with the columns that were found."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HEADER_SEARCH_ROWS = 10
EXCEL = (".xlsx", ".xlsm")
CSV = (".csv", ".txt")


class TableError(ValueError):
    """The file cannot be read as a register, or it has no such column."""


@dataclass
class Table:
    path: Path
    kind: str  # excel | csv
    header_row: int  # 0-based row index of the header
    column: int  # 0-based index of the description column
    headers: list[str]
    rows: list[list[Any]]  # every row of the sheet or file, the header and any title rows included
    encoding: str = "utf-8-sig"
    sheet: str | None = None
    _workbook: Any = field(default=None, repr=False)

    def data_rows(self) -> range:
        return range(self.header_row + 1, len(self.rows))

    def text(self, i: int) -> str:
        row = self.rows[i]
        v = row[self.column] if self.column < len(row) else None
        return "" if v is None else str(v).strip()


def _cell(v: Any) -> str:
    return "" if v is None else str(v).strip()


def _find_header(rows: list[list[Any]], column: str, where: str) -> tuple[int, int]:
    want = column.strip()
    seen: list[str] = []
    for r, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        names = [_cell(v).replace("\n", "").replace(" ", "") for v in row]
        if want.replace(" ", "") in names:
            return r, names.index(want.replace(" ", ""))
        if not seen and sum(1 for n in names if n) >= 2:
            seen = [n for n in names if n]
    found = "、".join(seen) if seen else "none"
    raise TableError(f"{where}: no column {column!r} in the first {HEADER_SEARCH_ROWS} rows; columns found: {found}")


def read_table(path: Path, column: str, sheet: str | None = None) -> Table:
    suffix = path.suffix.lower()
    if not path.exists():
        raise TableError(f"no such file: {path}")
    if suffix in EXCEL:
        from openpyxl import load_workbook

        try:
            wb = load_workbook(path, data_only=True)
        except Exception as exc:  # a corrupt or password-protected workbook
            raise TableError(f"{path}: cannot read as an Excel workbook ({exc})") from None
        if sheet is not None and sheet not in wb.sheetnames:
            raise TableError(f"{path}: no sheet {sheet!r}; sheets: {'、'.join(wb.sheetnames)}")
        ws = wb[sheet] if sheet else wb.active
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        r, c = _find_header(rows, column, f"{path} (sheet {ws.title})")
        return Table(path, "excel", r, c, [_cell(v) for v in rows[r]], rows, sheet=ws.title, _workbook=wb)
    if suffix in CSV:
        raw = path.read_bytes()
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise TableError(f"{path}: not UTF-8 or GB18030 text")
        try:
            dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
        except csv.Error:
            dialect = csv.excel
        rows = [list(r) for r in csv.reader(io.StringIO(text), dialect)]
        r, c = _find_header(rows, column, str(path))
        return Table(path, "csv", r, c, [_cell(v) for v in rows[r]], rows, encoding=encoding)
    raise TableError(f"{path}: expected an Excel (.xlsx) or CSV (.csv) file")


def write_table(table: Table, new_columns: list[str], values: dict[int, list[Any]], output: Path) -> None:
    """The input rows, each with the new columns after its last column (values by row index); the header row gets
    the new column names. Excel keeps the workbook's other sheets and formatting."""
    width = max((len(r) for r in table.rows), default=0)
    width = max(width, len(table.headers))
    if table.kind == "excel" and output.suffix.lower() in EXCEL:
        wb = table._workbook
        ws = wb[table.sheet]
        for k, name in enumerate(new_columns):
            ws.cell(row=table.header_row + 1, column=width + k + 1, value=name)
        for i, vals in values.items():
            for k, v in enumerate(vals):
                ws.cell(row=i + 1, column=width + k + 1, value=v)
        wb.save(output)
        return
    rows = []
    for i, row in enumerate(table.rows):
        row = [_cell(v) if not isinstance(v, (int, float)) else v for v in row] + [""] * (width - len(row))
        if i == table.header_row:
            row += new_columns
        else:
            row += values.get(i, [""] * len(new_columns))
        rows.append(row)
    if output.suffix.lower() in EXCEL:  # CSV in, Excel out
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        for row in rows:
            ws.append(row)
        wb.save(output)
        return
    with output.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows(rows)
