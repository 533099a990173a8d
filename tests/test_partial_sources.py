"""Standards whose text is only partly in the sources (房屋市政 2022, 煤矿 2020): what is sourced is encoded and
judged; the rest is reported missing in every answer and by the audit, and never turns into "no hazard"."""

from datetime import date

from hazard_kb.engine.audit import run_audit

TODAY = date(2026, 11, 29)
SITE = {"name": "某建工集团有限公司（城南安置房二期项目）", "industries": ["房屋市政工程施工"]}
CRANE_OK = {"ref": "1#塔式起重机", "class": "TowerCrane",
            "properties": {"putIntoUse": True, "acceptancePassed": True, "useRegistrationCompletedAsRequired": True}}
CRANE_UNACCEPTED = {**CRANE_OK, "properties": {**CRANE_OK["properties"], "acceptancePassed": False}}


def site(day: str, *objects):
    return {"date": day, "enterprise": SITE, "objects": list(objects)}


def test_partly_sourced_standard_never_answers_no(engine):
    result = engine.determine(site("2023-06-14", CRANE_OK), today=TODAY)
    (applied,) = result.standards
    assert applied.id == "fangwu-2022"
    assert applied.incomplete and "第一条至第七条" in applied.incomplete
    item = next(i for i in result.items if i.pinpoint == "fangwu-2022/art8/item1")
    assert item.verdict == "not_violated"
    # every sourced item about the crane is refuted, yet the standard's answer stays open: its other articles are missing
    assert applied.answer == "undetermined" and result.answer == "undetermined"
    assert any("原文未全部获得" in n for n in result.notes)


def test_partly_sourced_standard_still_finds_what_it_encodes(engine):
    result = engine.determine(site("2023-06-14", CRANE_UNACCEPTED), today=TODAY)
    assert result.answer == "yes"
    assert [h.pinpoint for h in result.hazards] == ["fangwu-2022/art8/item1"]
    cite = result.hazards[0].findings[0].cites[0]
    assert cite.pinpoint == "fangwu-2022/art8/item1" and "2022版" in cite.document and "未经验收合格即投入使用" in cite.text


def test_the_2024_version_takes_over_on_its_date(engine):
    before = engine.determine(site("2024-12-12", CRANE_UNACCEPTED), today=TODAY)
    after = engine.determine(site("2024-12-13", CRANE_UNACCEPTED), today=TODAY)
    assert [s.id for s in before.standards] == ["fangwu-2022"]
    assert [s.id for s in after.standards] == ["fangwu-2024"]
    assert [h.pinpoint for h in after.hazards] == ["fangwu-2024/art8/item1"]
    assert after.standards[0].incomplete is None


def test_audit_reports_missing_text_as_warning_not_failure(root):
    report = run_audit(root)
    std = next(s for s in report.standards if s.id == "fangwu-2022")
    counts = next(c for c in std.checks if c.name == "coverage.counts")
    assert counts.problems and all(p.level == "warn" for p in counts.problems)
    assert any("第十二条及以后各条原文未获得" in p.message for p in counts.problems)
