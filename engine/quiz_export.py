"""Export a quiz to the formats training platforms import.

- Excel question bank (openpyxl): sheet 题库 with the columns 题型, 题干, 选项A, 选项B, 选项C, 选项D, 答案, 解析 - the
  layout of the common Chinese exam platforms' import templates. 判断题 answer 正确/错误 (options A 正确, B 错误);
  单选题 a letter; 多选题 letters (ACD); 数值题 is written as 填空题 with the number as the answer. A second sheet
  说明 records the quiz id, seed, parameters and knowledge-base version.
- Moodle XML (standard library): truefalse, multichoice (single/multiple; fractions that sum to 100 for the
  right options and to -100 for the wrong ones), numerical (tolerance 0, the unit declared); the explanation
  is the general feedback. Text is escaped HTML with line breaks.
"""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from io import BytesIO
from pathlib import Path

from .quiz import Question, Quiz

XLSX_COLUMNS = ("题型", "题干", "选项A", "选项B", "选项C", "选项D", "答案", "解析")
PLATFORM_KIND = {"判断题": "判断题", "单选题": "单选题", "多选题": "多选题", "数值题": "填空题"}


def xlsx_answer(q: Question) -> str:
    if q.kind == "判断题":
        return "正确" if q.answer else "错误"
    if q.kind == "多选题":
        return "".join(q.answer)
    return str(q.answer)


def to_xlsx(quiz: Quiz, path: Path | None = None) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    ws.title = "题库"
    ws.append(list(XLSX_COLUMNS))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for q in quiz.questions:
        options = [o.text for o in q.options] + [""] * (4 - len(q.options))
        ws.append([PLATFORM_KIND[q.kind], q.stem, *options[:4], xlsx_answer(q), q.explanation])
    for col, width in zip("ABCDEFGH", (8, 60, 30, 30, 30, 30, 8, 80)):
        ws.column_dimensions[col].width = width
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    meta = wb.create_sheet("说明")
    for row in (("quiz_id", quiz.id), ("seed", quiz.seed), ("kb_version", quiz.kb_version),
                ("parameters", quiz.params.model_dump_json()), ("counts", str(quiz.counts)),
                ("note", "题目由 hazard-kb 根据规则生成，答案为规则引擎对题目情形的判定结果；数值题以填空题导入。")):
        meta.append(list(row))
    buf = BytesIO()
    wb.save(buf)
    data = buf.getvalue()
    if path is not None:
        Path(path).write_bytes(data)
    return data


def _html(text: str) -> str:
    return html.escape(text).replace("\n", "<br/>")


def _text(parent: ET.Element, tag: str, value: str, fmt: str | None = "html") -> ET.Element:
    el = ET.SubElement(parent, tag, {"format": fmt} if fmt else {})
    ET.SubElement(el, "text").text = value
    return el


def _fraction(x: float) -> str:
    return f"{x:.5f}".rstrip("0").rstrip(".") if x != int(x) else str(int(x))


def _question(q: Question, quiz: Quiz) -> ET.Element:
    kind = {"判断题": "truefalse", "单选题": "multichoice", "多选题": "multichoice", "数值题": "numerical"}[q.kind]
    el = ET.Element("question", {"type": kind})
    name = ET.SubElement(el, "name")
    ET.SubElement(name, "text").text = f"{quiz.id}-{q.id} {q.kind}"
    _text(el, "questiontext", _html(q.stem))
    _text(el, "generalfeedback", _html(q.explanation))
    ET.SubElement(el, "defaultgrade").text = "1"
    ET.SubElement(el, "penalty").text = "0"
    ET.SubElement(el, "hidden").text = "0"
    if q.kind == "判断题":
        for value in (True, False):
            ans = ET.SubElement(el, "answer", {"fraction": "100" if q.answer is value else "0", "format": "moodle_auto_format"})
            ET.SubElement(ans, "text").text = "true" if value else "false"
            _text(ans, "feedback", "", None)
    elif q.kind in ("单选题", "多选题"):
        right = [q.answer] if q.kind == "单选题" else list(q.answer)
        wrong = [o.key for o in q.options if o.key not in right]
        ET.SubElement(el, "single").text = "true" if q.kind == "单选题" else "false"
        ET.SubElement(el, "shuffleanswers").text = "0"
        ET.SubElement(el, "answernumbering").text = "ABCD"
        for o in q.options:
            if o.key in right:
                fraction = 100 / len(right)
            else:
                fraction = 0 if q.kind == "单选题" else -100 / len(wrong)
            ans = ET.SubElement(el, "answer", {"fraction": _fraction(fraction), "format": "html"})
            ET.SubElement(ans, "text").text = _html(o.text)
            _text(ans, "feedback", "", None)
    else:
        ans = ET.SubElement(el, "answer", {"fraction": "100"})
        ET.SubElement(ans, "text").text = str(q.answer)
        ET.SubElement(ans, "tolerance").text = "0"
        _text(ans, "feedback", "", None)
        if q.unit:
            units = ET.SubElement(el, "units")
            unit = ET.SubElement(units, "unit")
            ET.SubElement(unit, "multiplier").text = "1"
            ET.SubElement(unit, "unit_name").text = q.unit
            ET.SubElement(el, "unitgradingtype").text = "0"
            ET.SubElement(el, "showunits").text = "3"
            ET.SubElement(el, "unitsleft").text = "0"
    return el


def to_moodle_xml(quiz: Quiz, path: Path | None = None) -> bytes:
    root = ET.Element("quiz")
    cat = ET.SubElement(root, "question", {"type": "category"})
    _text(cat, "category", f"$course$/hazard-kb/{quiz.params.standard or 'all'}/{quiz.id}", None)
    for q in quiz.questions:
        root.append(_question(q, quiz))
    ET.indent(root)
    data = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    if path is not None:
        Path(path).write_bytes(data)
    return data
