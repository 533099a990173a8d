"""Turn engine records into verdicts per item, with evidence, rule chains and the questions left.

Per item: violated when a branch holds for some subject; not_violated when every branch is refuted
for every subject (a class declared absent refutes the branches about it); not_applicable when the
enterprise's sectors are outside the item's, or every branch is about an absent class (不涉及);
otherwise undetermined, listing exactly the observations that would decide it.

Results are built with `model_construct`: the values come from the validated inspection and the
compiled knowledge base, so validating them again per request would only cost time.
"""

from __future__ import annotations

from .compiler import Branch, CompiledKB, Condition
from .inspection import Obj, NormalizedInspection
from .ontology import Provision, pinpoint_order
from .records import Derived, Holds, Record, Refuted
from .result import (ANSWER_ZH, VERDICT_ZH, AppliedDocument, Citation, CriterionResult, Deferral, Determination,
                     Evidence, Finding, FiredRule, Question, Refutation, construct)


_citations: dict[tuple[str, str, str | None], Citation] = {}


def citation(kb: CompiledKB, pinpoint: str, role: str | None = None) -> Citation:
    """A provision as cited in results; built once per knowledge base (results only read it)."""
    key = (kb.content_hash, pinpoint, role)
    if key not in _citations:
        _citations[key] = _citation(kb, pinpoint, role)
    return _citations[key]


def article_and_item(kb: CompiledKB, prov: Provision) -> tuple[str | None, str | None]:
    """How a provision is cited: (第四条, （一）), (一、（一）, 3.) in a notice-style division,
    (第八条, None) for a whole-article criterion, (None, 三、) for an item of a notice-style list."""
    onto = kb.ontology
    if prov.kind == "section":
        return None, None
    if prov.article:
        parent = onto.provisions[prov.article]
        if parent.kind == "table":  # a row: 表1 第2行
            return parent.ordinal, f"第{prov.number}行"
        if parent.kind in ("item", "criterion"):  # a sub-item: 第五条（四） 1.
            above, parent_item = article_and_item(kb, parent)
            return f"{above or ''}{parent_item or ''}", prov.ordinal
        return parent.ordinal, prov.ordinal
    if prov.ordinal.startswith("第"):  # an article, possibly declared a criterion as a whole
        return prov.ordinal, None
    return None, prov.ordinal


def _citation(kb: CompiledKB, pinpoint: str, role: str | None) -> Citation:
    onto = kb.ontology
    prov = onto.provisions[pinpoint]
    doc = onto.documents[prov.doc]
    article, item = article_and_item(kb, prov)
    return construct(Citation, pinpoint=pinpoint, document=book_title(doc.title), doc_number=doc.doc_number,
                                    article=article, item=item, text=prov.text, role=role)


def book_title(title: str) -> str:
    """A document's title in 书名号, unless the title already starts with one (《…》解读)."""
    return title if title.startswith("《") else f"《{title}》"


def documents_in_force(kb: CompiledKB, insp: NormalizedInspection) -> list[str]:
    """The standards in force on the inspection date: in force from their effective date (or the stated
    assumed date when the sources give none) until the effective date of a document repealing them."""
    onto = kb.ontology
    repealed_on = {}
    for d in onto.documents.values():
        for r in d.repeals:
            repealed_on[r] = d.in_force_from
    out = []
    for d in onto.documents.values():
        start = d.in_force_from
        if d.kind != "standard" or start is None or start > insp.as_of:
            continue
        end = repealed_on.get(d.id)
        if end is not None and end <= insp.as_of:
            continue
        out.append(d.id)
    return sorted(out)


def applicable(kb: CompiledKB, insp: NormalizedInspection, pinpoint: str) -> bool:
    """Whether an item applies to this enterprise; asked ~800 times per determination from four places (routing,
    applied standards, each item, deferrals), so answered once per item and inspection."""
    known = insp.applicable
    if pinpoint not in known:
        known[pinpoint] = kb.ontology.applies(pinpoint, insp.sectors)
    return known[pinpoint]


def applied_documents(kb: CompiledKB, insp: NormalizedInspection) -> list[str]:
    """Standards in force on the date with at least one item for the enterprise's sectors."""
    onto = kb.ontology
    return [d for d in documents_in_force(kb, insp)
            if any(applicable(kb, insp, p.pinpoint) for p in onto.criteria(d))]


def determine(kb: CompiledKB, insp: NormalizedInspection, records: list[Record], engine: str) -> Determination:
    onto = kb.ontology
    docs = applied_documents(kb, insp)
    holds: dict[str, list[Holds]] = {}
    refuted: set[tuple[str, str]] = set()
    derived: dict[tuple[str, str], Derived] = {}
    for r in records:
        if isinstance(r, Holds):
            holds.setdefault(r.rule_id, []).append(r)
        elif isinstance(r, Refuted):
            refuted.add((r.cond_key, r.ref))
        else:
            derived[(r.ref, r.device)] = r

    items: list[CriterionResult] = []
    for prov in (p for d in docs for p in onto.criteria(d)):
        items.append(_criterion(kb, insp, prov, holds, refuted, derived))

    hazards = [i for i in items if i.verdict == "violated"]
    undetermined = [i for i in items if i.verdict == "undetermined"]
    notes = []
    if not docs:
        sectors = "、".join(onto.sectors[s].label for s in insp.sectors)
        notes.append(f"本知识库中没有在 {insp.as_of.isoformat()} 有效且适用于（{sectors}）的判定标准")
    for (ref, prop), (num, den) in insp.computed.items():
        p = onto.properties[prop]
        notes.append(f"计算：{ref} 的“{p.label}”= {onto.properties[num].label} ÷ {onto.properties[den].label}"
                     f"{' × 100' if p.ratio_scale == 100 else (' × 1000' if p.ratio_scale == 1000 else '')}"
                     f" = {insp.objects[ref].values[prop]}{p.unit or ''}")
    for (ref, prop), sector in insp.filled.items():
        notes.append(f"由申报的“{onto.sectors[sector].label}”得出：{ref} 的“{onto.properties[prop].label}”"
                     f"为“{insp.objects[ref].values[prop] if not isinstance(insp.objects[ref].values[prop], bool) else ('是' if insp.objects[ref].values[prop] else '否')}”")
    for sector, refs in insp.inferred.items():
        notes.append(f"推断：{'、'.join(refs)} 表明企业属于“{onto.sectors[sector].label}”，已按该行业的标准判定；如不属实，请更正申报")
    for d in docs:
        if onto.documents[d].effective is None and onto.documents[d].date_assumption:
            notes.append(f"《{onto.documents[d].title}》：{onto.documents[d].date_assumption}")
    for d in docs:
        if onto.documents[d].text_incomplete:
            notes.append(f"《{onto.documents[d].title}》原文未全部获得，仅判定了已收录的条款：{onto.documents[d].text_incomplete}")
    incomplete = any(onto.documents[d].text_incomplete for d in docs)
    answer = _answer(hazards, undetermined, docs, incomplete)
    questions: dict[tuple, Question] = {}
    for i in undetermined:
        for q in i.missing:
            questions.setdefault((q.object, q.object_class, q.property), q)
    consequences = []
    if hazards:
        seen = set()
        for d in sorted({h.standard for h in hazards}):
            for pin in sorted(onto.documents[d].statutory_basis, key=pinpoint_order):
                if pin not in seen and pin in onto.provisions:
                    seen.add(pin)
                    consequences.append(citation(kb, pin, "法律依据与法律责任"))
    return construct(Determination,
        kb_version=kb.version, engine=engine, as_of=insp.as_of, enterprise=insp.enterprise_name,
        sectors=[onto.sectors[s].label for s in sorted(insp.sectors, key=lambda s: (onto.sectors[s].kind != "industry", s))],
        answer=answer, answer_zh=ANSWER_ZH[answer],
        standards=[_applied(kb, d, items) for d in docs],
        hazards=hazards, undetermined=undetermined, items=items, next_questions=list(questions.values()),
        deferred=_deferrals(kb, insp, docs), legal_consequences=consequences, notes=notes,
    )


def _answer(hazards, undetermined, docs, incomplete: bool = False) -> str:
    """A standard whose text is only partly sourced cannot support "no hazard": its missing items were not judged."""
    return "yes" if hazards else ("undetermined" if undetermined or not docs or incomplete else "no")


def _applied(kb: CompiledKB, doc_id: str, items: list[CriterionResult]) -> AppliedDocument:
    d = kb.ontology.documents[doc_id]
    mine = [i for i in items if i.standard == doc_id]
    hazards = [i for i in mine if i.verdict == "violated"]
    undetermined = [i for i in mine if i.verdict == "undetermined"]
    return construct(AppliedDocument,
        id=d.id, title=d.title, doc_number=d.doc_number, effective=d.effective, in_force_from=d.in_force_from,
        date_assumption=d.date_assumption if d.effective is None else None, status=d.status, provenance=d.provenance,
        answer=_answer(hazards, undetermined, [doc_id], bool(d.text_incomplete)), hazards=[h.pinpoint for h in hazards],
        undetermined=len(undetermined), incomplete=d.text_incomplete or None)


def _deferrals(kb: CompiledKB, insp: NormalizedInspection, docs: list[str]) -> list[Deferral]:
    """工贸 第二条: matters of other regimes are judged under their own standard - the one in this
    knowledge base if there is one (applied when the enterprise is in its sector), else named as missing."""
    onto = kb.ontology
    in_force = set(documents_in_force(kb, insp))
    # objects the applied standard itself names (工贸 2017 judges the cranes that lift molten metal) are
    # judged by it, not deferred
    named = {b.subject for d in docs for p in onto.criteria(d) if applicable(kb, insp, p.pinpoint)
             for b in (kb.criteria[p.pinpoint].branches if p.pinpoint in kb.criteria else ())}
    out = []
    for pin, regimes in sorted(onto.defers_to.items()):
        if onto.provisions[pin].doc not in docs:
            continue
        for obj in insp.objects.values():
            if any(onto.is_a(obj.cls, cls) for cls in named):
                continue
            for regime in sorted(set(onto.classes[obj.cls].governed_by) & set(regimes)):
                label = onto.sectors[regime].label
                governing = next((d for d in sorted(in_force) if regime in onto.documents[d].governs_regimes), None)
                applied = governing in docs
                if governing is None:
                    note = f"涉及{label}方面的重大事故隐患按其专门规定判定；该规定未收入本知识库，本次不作判定。"
                elif applied:
                    note = f"涉及{label}方面的重大事故隐患按《{onto.documents[governing].title}》判定，见该标准的结论。"
                else:
                    sector = onto.sectors.get(regime).sector
                    who = onto.sectors[sector].label if sector else label
                    note = (f"涉及{label}方面的重大事故隐患另有规定：《{onto.documents[governing].title}》适用于{who}单位；"
                            f"企业未申报该行业，本次未按其判定。如企业属于{who}单位，请申报后判定。")
                out.append(construct(Deferral,
                    object=obj.ref, object_class=onto.classes[obj.cls].label, regimes=[label],
                    basis=citation(kb, pin, "另有规定的，适用其规定"), standard=governing, applied=applied, note=note))
    return out


def _criterion(kb, insp, prov: Provision, holds, refuted, derived) -> CriterionResult:
    onto = kb.ontology
    doc = onto.documents[prov.doc]
    article, item = article_and_item(kb, prov)
    base = dict(pinpoint=prov.pinpoint, standard=prov.doc, document=book_title(doc.title), doc_number=doc.doc_number,
                article=article or "", item=item or "", text=prov.text)
    crit = kb.criteria.get(prov.pinpoint)
    if not applicable(kb, insp, prov.pinpoint):
        sectors = "、".join(onto.sectors[s].label for s in onto.applicability(prov.pinpoint))
        return construct(CriterionResult, **base, verdict="not_applicable", verdict_zh=VERDICT_ZH["not_applicable"],
                               reason=f"适用于{sectors}；企业未申报该行业或领域")
    if crit is None:
        return construct(CriterionResult, **base, verdict="undetermined", verdict_zh=VERDICT_ZH["undetermined"],
                               reason="本条款尚未编码为规则，需人工判定")

    findings = []
    for b in crit.branches:
        for h in sorted(holds.get(b.rule_id, []), key=lambda h: h.ref):
            findings.append(_finding(kb, insp, b, insp.objects[h.ref], h, derived))
    if findings:
        return construct(CriterionResult, **base, verdict="violated", verdict_zh=VERDICT_ZH["violated"], findings=findings)

    missing: dict[tuple, Question] = {}
    because: list[Refutation] = []
    all_absent = True
    for b in crit.branches:
        subjects = insp.by_class(kb, b.subject)
        if not subjects:
            if any(onto.is_a(b.subject, a) for a in insp.absent):
                continue
            all_absent = False
            cls = onto.classes[b.subject]
            missing.setdefault((None, b.subject, None), construct(Question,
                object=None, object_class=b.subject, object_class_label=cls.label, property=None, label=cls.label,
                question=f"企业是否有{cls.label}？如有，请逐一列出并观察；如确认没有，请声明不涉及。", kind="presence"))
            continue
        all_absent = False
        for s in subjects:
            refuting = next((c for c in b.conditions if (c.key, s.ref) in refuted), None)
            if refuting is not None:
                because.append(construct(Refutation, branch=b.branch, subject=s.ref, condition=refuting.text,
                                          evidence=_evidence_for(kb, insp, s, refuting)))
                continue
            for c in b.conditions:
                for q in _questions(kb, insp, s, c, derived):
                    missing.setdefault((q.object, q.object_class, q.property), q)
    if missing:
        return construct(CriterionResult, **base, verdict="undetermined", verdict_zh=VERDICT_ZH["undetermined"],
                               missing=list(missing.values()), not_violated_because=because)
    if all_absent:
        return construct(CriterionResult, **base, verdict="not_applicable", verdict_zh=VERDICT_ZH["not_applicable"],
                               reason="经确认不存在本项所涉对象（不涉及）")
    return construct(CriterionResult, **base, verdict="not_violated", verdict_zh=VERDICT_ZH["not_violated"], not_violated_because=because)


def _finding(kb, insp, b: Branch, subject: Obj, h: Holds, derived) -> Finding:
    onto = kb.ontology
    evidence: list[Evidence] = []
    seen: set[tuple[str, str]] = set()
    for c in b.conditions:  # a property two conditions test (a table row's range) is one piece of evidence
        for e in _evidence_for(kb, insp, subject, c):
            if (e.object, e.property) not in seen:
                seen.add((e.object, e.property))
                evidence.append(e)
    fired: list[FiredRule] = []
    cites = [citation(kb, b.criterion, "判定情形")]
    if b.subitem:
        cites.append(citation(kb, b.subitem, "判定情形所列具体情形"))
    if b.table_row:
        cites.append(citation(kb, b.table_row, "判定情形所引表格中适用的一行"))
    for rule_id, device in h.chain:
        d = next(x for x in kb.derivations[device] if x.rule_id == rule_id)
        fired.append(construct(FiredRule, rule=rule_id, kind="derivation", cites=list(d.cites)))
        for pin in d.cites:
            if all(ci.pinpoint != pin for ci in cites):
                cites.append(citation(kb, pin, "失效或者无效均判定为重大事故隐患"))
    fired.append(construct(FiredRule, rule=b.rule_id, kind="criterion", cites=list(b.cites)))
    if b.basis:
        cites.append(citation(kb, b.basis, "判定情形细化（解读），作为执行口径"))
    return construct(Finding, branch=b.branch, subject=subject.ref, subject_class=onto.classes[subject.cls].label,
                   quote=list(b.quotes), evidence=evidence, rules_fired=fired, cites=cites)


def _evidence_for(kb, insp, obj: Obj, c: Condition) -> list[Evidence]:
    onto = kb.ontology
    if c.kind == "any":
        return [e for alt in c.alternatives for e in _evidence_for(kb, insp, obj, alt)]
    names = {a.split("(")[-1].rstrip(")").split(".")[0] for a in c.asks}
    out = []
    for name in sorted(names):
        if name not in obj.values:
            continue
        prop = onto.properties[name]
        out.append(construct(Evidence, object=obj.ref, object_class=onto.classes[obj.cls].label, property=name, label=prop.label,
                            value=list(obj.values[name]) if prop.kind == "relation" else obj.values[name], unit=prop.unit))
        for part in prop.ratio_of or ():  # a computed ratio: the figures it comes from are the evidence too
            if part in obj.values:
                pp = onto.properties[part]
                out.append(construct(Evidence, object=obj.ref, object_class=onto.classes[obj.cls].label, property=part,
                                                    label=pp.label, value=obj.values[part], unit=pp.unit))
        if prop.kind == "relation" and c.kind in ("list", "field") and "." in (c.asks[-1] if c.asks else ""):
            second = c.asks[-1].split(".", 1)[1]
            for t in obj.values[name]:
                target = insp.objects[t]
                if second in target.values:
                    p2 = onto.properties[second]
                    v = target.values[second]
                    out.append(construct(Evidence, object=t, object_class=onto.classes[target.cls].label, property=second,
                                        label=p2.label, value=list(v) if p2.kind == "relation" else v, unit=p2.unit))
    return out


def _question(kb, obj: Obj, prop_name: str, insp) -> Question:
    onto = kb.ontology
    prop = onto.properties[prop_name]
    return construct(Question, object=obj.ref, object_class=obj.cls, object_class_label=onto.classes[obj.cls].label,
                    property=prop_name, label=prop.label, question=prop.question, kind=prop.kind, unit=prop.unit,
                    allowed=list(prop.allowed))


def _questions(kb, insp, obj: Obj, c: Condition, derived) -> list[Question]:
    onto = kb.ontology
    f = obj.fields
    if c.kind == "any":
        return [q for alt in c.alternatives for q in _questions(kb, insp, obj, alt, derived)]
    if c.kind == "present":
        if f"{c.field}__installed" in f and (obj.ref, c.field) in derived:
            return []
        q = _question(kb, obj, c.field, insp)
        if f.get(f"{c.field}__installed") is True:
            q = q.model_copy(update={"question": f"{q.label}：已设置，是否正常运行、有效？", "kind": "device.functional"})
        return [q]
    if c.kind == "field":
        if c.field in f:
            return []
        name = c.asks[0].split("(")[-1].rstrip(")").split(".")[0]
        if "__" in c.field and c.field.split("__", 1)[0] in ("count", "distinct"):
            rel = c.asks[0]
            if f"count__{rel}" not in f:
                return [_question(kb, obj, rel, insp)]
            second = c.asks[-1].split(".", 1)[1]
            return [_question(kb, insp.objects[t], second, insp) for t in obj.values[rel]
                    if second not in insp.objects[t].values]
        return _asked_for(kb, obj, name, insp)
    # list: through a relation
    rel, second = c.asks[0], c.asks[1].split(".", 1)[1]
    if c.field in f or f.get(c.count_field) == 0:
        return []
    if c.count_field not in f:
        return [_question(kb, obj, rel, insp)]
    return [q for t in obj.values[rel] if second not in insp.objects[t].values
            for q in _asked_for(kb, insp.objects[t], second, insp)]


def _asked_for(kb, obj: Obj, prop_name: str, insp) -> list[Question]:
    """The question for a missing observation; for a ratio the engine computes (产量占核定生产能力的百分比), the
    figures it is computed from that are still missing."""
    ratio_of = kb.ontology.properties[prop_name].ratio_of
    if ratio_of:
        return [_question(kb, obj, part, insp) for part in ratio_of if part not in obj.values]
    return [_question(kb, obj, prop_name, insp)]
