"""hazard-kb: determine major accident hazards (重大事故隐患) from inspection observations."""

from pathlib import Path
import os

__version__ = "0.1.0"


def project_root() -> Path:
    """Where ontology/, rules/ and fixtures/ live (the checkout, or HAZARD_KB_ROOT)."""
    env = os.environ.get("HAZARD_KB_ROOT")
    return Path(env) if env else Path(__file__).resolve().parent.parent
