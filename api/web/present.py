"""How things are shown in the web app: values and citations in Chinese, input problems in Chinese naming the
field, register refusals in Chinese, and the statistics as inline SVG bars. Presentation only: what is decided,
by whom and why stays in the engine and the register."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from markupsafe import Markup, escape

from hazard_kb.engine.compiler import CompiledKB
from hazard_kb.register.domain import ROLE_ZH, TZ
from hazard_kb.register.service import PERMISSIONS

ANSWER_CLASS = {"yes": "bad", "no": "good", "undetermined": "warn"}
VERDICT_CLASS = {"violated": "bad", "not_violated": "good", "undetermined": "warn", "not_applicable": "muted"}
STATUS_CLASS = {"登记": "warn", "整改中": "warn", "申请销号": "info", "已销号": "good"}
ACTION_ZH = {
    "read": "查看登记册、判定记录和统计", "enterprises.create": "登记企业", "records.create": "保存判定记录",
    "entries.create": "登记重大事故隐患", "acknowledge": "企业签收", "plan": "制定、修改整改方案", "progress": "报告整改进展",
    "supervise": "挂牌督办、摘牌", "request_closeout": "申请销号", "confirm": "现场核查确认", "reject": "驳回销号申请",
    "close": "销号",
}
DEVICE_CHOICES = (("", "未查"), ("none", "未设置"), ("ok", "已设置，正常有效"), ("failed", "已设置，但失效或无效"),
                  ("installed", "已设置，是否有效未查"))
FIELD_ZH = {  # register and inspection form fields
    "name": "企业名称", "industries": "行业", "regimes": "专项领域", "date": "检查日期", "credit_code": "统一社会信用代码",
    "region": "属地", "province": "省", "city": "市", "county": "县（区）", "town": "乡镇（街道）", "address": "地址",
    "measures": "整改措施", "responsible": "整改责任人", "funds": "整改资金（元）", "deadline": "整改时限",
    "contingency": "安全防范措施和应急预案", "reason": "理由", "note": "整改进展", "level": "督办层级", "authority": "督办单位",
    "report": "整改完成情况", "completed_on": "完成日期", "role": "确认身份", "opinion": "现场核查意见",
    "checked_on": "现场核查日期", "findings": "核查发现", "pinpoint": "判定条款", "enterprise": "企业（统一社会信用代码）",
    "description": "隐患描述", "evidence": "证据", "source": "来源", "token": "令牌", "absent": "不涉及的对象类型",
}


# ------------------------------------------------------------------------------------------------ values
def value_zh(value: Any, unit: str | None = None) -> str:
    """An observed value in words: 是/否, a device's state, a list of objects, a number with its unit."""
    if value is None:
        return "未查"
    if isinstance(value, dict):
        if "value" in value and "unit" in value:
            return f"{value['value']}{value['unit']}"
        if value.get("installed") is False:
            return "未设置"
        if value.get("functional") is True:
            return "已设置，正常有效"
        if value.get("functional") is False:
            return "已设置，但失效或无效"
        return "已设置"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (list, tuple)):
        return "、".join(map(str, value)) or "无"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value}{unit or ''}"


def ref_zh(ref: str | None) -> str:
    """An object's ref as said to people: the enterprise itself is 企业."""
    return "企业" if ref == "enterprise" else (ref or "")


def statutes_zh(citations) -> str:
    """Provisions grouped by document: 《安全生产法》第四十一条、第一百零二条；《…》第…条."""
    by_doc: dict[str, list[str]] = {}
    for c in citations:
        by_doc.setdefault(c.document, []).append(f"{c.article or ''}{c.item or ''}")
    return "；".join(f"{doc}{'、'.join(arts)}" for doc, arts in by_doc.items())


def article_lead(section) -> str:
    """An article's own words before its items (the items are shown one by one under it)."""
    cuts = [section.text.find(c.citation.text) for c in section.criteria if c.citation.text]
    cuts = [i for i in cuts if i > 0]
    return section.text[:min(cuts)].rstrip() if cuts else section.text


def local_time(moment: datetime | str | None) -> str:
    if not moment:
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(TZ).strftime("%Y-%m-%d %H:%M")


def day(d: date | str | None) -> str:
    if not d:
        return ""
    return d if isinstance(d, str) else d.isoformat()


def anchor(pinpoint: str) -> str:
    return "p-" + re.sub(r"[^A-Za-z0-9_-]", "-", pinpoint)


def law_href(pinpoint: str) -> str:
    doc = pinpoint.split("/", 1)[0]
    return f"/app/law/{doc}#{anchor(pinpoint)}"


def cite_short(c: Any) -> str:
    """第十二条（二） for a citation or a criterion result (objects or dicts)."""
    get = c.get if isinstance(c, dict) else lambda k, d=None: getattr(c, k, d)
    text = f"{get('article') or ''}{get('item') or ''}"
    return text or get("pinpoint", "")


def short_pinpoint(kb: CompiledKB, pinpoint: str) -> str:
    from hazard_kb.engine.determine import citation

    if pinpoint not in kb.ontology.provisions:
        return pinpoint
    return cite_short(citation(kb, pinpoint)) or pinpoint


def rule_zh(kb: CompiledKB, rule: Any) -> str:
    """A fired rule in words: a derivation of 第十四条 (installed but failed counts as missing), or the item's
    branch."""
    rule_id = rule["rule"] if isinstance(rule, dict) else rule.rule
    kind = rule["kind"] if isinstance(rule, dict) else rule.kind
    if kind == "derivation":
        parts = rule_id.split("/")
        device = parts[2] if len(parts) > 3 else ""
        d = next((x for x in kb.derivations.get(device, ()) if x.rule_id == rule_id), None)
        prop = kb.ontology.properties.get(device)
        label = prop.label if prop else device
        if d is None:
            return f"推理：{label}"
        basis = "、".join(short_pinpoint(kb, p) for p in d.cites)
        if not d.installed:
            return f"推理：{label}未设置"
        seen = "已设置但失效或无效" if d.functional is False else "已设置"
        return f"推理：{label}{seen}，{'视同未设置' if not d.present else '视为有效'}" + (f"（{basis}：{d.quote}）" if basis and d.quote else "")
    crit, _, branch = rule_id.partition("#")
    return f"判定规则：{short_pinpoint(kb, crit)} 情形 {branch}" if branch else f"判定规则：{short_pinpoint(kb, crit)}"


def permissions_zh(roles) -> list[str]:
    return [zh for action, zh in ACTION_ZH.items() if set(roles) & PERMISSIONS[action]]


def roles_zh(roles) -> str:
    return "、".join(ROLE_ZH.get(r, r) for r in roles)


# ------------------------------------------------------------------------------------------------ input problems
@dataclass
class FieldProblem:
    field: str  # the form field (name, industries, o3.p.workerCount, …)
    label: str  # the field in words: 对象「速冻间1」的「作业人员数量」
    message: str  # what is wrong, in Chinese
    suggestions: tuple[str, ...] = ()
    detail: str = ""  # the engine's own message, for whoever supports the inspector

    @property
    def text(self) -> str:
        hint = f"（您是不是要填：{'、'.join(self.suggestions)}）" if self.suggestions else ""
        return f"{self.label}：{self.message}{hint}"


def _quoted(msg: str) -> str:
    m = re.search(r"got (.+)$", msg)
    return m.group(1).strip("'\"") if m else ""


def inspection_problem(kb: CompiledKB, loc: tuple, msg: str, expected: str | None, suggestions=(), objects=None) -> FieldProblem:
    """An engine InputProblem (or a pydantic error) on the inspection, told in Chinese with the form field it is about.
    objects: the draft's objects in order (ref, class), to name the object."""
    onto = kb.ontology
    loc = tuple(loc)
    objects = objects or []
    field, label = "form", "检查记录"
    prop = None
    if loc[:1] == ("date",):
        field, label = "date", "检查日期"
    elif loc[:1] == ("absent",):
        field, label = "absent", "不涉及的对象类型"
    elif loc[:1] == ("enterprise",):
        key = loc[1] if len(loc) > 1 else "name"
        if key == "properties" and len(loc) > 2:
            prop = onto.properties.get(onto.property_aliases.get(str(loc[2]), str(loc[2])))
            field, label = f"e.p.{prop.name if prop else loc[2]}", f"企业的「{prop.label if prop else loc[2]}」"
        else:
            field, label = str(key), FIELD_ZH.get(str(key), str(key))
    elif loc[:1] == ("objects",) and len(loc) > 1 and isinstance(loc[1], int):
        i = loc[1]
        ref = objects[i][0] if i < len(objects) else f"第{i + 1}个对象"
        what = loc[2] if len(loc) > 2 else "ref"
        if what == "properties" and len(loc) > 3:
            prop = onto.properties.get(onto.property_aliases.get(str(loc[3]), str(loc[3])))
            field, label = f"o{i}.p.{prop.name if prop else loc[3]}", f"对象「{ref}」的「{prop.label if prop else loc[3]}」"
        elif what == "class":
            field, label = f"o{i}.cls", f"对象「{ref}」的类型"
        elif what == "note":
            field, label = f"o{i}.note", f"对象「{ref}」的备注"
        else:
            field, label = f"o{i}.ref", f"第{i + 1}个对象的名称"
    elif loc[:1] == ("objects",):
        field, label = "form", "检查对象"
    return FieldProblem(field, label, _message_zh(msg, expected, prop), tuple(suggestions), msg)


def _message_zh(msg: str, expected: str | None, prop) -> str:
    m = msg.lower()
    got = _quoted(msg)
    was = f"，填写的是「{got}」" if got else ""
    if m.startswith("unknown industry"):
        return "知识库中没有这个行业"
    if m.startswith("unknown regime"):
        return "知识库中没有这个专项领域"
    if m.startswith("unknown object class"):
        return "知识库中没有这种对象类型"
    if m.startswith("unknown property"):
        return "这种对象没有此观察项"
    if "is used twice" in m:
        return "名称重复：同一次检查中每个对象的名称须不同"
    if "reserved for the enterprise" in m:
        return "“enterprise”是保留名称，请换一个名称"
    if "cannot be listed as an object" in m:
        return "不能作为检查对象列出（企业本身在“企业”部分填写；设施设备作为所在对象的观察项填写）"
    if "also declared absent" in m:
        return "已声明“不涉及”，不能同时记录这种对象；请撤销“不涉及”或删除对象"
    if "is not observed on" in m:
        return "不是这种对象的观察项"
    if "given twice" in m:
        return "重复填写"
    if "cannot be negative" in m:
        return f"不能为负数{was}"
    if "whole number" in m:
        return f"应填整数{('（单位：' + prop.unit + '）') if prop and prop.unit else ''}{was}"
    if "finite number" in m or "expects a number" in m:
        if prop is not None and prop.kind == "integer":
            return f"应填整数{('（单位：' + prop.unit + '）') if prop.unit else ''}{was}"
        return f"应填数字{('（单位：' + prop.unit + '）') if prop and prop.unit else ''}{was}"
    if "cannot be converted" in m:
        return f"单位无法换算{('，应以' + prop.unit + '计') if prop and prop.unit else ''}"
    if "expects true or false" in m:
        return f"应选“是”或“否”{was}"
    if "expects one of" in m:
        return f"应为下列之一：{'、'.join(prop.allowed) if prop else ''}{was}"
    if m.startswith("refers to"):
        return "所选对象不在本次检查中（可能已删除或改名），请重新选择"
    if re.match(r"^'.*' is a ", msg):
        return f"所选对象的类型不符{('，应选择' + prop.label + '所指的对象') if prop else ''}"
    if "installed" in m or "functional" in m:
        return "设施状态填写有误：未设置的设施不能同时填写是否有效"
    if "field required" in m or m == "missing":
        return "必填"
    return f"填写有误（{msg}）"


def pydantic_problems(kb: CompiledKB, exc, objects=None) -> list[FieldProblem]:
    """Problems of InspectionIn validation (empty name, no industry, a bad date, a text too long)."""
    out = []
    for e in exc.errors():
        loc = tuple(x for x in e.get("loc", ()) if x != "body")
        t = e.get("type", "")
        fp = inspection_problem(kb, loc, e.get("msg", ""), None, (), objects)
        if t == "missing" or (t == "string_too_short" and loc[-1:] == ("name",)):
            fp.message = "必填"
        elif t == "too_short" and loc[-1:] == ("industries",):
            fp.message = "请至少选择一个行业"
        elif t.startswith("date"):
            fp.message = "日期格式应为 年-月-日（如 2026-11-26）"
        elif t in ("string_too_long", "too_long"):
            fp.message = f"太长（最多 {(e.get('ctx') or {}).get('max_length', '')} 个字）"
        elif t == "string_too_short":
            fp.message = "不能为空"
        else:
            fp.message = f"填写有误（{e.get('msg')}）"
        out.append(fp)
    return out


def register_message(exc) -> str:
    """A register refusal (RegisterError) in Chinese: why, and what is missing."""
    x = exc.extra or {}
    kind = type(exc).__name__
    if kind == "Unauthorized":
        return "令牌无效、格式不对或已被撤销，请重新登录。"
    if kind == "Forbidden":
        if "needed" in x:
            return f"您的角色（{roles_zh(x.get('held', []))}）不能执行此操作；需要以下角色之一：{roles_zh(x['needed'])}。"
        if "held" in x:
            return f"您不具有该角色（您的角色：{roles_zh(x['held'])}）。"
        if "own enterprise" in exc.detail or "self-inspection" in exc.detail:
            return "企业负责人只能处理本企业的事项，且只能登记企业自查发现的隐患。"
        return "无权执行此操作。"
    if kind == "NotFound":
        return "未找到（不存在，或不属于您可以查看的企业）。"
    if exc.type == "/problems/invalid-transition":
        allowed = "、".join(x.get("allowed_in", []))
        if "entry_status" in x:
            return f"该隐患当前状态为“{x['entry_status']}”，此操作只能在“{allowed}”状态下进行。"
        return "当前状态下不能进行此操作（该隐患未挂牌督办，无需摘牌）。"
    if exc.type == "/problems/closeout-refused":
        if x.get("reason_code") == "same_user_twice":
            return "您已确认过本次销号申请：三方核查确认须由三名不同人员分别作出。"
        if x.get("reason_code") == "role_already_confirmed":
            return "该身份的核查确认已由他人作出。"
        missing = "、".join(ROLE_ZH.get(r, r) for r in x.get("missing_roles", []))
        return ("销号须经监管人员、安全专家、企业负责人三名不同人员现场核查确认" + (f"；尚缺：{missing}" if missing else "")
                + ("；有人重复确认" if x.get("repeated_users") else "") + "。")
    if exc.type == "/problems/duplicate":
        if "entry_id" in x:
            return f"这一判定情形已登记（登记 #{x['entry_id']}），不能重复登记。"
        return "已经登记过，不能重复登记。"
    if exc.type == "/problems/already-done":
        return "已经签收过。"
    if kind == "Invalid":
        errors = x.get("errors") or []
        if errors:
            return "；".join(f"{FIELD_ZH.get(str(e.get('field')).split('.')[0], e.get('field'))}：{_register_field_zh(e)}"
                            for e in errors) + "。"
        if "determination does not name a registered" in exc.detail:
            return "判定记录未关联已登记的企业：请选择企业（统一社会信用代码）。"
        if "before the entry was registered" in exc.detail:
            return "整改时限不能早于登记日期。"
        if "check character" in exc.detail or "统一社会信用代码" in exc.detail:
            return "统一社会信用代码有误（校验位不符或格式不对）。"
        if "industr" in exc.detail:
            return "行业名称不在知识库中。"
        return f"填写有误：{exc.detail}"
    if kind == "Conflict":
        return f"与已有数据冲突：{exc.detail}"
    return exc.detail


def _register_field_zh(e: dict) -> str:
    raw = e.get("message") or ""
    msg = raw.lower()
    m = re.search(r"first 17 characters give '(.)'", raw)
    if m:
        return f"校验位不符（按 GB 32100-2015，前17位对应的校验位应为 {m.group(1)}）"
    if "18 characters" in msg:
        return "应为18位数字或大写字母（不含 I、O、S、V、Z）"
    if msg.startswith("unknown industry"):
        return "知识库中没有这个行业" + (f"（您是不是要填：{'、'.join(e['suggestions'])}）" if e.get("suggestions") else "")
    if "required" in msg:
        return "必填"
    if "before the registration date" in msg:
        return f"不能早于登记日期（{e.get('expected', '').lstrip('≥ ')}）"
    if "not violated" in msg:
        return "该判定记录中没有这一违反项"
    if "ambiguous" in msg:
        return "您同时具有多个可确认的身份，请选择以哪个身份确认"
    if "unknown" in msg:
        return "无此项"
    return e.get("message") or "填写有误"


def form_problems(exc) -> list[tuple[str, str]]:
    """pydantic errors of a register form as (field, Chinese message)."""
    out = []
    for e in exc.errors():
        field = str(e.get("loc", ("form",))[-1])
        t = e.get("type", "")
        ctx = e.get("ctx") or {}
        if t == "missing" or t == "string_too_short":
            msg = "必填"
        elif t.startswith("date"):
            msg = "日期格式应为 年-月-日"
        elif t in ("float_parsing", "int_parsing", "float_type"):
            msg = "应填数字"
        elif t in ("greater_than_equal", "less_than_equal"):
            msg = f"应在 {ctx.get('ge', 0)} 与 {ctx.get('le', '')} 之间"
        elif t == "literal_error":
            msg = f"应为下列之一：{ctx.get('expected', '')}"
        elif t == "string_pattern_mismatch":
            msg = "格式不对（统一社会信用代码为18位数字或大写字母）"
        elif t in ("string_too_long", "too_long"):
            msg = f"太长（最多 {ctx.get('max_length', '')} 个字）"
        elif t == "too_short":
            msg = "请至少选择一项"
        else:
            msg = e.get("msg", "填写有误")
        out.append((field, f"{FIELD_ZH.get(field, field)}：{msg}"))
    return out


# ------------------------------------------------------------------------------------------------ charts
BAR_PARTS = (("overdue", "逾期未销号", "#c62828"), ("open", "未销号（未逾期）", "#ef9a00"), ("closed", "已销号", "#2e7d32"))


@dataclass
class BarRow:
    label: str
    key: str
    open: int
    overdue: int
    closed: int
    svg: Markup


def bar_rows(rows: list[dict], limit: int = 12) -> tuple[list[BarRow], int]:
    """Statistics rows (register/stats.py) as stacked horizontal bars, all on one scale: 逾期 (red), 未销号 not yet
    overdue (amber), 已销号 (green). Returns the bars and how many rows were left out."""
    shown = rows[:limit]
    top = max((r["open"] + r["closed"] for r in shown), default=0) or 1
    out = []
    for r in shown:
        parts = {"overdue": r["overdue"], "open": r["open"] - r["overdue"], "closed": r["closed"]}
        x = 0.0
        rects = []
        for key, zh, color in BAR_PARTS:
            n = parts[key]
            if n <= 0:
                continue
            w = 100.0 * n / top
            rects.append(f'<rect class="seg-{key}" x="{x:.3f}" y="0" width="{w:.3f}" height="10" fill="{color}">'
                         f'<title>{escape(r["label"])}：{zh} {n}</title></rect>')
            x += w
        aria = f'{r["label"]}：未销号{r["open"]}（其中逾期{r["overdue"]}），已销号{r["closed"]}'
        svg = Markup(f'<svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" role="img" aria-label="{escape(aria)}">'
                     f'<rect x="0" y="0" width="100" height="10" fill="#eceff1"/>{"".join(rects)}</svg>')
        out.append(BarRow(r["label"], r["key"], r["open"], r["overdue"], r["closed"], svg))
    return out, max(0, len(rows) - limit)


def legend() -> Markup:
    items = "".join(f'<span class="key"><svg viewBox="0 0 10 10" width="12" height="12" aria-hidden="true">'
                    f'<rect width="10" height="10" fill="{color}"/></svg>{zh}</span>' for _, zh, color in BAR_PARTS)
    return Markup(f'<div class="legend">{items}</div>')


# ------------------------------------------------------------------------------------------------ re-evaluation
def _verdict_zh(verdict: str | None, when: str) -> str:
    from hazard_kb.engine.result import VERDICT_ZH

    if verdict is None:
        return "未纳入判定" if when == "then" else "不再纳入判定"
    return VERDICT_ZH.get(verdict, verdict)


def reevaluation_view(kb: CompiledKB, rv: Any, objects=None) -> dict:
    """A register Reevaluation (Register.reevaluate) told in Chinese: the knowledge-base versions, the answer then
    and now, and per item whose verdict differs its document, article and item with the verdict then → now.
    objects: the record's objects in order (ref, class), to name them in input problems."""
    from hazard_kb.engine.determine import citation
    from hazard_kb.engine.result import ANSWER_ZH

    rows = []
    for c in rv.changes:
        document, place, text = c.label, "", ""
        if c.pinpoint in kb.ontology.provisions:
            cit = citation(kb, c.pinpoint)
            document = cit.document + (f"（{cit.doc_number}）" if getattr(cit, "doc_number", None) else "")
            place, text = f"{cit.article or ''}{cit.item or ''}", cit.text or ""
        rows.append({"pinpoint": c.pinpoint, "href": law_href(c.pinpoint) if c.pinpoint in kb.ontology.provisions else "",
                     "document": document, "place": place, "label": c.label, "text": text,
                     "before": c.before, "after": c.after, "before_zh": _verdict_zh(c.before, "then"),
                     "after_zh": _verdict_zh(c.after, "now")})
    problems = []
    for p in rv.input_problems:
        loc = tuple(int(x) if str(x).isdigit() else x for x in str(p.get("field") or "").split(".") if x != "")
        problems.append(inspection_problem(kb, loc, p.get("message") or "", p.get("expected"), p.get("suggestions") or (),
                                           objects).text)

    def short(pin: str) -> str:
        return short_pinpoint(kb, pin)

    return {"as_of": day(rv.as_of), "then_kb": rv.then_kb_version, "now_kb": rv.now_kb_version, "kb_changed": rv.kb_changed,
            "then_answer": ANSWER_ZH.get(rv.then_answer, rv.then_answer),
            "now_answer": ANSWER_ZH.get(rv.now_answer, rv.now_answer) if rv.now_answer else None,
            "answer_changed": rv.now_answer is not None and rv.now_answer != rv.then_answer,
            "rows": rows, "added": [short(p) for p in rv.hazards_added], "removed": [short(p) for p in rv.hazards_removed],
            "problems": problems, "unchanged": rv.unchanged}
