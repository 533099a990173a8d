"""Ratios the law sets against another figure (全年原煤产量超过核定（设计）生产能力的110%) are computed by the engine
from the two figures the inspector records (hk:ratioNumerator / hk:ratioDenominator), exactly; the inspector is asked
for the figures, and a ratio that contradicts them is refused."""

from datetime import date

import pytest

from hazard_kb.engine.checklist import build_checklist
from hazard_kb.engine.determine import documents_in_force
from hazard_kb.engine.inspection import InspectionError, normalize

TODAY = date(2026, 11, 29)
ITEM = "meikuang-2026/art4/item1"


def open_pit(**props):
    return {"date": "2026-10-12", "enterprise": {"name": "某露天煤业公司", "industries": ["煤矿"], "regimes": ["露天煤矿"]},
            "absent": ["UndergroundMine"],  # 第四条（一）'s quarterly branch is about 井工煤矿
            "objects": [{"ref": "北露天矿", "class": "OpenPitMine", "properties": props}]}


def item(result):
    return next(i for i in result.items if i.pinpoint == ITEM)


@pytest.mark.parametrize("output, verdict", [(121, "not_violated"), (121.1, "violated"), (1210, "violated")])
def test_the_ratio_is_computed_from_the_figures(engine, output, verdict):
    """121万t of 110万t/a is exactly 110 %, which 超过110% does not reach (floating point would give 110.00000000000001)."""
    result = engine.determine(open_pit(全年原煤产量=output, 核定生产能力=110), today=TODAY)
    assert item(result).verdict == verdict
    assert any(n.startswith("计算：北露天矿 的“全年原煤产量占核定（设计）生产能力的百分比”") for n in result.notes)
    if verdict == "violated":
        evidence = {e.property for f in item(result).findings for e in f.evidence}
        assert {"annualRawCoalOutputPercentOfCapacity", "annualRawCoalOutput", "approvedProductionCapacity"} <= evidence


def test_the_inspector_is_asked_for_the_figures_not_the_ratio(engine):
    missing = {q.property for q in item(engine.determine(open_pit(全年原煤产量=100), today=TODAY)).missing}
    assert missing == {"approvedProductionCapacity"}
    insp = normalize(engine.kb, {"enterprise": {"name": "-", "industries": ["煤矿"], "regimes": ["露天煤矿"]}}, TODAY)
    checklist = build_checklist(engine.kb, list(insp.sectors), TODAY, documents_in_force(engine.kb, insp))
    asked = {q.property for g in checklist.groups for q in g.questions}
    assert {"annualRawCoalOutput", "approvedProductionCapacity"} <= asked
    assert "annualRawCoalOutputPercentOfCapacity" not in asked


def test_a_ratio_given_directly_is_kept_and_checked_against_the_figures(engine):
    assert item(engine.determine(open_pit(annualRawCoalOutputPercentOfCapacity=115), today=TODAY)).verdict == "violated"
    normalize(engine.kb, open_pit(全年原煤产量=121, 核定生产能力=110, annualRawCoalOutputPercentOfCapacity=110))  # agrees
    with pytest.raises(InspectionError) as err:
        normalize(engine.kb, open_pit(全年原煤产量=121, 核定生产能力=110, annualRawCoalOutputPercentOfCapacity=105))
    assert err.value.problems[0].loc[-1] == "annualRawCoalOutputPercentOfCapacity" and "110" in err.value.problems[0].msg
    with pytest.raises(InspectionError) as err:
        normalize(engine.kb, open_pit(全年原煤产量=121, 核定生产能力=0))
    assert err.value.problems[0].loc[-1] == "核定生产能力"
