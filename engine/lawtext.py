"""Parse the project's verbatim copies of legal texts (ontology/sources/*.md).

The sources are Markdown with YAML front matter; articles are `## 第X条` headings and items are
lines that begin with a full-width ordinal `（一）`. Interpretation material uses `### 第X条（Y）`
sections. Parsing is mechanical on purpose: the audit relies on the items being read from the
text, never typed by hand.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}

ARTICLE_HEADING = re.compile(r"^##\s+第([零一二两三四五六七八九十百千]+)条\s*(.*)$")
SECTION_HEADING = re.compile(r"^###\s+第([零一二两三四五六七八九十百千]+)条（([零一二三四五六七八九十]+)）(.*)$")
ITEM_LINE = re.compile(r"^（([零一二三四五六七八九十]+)）")
PART_HEADING = re.compile(r"^##\s+([零一二三四五六七八九十]+)、(.*)$")  # notice style: ## 一、专项类…
LIST_HEADING = re.compile(r"^##\s+判定情形\s*$")  # notice style: the items follow as 一、二、…
CN_ITEM_LINE = re.compile(r"^([零一二三四五六七八九十]+)、")
NUM_ITEM_LINE = re.compile(r"^(\d+)[.．]")
POINT_LINE = re.compile(r"^（(\d+)）")  # （1） under a numbered sub-item
TABLE_CAPTION = re.compile(r"^表(\d+)\s*(.*)$")  # 表1 采煤工作面……指标, followed by an HTML table
CELL = re.compile(r"<t[dh][^>]*>(.*?)</t[dh]>", re.S)
COMMENT = re.compile(r"<!--.*?-->", re.S)
# the lead sentence that makes an article's items determination criteria: 工贸 "应当判定为重大事故隐患：",
# 城镇燃气 "判定为重大隐患：", 电力 "判定为一项重大隐患：", 煤矿 "……重大事故隐患，是指有下列情形之一的："
CRITERION_LEAD = re.compile(r"判定为(?:一项)?重大(?:事故)?隐患[：:]|重大事故隐患”?，是指有下列情形之一的[：:]")


def chinese_numeral(text: str) -> int:
    """Convert a Chinese numeral as used in article ordinals (一百一十八, 十三, 二十) to int."""
    total, digit = 0, 0
    for ch in text:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
        elif ch in _UNITS:
            total += (digit or 1) * _UNITS[ch]
            digit = 0
        else:
            raise ValueError(f"not a Chinese numeral: {text!r}")
    return total + digit


def to_chinese_numeral(n: int) -> str:
    """Small positive integers (< 100) as written in ordinals: 2 → 二, 12 → 十二, 20 → 二十."""
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Item:
    pinpoint: str
    number: int
    ordinal: str  # as printed, e.g. （三）
    text: str  # the whole line, verbatim, ordinal included
    subitems: list["Item"] = field(default_factory=list, compare=False)  # 1. under （一）; （1） under 1.

    @property
    def sha256(self) -> str:
        return sha256(self.text)

    def descendants(self) -> list["Item"]:
        return [d for sub in self.subitems for d in (sub, *sub.descendants())]


@dataclass
class Article:
    """An article (条), or in notice-style documents a division (一、（一） or a sector heading)."""

    pinpoint: str
    number: int
    ordinal: str  # 第十一条; for a division the printed path, e.g. 一、（一）
    text: str  # every paragraph of the article, verbatim, joined by newlines
    lead: str  # the paragraphs before the first item
    items: list[Item] = field(default_factory=list)
    paragraphs: list[Item] = field(default_factory=list)  # 款: non-item paragraphs, numbered from 1
    kind: str = "article"  # article | division

    @property
    def sha256(self) -> str:
        return sha256(self.text)


@dataclass
class Section:
    """A section of interpretation material attached to one article or item."""

    pinpoint: str
    heading: str
    text: str


@dataclass
class LegalSource:
    doc_id: str
    path: Path
    meta: dict
    title: str
    articles: list[Article]
    sections: list[Section]
    raw: str
    listed: list[Item] = field(default_factory=list)  # notice style: 一、二、… items with no article
    paragraphs: list[Item] = field(default_factory=list)  # notice style: text outside any division or list item
    tables: list[Item] = field(default_factory=list)  # 表N: caption and header; its data rows are its subitems

    def provisions(self) -> dict[str, Article | Item]:
        out: dict[str, Article | Item] = {}
        for art in self.articles:
            out[art.pinpoint] = art
            for item in [*art.items, *art.paragraphs]:
                out[item.pinpoint] = item
                for sub in item.descendants():
                    out[sub.pinpoint] = sub
        for item in [*self.listed, *self.paragraphs]:
            out[item.pinpoint] = item
        for table in self.tables:
            out[table.pinpoint] = table
            for row in table.subitems:
                out[row.pinpoint] = row
        return out

    def criterion_items(self) -> list[Item]:
        """Items read mechanically as determination criteria: the items of an article whose lead says they
        are to be determined major hazards, every item of a notice-style list or division. Whole-article
        criteria (城镇燃气 第八条) are declared in the ontology, not guessed here."""
        out = list(self.listed)
        for art in self.articles:
            if art.kind == "division" or CRITERION_LEAD.search(art.lead):
                out.extend(art.items)
        return out


def _split_front_matter(raw: str, path: Path) -> tuple[dict, str]:
    if not raw.startswith("---\n"):
        raise ValueError(f"{path}: missing YAML front matter")
    end = raw.index("\n---", 4)
    meta = yaml.safe_load(raw[4:end]) or {}
    return meta, raw[end + 4 :]


def _body_lines(body: str) -> list[str]:
    """Lines of the body with HTML comments and fenced code removed."""
    body = COMMENT.sub("", body)
    lines, in_code = [], False
    for line in body.splitlines():
        if line.startswith("```"):
            in_code = not in_code
            continue
        if not in_code:
            lines.append(line.rstrip())
    return lines


def parse_source(path: Path) -> LegalSource:
    raw = path.read_text(encoding="utf-8")
    meta, body = _split_front_matter(raw, path)
    doc_id = str(meta.get("id") or path.stem)
    title = str(meta.get("title", doc_id))
    articles: list[Article] = []
    sections: list[Section] = []
    listed: list[Item] = []
    current: Article | None = None  # the article or division items are added to
    section: Section | None = None  # interpretation material
    part: tuple[int, str] | None = None  # notice style: (number, 一、) of the current part
    part_divisions = 0
    in_list = False  # notice style: inside "## 判定情形"
    doc_paragraphs: list[Item] = []
    tables: list[Item] = []
    caption: tuple[int, str] | None = None  # the 表N line waiting for its table
    table_lines: list[str] | None = None  # inside <table> … </table>

    def doc_paragraph(text: str) -> None:
        k = len(doc_paragraphs) + 1
        doc_paragraphs.append(Item(f"{doc_id}/para{k}", k, f"第{to_chinese_numeral(k)}段", text))

    def division(label: str, heading: str) -> Article:
        nonlocal part_divisions
        part_divisions += 1
        number, part_ordinal = part
        div = Article(f"{doc_id}/part{number}/sec{part_divisions}", part_divisions, f"{part_ordinal}{label}",
                      heading, heading, kind="division")
        articles.append(div)
        return div

    for line in _body_lines(body):
        if m := ARTICLE_HEADING.match(line):
            section, part, in_list = None, None, False
            number = chinese_numeral(m.group(1))
            current = Article(f"{doc_id}/art{number}", number, f"第{m.group(1)}条", "", "")
            articles.append(current)
            continue
        if m := SECTION_HEADING.match(line):
            current = None
            art, item = chinese_numeral(m.group(1)), chinese_numeral(m.group(2))
            section = Section(f"{doc_id}/art{art}/item{item}", line.lstrip("# ").strip(), "")
            sections.append(section)
            continue
        if m := PART_HEADING.match(line):
            current, section, in_list = None, None, False
            part, part_divisions = (chinese_numeral(m.group(1)), f"{m.group(1)}、"), 0
            continue
        if LIST_HEADING.match(line):
            current, section, part, in_list = None, None, None, True
            continue
        if line.startswith("###") and part is not None:  # a sector heading without ordinal (行业类: ### 冶金行业。)
            heading = line.lstrip("# ").strip()
            current = division(heading.rstrip("。"), heading)
            continue
        if line.startswith("#"):
            continue
        text = line.strip()
        if not text or text.startswith(">"):
            continue
        if table_lines is not None or text.startswith("<table"):  # a table belongs to the text, not to an item
            table_lines = [*(table_lines or []), text]
            if "</table>" in text:
                tables.append(_table(doc_id, caption, "\n".join(table_lines), len(tables) + 1))
                caption, table_lines = None, None
            continue
        if m := TABLE_CAPTION.match(text):
            caption = (int(m.group(1)), text)
            continue
        if section is not None:
            section.text = f"{section.text}\n{text}" if section.text else text
        elif part is not None:
            if m := ITEM_LINE.match(text):
                current = division(f"（{m.group(1)}）", text)
            elif current is not None and (m := NUM_ITEM_LINE.match(text)):
                n = int(m.group(1))
                current.text = f"{current.text}\n{text}"
                current.items.append(Item(f"{current.pinpoint}/item{n}", n, f"{n}.", text))
        elif in_list:
            if m := CN_ITEM_LINE.match(text):
                n = chinese_numeral(m.group(1))
                listed.append(Item(f"{doc_id}/item{n}", n, f"{m.group(1)}、", text))
            else:
                doc_paragraph(text)
        elif current is None and not articles:  # notice style: text before the first part (scope, deferral)
            doc_paragraph(text)
        elif current is not None:
            current.text = f"{current.text}\n{text}" if current.text else text
            if m := ITEM_LINE.match(text):
                n = chinese_numeral(m.group(1))
                current.items.append(Item(f"{current.pinpoint}/item{n}", n, f"（{m.group(1)}）", text))
            elif current.items and (m := NUM_ITEM_LINE.match(text)):  # 1. under the last （一）
                parent = current.items[-1]
                n = int(m.group(1))
                parent.subitems.append(Item(f"{parent.pinpoint}/sub{n}", n, f"{n}.", text))
            elif current.items and current.items[-1].subitems and (m := POINT_LINE.match(text)):  # （1） under 1.
                parent = current.items[-1].subitems[-1]
                n = int(m.group(1))
                parent.subitems.append(Item(f"{parent.pinpoint}/pt{n}", n, f"（{n}）", text))
            else:
                k = len(current.paragraphs) + 1
                current.paragraphs.append(Item(f"{current.pinpoint}/para{k}", k, f"第{to_chinese_numeral(k)}款", text))
                if not current.items:
                    current.lead = f"{current.lead}\n{text}" if current.lead else text

    # An article heading that carries its own explanation (解读 "## 第二条（适用范围）") is a section.
    for art in articles:
        if not art.items and art.text and "解读" in title:
            sections.append(Section(art.pinpoint, art.ordinal, art.text))
    return LegalSource(doc_id, path, meta, title, articles, sections, raw, listed, doc_paragraphs, tables)


def _table(doc_id: str, caption: tuple[int, str] | None, html_text: str, order: int) -> Item:
    """表N as a provision: the caption and header row; each data row a provision of its own (row1…).
    Cell text is unescaped (&lt; → <) and cells are joined by ｜."""
    number, title = caption if caption else (order, f"表{order}")
    def rows(part: str) -> list[str]:
        return [" ｜ ".join(html.unescape(c).strip() for c in CELL.findall(r)) for r in re.findall(r"<tr>(.*?)</tr>", part, re.S)]

    if (head := re.search(r"<thead>(.*?)</thead>", html_text, re.S)) is not None:  # every header row, however many
        header, data = "\n".join(rows(head[1])), rows(html_text[head.end():])
    else:
        everything = rows(html_text)
        head_is_th = "<th" in html_text.split("</tr>", 1)[0]
        header, data = (everything[0], everything[1:]) if head_is_th and everything else ("", everything)
    table = Item(f"{doc_id}/table{number}", number, f"表{number}", f"{title}\n{header}".strip())
    for k, row in enumerate(data, start=1):
        table.subitems.append(Item(f"{table.pinpoint}/row{k}", k, f"表{number}第{k}行", row))
    return table


def load_sources(directory: Path) -> dict[str, LegalSource]:
    out = {}
    for path in sorted(directory.glob("*.md")):
        src = parse_source(path)
        out[src.doc_id] = src
    return out
