"""Several regimes at once, and 工贸 第二条 deferral routed to the standard that governs the matter."""

from datetime import date

TODAY = date(2026, 11, 29)


def food_plant(industries, extra=()):
    return {"date": "2026-11-20",
            "enterprise": {"name": "某食品有限公司", "industries": industries, "regimes": ["涉氨制冷"]},
            "objects": [{"ref": "速冻间1", "class": "速冻间", "properties": {"作业人员数量": 12}}, *extra]}


CHEMICAL_STORE = {"ref": "危化品库", "class": "危险化学品储存场所", "properties": {}}
GAS_STATION = {"ref": "燃气调压站", "class": "城镇燃气供气设施", "properties": {}}
BOILER = {"ref": "1号锅炉", "class": "锅炉", "properties": {}}


def test_deferral_names_the_governing_standard_when_it_is_in_the_kb(engine):
    result = engine.determine(food_plant(["轻工"], [CHEMICAL_STORE, BOILER]), today=TODAY)
    by_object = {d.object: d for d in result.deferred}
    chemicals = by_object["危化品库"]
    assert chemicals.standard == "huagong-2017" and chemicals.applied is False
    assert "化工和危险化学品生产经营" in chemicals.note and "请申报" in chemicals.note
    boiler = by_object["1号锅炉"]
    assert boiler.standard is None and "未收入本知识库" in boiler.note
    assert [s.id for s in result.standards] == ["gongmao-2023"]


def test_declaring_the_sector_applies_the_other_standard_and_groups_by_standard(engine):
    result = engine.determine(food_plant(["轻工", "化工和危险化学品生产经营"], [CHEMICAL_STORE]), today=TODAY)
    assert {s.id for s in result.standards} == {"gongmao-2023", "huagong-2017"}
    # the chemicals standard names hazardous-chemical stores itself: the store is judged there, not deferred
    assert "危化品库" not in {d.object for d in result.deferred}
    store_items = [i for i in result.items if i.standard == "huagong-2017"
                   and any(q.object == "危化品库" for q in i.missing)]
    assert store_items, "the chemicals standard asks about the store"
    per_standard = {s.id: s for s in result.standards}
    assert per_standard["gongmao-2023"].answer == "yes"
    assert per_standard["gongmao-2023"].hazards == ["gongmao-2023/art12/item2"]
    assert {i.standard for i in result.items} == {"gongmao-2023", "huagong-2017"}
    assert per_standard["huagong-2017"].date_assumption  # the sources give no effective date: the assumption is stated


def test_gas_matters_route_to_the_city_gas_standard(engine):
    result = engine.determine(food_plant(["轻工"], [GAS_STATION]), today=TODAY)
    gas = next(d for d in result.deferred if d.object == "燃气调压站")
    assert gas.standard == "chengzhen-ranqi-2023" and gas.applied is False


def test_2017_standard_does_not_defer_gas(engine):
    """工贸 2017's scope sentence names 危险化学品、消防（火灾）、特种设备 but not 燃气."""
    inspection = {**food_plant(["轻工"], [GAS_STATION, BOILER]), "date": "2022-06-01"}
    result = engine.determine(inspection, today=TODAY)
    assert [s.id for s in result.standards][0] == "gongmao-2017"
    deferred = {d.object: d for d in result.deferred}
    assert "1号锅炉" in deferred and deferred["1号锅炉"].basis.pinpoint == "gongmao-2017/para1"
    assert "燃气调压站" not in deferred


def two_dates(engine, on):
    """A frozen-food plant that also trades hazardous chemicals, judged on the given date."""
    inspection = {
        "date": on,
        "enterprise": {"name": "某冷链食品有限公司", "industries": ["轻工", "化工和危险化学品生产经营"], "regimes": ["涉氨制冷"]},
        "objects": [
            {"ref": "螺旋速冻机1", "class": "快速冻结装置",
             "properties": {"设置在单独的作业间内": False, "inQuickFreezeWorkroom": "包装车间"}},
            {"ref": "包装车间", "class": "快速冻结装置作业间", "properties": {"作业人员数量": 5}},
        ],
    }
    return engine.determine(inspection, today=TODAY)


def test_one_inspection_judged_on_two_dates_gets_two_differently_based_answers(engine):
    before, after = two_dates(engine, "2023-05-14"), two_dates(engine, "2023-05-15")
    assert {s.id for s in before.standards} == {"gongmao-2017", "huagong-2017"}
    assert {s.id for s in after.standards} == {"gongmao-2023", "huagong-2017"}
    # 2017 一、（二）2.: not in a separate workroom *and* more than 9 workers (且) - only one holds here
    old = next(i for i in before.items if i.pinpoint == "gongmao-2017/part1/sec2/item2")
    assert old.verdict == "not_violated"
    # 2023 第十二条（二）: not in a separate workroom *or* more than 9 workers (或者)
    new = next(i for i in after.items if i.pinpoint == "gongmao-2023/art12/item2")
    assert new.verdict == "violated" and [f.branch for f in new.findings] == ["a"]
    assert "gongmao-2023/art12/item2" in after.standards[0].hazards or any(
        "gongmao-2023/art12/item2" in s.hazards for s in after.standards)
    assert all(i.standard != "gongmao-2023" for i in before.items)
