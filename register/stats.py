"""Statistics of the register (open, overdue, closed; close-out times) by region, industry, standard and item,
and the exports of statistics and of the register list as CSV (UTF-8 with BOM, so Excel reads the Chinese) and
as Excel workbooks."""

from __future__ import annotations

import csv
import io
import statistics
from datetime import date, datetime
from typing import Any

from .domain import CLOSED, ROLE_ZH

DIMENSIONS = ("region", "industry", "standard", "item")
DIMENSION_ZH = {"region": "地区", "industry": "行业", "standard": "标准", "item": "判定条款"}
LEVELS = ("province", "city", "county", "town")
LEVEL_ZH = {"province": "省", "city": "市", "county": "县（区）", "town": "乡镇（街道）"}
NO_ITEM = "（未指明条款）"


class _Acc:
    __slots__ = ("label", "open", "overdue", "closed", "supervised", "days", "late")

    def __init__(self, label: str):
        self.label = label
        self.open = self.overdue = self.closed = self.supervised = self.late = 0
        self.days: list[float] = []

    def add(self, st: dict, today: date) -> None:
        if st["status"] == CLOSED:
            self.closed += 1
            self.days.append(closeout_days(st))
            self.late += bool(st.get("closed_late"))
        else:
            self.open += 1
            if st["deadline"] and date.fromisoformat(st["deadline"]) < today:
                self.overdue += 1
            if st["supervision"]:
                self.supervised += 1

    def out(self, key: str) -> dict:
        return {"key": key, "label": self.label, "open": self.open, "overdue": self.overdue, "closed": self.closed,
                "total": self.open + self.closed, "supervised_open": self.supervised, "closeout_days": _summary(self.days, self.late)}


def closeout_days(st: dict) -> float:
    return (datetime.fromisoformat(st["closed_at"]) - datetime.fromisoformat(st["registered_at"])).total_seconds() / 86400


def _summary(days: list[float], late: int) -> dict:
    if not days:
        return {"count": 0, "mean": None, "median": None, "max": None, "closed_late": 0}
    return {"count": len(days), "mean": round(statistics.fmean(days), 2), "median": round(statistics.median(days), 2),
            "max": round(max(days), 2), "closed_late": late}


def compute(rows: list[tuple[dict, Any]], today: date, level: str = "county") -> dict:
    if level not in LEVELS:
        from .errors import Invalid

        raise Invalid(f"unknown region level {level!r}; one of {', '.join(LEVELS)}")
    depth = LEVELS.index(level) + 1
    groups: dict[str, dict[str, _Acc]] = {d: {} for d in DIMENSIONS}
    total = _Acc("合计")
    for st, ent in rows:
        basis = st.get("basis") or {}
        region = [ent.province, ent.city, ent.county, ent.town][:depth]
        keys = {
            "region": [("/".join(region), "".join(region))],
            "industry": [(i, i) for i in (ent.industries or ["（未登记行业）"])],
            "standard": [(basis.get("standard") or NO_ITEM, basis.get("document") or NO_ITEM)],
            "item": [(basis.get("pinpoint") or NO_ITEM,
                      f"{basis.get('document', '')}{basis.get('article') or ''}{basis.get('item') or ''}" if basis else NO_ITEM)],
        }
        for dim, ks in keys.items():
            for key, label in ks:
                groups[dim].setdefault(key, _Acc(label)).add(st, today)
        total.add(st, today)
    return {
        "as_of": today.isoformat(), "region_level": level,
        "totals": total.out("total"),
        "by": {d: [acc.out(k) for k, acc in sorted(g.items(), key=lambda kv: (-kv[1].open - kv[1].closed, kv[0]))]
               for d, g in groups.items()},
        "notes": ["open = 登记、整改中、申请销号; overdue = open with 时限 before as_of; closeout_days from 登记 to 已销号",
                  "an enterprise of several industries is counted under each of them"],
    }


# ------------------------------------------------------------------------------------------------- tables
STATS_HEADERS = ["维度", "键", "名称", "未销号", "逾期", "已销号", "合计", "挂牌督办（未销号）", "销号数", "平均销号天数",
                 "销号天数中位数", "最长销号天数", "逾期销号数"]


def stats_rows(stats: dict, dimension: str | None = None) -> list[list]:
    """One row per group of the dimension (all dimensions when None), then the totals."""
    def row(dim_label: str, r: dict) -> list:
        c = r["closeout_days"]
        return [dim_label, r["key"], r["label"], r["open"], r["overdue"], r["closed"], r["total"], r["supervised_open"],
                c["count"], c["mean"], c["median"], c["max"], c["closed_late"]]

    out = [row(DIMENSION_ZH[dim], r) for dim, rows in stats["by"].items() if dimension in (None, dim) for r in rows]
    out.append(row("合计", stats["totals"]))
    return out


ENTRY_HEADERS = ["登记编号", "状态", "来源", "企业名称", "统一社会信用代码", "省", "市", "县（区）", "乡镇（街道）", "行业", "标准",
                 "条款", "判定情形原文", "隐患描述", "发现日期", "登记时间", "整改时限", "是否逾期", "逾期天数", "挂牌督办",
                 "整改措施", "责任人", "资金（元）", "应急预案", "现场核查确认", "销号时间", "判定记录"]


def entry_rows(entries) -> list[list]:
    out = []
    for e in entries:
        b, p, ent = e.basis, e.plan, e.enterprise
        out.append([
            e.number, e.status, e.source, ent.name, ent.credit_code, ent.province, ent.city, ent.county, ent.town, "、".join(ent.industries),
            b.document if b else "", f"{b.article or ''}{b.item or ''}" if b else "", b.text if b else "", e.description,
            e.discovered_on.isoformat() if e.discovered_on else "", _local(e.registered_at),
            e.deadline.isoformat() if e.deadline else "", "是" if e.overdue else "否", e.days_overdue or "",
            f"{e.supervision.level}（{e.supervision.authority or ''}）" if e.supervision else "",
            p.measures if p else "", p.responsible if p else "", p.funds if p else "", p.contingency if p else "",
            "；".join(f"{ROLE_ZH[c.role]} {c.user.display_name}" for c in e.confirmations), _local(e.closed_at) if e.closed_at else "",
            e.record_id or ""])
    return out


def _local(moment: datetime) -> str:
    from .domain import TZ

    return moment.astimezone(TZ).strftime("%Y-%m-%d %H:%M")


def to_csv(headers: list[str], rows: list[list]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(headers)
    w.writerows(["" if v is None else v for v in r] for r in rows)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(sheets: list[tuple[str, list[str], list[list]]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    for title, headers, rows in sheets:
        ws = wb.create_sheet(title[:31])
        ws.append(headers)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for r in rows:
            ws.append(["" if v is None else v for v in r])
        ws.freeze_panes = "A2"
        for i, h in enumerate(headers, 1):
            width = max([len(str(h))] + [len(str(r[i - 1])) for r in rows[:200]])
            ws.column_dimensions[get_column_letter(i)].width = min(60, max(8, width * 1.6))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def stats_xlsx(stats: dict) -> bytes:
    sheets = [(f"按{DIMENSION_ZH[d]}", STATS_HEADERS, stats_rows(stats, d)) for d in DIMENSIONS]
    return to_xlsx(sheets)


def entries_xlsx(entries) -> bytes:
    return to_xlsx([("重大事故隐患清单", ENTRY_HEADERS, entry_rows(entries))])
