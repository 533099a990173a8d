"""The rule files (rules/<standard>.yaml) as typed data, and the condition mini-language.

A condition is `path op value`, e.g. `workerCount > 9`, `locatedInSpan.liftsMoltenMetal == true`,
`present(hasFlammableGasAlarm) == false`, `distinct(servesPlace.inBuilding) > 1`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .pinpoints import PINPOINT

OPS = ("==", "!=", ">=", "<=", ">", "<", "in", "not in")
NEGATION = {"==": "!=", "!=": "==", ">": "<=", "<=": ">", "<": ">=", ">=": "<", "in": "not in", "not in": "in"}
_COND = re.compile(
    r"^\s*(?P<path>(?:present|installed|functional|count|distinct)\(\s*[A-Za-z][\w.]*\s*\)|[A-Za-z][\w.]*)"
    r"\s*(?P<op>==|!=|>=|<=|>|<|not\s+in\b|in\b)\s*(?P<value>.+?)\s*$"
)
_FUNC = re.compile(r"^(?P<fn>present|installed|functional|count|distinct)\(\s*(?P<arg>[A-Za-z][\w.]*)\s*\)$")


class RuleSyntaxError(ValueError):
    pass


@dataclass(frozen=True)
class Path_:
    """A parsed condition path."""

    fn: str | None  # None for a plain or relational path
    parts: tuple[str, ...]  # property names along the path

    def __str__(self) -> str:
        inner = ".".join(self.parts)
        return f"{self.fn}({inner})" if self.fn else inner


@dataclass(frozen=True)
class ParsedCondition:
    text: str
    path: Path_
    op: str
    value: Any


def parse_condition(text: str) -> ParsedCondition:
    m = _COND.match(text)
    if not m:
        raise RuleSyntaxError(f"cannot read condition {text!r}: expected `path op value` with op one of {', '.join(OPS)}")
    raw_path, op, raw_value = m["path"].replace(" ", ""), " ".join(m["op"].split()), m["value"]
    fm = _FUNC.match(raw_path)
    path = Path_(fm["fn"], tuple(fm["arg"].split("."))) if fm else Path_(None, tuple(raw_path.split(".")))
    try:
        value = yaml.safe_load(raw_value)
    except yaml.YAMLError as exc:
        raise RuleSyntaxError(f"cannot read the value in condition {text!r}: {exc}") from None
    if op in ("in", "not in") and not isinstance(value, list):
        raise RuleSyntaxError(f"condition {text!r}: `{op}` needs a [list] value")
    if op not in ("in", "not in") and isinstance(value, (list, dict)):
        raise RuleSyntaxError(f"condition {text!r}: `{op}` needs a single value, not {value!r}")
    return ParsedCondition(text.strip(), path, op, value)


class AnyGroup(BaseModel):
    model_config = ConfigDict(extra="forbid")
    any: list[str] = Field(min_length=2)


class BranchSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z][a-z0-9]*$")
    quote: str | list[str]
    subject: str
    when: list[str | AnyGroup] = Field(min_length=1)
    basis: str | None = None
    subitem: str | None = None  # a 1. sub-item or （1） point of the criterion this branch implements
    table_row: str | None = None  # the row of a table (表N) the criterion refers to that this branch implements
    except_quote: str | list[str] | None = None
    note: str | None = None

    @property
    def quotes(self) -> list[str]:
        return [self.quote] if isinstance(self.quote, str) else list(self.quote)

    @property
    def except_quotes(self) -> list[str]:
        if self.except_quote is None:
            return []
        return [self.except_quote] if isinstance(self.except_quote, str) else list(self.except_quote)


class CriterionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    criterion: str = Field(pattern=PINPOINT)
    text_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    branches: list[BranchSpec] = Field(min_length=1)
    automatable: bool = True
    not_automatable_reason: str | None = None

    @field_validator("branches")
    @classmethod
    def _unique_branch_ids(cls, v: list[BranchSpec]) -> list[BranchSpec]:
        ids = [b.id for b in v]
        if len(ids) != len(set(ids)):
            raise ValueError(f"branch ids must be unique, got {ids}")
        return v


class FailureRuleSpec(BaseModel):
    """A 第十四条-style rule: a device installed but failed or ineffective counts as not present."""

    model_config = ConfigDict(extra="forbid")
    provision: str
    text_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    quote: str


class RuleFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    standard: str
    failure_rule: FailureRuleSpec | None = None
    criteria: list[CriterionSpec]


def load_rule_file(path: Path) -> RuleFile:
    """Read rules/<standard>.yaml; while a standard is being written, rules/<standard>.d/*.yaml add criteria."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    fragments = path.with_suffix(".d")
    if fragments.is_dir():
        data.setdefault("criteria", [])
        for frag in sorted(fragments.glob("*.yaml")):
            data["criteria"].extend(yaml.safe_load(frag.read_text(encoding="utf-8")) or [])
    return RuleFile.model_validate(data)
