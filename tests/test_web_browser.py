"""End-to-end tests of the web app in a real browser: Playwright for Python driving Debian's chromium
(/usr/bin/chromium, installed by .ci/chromium.sh; Playwright's own browser downloads are not used) against the
real app served by uvicorn in a child process (`hazard_kb.api.main:app`: the engine in its child process, the
register in a temporary SQLite database).

- an inspection from the checklist to the determination, at phone width: objects added, a relation answered,
  questions disappearing as answers come in, the violated items with their clause text, the printable record;
- a register entry through close-out: saved record → entry → the enterprise's plan and application → the three
  confirmations by three different users (three browser contexts) → 销号;
- the statistics page renders with data (SVG bars);
- a 隐患描述 typed at phone width, matched to candidate items, one adopted into the inspection and determined.

Screenshots of the main pages (phone and desktop width) are written to $HAZARD_KB_SCREENSHOTS if set, else to a
pytest temporary directory. Without chromium or playwright the module is skipped, unless HAZARD_KB_REQUIRE_BROWSER=1
(as .ci/run sets), when that is a failure."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

import pytest

from test_register_common import CODE_A, CODE_B, credit_code, make_world

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--lang=zh-CN"]  # a Chinese browser: date fields read 年/月/日
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
REQUIRE = os.environ.get("HAZARD_KB_REQUIRE_BROWSER") == "1"


def _unavailable() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright (python) is not installed (it is in the `test` extra)"
    if not (os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return f"{CHROMIUM} is missing: run .ci/chromium.sh (apt-get install chromium)"
    return None


_why = _unavailable()
if _why:
    if REQUIRE:
        raise RuntimeError(f"HAZARD_KB_REQUIRE_BROWSER=1 but {_why}")
    pytest.skip(_why, allow_module_level=True)

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402


# ------------------------------------------------------------------------------------------------ the server
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _seed(url: str, kb) -> dict[str, str]:
    """Users of every role, two enterprises and entries for the statistics: open, overdue, closed."""
    world = make_world(url, kb)
    reg, a = world.reg, world.actors
    try:
        code_c = credit_code(3, "913702")
        reg.add_enterprise(None, {"name": "某某机械铸造有限公司", "credit_code": code_c, "province": "山东省", "city": "青岛市",
                                  "county": "黄岛区", "town": "丙街道", "industries": ["机械"]})
        late = date.today() - timedelta(days=20)
        for code, pin, deadline in ((CODE_B, "gongmao-2023/art5/item1", late), (CODE_B, "gongmao-2023/art5/item6", late),
                                    (CODE_B, "gongmao-2023/art11/item6", None), (code_c, "gongmao-2023/art8/item6", late),
                                    (code_c, "gongmao-2023/art8/item4", None), (CODE_A, "gongmao-2023/art12/item2", None)):
            reg.register_entry(a["insp"], source="监督检查", enterprise=code, description="现场检查发现", pinpoint=pin, deadline=deadline)
        # one closed entry, through the whole flow
        e = reg.register_entry(a["insp"], source="监督检查", enterprise=code_c, description="调漆间未设可燃气体报警",
                               pinpoint="gongmao-2023/art8/item6", deadline=date.today() + timedelta(days=30))
        reg.set_plan(a["insp"], e.id, {"measures": "加装报警装置", "responsible": "李四", "funds": 12000,
                                       "deadline": (date.today() + timedelta(days=20)).isoformat(), "contingency": "停用调漆间"})
        reg.request_closeout(a["insp"], e.id, "已加装并联动测试")
        for who in ("insp", "expert"):
            reg.confirm(a[who], e.id)
        _, token = reg.add_user("boss_c", ["enterprise_principal"], display_name="王五", enterprise=code_c)
        actor = reg.authenticate(token)
        reg.confirm(actor, e.id)
        reg.close_out(a["insp"], e.id, "三方核查合格")
        return dict(world.tokens)
    finally:
        reg.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory, engine):
    tmp = tmp_path_factory.mktemp("web-browser")
    url = f"sqlite:///{tmp / 'register.sqlite'}"
    tokens = _seed(url, engine.kb)
    port = _free_port()
    env = {**os.environ, "HAZARD_KB_DATABASE_URL": url}
    log = open(tmp / "server.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "hazard_kb.api.main:app", "--host", "127.0.0.1", "--port", str(port),
                             "--log-level", "warning"], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(f"the app did not start: {(tmp / 'server.log').read_text(errors='replace')[-3000:]}")
            time.sleep(0.25)
        yield {"base": base, "tokens": tokens}
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    where = os.environ.get("HAZARD_KB_SCREENSHOTS")
    path = Path(where) if where else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _context(browser, server, viewport, token: str | None = None):
    ctx = browser.new_context(viewport=viewport, device_scale_factor=2 if viewport is PHONE else 1, locale="zh-CN",
                              base_url=server["base"], is_mobile=viewport is PHONE, has_touch=viewport is PHONE)
    ctx.set_default_timeout(20_000)
    if token:
        page = ctx.new_page()
        page.goto("/app/login")
        page.fill("#token", token)
        page.click("#login")
        expect(page.locator(".who")).to_contain_text("退出")
        page.close()
    return ctx


def settled(page: Page) -> None:
    """Wait until htmx has no request in flight (the interview redraws after every answer)."""
    page.wait_for_timeout(50)
    page.wait_for_function("() => !document.querySelector('.htmx-request')")


def obj(page: Page, ref: str):
    return page.locator("fieldset.obj").filter(has=page.locator(f'input[name$=".ref"][value="{ref}"]'))


def answer_radio(page: Page, ref: str, prop: str, value: str) -> None:
    obj(page, ref).locator(f'.q[data-prop="{prop}"] input[type=radio][value="{value}"]').check()
    settled(page)


def answer_select(page: Page, ref: str, prop: str, value: str) -> None:
    obj(page, ref).locator(f'.q[data-prop="{prop}"] select').select_option(value)
    settled(page)


def add(page: Page, group: str, cls: str | None = None) -> None:
    g = page.locator(f"#g-{group}")
    if cls:
        g.locator(f'select[name="add.{group}"]').first.select_option(cls)
        settled(page)
    g.locator(f'button[value="add:{group}"]').first.click()
    settled(page)


def rename(page: Page, old: str, new: str) -> None:
    box = page.locator(f'input[name$=".ref"][value="{old}"]')
    box.fill(new)
    box.press("Tab")
    settled(page)
    expect(page.locator(f'input[name$=".ref"][value="{new}"]')).to_have_count(1)


# ------------------------------------------------------------------------------------------------ scenarios
def _new_inspection(browser, server, enterprise: str, day: str, industry: str):
    """A phone-width page on 检查 with the enterprise, date and industry filled in; JavaScript errors are collected."""
    ctx = _context(browser, server, PHONE)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto("/app/inspect")
    page.fill("#name", enterprise)
    page.fill("#date", day)
    page.locator(f'#industries input[value="{industry}"]').check()
    settled(page)
    return ctx, page, errors


def test_inspection_from_checklist_to_determination(browser, server, shots, tmp_path):
    ctx, page, errors = _new_inspection(browser, server, "某某铝业有限公司", "2026-11-26", "有色")
    expect(page.locator("#checklist")).to_contain_text("检查清单")
    expect(page.locator("#g-SixKindGatheringPlace")).to_contain_text("是否有")
    asked_at_start = int(page.locator("#asked").inner_text())

    # a rest room on the floor of the span that lifts molten aluminium (第五条（一）), the span added from the question
    add(page, "SixKindGatheringPlace", "RestRoom")
    rename(page, "休息室1", "熔铸工休息室")
    rest = obj(page, "熔铸工休息室")
    expect(rest.locator('.q[data-prop="locatedInSpan"]')).to_be_visible()
    rest.locator('.q[data-prop="locatedInSpan"] button[value="add:CraneSpan"]').click()
    settled(page)
    rename(page, "吊运跨1", "熔铸跨")
    # the span's own question is asked once the rest room is known to be in it
    expect(obj(page, "熔铸跨").locator('.q[data-prop="liftsMoltenMetal"]')).to_have_count(0)
    obj(page, "熔铸工休息室").locator('.q[data-prop="locatedInSpan"] input[value="熔铸跨"]').check()
    settled(page)
    answer_radio(page, "熔铸跨", "liftsMoltenMetal", "true")
    answer_radio(page, "熔铸工休息室", "onSpanFloorArea", "true")
    expect(page.locator("#answer")).to_have_text("是")

    # a casting machine that is not water-cooled: its water-cooling questions disappear
    add(page, "CastingMachine")
    rename(page, "铸造机1", "1号深井铸造机")
    machine = obj(page, "1号深井铸造机")
    expect(machine.locator('.q[data-prop="usesWaterCooling"]')).to_be_visible()
    answer_radio(page, "1号深井铸造机", "usesWaterCooling", "false")
    expect(obj(page, "1号深井铸造机").locator(".q")).to_have_count(1)
    expect(obj(page, "1号深井铸造机")).to_contain_text("已查清")

    # the deep-well casting line: the inlet flow alarm installed but not working (第五条（六） through 第十四条), a fixed
    # furnace without outlet lock (第五条（七）)
    add(page, "CrystallizerCoolingWaterSystem")
    rename(page, "铝加工深井铸造结晶器…1", "2号线结晶器冷却水系统")
    answer_select(page, "2号线结晶器冷却水系统", "hasInletWaterFlowAlarm", "failed")
    add(page, "DeepWellCastingFurnace")
    rename(page, "铝加工深井铸造浇铸炉1", "2号保温炉")
    answer_select(page, "2号保温炉", "castingFurnaceType", "固定式保温炉")
    answer_select(page, "2号保温炉", "hasOutletMechanicalLock", "none")
    # kinds the plant does not have
    for cls in ("SmeltingFurnace", "SmeltingFurnaceWaterCooledElement"):
        page.locator(f'#g-{cls} button[value="absent:{cls}"]').click()
        settled(page)
        expect(page.locator(f"#g-{cls}")).to_contain_text("不涉及")
    assert int(page.locator("#asked").inner_text()) < asked_at_start
    obj(page, "2号保温炉").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "inspect-phone.png"))

    page.click("#determine")
    expect(page.locator("#verdict")).to_contain_text("是否构成重大事故隐患")
    expect(page.locator("#verdict .a")).to_have_text("是")
    hazards = page.locator("#hazards")
    for item, clause in (("第五条（一）", "（一）会议室、活动室、休息室、操作室、交接班室、更衣室（含澡堂）等6类人员聚集场所设置在熔融金属吊运跨的地坪区域内的；"),
                         ("第五条（六）", "结晶器冷却水系统未设置进水压力、进水流量监测报警装置"),
                         ("第五条（七）", "固定式浇铸炉的铝液出口未设置机械锁紧装置")):
        expect(hazards).to_contain_text(item)
        expect(hazards).to_contain_text(clause)
    expect(hazards).to_contain_text("熔铸跨")  # evidence reached through the relation
    expect(hazards).to_contain_text("已设置但失效或无效，视同未设置（第十四条：失效或者无效均判定为重大事故隐患）")  # why
    expect(hazards).to_contain_text("中华人民共和国应急管理部令第10号")
    expect(page.locator("#undetermined")).to_contain_text("还需查明")
    page.screenshot(path=str(shots / "determination-phone.png"))
    assert not errors, errors

    # the same determination on a laptop
    desk = _context(browser, server, DESKTOP).new_page()
    inspection = page.locator('form[action="/app/inspect/load"] input[name="inspection"]').get_attribute("value")  # 返回修改's
    desk.goto("/app/inspect")
    desk.evaluate("""(json) => { const f = document.createElement('form'); f.method = 'post'; f.action = '/app/inspect/load';
        const i = document.createElement('input'); i.type = 'hidden'; i.name = 'inspection'; i.value = json; f.appendChild(i);
        document.body.appendChild(f); f.submit(); }""", inspection)
    expect(obj(desk, "熔铸工休息室")).to_be_visible()
    desk.set_viewport_size({"width": DESKTOP["width"], "height": 1200})
    desk.locator("#g-SixKindGatheringPlace").scroll_into_view_if_needed()
    desk.evaluate("() => window.scrollBy(0, document.querySelector('#g-SixKindGatheringPlace').getBoundingClientRect().top - 12)")
    desk.screenshot(path=str(shots / "inspect-desktop.png"))
    desk.click("#determine")
    expect(desk.locator("#verdict .a")).to_have_text("是")
    desk.screenshot(path=str(shots / "determination-desktop.png"))
    desk.set_viewport_size(DESKTOP)

    # the printable record, on screen and as printed
    desk.click("#print-record")
    expect(desk.locator("#record")).to_contain_text("重大事故隐患检查记录")
    expect(desk.locator("#record")).to_contain_text("检查人员（签字）")
    expect(desk.locator("#record")).to_contain_text("企业负责人（签字）")
    desk.emulate_media(media="print")
    expect(desk.locator("header.top")).to_be_hidden()
    expect(desk.locator("#print-now")).to_be_hidden()
    desk.screenshot(path=str(shots / "print-desktop.png"), full_page=True)
    pdf = tmp_path / "inspection-record.pdf"  # printed as a browser prints it (A4, print stylesheet)
    desk.pdf(path=str(pdf), format="A4")
    assert pdf.stat().st_size > 20_000
    desk.context.close()
    ctx.close()


def test_a_description_matched_adopted_and_determined(browser, server, shots):
    ctx, page, errors = _new_inspection(browser, server, "某某机械制造有限公司", "2026-11-20", "机械")
    expect(page.locator("#g-PaintRoom")).to_contain_text("是否有")

    # the finding in words: the candidates come, the interview is not redrawn for typing it
    page.fill("#description", "使用油性油漆的喷漆车间内未设置可燃气体浓度监测报警装置")
    page.click("#match")
    settled(page)
    result = page.locator("#match-result")
    expect(result.locator(".cand")).to_have_count(3)
    first = result.locator("#cand-1")
    expect(first).to_contain_text("第七条（七）")
    expect(first).to_contain_text("使用非水性漆的调漆间、喷漆室未设置固定式可燃气体浓度监测报警装置或者通风设施的")
    expect(first).to_contain_text("按描述：构成重大事故隐患")
    expect(first).to_contain_text("固定式可燃气体浓度监测报警装置：未设置")
    expect(result.locator("#cand-2")).to_contain_text("还需查明")
    # a step of the interview meanwhile keeps the candidates and the description
    page.locator('#g-FuelGasMain button[value="absent:FuelGasMain"]').click()
    settled(page)
    expect(page.locator("#g-FuelGasMain")).to_contain_text("不涉及")
    expect(result.locator(".cand")).to_have_count(3)
    expect(page.locator("#description")).to_have_value("使用油性油漆的喷漆车间内未设置可燃气体浓度监测报警装置")
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, overflow
    page.evaluate("() => window.scrollBy(0, document.querySelector('#describe').getBoundingClientRect().top - 8)")
    page.screenshot(path=str(shots / "match-phone.png"))

    # 采用: the paint shop with what the sentence states goes into the inspection, the interview goes on from it
    first.locator("button", has_text="采用").click()
    settled(page)
    expect(page.locator("#adopted")).to_contain_text("已采用 第七条（七）")
    room = obj(page, "喷漆车间")
    expect(room).to_be_visible()
    expect(room.locator('.q[data-prop="usesNonWaterborneCoating"] input[value="true"]')).to_be_checked()
    expect(room.locator('.q[data-prop="hasFlammableGasAlarm"] select')).to_have_value("none")
    expect(page.locator("#answer")).to_have_text("是")
    expect(page.locator("#g-FuelGasMain")).to_contain_text("不涉及")  # the step before the adoption is kept

    page.click("#determine")
    expect(page.locator("#verdict .a")).to_have_text("是")
    hazards = page.locator("#hazards")
    expect(hazards).to_contain_text("第七条（七）")
    expect(hazards).to_contain_text("（七）使用非水性漆的调漆间、喷漆室未设置固定式可燃气体浓度监测报警装置或者通风设施的。")
    expect(hazards).to_contain_text("喷漆车间")
    assert not errors, errors
    ctx.close()


def test_register_entry_through_closeout(browser, server, shots):
    tokens = server["tokens"]
    insp = _context(browser, server, DESKTOP, tokens["insp"]).new_page()
    # the inspector: inspection of a registered enterprise, saved, the violated item registered
    insp.goto("/app/inspect")
    insp.locator("#pick").select_option(CODE_A)
    settled(insp)
    expect(insp.locator("#name")).to_have_value("某冷冻食品有限公司")
    insp.fill("#date", "2026-11-20")
    insp.locator('#regimes input[value="涉氨制冷"]').check()
    settled(insp)
    add(insp, "QuickFreezeWorkroom")
    rename(insp, "快速冻结装置作业间1", "速冻间1")
    box = obj(insp, "速冻间1").locator('.q[data-prop="workerCount"] input')
    box.fill("12")
    box.press("Tab")
    settled(insp)
    expect(insp.locator("#answer")).to_have_text("是")
    insp.click("#determine")
    expect(insp.locator("#hazards")).to_contain_text("第十二条（二）")
    insp.click("#save-record")
    expect(insp.locator("#saved")).to_be_visible()
    insp.locator("#register-items input[name=deadline]").first.fill((date.today() + timedelta(days=30)).isoformat())
    insp.locator("#register-items button[type=submit]").first.click()
    expect(insp.locator("#status")).to_have_text("登记")
    entry_url = insp.url.split("?")[0]

    # the enterprise principal: acknowledges, plans, applies for close-out
    boss = _context(browser, server, DESKTOP, tokens["boss"]).new_page()
    boss.goto(entry_url)
    boss.click("#do-acknowledge")
    expect(boss.locator("#done")).to_have_text("已签收。")
    plan = boss.locator("#form-plan")
    plan.locator("textarea[name=measures]").fill("速冻间作业人员减至9人以下，螺旋速冻机移入单独作业间")
    plan.locator("input[name=responsible]").fill("张三（生产副总）")
    plan.locator("input[name=funds]").fill("85000")
    plan.locator("input[name=deadline]").fill((date.today() + timedelta(days=40)).isoformat())
    plan.locator("textarea[name=contingency]").fill("整改期间每班限员、设氨泄漏应急处置卡")
    boss.click("#do-plan")
    expect(boss.locator("#status")).to_have_text("整改中")
    boss.locator("#form-request textarea[name=report]").fill("人员已调整，速冻机已移入单独作业间")
    boss.click("#do-request")
    expect(boss.locator("#status")).to_have_text("申请销号")
    expect(boss.locator("#confirmations")).to_contain_text("尚缺：监管人员、安全专家、企业负责人")

    # three confirmations by three different people
    expert = _context(browser, server, PHONE, tokens["expert"]).new_page()
    for who in (insp, expert, boss):
        who.goto(entry_url)
        who.locator("#form-confirm textarea[name=opinion]").fill("现场核查，整改合格")
        who.click("#do-confirm")
        expect(who.locator("#done")).to_have_text("已确认。")
    expect(boss.locator('#confirmations .confirm.ok')).to_have_count(3)
    # the inspector closes it out
    insp.goto(entry_url)
    insp.click("#do-close")
    expect(insp.locator("#status")).to_have_text("已销号")
    expect(insp.locator("#history")).to_contain_text("现场核查确认")
    expect(insp.locator("#history")).to_contain_text("销号")
    insp.screenshot(path=str(shots / "entry-desktop.png"), full_page=True)
    expert.goto(entry_url)
    expect(expert.locator("#status")).to_have_text("已销号")
    expert.evaluate("() => document.querySelector('#confirmations').scrollIntoView()")
    expert.screenshot(path=str(shots / "entry-phone.png"))
    expert.goto("/app/register")
    expect(expert.locator("#entries")).to_contain_text("已销号")
    expert.screenshot(path=str(shots / "register-phone.png"))
    for p in (insp, boss, expert):
        p.context.close()


def test_statistics_page_renders_with_data(browser, server, shots):
    for viewport, name in ((DESKTOP, "stats-desktop.png"), (PHONE, "stats-phone.png")):
        page = _context(browser, server, viewport, server["tokens"]["auditor"]).new_page()
        page.goto("/app/stats?level=county")
        expect(page.locator("#totals")).to_contain_text("逾期未销号")
        assert page.locator("svg.bar").count() >= 8
        for seg in ("overdue", "open", "closed"):
            assert page.locator(f"#chart-region svg.bar rect.seg-{seg}").count() >= 1, seg
        assert int(page.locator("#totals .total.bad .n").inner_text()) >= 3
        width = page.locator("#chart-item svg.bar").first.bounding_box()["width"]
        assert width > (200 if viewport is PHONE else 600)
        page.screenshot(path=str(shots / name), full_page=viewport is DESKTOP)
        page.context.close()


def test_law_pages(browser, server, shots):
    for viewport, name in ((DESKTOP, "law-desktop.png"), (PHONE, "law-phone.png")):
        page = _context(browser, server, viewport).new_page()
        page.goto("/app/law/gongmao-2023#p-gongmao-2023-art12-item2")
        crit = page.locator("#p-gongmao-2023-art12-item2")
        expect(crit).to_contain_text("快速冻结装置作业间内作业人员数量超过9人")
        crit.locator("details.rules summary").click()
        expect(crit).to_contain_text("作业人员数量大于9人")
        expect(crit).to_contain_text("作业间内同时作业的人员有多少人？")
        page.evaluate("() => document.getElementById('p-gongmao-2023-art12').scrollIntoView()")
        page.screenshot(path=str(shots / name))
        page.context.close()


def test_pages_fit_a_phone(browser, server):
    """No page scrolls sideways at 390 px."""
    page = _context(browser, server, PHONE, server["tokens"]["insp"]).new_page()
    for path in ("/app", "/app/inspect", "/app/register", "/app/stats", "/app/law", "/app/law/gongmao-2023", "/app/enterprises"):
        page.goto(path)
        overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, (path, overflow)
    page.context.close()
