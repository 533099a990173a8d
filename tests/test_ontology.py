"""The ontology loads in rdflib and owlready2, is consistent under HermiT, and its generated parts are current."""

import shutil
from pathlib import Path

import owlready2
import pytest
from rdflib import Graph

from hazard_kb.engine.lawgen import build_law, render
from hazard_kb.engine.lawtext import load_sources
from hazard_kb.engine.owlexport import OWL_FILE, is_current, merged_graph

needs_java = pytest.mark.skipif(shutil.which("java") is None, reason="HermiT needs Java")


def test_generated_law_turtle_is_current(root):
    for doc_id, src in load_sources(root / "ontology" / "sources").items():
        committed = (root / "ontology" / "law" / f"{doc_id}.ttl").read_text(encoding="utf-8")
        assert committed == render(src, f"ontology/sources/{src.path.name}"), f"run `hazard-kb kb build` ({doc_id})"


def test_committed_owl_file_is_current(root, tmp_path):
    assert is_current(root), "ontology/build/hazard-kb.owl is stale: run `hazard-kb kb build`"
    # and the check can fail: a changed Turtle file makes the RDF/XML stale
    shutil.copytree(root / "ontology", tmp_path / "ontology")
    with open(tmp_path / "ontology" / "vocab" / "shared.ttl", "a", encoding="utf-8") as f:
        f.write('\nhk:Extra a owl:Class ; rdfs:subClassOf hk:Place ; rdfs:label "额外"@zh .\n')
    assert not is_current(tmp_path)


def test_rdflib_reads_every_file(root):
    g = merged_graph(root)
    assert len(g) > 3000


def _reason(owl_path: Path):
    world = owlready2.World()
    onto = world.get_ontology(owl_path.as_uri()).load()
    with onto:
        owlready2.sync_reasoner_hermit(world, infer_property_values=False, debug=0)
    return world


@needs_java
def test_ontology_is_consistent_under_hermit(root):
    world = _reason(root / OWL_FILE)
    assert list(world.inconsistent_classes()) == []
    hk = world.get_namespace("https://w3id.org/hazard-kb/ontology#")
    # subclass reasoning the engine relies on (it materialises the same closure for facts)
    assert hk.PersonnelGatheringPlace in hk.MeetingRoom.ancestors()


@needs_java
def test_reasoner_catches_a_contradiction(root, tmp_path):
    """The consistency test can fail: a provision typed both article and item (declared disjoint)."""
    bad = tmp_path / "bad.ttl"
    bad.write_text(
        "@prefix hk: <https://w3id.org/hazard-kb/ontology#> .\n"
        "<https://w3id.org/hazard-kb/law/gongmao-2023/art12/item2> a hk:Article .\n", encoding="utf-8")
    g = merged_graph(root)
    g.parse(bad, format="turtle")
    out = tmp_path / "bad.owl"
    g.serialize(out, format="xml")
    with pytest.raises(owlready2.OwlReadyInconsistentOntologyError):
        _reason(out)


def test_every_unit_in_the_ontology_can_be_given_explicitly(engine):
    """{value, unit} input must work for every numeric property, in its own unit at least."""
    from hazard_kb.engine.inspection import UNITS

    units = {p.unit for p in engine.kb.ontology.properties.values() if p.kind in ("number", "integer")}
    assert units <= set(UNITS), f"units without a conversion entry: {sorted(units - set(UNITS))}"
