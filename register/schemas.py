"""What the register accepts and returns (API bodies and responses; the CLI prints the same as JSON)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .domain import CONFIRMING_ROLES, ROLES, SOURCES, SUPERVISION_LEVELS

Role = Literal["inspector", "expert", "enterprise_principal", "auditor", "admin"]
ConfirmingRole = Literal["inspector", "expert", "enterprise_principal"]
Source = Literal["企业自查", "监督检查", "群众举报查实"]
Level = Literal["国家级", "省级", "市级", "县级"]
Status = Literal["登记", "整改中", "申请销号", "已销号"]
assert set(Role.__args__) == set(ROLES) and set(ConfirmingRole.__args__) == set(CONFIRMING_ROLES)
assert set(Source.__args__) == set(SOURCES) and set(Level.__args__) == set(SUPERVISION_LEVELS)

CREDIT_CODE_PATTERN = r"^[0-9A-HJ-NP-RTUW-Y]{2}\d{6}[0-9A-HJ-NP-RTUW-Y]{10}$"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class UserRef(BaseModel):
    id: int
    username: str
    display_name: str


class Me(UserRef):
    roles: list[str]
    enterprise: EnterpriseView | None = None


# --------------------------------------------------------------------------------------------- enterprises
class EnterpriseIn(_In):
    name: str = Field(min_length=1, max_length=200, description="企业名称")
    credit_code: str = Field(pattern=CREDIT_CODE_PATTERN, description="统一社会信用代码（18位，校验位按 GB 32100-2015 检查）")
    province: str = Field(min_length=1, max_length=60, description="省（自治区、直辖市）")
    city: str = Field(min_length=1, max_length=60, description="市（地区、州）")
    county: str = Field(min_length=1, max_length=60, description="县（区、市）")
    town: str = Field(min_length=1, max_length=60, description="乡镇、街道")
    address: str | None = Field(default=None, max_length=300)
    industries: list[str] = Field(min_length=1, max_length=20, description="行业，如 冶金、有色、轻工（知识库中的名称或中文标签）")


class EnterpriseView(EnterpriseIn):
    model_config = ConfigDict(extra="ignore")
    id: int
    created_at: datetime

    @property
    def region(self) -> str:
        return "/".join((self.province, self.city, self.county, self.town))


# --------------------------------------------------------------------------------------------- records
class HazardRef(BaseModel):
    pinpoint: str
    document: str
    doc_number: str
    article: str | None = None
    item: str | None = None
    text: str


class RecordSummary(BaseModel):
    id: int
    created_at: datetime
    created_by: UserRef
    enterprise_id: int | None
    enterprise_name: str
    credit_code: str | None
    as_of: date
    answer: str
    hazards: list[HazardRef]
    kb_version: str
    kb_content_hash: str
    engine: str
    input_sha256: str
    output_sha256: str


class RecordView(RecordSummary):
    input: dict[str, Any] = Field(description="the inspection exactly as determined")
    output: dict[str, Any] = Field(description="the determination exactly as returned then")
    intact: bool = Field(description="the stored input and output still match their sha256")


class VerdictChange(BaseModel):
    pinpoint: str
    label: str
    before: str | None = Field(description="verdict then (null: the item was not applied then)")
    after: str | None = Field(description="verdict now (null: the item is not applied now)")


class Reevaluation(BaseModel):
    record_id: int
    as_of: date = Field(description="the date the law is applied as of (the record's, unless another was asked for)")
    then_kb_version: str
    now_kb_version: str
    kb_changed: bool
    then_answer: str
    now_answer: str | None = Field(description="null when the saved input is no longer valid under today's knowledge base")
    hazards_added: list[str] = []
    hazards_removed: list[str] = []
    changes: list[VerdictChange] = Field(default=[], description="every item whose verdict differs, added or removed")
    input_problems: list[dict[str, Any]] = Field(default=[], description="why the saved input cannot be determined now")
    unchanged: bool
    now: dict[str, Any] | None = Field(default=None, description="the determination under today's knowledge base")


# --------------------------------------------------------------------------------------------- entries
class Basis(BaseModel):
    """The legal basis an entry carries: the violated item, and (from a determination) the evidence."""

    pinpoint: str
    standard: str
    document: str
    doc_number: str
    article: str | None = None
    item: str | None = None
    text: str
    findings: list[dict[str, Any]] = []
    kb_version: str | None = None


class EntryIn(_In):
    record_id: int | None = Field(default=None, ge=1, le=2**31 - 1,
                                  description="a saved determination; the entry is its violated item `pinpoint`")
    pinpoint: str | None = Field(default=None, description="the violated item, e.g. gongmao-2023/art12/item2 (required with record_id)")
    source: Source | None = Field(default=None, description="渠道：企业自查、监督检查、群众举报查实（缺省：企业负责人为企业自查，其他为监督检查）")
    enterprise: str | None = Field(default=None, pattern=CREDIT_CODE_PATTERN,
                                   description="统一社会信用代码 of a registered enterprise (optional with a record that names one)")
    description: str | None = Field(default=None, max_length=4000, description="隐患描述（缺省：取自判定）")
    evidence: str | None = Field(default=None, max_length=4000, description="证据、举报核查情况")
    discovered_on: date | None = Field(default=None, description="发现日期（缺省：判定日期或今天）")
    deadline: date | None = Field(default=None, description="整改时限（责令限期整改的日期）")
    reason: str | None = Field(default=None, max_length=2000)


class Plan(_In):
    """整改方案的五落实：措施、责任人、资金、时限、预案。"""

    measures: str = Field(min_length=1, max_length=4000, description="整改措施")
    responsible: str = Field(min_length=1, max_length=200, description="整改责任人")
    funds: float = Field(ge=0, le=1e12, description="整改资金（元）")
    deadline: date = Field(description="整改时限")
    contingency: str = Field(min_length=1, max_length=4000, description="整改期间的安全防范措施和应急预案")


class PlanIn(Plan):
    reason: str | None = Field(default=None, max_length=2000, description="required when revising an existing plan")


class ProgressIn(_In):
    note: str = Field(min_length=1, max_length=4000, description="整改进展")


class AcknowledgeIn(_In):
    reason: str | None = Field(default=None, max_length=2000)


class SupervisionIn(_In):
    level: Level | None = Field(description="挂牌督办的督办层级；null 为摘牌")
    authority: str | None = Field(default=None, max_length=200, description="督办单位")
    reason: str = Field(min_length=1, max_length=2000)


class CloseoutRequestIn(_In):
    report: str = Field(min_length=1, max_length=4000, description="整改完成情况")
    completed_on: date | None = None
    reason: str | None = Field(default=None, max_length=2000)


class ConfirmIn(_In):
    role: ConfirmingRole | None = Field(default=None, description="the role confirmed in (default: the user's only confirming role)")
    opinion: str | None = Field(default=None, max_length=4000, description="现场核查意见")
    checked_on: date | None = Field(default=None, description="现场核查日期")


class RejectIn(_In):
    reason: str = Field(min_length=1, max_length=2000, description="驳回理由")
    findings: str | None = Field(default=None, max_length=4000)


class CloseIn(_In):
    reason: str | None = Field(default=None, max_length=2000)


class Confirmation(BaseModel):
    role: str
    role_zh: str
    user: UserRef
    at: datetime
    opinion: str | None = None
    checked_on: date | None = None


class StatusChange(BaseModel):
    status: str
    at: datetime
    by: UserRef
    seq: int


class Supervision(BaseModel):
    level: str
    authority: str | None
    since: datetime
    by: UserRef


class EntryView(BaseModel):
    id: int
    number: str = Field(description="登记编号")
    status: Status
    source: Source
    enterprise: EnterpriseView
    record_id: int | None
    basis: Basis | None
    description: str
    evidence: str | None
    discovered_on: date | None
    registered_at: datetime
    registered_by: UserRef
    notified: list[str] = Field(description="the enterprise principals the entry was notified to")
    acknowledged: dict[str, Any] | None
    deadline: date | None
    overdue: bool
    days_overdue: int | None
    plan: Plan | None
    supervision: Supervision | None
    closeout_request: dict[str, Any] | None
    confirmations: list[Confirmation]
    missing_confirmations: list[str]
    rounds: int = Field(description="close-out rounds (one more after each 驳回)")
    progress_notes: int
    closed_at: datetime | None
    closed_by: UserRef | None
    closed_late: bool | None
    history: list[StatusChange]
    version: int = Field(description="seq of the last event")


class EntryPage(BaseModel):
    total: int
    items: list[EntryView]


class EventView(BaseModel):
    entry_id: int
    seq: int
    kind: str
    kind_zh: str
    actor: UserRef
    actor_role: str
    at: datetime
    reason: str | None
    data: dict[str, Any]


Me.model_rebuild()
