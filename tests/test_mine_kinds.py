"""A mine's declared kind and the gas grade observed on it are one fact (hk:shownBy): the declaration fills the
observation branches test, an observation shows an undeclared kind, and a contradiction is refused."""

from datetime import date

import pytest

from hazard_kb.engine.inspection import InspectionError, normalize

TODAY = date(2026, 11, 29)
ITEM = "meikuang-2026/art8/item6"  # 高瓦斯、突出矿井的每个采（盘）区未设置专用回风巷 (branch a tests the mine's gas grade)


def mine(regimes, grade=None):
    props = {} if grade is None else {"mineGasGrade": grade}
    return {"date": "2026-09-10", "enterprise": {"name": "某煤业公司一号井", "industries": ["煤矿"], "regimes": regimes},
            "objects": [{"ref": "一号井", "class": "UndergroundMine", "properties": props},
                        {"ref": "二采区", "class": "MiningDistrict",
                         "properties": {"inMine": "一号井", "dedicatedReturnAirwaySet": False}}]}


def item(result):
    return next(i for i in result.items if i.pinpoint == ITEM)


def test_the_declared_kind_fills_the_observation(engine):
    result = engine.determine(mine(["井工煤矿", "高瓦斯矿井"]), today=TODAY)
    assert item(result).verdict == "violated" and [f.branch for f in item(result).findings] == ["a"]
    assert any("由申报的“高瓦斯矿井”得出" in n and "高瓦斯矿井" in n for n in result.notes)
    # without the declaration the grade is asked, not assumed
    unknown = engine.determine(mine(["井工煤矿"]), today=TODAY)
    assert item(unknown).verdict == "undetermined"
    assert "mineGasGrade" in {q.property for q in item(unknown).missing}


def test_the_observation_shows_an_undeclared_kind(engine):
    insp = normalize(engine.kb, mine(["井工煤矿"], grade="突出矿井"))
    assert "OutburstMine" in insp.sectors and insp.inferred["OutburstMine"] == ("一号井",)
    assert item(engine.determine(mine(["井工煤矿"], grade="突出矿井"), today=TODAY)).verdict == "violated"


@pytest.mark.parametrize("regimes, grade", [(["井工煤矿", "高瓦斯矿井"], "低瓦斯矿井"),
                                            (["井工煤矿", "突出矿井"], "高瓦斯矿井"),
                                            (["井工煤矿", "高瓦斯矿井", "突出矿井"], None)])
def test_a_contradiction_is_refused_naming_both(engine, regimes, grade):
    with pytest.raises(InspectionError) as err:
        normalize(engine.kb, mine(regimes, grade))
    (problem,) = err.value.problems
    assert "矿井瓦斯等级" in problem.msg or "矿井瓦斯等级" in problem.msg + str(problem.expected)
    assert problem.loc[-1] in ("mineGasGrade", "regimes")
