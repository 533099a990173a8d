"""Expert-readable test cases (tests/cases/<standard>/*.yaml): an inspection and what must come out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from .inspection import InspectionIn
from .pinpoints import PINPOINT


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    criterion: str = Field(pattern=PINPOINT)
    expect: Literal["violated", "not_violated", "undetermined", "not_applicable"]
    branches: list[str] | None = None
    cites: list[str] = []
    inspection: InspectionIn

    @property
    def polarity(self) -> str:
        return {"violated": "positive", "not_violated": "negative"}.get(self.expect, "other")


@dataclass(frozen=True)
class LoadedCase:
    file: str
    index: int
    case: Case

    @property
    def label(self) -> str:
        return f"{self.file}[{self.index}] {self.case.name}"


def case_files(root: Path) -> list[Path]:
    return sorted((root / "tests" / "cases").glob("*/*.yaml"))


def load_cases(root: Path) -> list[LoadedCase]:
    out = []
    for path in case_files(root):
        rel = str(path.relative_to(root))
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        if not isinstance(data, list):
            raise ValueError(f"{rel}: a case file is a YAML list of cases")
        for i, raw in enumerate(data):
            try:
                out.append(LoadedCase(rel, i, Case.model_validate(raw)))
            except Exception as exc:
                raise ValueError(f"{rel}[{i}] ({(raw or {}).get('name', '?')}): {exc}") from None
    return out
