"""Merge the Turtle ontology files into one RDF/XML file that owlready2 and Protégé load
(owlready2 reads RDF/XML, OWL/XML and N-Triples, not Turtle)."""

from __future__ import annotations

from pathlib import Path

from rdflib import Graph

from .ontology import HK, ontology_files

OWL_FILE = Path("ontology/build/hazard-kb.owl")


def merged_graph(root: Path) -> Graph:
    g = Graph()
    for path in ontology_files(root):
        g.parse(path, format="turtle")
    g.bind("hk", HK)
    return g


def export_owl(root: Path) -> Path:
    target = root / OWL_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    text = merged_graph(root).serialize(format="xml")
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")
    return target
