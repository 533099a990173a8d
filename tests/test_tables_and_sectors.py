"""Tables as pinpoints (煤矿 2026 表1—表7) and the names a mine's kind may be declared by."""

from hazard_kb.engine.determine import citation
from hazard_kb.engine.inspection import normalize


def test_every_header_row_of_a_table_is_header_not_data(engine):
    provisions = engine.kb.ontology.provisions
    # 表6 has two header rows (the second gives the units of 钻屑量S); its one data row is row1
    assert "(kg/m) ｜ (L/m)" in provisions["meikuang-2026/table6"].text
    assert provisions["meikuang-2026/table6/row1"].text == "200 ｜ 0.5 ｜ 6 ｜ 5.4"
    assert "meikuang-2026/table6/row2" not in provisions
    assert provisions["meikuang-2026/table1/row2"].text == "1000<A≤2500 ｜ ≤7"
    assert len([p for p in provisions if p.startswith("meikuang-2026/table3/row")]) == 7


def test_a_table_row_is_cited_as_table_and_row(engine):
    cite = citation(engine.kb, "meikuang-2026/table1/row2")
    assert (cite.article, cite.item) == ("表1", "第2行")
    assert cite.text == "1000<A≤2500 ｜ ≤7"


def test_a_mine_kind_may_be_declared_by_its_synonym(engine):
    insp = normalize(engine.kb, {"enterprise": {"name": "某煤业公司", "industries": ["煤矿"], "regimes": ["突出矿井", "井工煤矿"]}})
    assert {"OutburstMine", "UndergroundCoalMine", "CoalMining"} <= set(insp.sectors)
