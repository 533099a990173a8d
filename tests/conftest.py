import pytest

from hazard_kb import project_root
from hazard_kb.engine.service import Engine


@pytest.fixture(scope="session")
def root():
    return project_root()


@pytest.fixture(scope="session")
def engine(root):
    return Engine.load(root)


@pytest.fixture(scope="session")
def reference_engine(engine):
    return Engine(engine.kb, backend="reference")
