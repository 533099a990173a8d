"""The law is read mechanically from the project's verbatim copies of the sources."""

from hazard_kb.engine.lawtext import chinese_numeral, load_sources, to_chinese_numeral


def test_gongmao_2023_has_the_official_64_items(root):
    src = load_sources(root / "ontology" / "sources")["gongmao-2023"]
    per_article = {a.ordinal: len(a.items) for a in src.articles if a.items}
    assert per_article == {"第三条": 3, "第四条": 8, "第五条": 13, "第六条": 8, "第七条": 7, "第八条": 7,
                           "第九条": 2, "第十条": 2, "第十一条": 10, "第十二条": 2, "第十三条": 2}
    assert sum(per_article.values()) == 64


def test_items_are_verbatim_lines(root):
    src = load_sources(root / "ontology" / "sources")["gongmao-2023"]
    item = src.provisions()["gongmao-2023/art12/item2"]
    assert item.text == "（二）快速冻结装置未设置在单独的作业间内，或者快速冻结装置作业间内作业人员数量超过9人的。"
    assert item.text in src.raw


def test_statute_paragraphs_and_items(root):
    src = load_sources(root / "ontology" / "sources")["anquan-shengchan-fa-2021"]
    prov = src.provisions()
    assert prov["anquan-shengchan-fa-2021/art118/para2"].text.startswith("国务院应急管理部门和其他负有安全生产监督管理职责的部门")
    assert prov["anquan-shengchan-fa-2021/art101/item5"].text == "（五）未建立事故隐患排查治理制度，或者重大事故隐患排查治理情况未按照规定报告的。"


def test_chinese_numerals_round_trip():
    assert chinese_numeral("一百一十八") == 118
    assert chinese_numeral("十三") == 13
    assert chinese_numeral("二十") == 20
    for n in range(1, 100):
        assert chinese_numeral(to_chinese_numeral(n)) == n


def test_sources_are_unchanged_copies_of_shared_law(root):
    shared = root.parent / "shared" / "law"
    if not shared.is_dir():  # CI has shared/ beside the clone; a standalone checkout need not
        return
    for path in (root / "ontology" / "sources").glob("*.md"):
        assert path.read_text(encoding="utf-8") == (shared / path.name).read_text(encoding="utf-8"), path.name
