from datetime import date

from fastapi import APIRouter, Depends, HTTPException, Query

from hazard_kb.engine import catalogue as cat
from hazard_kb.engine.checklist import Checklist, build_checklist
from hazard_kb.engine.determine import documents_in_force
from hazard_kb.engine.diff import StandardDiff, diff_standards
from hazard_kb.engine.inspection import InspectionError, InspectionIn, normalize
from hazard_kb.engine.service import Engine

from ..deps import get_engine

router = APIRouter(prefix="/v1", tags=["knowledge base"])


@router.get("/standards", response_model=list[cat.StandardSummary], summary="收录的法律文件")
def list_standards(engine: Engine = Depends(get_engine)):
    return cat.standards(engine.kb)


@router.get("/standards/{doc_id}", response_model=cat.StandardView, summary="一个文件的条、项及实现规则")
def get_standard(doc_id: str, engine: Engine = Depends(get_engine)):
    if doc_id not in engine.kb.ontology.documents:
        raise HTTPException(404, f"no document {doc_id!r}; known: {', '.join(sorted(engine.kb.ontology.documents))}")
    return cat.standard_view(engine.kb, doc_id)


@router.get("/criteria/{pinpoint:path}", response_model=cat.CriterionView, summary="一个判定情形：原文、适用范围、规则")
def get_criterion(pinpoint: str, engine: Engine = Depends(get_engine)):
    prov = engine.kb.ontology.provisions.get(pinpoint)
    if prov is None or prov.kind != "criterion":
        raise HTTPException(404, f"no criterion {pinpoint!r} (pinpoints look like gongmao-2023/art12/item2)")
    return cat.criterion_view(engine.kb, pinpoint)


@router.get("/diff", response_model=StandardDiff, summary="两个标准（版本）之间新增、删除、修改的判定情形")
def get_diff(old: str = Query(..., description="earlier standard, e.g. gongmao-2017"),
             new: str = Query(..., description="later standard, e.g. gongmao-2023"),
             engine: Engine = Depends(get_engine)):
    try:
        return diff_standards(engine.kb, old, new)
    except KeyError as exc:
        raise HTTPException(404, f"no standard {exc.args[0]!r} in the knowledge base") from None


@router.get("/industries", response_model=list[cat.SectorView], summary="行业、专项领域和另有规定的领域")
def list_industries(engine: Engine = Depends(get_engine)):
    return cat.sectors(engine.kb)


@router.get("/checklists", response_model=Checklist, summary="检查重点事项清单：按对象分组的检查提问")
def get_checklist(industry: list[str] = Query(..., max_length=20, description="行业，可多个"),
                  regime: list[str] = Query(default=[], max_length=20, description="专项领域，可多个"),
                  on: date | None = Query(default=None, description="检查日期"),
                  engine: Engine = Depends(get_engine)):
    probe = InspectionIn(date=on, enterprise={"name": "checklist", "industries": industry, "regimes": regime})
    try:
        insp = normalize(engine.kb, probe)
    except InspectionError as exc:
        raise _as_query_error(exc) from None
    return build_checklist(engine.kb, list(insp.sectors), insp.as_of, documents_in_force(engine.kb, insp))


def _as_query_error(exc: InspectionError) -> InspectionError:
    # report query parameters by their own names
    renamed = [p.__class__(("query", "industry" if "industries" in p.loc else "regime", *p.loc[2:]), p.msg, p.expected,
                           p.suggestions) for p in exc.problems]
    return InspectionError(renamed)
