"""Merge the Turtle ontology files into one RDF/XML file that owlready2 and Protégé load
(owlready2 reads RDF/XML, OWL/XML and N-Triples, not Turtle)."""

from __future__ import annotations

from pathlib import Path

from rdflib import Graph
from rdflib.compare import isomorphic

from .ontology import HK, ontology_files

OWL_FILE = Path("ontology/build/hazard-kb.owl")


def merged_graph(root: Path) -> Graph:
    g = Graph()
    for path in ontology_files(root):
        g.parse(path, format="turtle")
    g.bind("hk", HK)
    return g


def is_current(root: Path) -> bool:
    """The committed RDF/XML says the same as the Turtle files (rdflib's XML element order varies by run)."""
    target = root / OWL_FILE
    if not target.exists():
        return False
    return isomorphic(Graph().parse(target, format="xml"), merged_graph(root))


def export_owl(root: Path) -> Path:
    target = root / OWL_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    if not is_current(root):  # rewrite only on a real change, so the file does not churn in git
        target.write_text(merged_graph(root).serialize(format="xml"), encoding="utf-8")
    return target
