import os

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


@pytest.fixture(autouse=True, scope="session")
def _register_db(tmp_path_factory):
    """Apps built by tests open the register in a temporary file, never ./hazard-kb.sqlite."""
    os.environ.setdefault("HAZARD_KB_DATABASE_URL", f"sqlite:///{tmp_path_factory.mktemp('register')}/r.sqlite")
