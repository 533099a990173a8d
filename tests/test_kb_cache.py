"""The compiled knowledge base is cached by the content of its inputs and of the engine code."""

import shutil

from hazard_kb.engine.compiler import compile_kb


def test_cache_hit_and_miss(root, tmp_path, monkeypatch):
    monkeypatch.setenv("HAZARD_KB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("HAZARD_KB_NO_CACHE", raising=False)
    kb_root = tmp_path / "kb"
    for folder in ("ontology", "rules"):
        shutil.copytree(root / folder, kb_root / folder)
    first = compile_kb(kb_root)
    assert len(list((tmp_path / "cache").glob("kb-*.pickle"))) == 1
    again = compile_kb(kb_root)
    assert again is not first and again.version == first.version and again.criteria == first.criteria
    # any change to an input is a new compilation, never a stale one
    rules = kb_root / "rules" / "gongmao-2023.yaml"
    rules.write_text(rules.read_text(encoding="utf-8").replace("超过9人 = more than nine", "超过9人 = more than 9"),
                     encoding="utf-8")
    changed = compile_kb(kb_root)
    assert changed.content_hash != first.content_hash
    assert len(list((tmp_path / "cache").glob("kb-*.pickle"))) == 2


def test_cache_can_be_switched_off(root, tmp_path, monkeypatch):
    monkeypatch.setenv("HAZARD_KB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HAZARD_KB_NO_CACHE", "1")
    compile_kb(root)
    assert not (tmp_path / "cache").exists()
