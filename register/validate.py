"""Checks on what is entered into the register: 统一社会信用代码 (GB 32100-2015) and industry names."""

from __future__ import annotations

import difflib

from .errors import Invalid

_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code_check_char(first17: str) -> str:
    total = sum(_CHARS.index(c) * w for c, w in zip(first17, _WEIGHTS))
    return _CHARS[(31 - total % 31) % 31]


def credit_code_problem(code: str) -> str | None:
    if len(code) != 18 or any(c not in _CHARS for c in code):
        return "a 统一社会信用代码 has 18 characters from 0-9 and A-Y without I, O, S, V, Z"
    expected = credit_code_check_char(code[:17])
    if code[17] != expected:
        return f"check character is {code[17]!r}, but the first 17 characters give {expected!r} (GB 32100-2015)"
    return None


def check_credit_code(code: str, field: str = "credit_code") -> str:
    code = code.strip().upper()
    problem = credit_code_problem(code)
    if problem:
        raise Invalid(f"invalid 统一社会信用代码 {code!r}: {problem}",
                      errors=[{"field": field, "message": problem, "expected": "a valid 18-character 统一社会信用代码"}])
    return code


def industries(kb, names: list[str]) -> list[str]:
    """Industry names as the knowledge base labels them (冶金, 有色, …); aliases accepted; unknown refused."""
    if kb is None:
        return list(dict.fromkeys(n.strip() for n in names))
    onto = kb.ontology
    labels = [s.label for s in onto.sectors.values() if s.kind == "industry"]
    out, errors = [], []
    for i, raw in enumerate(names):
        sector = onto.sectors.get(onto.sector_aliases.get(raw, raw))
        if sector is None or sector.kind != "industry":
            errors.append({"field": f"industries.{i}", "message": f"unknown industry {raw!r}", "expected": "one of " + "、".join(labels),
                           "suggestions": difflib.get_close_matches(raw, labels, n=3, cutoff=0.4)})
        elif sector.label not in out:
            out.append(sector.label)
    if errors:
        raise Invalid(f"{len(errors)} unknown industr{'y' if len(errors) == 1 else 'ies'}", errors=errors)
    return out
