"""The inspectors' web app (issue 8) through the ASGI app, without a browser: every page renders in Chinese,
the interview shrinks as answers come in, a fixture round-trips through the form to the same determination,
a 隐患描述 is matched to the candidates POST /v1/matches gives and 采用 merges what the text states into the
draft (issue 10), bad input is named field by field (never a 500), the register pages go through close-out with three users, the
statistics are drawn as SVG bars, and no page is in the OpenAPI description. tests/test_web_browser.py drives the
same pages in Chromium."""

from __future__ import annotations

import html
import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hazard_kb.api.app import create_app
from test_register_common import CODE_A, CODE_B, FREEZER, VIOLATED, credit_code, make_world

ROOT = Path(__file__).resolve().parent.parent
ALUMINIUM = ROOT / "fixtures" / "inspections" / "aluminium-deep-well-casting.yaml"
PAINT = "使用油性油漆的喷漆车间内未设置可燃气体浓度监测报警装置"
FURNACE = "5号压铸机配属铝液保温炉的炉底在生产时存在积水"
ALUMINIUM_VIOLATED = ["第五条（一）", "第五条（二）", "第五条（六）", "第五条（七）", "第五条（十二）", "第十一条（六）", "第十三条（二）"]


# ------------------------------------------------------------------------------------------------ helpers
class _Form(HTMLParser):
    """The fields a browser submits from one form (buttons excluded): what the page really carries."""

    def __init__(self, form_id: str):
        super().__init__(convert_charrefs=True)
        self.form_id, self.inside, self.fields = form_id, False, []
        self._select = self._textarea = None
        self._options: list = []
        self._text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("id") == self.form_id:
            self.inside = True
        if not self.inside:
            return
        if tag == "input" and a.get("name") and (a.get("type") or "text") not in ("submit", "button", "file"):
            if a.get("type") in ("radio", "checkbox"):
                if "checked" in a:
                    self.fields.append((a["name"], a.get("value", "on")))
            else:
                self.fields.append((a["name"], a.get("value") or ""))
        elif tag == "select" and a.get("name"):
            self._select, self._options = a["name"], []
        elif tag == "option" and self._select:
            self._options.append((a.get("value") or "", "selected" in a))
        elif tag == "textarea" and a.get("name"):
            self._textarea, self._text = a["name"], ""

    def handle_data(self, data):
        if self._textarea:
            self._text += data

    def handle_endtag(self, tag):
        if not self.inside:
            return
        if tag == "select" and self._select:
            chosen = [v for v, s in self._options if s] or [v for v, _ in self._options[:1]]
            self.fields += [(self._select, v) for v in chosen]
            self._select = None
        elif tag == "textarea" and self._textarea:
            self.fields.append((self._textarea, self._text))
            self._textarea = None
        elif tag == "form":
            self.inside = False


def form_data(page: str, form_id: str = "interview", **changes) -> dict[str, list[str]]:
    p = _Form(form_id)
    p.feed(page)
    data: dict[str, list[str]] = {}
    for k, v in p.fields:
        data.setdefault(k, []).append(v)
    for k, v in changes.items():
        data[k.replace("__", ".")] = v if isinstance(v, list) else [v]
    return data


def text(page: str) -> str:
    t = re.sub(r"<(script|style).*?</\1>", " ", page, flags=re.S)
    t = html.unescape(re.sub(r"<[^>]+>", " ", t))
    return re.sub(r"\s+", " ", t)


def field_of(page: str, label_part: str) -> str:
    """The form field name of the question whose text contains label_part (first one)."""
    m = re.search(r'data-prop="[^"]+">\s*<div class="qtext">\s*<span class="qlabel">[^<]*' + re.escape(label_part) + r'.*?name="([^"]+)"',
                  page, flags=re.S)
    assert m, f"no question containing {label_part!r}"
    return html.unescape(m.group(1))


@pytest.fixture(scope="module")
def world(tmp_path_factory, engine):
    w = make_world(f"sqlite:///{tmp_path_factory.mktemp('web')}/register.sqlite", engine.kb)
    yield w
    w.reg.close()


@pytest.fixture(scope="module")
def app(engine, world):
    a = create_app(engine)
    a.state.register = world.reg
    return a


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


def login(c: TestClient, token: str) -> None:
    r = c.post("/app/login", data={"token": token, "next": "/app/register"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert "httponly" in r.headers["set-cookie"].lower() and "samesite=lax" in r.headers["set-cookie"].lower()


# ------------------------------------------------------------------------------------------------ pages
def test_every_public_page_renders_in_chinese(client, engine):
    assert client.get("/", follow_redirects=False).headers["location"] == "/app"
    for path, words in (("/app", "开始检查"), ("/app/inspect", "企业名称"), ("/app/law", "工贸企业重大事故隐患判定标准"),
                        ("/app/login", "令牌")):
        r = client.get(path)
        assert r.status_code == 200 and words in r.text and 'lang="zh-CN"' in r.text, path
        assert 'name="viewport"' in r.text
    for doc in engine.kb.ontology.documents:
        r = client.get(f"/app/law/{doc}")
        assert r.status_code == 200, doc
    r = client.get("/app/law/no-such-standard")
    assert r.status_code == 404 and "知识库中没有文件" in r.text and r.headers["content-type"].startswith("text/html")


def test_assets_are_vendored_and_pages_need_no_internet(client):
    for path in ("/app/inspect", "/app/law/gongmao-2023"):
        page = client.get(path).text
        assert not re.search(r'(src|href)="(https?:)?//', page), path
    for asset in ("htmx.min.js", "idiomorph-ext.min.js", "app.css", "app.js", "htmx.LICENSE.txt"):
        assert client.get(f"/app/static/{asset}").status_code == 200, asset
    assert "@media print" in client.get("/app/static/app.css").text


def test_no_page_is_in_the_openapi_description(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p == "/" or p.startswith("/app")]


def test_law_page_shows_articles_items_rules_and_questions(client):
    page = client.get("/app/law/gongmao-2023").text
    t = text(page)
    assert "（二）快速冻结装置未设置在单独的作业间内，或者快速冻结装置作业间内作业人员数量超过9人的。" in t
    assert "作业人员数量大于9人" in t  # the condition in words
    assert "作业间内同时作业的人员有多少人？（单位：人）" in t  # the question from the ontology
    assert 'id="p-gongmao-2023-art12-item2"' in page
    # a notice-style standard without articles still lists every item
    t17 = text(client.get("/app/law/huagong-2017").text)
    assert t17.count("情形 a") >= 15


# ------------------------------------------------------------------------------------------------ interview
def test_checklist_then_questions_disappear_as_answers_come_in(client):
    start = {"name": "某家具厂", "date": "2026-11-20", "industries": "轻工"}
    page = client.post("/app/inspect", data=start).text
    t = text(page)
    assert "检查清单" in t and "是否有调漆间、喷漆室？" in t and "判定 第八条（六）" in t
    # record a paint room: its questions appear, with the ontology's wording
    page = client.post("/app/inspect", data=form_data(page, action="add:PaintRoom")).text
    assert 'name="o0.ref"' in page and "调漆间、喷漆室1" in page
    alarm = field_of(page, "可燃气体浓度监测报警装置")
    assert alarm.startswith("o0.p.")
    assert "是否有调漆间、喷漆室？" not in text(page)  # presence decided by the object itself
    # water-borne paint: both branches of 第八条（六） are refuted, the device questions are no longer asked
    coating = field_of(page, "非水性漆")
    page = client.post("/app/inspect", data=form_data(page, **{coating: "false"})).text
    assert alarm not in page
    # declaring a kind 不涉及 removes its presence question, and can be undone
    assert "是否有烘制、油炸设备？" in text(page)
    page = client.post("/app/inspect", data=form_data(page, action="absent:BakingOrFryingEquipment")).text
    assert "是否有烘制、油炸设备？" not in text(page) and 'name="absent" value="BakingOrFryingEquipment"' in page
    page = client.post("/app/inspect", data=form_data(page, action="present:BakingOrFryingEquipment")).text
    assert "是否有烘制、油炸设备？" in text(page)


def test_htmx_steps_get_only_the_form(client):
    r = client.post("/app/inspect", data={"name": "x", "industries": "轻工"}, headers={"HX-Request": "true", "HX-Target": "interview"})
    assert r.status_code == 200 and r.text.lstrip().startswith("<form id=\"interview\"") and "<html" not in r.text


def test_freezer_inspection_from_checklist_to_determination(client):
    page = client.post("/app/inspect", data={"name": "某冷冻食品有限公司", "date": "2026-11-20", "industries": "轻工",
                                             "regimes": "涉氨制冷"}).text
    page = client.post("/app/inspect", data=form_data(page, action="add:QuickFreezeWorkroom")).text
    workers = field_of(page, "同时作业的人员")
    assert 'inputmode="numeric"' in page
    page = client.post("/app/inspect", data=form_data(page, **{workers: "12", "o0.ref": "速冻间1"})).text
    assert 'value="速冻间1"' in page and "构成 <strong>1</strong> 项" in page
    r = client.post("/app/inspect/result", data=form_data(page))
    assert r.status_code == 200
    t = text(r.text)
    assert "是否构成重大事故隐患 是" in t
    assert "（二）快速冻结装置未设置在单独的作业间内，或者快速冻结装置作业间内作业人员数量超过9人的。" in t
    assert "中华人民共和国应急管理部令第10号" in t and "第十二条（二）" in t
    assert "速冻间1 作业人员数量 12人" in t  # the evidence
    assert "gongmao-2023/art12/item2#b" in t  # why: the rule that fired
    assert "尚不能判定" in t and "下一步检查" in t and "第一百零二条" in t


def test_a_whole_fixture_round_trips_through_the_form(client):
    page = client.post("/app/inspect/load", files={"file": ("a.yaml", ALUMINIUM.read_bytes(), "text/yaml")}).text
    assert "熔铸工休息室" in page and 'name="absent" value="SmeltingFurnace"' in page
    r = client.post("/app/inspect/result", data=form_data(page))
    assert r.status_code == 200
    t = text(r.text)
    assert "构成重大事故隐患的判定情形（7 项）" in t
    for item in ALUMINIUM_VIOLATED:
        assert f"《工贸企业重大事故隐患判定标准》 {item}" in t, item
    assert "尚不能判定（3 项）" in t and "精炼用液氩储罐" in t  # deferred to the special-equipment rules
    # 返回修改: the determination page carries the inspection back into the form, unchanged
    m = re.search(r'action="/app/inspect/load"><input type="hidden" name="inspection" value="([^"]*)"', r.text)
    again = client.post("/app/inspect/load", data={"inspection": html.unescape(m.group(1))}).text
    assert form_data(again) == form_data(page)


def test_the_printable_inspection_record(client):
    page = client.post("/app/inspect/load", files={"file": ("a.yaml", ALUMINIUM.read_bytes(), "text/yaml")}).text
    det = client.post("/app/inspect/result", data=form_data(page)).text
    m = re.search(r'action="/app/inspect/record"><input type="hidden" name="inspection" value="([^"]*)"', det)
    r = client.post("/app/inspect/record", data={"inspection": html.unescape(m.group(1))})
    assert r.status_code == 200
    t = text(r.text)
    assert "重大事故隐患检查记录" in t and "被检查单位 某某铝业有限公司" in t
    assert "检查人员（签字）" in t and "企业负责人（签字）" in t and t.count("日期：") >= 2
    assert "（十二）使用煤气（天然气）并强制送风的燃烧装置的燃气总管未设置压力监测报警装置" in t
    assert "法律责任" in t and 'no-print' in r.text
    assert "经核实不涉及：冶炼炉窑、熔融金属冶炼炉窑水冷元件" in t


# ------------------------------------------------------------------------------------------------ 隐患描述 (matching)
HX_MATCH = {"HX-Request": "true", "HX-Target": "match-result"}


def _machinery(client) -> str:
    return client.post("/app/inspect", data={"name": "某某机械制造有限公司", "date": "2026-11-20", "industries": "机械"}).text


def _observed(page: str) -> dict[str, list[str]]:
    """The observations a page's form carries (the objects' and the enterprise's values that are filled in)."""
    return {k: v for k, v in form_data(page).items() if (k.startswith("o") and ".p." in k or k.startswith("e.p.")) and v != [""]}


def test_a_description_is_matched_as_post_v1_matches_matches_it(client):
    page = _machinery(client)
    assert 'id="description"' in page and "匹配条款" in page and 'id="match-result"' in page
    r = client.post("/app/inspect/match", data=form_data(page, description=FURNACE))
    assert r.status_code == 200
    # the candidates of the API for the same text, the enterprise's industry and the inspection date
    api = client.post("/v1/matches", json={"text": FURNACE, "industries": ["机械"], "date": "2026-11-20"}).json()
    assert re.findall(r'data-pinpoint="([^"]+)"', r.text) == [c["pinpoint"] for c in api["candidates"]]
    top = api["candidates"][0]
    assert top["pinpoint"] == "gongmao-2023/art7/item3" and top["verdict"] == "violated"
    t = text(r.text)
    assert "按行业 机械、2026-11-20 有效的标准中查找，候选条款 3 项" in t
    assert "《工贸企业重大事故隐患判定标准》第七条（三）" in t and top["text"] in t and f"匹配度 {top['score']:.2f}" in t
    assert "按描述：构成重大事故隐患" in t and "中华人民共和国应急管理部令第10号" in t
    for o in top["observations"]:  # what was read, with the words it was read from
        assert f"{o['label']}： {'是' if o['value'] is True else '、'.join(o['value'])}" in t, o
        assert f'<q class="span">{html.escape(o["span"], quote=False)}</q>' in r.text
    second = api["candidates"][1]
    assert second["verdict"] == "undetermined" and second["questions"]
    assert "还需查明" in t and all(q["question"] in t for q in second["questions"])  # the questions that would decide it
    assert 'value="adopt:gongmao-2023/art7/item3"' in r.text
    # the draft is carried: enterprise, industry, the description itself
    assert 'value="某某机械制造有限公司"' in r.text and 'value="机械" checked' in r.text and f">{FURNACE}</textarea>" in r.text
    # htmx asks for the result only (the interview is not redrawn), and the interview's own steps keep it
    part = client.post("/app/inspect/match", data=form_data(page, description=FURNACE), headers=HX_MATCH)
    assert part.status_code == 200 and "<html" not in part.text and "<form" not in part.text
    assert re.findall(r'data-pinpoint="([^"]+)"', part.text) == [c["pinpoint"] for c in api["candidates"]]
    step = client.post("/app/inspect", data=form_data(r.text), headers={"HX-Request": "true", "HX-Target": "interview"})
    assert re.search(r'<div id="match-result"[^>]*hx-preserve="true"></div>', step.text)


def test_adopting_a_candidate_puts_what_the_text_states_into_the_draft(client):
    matched = client.post("/app/inspect/match", data=form_data(_machinery(client), description=PAINT)).text
    assert re.findall(r'data-pinpoint="([^"]+)"', matched)[0] == "gongmao-2023/art7/item7"
    page = client.post("/app/inspect", data=form_data(matched, action="adopt:gongmao-2023/art7/item7")).text
    # the candidate's inspection and nothing else: one object, the two values the sentence states
    fields = form_data(page)
    assert fields["o0.ref"] == ["喷漆车间"] and fields["o0.cls"] == ["PaintRoom"] and "o1.cls" not in fields
    assert _observed(page) == {"o0.p.usesNonWaterborneCoating": ["true"], "o0.p.hasFlammableGasAlarm": ["none"]}
    api = client.post("/v1/matches", json={"text": PAINT, "industries": ["机械"], "date": "2026-11-20"}).json()["candidates"][0]
    assert api["inspection"]["objects"] == [{"ref": "喷漆车间", "class": "PaintRoom", "properties": {
        "usesNonWaterborneCoating": True, "hasFlammableGasAlarm": {"installed": False}}}]
    t = text(page)
    assert "已采用 第七条（七）" in t and "记录观测 2 项" in t and "新增" in t
    assert "构成 <strong>1</strong> 项" in page  # the interview goes on from there, with the item already violated
    # the normal determination: the item violated, on the evidence of the sentence
    r = client.post("/app/inspect/result", data=form_data(page))
    assert r.status_code == 200
    t = text(r.text)
    assert "是否构成重大事故隐患 是" in t and "《工贸企业重大事故隐患判定标准》 第七条（七）" in t
    assert "（七）使用非水性漆的调漆间、喷漆室未设置固定式可燃气体浓度监测报警装置或者通风设施的。" in t
    assert "喷漆车间 固定式可燃气体浓度监测报警装置 未设置" in t
    # adopting again adds nothing
    again = client.post("/app/inspect", data=form_data(page, action="adopt:gongmao-2023/art7/item7")).text
    assert "o1.cls" not in form_data(again) and "没有新的观测" in text(again)


def test_adopting_merges_into_the_objects_already_recorded_and_never_overwrites(client):
    matched = client.post("/app/inspect/match", data=form_data(_machinery(client), description=FURNACE)).text
    page = client.post("/app/inspect", data=form_data(matched, action="adopt:gongmao-2023/art7/item3")).text
    fields = form_data(page)
    assert [fields[f"o{i}.ref"][0] for i in range(2)] == ["炉底", "保温炉"] and "o2.cls" not in fields
    assert _observed(page) == {"o0.p.inProductionWhenObserved": ["true"], "o0.p.waterAccumulated": ["true"],
                               "o0.p.ofFoundryFurnace": ["保温炉"]}
    assert "构成 <strong>1</strong> 项" in page
    # the third candidate is about the same 保温炉: merged into it, not a second one
    third = re.findall(r'value="adopt:([^"]+)"', page)
    assert "gongmao-2023/art7/item2" in third
    page = client.post("/app/inspect", data=form_data(page, action="adopt:gongmao-2023/art7/item2")).text
    assert "o2.cls" not in form_data(page) and "保温炉 （铸造用保温炉，已有）" in text(page)
    # a value the inspector recorded differently is kept, and the difference is said
    water = field_of(page, "积水")
    page = client.post("/app/inspect", data=form_data(page, **{water: "false"}, action="adopt:gongmao-2023/art7/item3")).text
    assert form_data(page)[water] == ["false"]
    assert "已记录的值未改动，请核对：炉底 存在积水 已填“否”，描述中为“是”" in text(page)
    # a kind declared 不涉及 is no longer so when an object of it is adopted
    page = client.post("/app/inspect", data=form_data(_machinery(client), action="absent:PaintRoom")).text
    matched = client.post("/app/inspect/match", data=form_data(page, description=PAINT)).text
    page = client.post("/app/inspect", data=form_data(matched, action="adopt:gongmao-2023/art7/item7")).text
    assert 'name="absent" value="PaintRoom"' not in page and "已撤销“不涉及”：调漆间、喷漆室" in text(page)


def test_a_bad_description_is_named_in_chinese_and_never_a_500(client):
    page = _machinery(client)
    for desc, message in (("", "隐患描述：请先填写看到的情况"), ("   ", "隐患描述：请先填写看到的情况"),
                          ("隐" * 2001, "隐患描述：太长（最多 2000 个字，现有 2001 个字）")):
        r = client.post("/app/inspect/match", data=form_data(page, description=desc))
        assert r.status_code == 422 and message in text(r.text), desc[:5]
        assert re.search(r'<textarea name="description"[^>]*aria-invalid=true', r.text)
        part = client.post("/app/inspect/match", data=form_data(page, description=desc), headers=HX_MATCH)
        assert part.status_code == 200 and message in text(part.text) and 'role="alert"' in part.text  # htmx swaps it
    for changes, message in (({"industries": "冶金x"}, "行业：知识库中没有这个行业（您是不是要填：冶金）"),
                             ({"date": "2026-13-45"}, "检查日期：日期格式应为 年-月-日"),
                             ({"industries": [], "regimes": "涉氨制冷"}, "行业：选择专项领域时，请同时选择企业的行业")):
        r = client.post("/app/inspect/match", data=form_data(page, description=PAINT, **changes))
        assert r.status_code == 422 and message in text(r.text), changes
    r = client.post("/app/inspect/match", data=form_data(page, description="下午开会讨论明年的预算"))
    assert r.status_code == 200 and "没有找到与该描述相符的判定情形" in text(r.text) and "data-pinpoint" not in r.text
    # 采用 without an industry: matched under the item's own sectors (said so), but not put into the inspection
    bare = client.get("/app/inspect").text
    matched = client.post("/app/inspect/match", data=form_data(bare, description=PAINT)).text
    assert "未选择行业，在所有行业" in text(matched) and "未选择行业：判定时按条款的适用范围假定为" in text(matched)
    pin = re.findall(r'value="adopt:([^"]+)"', matched)[0]
    r = client.post("/app/inspect", data=form_data(matched, action=f"adopt:{pin}"))
    assert r.status_code == 200 and "行业：采用前请先在“企业”中选择企业的行业（该条款适用于：" in text(r.text)
    assert 'name="o0.ref"' not in r.text
    # 采用 of an item that is not a candidate of the text (the text changed, or a forged button)
    matched = client.post("/app/inspect/match", data=form_data(page, description=PAINT)).text
    for changes in ({"action": "adopt:gongmao-2023/art12/item2"}, {"action": "adopt:gongmao-2023/art7/item7", "description": "速冻间内有12名作业人员"}):
        r = client.post("/app/inspect", data=form_data(matched, **changes))
        assert r.status_code == 200 and "隐患描述：所采用的条款不在本描述的匹配结果中" in text(r.text), changes
        assert 'name="o0.ref"' not in r.text
    r = client.post("/app/inspect", data=form_data(matched, action="adopt:gongmao-2023/art7/item7", description=""))
    assert r.status_code == 200 and "隐患描述：请先填写看到的情况" in text(r.text) and 'name="o0.ref"' not in r.text


# ------------------------------------------------------------------------------------------------ errors named
def test_bad_input_is_named_in_chinese_and_never_a_500(client):
    page = client.post("/app/inspect", data={"name": "某冷冻食品有限公司", "industries": "轻工", "regimes": "涉氨制冷"}).text
    page = client.post("/app/inspect", data=form_data(page, action="add:QuickFreezeWorkroom")).text
    workers = field_of(page, "同时作业的人员")
    # a step with a bad number: named at the field, the rest of the interview goes on
    step = client.post("/app/inspect", data=form_data(page, **{workers: "十二", "o0.ref": "速冻间1"}))
    assert step.status_code == 200
    t = text(step.text)
    assert "对象「速冻间1」的「作业人员数量」：应填整数（单位：人），填写的是「十二」" in t
    assert "是否有快速冻结装置？" in t and 'value="十二"' in step.text
    # submitting it: the interview again, 422, same message
    r = client.post("/app/inspect/result", data=form_data(step.text))
    assert r.status_code == 422 and "应填整数" in r.text and "以下填写需要更正" in r.text
    for bad, message in ((-3, "不能为负数"), ("2.5", "应填整数")):
        r = client.post("/app/inspect/result", data=form_data(page, **{workers: str(bad)}))
        assert r.status_code == 422 and message in text(r.text), bad
    # the enterprise: no name, no industry, an industry the knowledge base does not know, a bad date
    r = client.post("/app/inspect/result", data={"name": "", "industries": []})
    assert r.status_code == 422 and "企业名称：必填" in text(r.text) and "行业：请至少选择一个行业" in text(r.text)
    r = client.post("/app/inspect/result", data={"name": "x", "industries": ["冶金x"]})
    t = text(r.text)
    assert r.status_code == 422 and "行业：知识库中没有这个行业（您是不是要填：冶金）" in t
    r = client.post("/app/inspect/result", data={"name": "x", "industries": "轻工", "date": "2026-13-45"})
    assert r.status_code == 422 and "检查日期：日期格式应为" in text(r.text)
    # two objects of the same name
    page2 = client.post("/app/inspect", data=form_data(page, action="add:QuickFreezeWorkroom")).text
    r = client.post("/app/inspect/result", data=form_data(page2, **{"o0.ref": "甲", "o1.ref": "甲"}))
    assert r.status_code == 422 and "名称重复" in r.text
    # an import that is not an inspection; a determination page that was tampered with
    r = client.post("/app/inspect/load", files={"file": ("x.yaml", b"- just a list", "text/yaml")})
    assert r.status_code == 422 and "导入的内容不是检查记录" in r.text
    bomb = b"a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\nenterprise: {name: x, industries: [*c]}\n"
    r = client.post("/app/inspect/load", files={"file": ("x.yaml", bomb, "text/yaml")})
    assert r.status_code == 422 and "导入的内容不是检查记录" in r.text
    r = client.post("/app/inspect/record", data={"inspection": "{not json"})
    assert r.status_code == 422 and "不是有效的 JSON" in r.text


def test_forms_posted_from_another_site_are_refused(client):
    r = client.post("/app/inspect", data={"name": "x"}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and "不是从本站提交的" in r.text


# ------------------------------------------------------------------------------------------------ register
def test_register_needs_login_and_a_bad_token_is_told(client):
    r = client.get("/app/register", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/app/login?next=/app/register")
    r = client.post("/app/login", data={"token": "hk_nope_nope", "next": "/app/register"})
    assert r.status_code == 401 and "令牌无效" in r.text
    r = client.post("/app/login", data={"token": "nonsense"})
    assert r.status_code == 401 and "令牌" in r.text


def test_register_entry_through_closeout_with_three_users(client, world):
    # the inspector determines, saves the record and registers the violated item
    login(client, world.tokens["insp"])
    reg_page = client.get("/app/register").text
    assert "监管人员" in reg_page and "现场核查确认" in reg_page and "销号" in reg_page  # what the role may do
    page = client.get("/app/inspect").text
    assert "某冷冻食品有限公司（历下区甲街道）" in page  # enterprises of the register to choose from
    page = client.post("/app/inspect", data=form_data(page, pick=CODE_A, action="pick")).text
    assert f'value="{CODE_A}"' in page and 'value="轻工" checked' in page
    page = client.post("/app/inspect", data=form_data(page, regimes="涉氨制冷", date="2026-11-20", action="add:QuickFreezeWorkroom")).text
    page = client.post("/app/inspect", data=form_data(page, **{field_of(page, "同时作业的人员"): "12"})).text
    det = client.post("/app/inspect/result", data=form_data(page)).text
    m = re.search(r'action="/app/records"><input type="hidden" name="inspection" value="([^"]*)"', det)
    r = client.post("/app/records", data={"inspection": html.unescape(m.group(1))}, follow_redirects=False)
    assert r.status_code == 303
    record_url = r.headers["location"].split("?")[0]
    rec = client.get(r.headers["location"]).text
    assert "判定记录已保存" in rec and "登记为重大事故隐患" in rec
    r = client.post(f"{record_url}/entries", data={"pinpoint": VIOLATED, "deadline": "2026-12-20"}, follow_redirects=False)
    assert r.status_code == 303
    entry = r.headers["location"].split("?")[0]
    page = client.get(entry + "?done=registered").text
    assert "已登记。" in page and "（二）快速冻结装置未设置在单独的作业间内" in page and "作业人员数量 12人" in text(page)
    assert client.get(record_url).text.count(entry.rsplit("/", 1)[1]) >= 1
    # the registered item cannot be registered twice
    r = client.post(f"{record_url}/entries", data={"pinpoint": VIOLATED})
    assert r.status_code == 409 and "已登记" in text(r.text)

    # the enterprise principal acknowledges, plans and applies for close-out
    login(client, world.tokens["boss"])
    page = client.get(entry).text
    assert "企业签收" in page and "制定整改方案" in page and "挂牌督办" not in text(page).split("办理")[1].split("事件记录")[0]
    assert client.post(f"{entry}/acknowledge", data={}, follow_redirects=False).status_code == 303
    r = client.post(f"{entry}/plan", data={"measures": "", "responsible": "张三", "funds": "abc", "deadline": "2026-12-31",
                                           "contingency": "限员"})
    assert r.status_code == 422 and "整改措施：必填" in text(r.text) and "整改资金（元）：应填数字" in text(r.text)
    plan = {"measures": "速冻间作业人员减至9人以下", "responsible": "张三（生产副总）", "funds": "85000", "deadline": "2026-12-31",
            "contingency": "整改期间每班限员"}
    assert client.post(f"{entry}/plan", data=plan, follow_redirects=False).status_code == 303
    r = client.post(f"{entry}/close", data={})  # not in the status for it, and not the role either
    assert r.status_code in (403, 409) and ("不能执行此操作" in text(r.text) or "状态" in text(r.text))
    assert client.post(f"{entry}/request_closeout", data={"report": "已整改"}, follow_redirects=False).status_code == 303
    page = client.get(entry).text
    assert "申请销号" in page and "待确认" in page

    # three confirmations by three different people, then the close-out
    for who in ("insp", "expert", "boss"):
        login(client, world.tokens[who])
        r = client.post(f"{entry}/confirm", data={"opinion": "现场核查合格", "checked_on": "2026-12-29"}, follow_redirects=False)
        assert r.status_code == 303, (who, r.text)
        if who == "insp":
            again = client.post(f"{entry}/confirm", data={"opinion": "再确认"})
            assert again.status_code == 409 and "三名不同人员" in text(again.text)
            early = client.post(f"{entry}/close", data={})
            assert early.status_code == 409 and "尚缺：安全专家、企业负责人" in text(early.text)
    login(client, world.tokens["insp"])
    assert client.post(f"{entry}/close", data={"reason": "三方核查合格"}, follow_redirects=False).status_code == 303
    page = client.get(entry).text
    t = text(page)
    assert 'id="status">已销号' in page and "已于" in t and "销号" in t
    for kind in ("登记", "企业签收", "制定整改方案", "申请销号", "现场核查确认", "销号"):
        assert kind in t.split("事件记录")[1], kind
    assert t.count("✓") == 3
    # the list, filtered
    listing = text(client.get("/app/register?status=已销号").text)
    assert "某冷冻食品有限公司" in listing and "已销号" in listing
    assert "没有符合条件的登记" in text(client.get("/app/register?status=登记&overdue=1").text)
    print_page = client.get(f"{record_url}/print").text
    assert "检查人员（签字）" in print_page and "记录编号" in print_page


def test_statistics_are_drawn_as_svg_bars(client, world):
    insp = world.actors["insp"]
    for pinpoint, deadline in (("gongmao-2023/art5/item1", date(2020, 1, 31)), ("gongmao-2023/art11/item6", None)):
        world.reg.register_entry(insp, source="监督检查", enterprise=CODE_B, description="统计用登记", pinpoint=pinpoint,
                                 deadline=deadline)
    login(client, world.tokens["auditor"])
    page = client.get("/app/stats?level=town").text
    assert page.count('<svg class="bar"') >= 4 and "按地区" in page and "按行业" in page and "按判定条款" in page
    assert 'class="seg-overdue"' in page and 'class="seg-open"' in page
    assert "逾期未销号" in page and "已销号" in page
    r = client.get("/app/stats/export?format=csv")
    assert r.status_code == 200 and "未销号" in r.content.decode("utf-8-sig")
    r = client.get("/app/stats?on=yesterday")
    assert r.status_code == 422 and "日期格式" in text(r.text)


def test_an_enterprise_principal_sees_its_own_enterprise_only(client, world):
    login(client, world.tokens["boss_b"])
    page = client.get("/app/register").text
    assert "只能查看某某铝业有限公司" in text(page) and "某冷冻食品有限公司" not in page
    assert client.get("/app/register/1").status_code == 404


def test_enterprises_are_registered_with_their_problems_named(client, world):
    login(client, world.tokens["insp"])
    form = {"name": "某某纺织有限公司", "credit_code": "91370100MA00000019", "province": "山东省", "city": "济南市", "county": "历城区",
            "town": "丁街道", "industries": "纺织"}
    r = client.post("/app/enterprises", data={**form, "credit_code": "12345"})
    assert r.status_code == 422 and "统一社会信用代码：格式不对" in text(r.text)
    r = client.post("/app/enterprises", data={**form, "industries": []})
    assert r.status_code == 422 and "行业：请至少选择一项" in text(r.text)
    r = client.post("/app/enterprises", data=form)
    assert r.status_code == 422 and "统一社会信用代码：校验位不符（按 GB 32100-2015，前17位对应的校验位应为 0）" in text(r.text)
    r = client.post("/app/enterprises", data={**form, "credit_code": credit_code(77)}, follow_redirects=False)
    assert r.status_code == 303
    assert "某某纺织有限公司" in client.get("/app/enterprises").text
    login(client, world.tokens["auditor"])
    page = client.get("/app/enterprises").text
    assert "某某纺织有限公司" in page and 'action="/app/enterprises"' not in page  # an auditor reads, does not add


# ------------------------------------------------------------------------------------------------ re-evaluation
HX_REEVAL = {"HX-Request": "true", "HX-Target": "reevaluation"}


def test_a_record_is_reevaluated_against_todays_knowledge_base_on_its_page(client, world, engine):
    # as tests/test_register_lifecycle.py::test_reevaluation_shows_what_would_change: a record made with an older
    # knowledge base in which the item was not violated
    output = engine.determine(FREEZER).model_dump(mode="json")
    old = {**output, "kb_version": "0.0.9+000000000000", "answer": "no", "hazards": [],
           "items": [{**i, "verdict": "not_violated"} if i["pinpoint"] == VIOLATED else i for i in output["items"]]}
    saved = world.reg.save_record(world.actors["insp"], FREEZER, old, old["kb_version"], "0" * 64)
    login(client, world.tokens["auditor"])  # a reader, not an inspector
    page = client.get(f"/app/records/{saved.id}").text
    assert "按现行知识库重新判定" in page and f'hx-get="/app/records/{saved.id}/reevaluation"' in page
    assert 'id="reeval-result"' not in page  # shown only when asked for
    for r in (client.get(f"/app/records/{saved.id}/reevaluation"),  # without script: the record page with it
              client.get(f"/app/records/{saved.id}/reevaluation", headers=HX_REEVAL)):  # htmx: the result only
        assert r.status_code == 200
        t = text(r.text)
        assert f"知识库版本：当时 0.0.9+000000000000 → 现行 {engine.kb.version} 已更新" in t
        assert "是否构成重大事故隐患：当时 否 → 现在 是" in t
        assert "现在新增构成重大事故隐患：第十二条（二）" in t
        row = text(re.search(r'<tr data-pinpoint="gongmao-2023/art12/item2">.*?</tr>', r.text, re.S).group(0))
        for part in ("工贸企业重大事故隐患判定标准", "第十二条（二）", VIOLATED, "快速冻结装置未设置在单独的作业间内", "不构成",
                     "→ 构成重大事故隐患"):
            assert part in row, part
        assert len(re.findall(r"<tr data-pinpoint=", r.text)) == 1 and "无变化" not in t
    assert "<html" not in r.text and "判定记录 #" not in r.text
    # nothing was stored: the record is as it was
    assert world.reg.record(world.actors["insp"], saved.id).answer == "no"


def test_a_record_without_change_says_so(client, world, engine):
    output = engine.determine(FREEZER).model_dump(mode="json")
    saved = world.reg.save_record(world.actors["insp"], FREEZER, output, engine.kb.version, engine.kb.content_hash)
    login(client, world.tokens["boss"])  # the enterprise's own principal may read its records
    r = client.get(f"/app/records/{saved.id}/reevaluation", headers=HX_REEVAL)
    assert r.status_code == 200
    t = text(r.text)
    assert "按现行知识库重新判定，结论和各判定情形均无变化（是否构成重大事故隐患：是）" in t
    assert f"当时 {engine.kb.version} → 现行 {engine.kb.version} 未变" in t and "<table" not in r.text


def test_reevaluation_only_for_those_who_may_read_the_record(client, world, engine):
    output = engine.determine(FREEZER).model_dump(mode="json")
    saved = world.reg.save_record(world.actors["insp"], FREEZER, output, engine.kb.version, engine.kb.content_hash)
    url = f"/app/records/{saved.id}/reevaluation"
    # not logged in: to the login page (htmx: said in place)
    client.cookies.clear()
    r = client.get(url, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith(f"/app/login?next=/app/records/{saved.id}/reevaluation")
    r = client.get(url, headers=HX_REEVAL)
    assert r.status_code == 200 and "登录已失效，请重新登录后再试。" in text(r.text) and 'id="reeval-result"' not in r.text
    # the principal of another enterprise may not read the record (as GET /v1/records/{id}/reevaluation refuses)
    login(client, world.tokens["boss_b"])
    assert client.get(f"/v1/records/{saved.id}/reevaluation", headers=world.headers("boss_b")).status_code == 404
    for r in (client.get(url), client.get(f"/app/records/{saved.id}")):
        assert r.status_code == 404 and "未找到（不存在，或不属于您可以查看的企业）" in text(r.text)
        assert "按现行知识库重新判定" not in r.text and "知识库版本：当时" not in r.text
    r = client.get(url, headers=HX_REEVAL)
    assert r.status_code == 200 and 'role="alert"' in r.text and "未找到" in text(r.text) and "知识库版本：当时" not in r.text
    r = client.get("/app/records/999999/reevaluation")
    assert r.status_code == 404 and "未找到" in text(r.text)


def test_a_saved_input_no_longer_valid_is_told_not_a_500(client, world, engine):
    output = engine.determine(FREEZER).model_dump(mode="json")
    bad = {**FREEZER, "enterprise": {**FREEZER["enterprise"], "industries": ["冶金x"]}}
    saved = world.reg.save_record(world.actors["insp"], bad, output, engine.kb.version, engine.kb.content_hash)
    login(client, world.tokens["insp"])
    r = client.get(f"/app/records/{saved.id}/reevaluation")
    assert r.status_code == 200
    assert "该记录保存的检查内容已无法判定： 行业：知识库中没有这个行业（您是不是要填：冶金）" in text(r.text)
