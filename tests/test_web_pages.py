"""The inspectors' web app (issue 8) through the ASGI app, without a browser: every page renders in Chinese,
the interview shrinks as answers come in, a fixture round-trips through the form to the same determination,
bad input is named field by field (never a 500), the register pages go through close-out with three users, the
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
from test_register_common import CODE_A, CODE_B, VIOLATED, credit_code, make_world

ROOT = Path(__file__).resolve().parent.parent
ALUMINIUM = ROOT / "fixtures" / "inspections" / "aluminium-deep-well-casting.yaml"
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
