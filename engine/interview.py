"""The guided interview: after some answers, what an inspector still has to look at, and nothing else.

A static checklist (checklist.py) lists every question the applicable items could need. Once observations
come in, most of them no longer matter: an object kind declared absent, an item already violated or refuted.
The determination already knows what would decide each undetermined item; this groups that by the object
to look at (or the kind of object whose presence is still unknown), so the interview shrinks as answers come in."""

from __future__ import annotations

from pydantic import BaseModel, Field

from .result import Determination


class InterviewQuestion(BaseModel):
    property: str | None = Field(description="null: whether such objects exist (record each one, or declare 不涉及)")
    label: str
    question: str
    kind: str
    unit: str | None = None
    allowed: list[str] = []
    decides: list[str] = Field(description="pinpoints of the undetermined items this answer helps decide")


class InterviewGroup(BaseModel):
    object: str | None = Field(description="ref of the object to look at; null for a kind of object not yet recorded")
    object_class: str
    object_class_label: str
    questions: list[InterviewQuestion]


class Interview(BaseModel):
    answer: str
    answer_zh: str
    hazards: list[str] = Field(description="items already found violated")
    decided: int = Field(description="applicable items already decided (violated, not violated or not applicable)")
    undetermined: int
    asked: int = Field(description="number of questions still to ask")
    groups: list[InterviewGroup]


def next_questions(det: Determination) -> Interview:
    groups: dict[tuple[str | None, str], InterviewGroup] = {}
    for item in det.undetermined:
        for q in item.missing:
            group = groups.setdefault((q.object, q.object_class), InterviewGroup(
                object=q.object, object_class=q.object_class, object_class_label=q.object_class_label, questions=[]))
            asked = next((x for x in group.questions if x.property == q.property), None)
            if asked is None:
                asked = InterviewQuestion(property=q.property, label=q.label, question=q.question, kind=q.kind,
                                          unit=q.unit, allowed=list(q.allowed), decides=[])
                group.questions.append(asked)
            if item.pinpoint not in asked.decides:
                asked.decides.append(item.pinpoint)
    # objects on site first (look at what is in front of you), then the kinds still to look for
    ordered = sorted(groups.values(), key=lambda g: (g.object is None, g.object or "", g.object_class))
    return Interview(answer=det.answer, answer_zh=det.answer_zh, hazards=[h.pinpoint for h in det.hazards],
                     decided=len(det.items) - len(det.undetermined), undetermined=len(det.undetermined),
                     asked=sum(len(g.questions) for g in ordered), groups=ordered)
