"""What validation produces: findings (code, severity, field, sheet!cell, message) and the report."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

ERROR = "error"
WARNING = "warning"
SEVERITY_ZH = {ERROR: "错误", WARNING: "警告"}

FIELD_LABELS = {
    "unit.code": "单位编码", "unit.name": "单位名称", "project.code": "项目编码",
    "project.name": "项目名称", "project.budget": "预算数", "project.fiscal": "财政资金",
    "project.other": "其他资金", "project.purpose": "资金用途", "project.goals": "绩效目标",
    "project.plan": "资金支出计划", "indicator.level1": "一级指标", "indicator.level2": "二级指标",
    "indicator.level3": "三级指标", "indicator.description": "绩效指标描述",
    "indicator.value": "指标值", "indicator.basis": "指标值确定依据",
    "department.total": "部门预算总额", "department.scoring": "考核分值", "source": "来源文件",
    "project.*": "项目必填项", "project.seq": "序号", "project.title": "标题",
    "selfeval.spent": "全年执行数", "selfeval.actual": "实际完成值", "selfeval.weight": "分值",
    "selfeval.score": "得分", "selfeval.reason": "偏差原因分析及改进措施",
    "selfeval.execution_reason": "预算执行偏差原因",
    "monitor.spent": "执行数", "monitor.reason": "执行偏差原因", "monitor.reasons": "偏差原因分析",
    "monitor.likelihood": "完成目标可能性", "department.assessment": "考核评分",
}
"""The canonical field names in Chinese: as the form labels them."""


def field_label(field: str) -> str:
    """``资金支出计划 (project.plan)``: the Chinese name, the canonical name beside it."""
    zh = FIELD_LABELS.get(field)
    return f"{zh} ({field})" if zh else field


@dataclass(frozen=True)
class Finding:
    """One problem at one place. ``cell`` is an A1 address on ``sheet`` (from the cell map)."""

    code: str          # stable identifier, e.g. PX201
    rule: str          # stable slug, e.g. funds-mismatch
    severity: str      # "error" blocks submission; "warning" needs an explanation
    field: str         # canonical field name, e.g. project.budget
    message: str       # Chinese
    message_en: str
    unit_code: str = ""
    project_code: str = ""
    project_name: str = ""
    sheet: str = ""
    cell: str = ""
    value: str = ""

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)  # flat fields: much faster than dataclasses.asdict


@dataclass
class Report:
    """All findings for one book, errors first, in book order."""

    book: str
    findings: list[Finding] = field(default_factory=list)
    checked_at: dt.datetime = field(default_factory=lambda: dt.datetime.now().replace(microsecond=0))

    @property
    def counts(self) -> dict[str, int]:
        return {ERROR: sum(f.severity == ERROR for f in self.findings),
                WARNING: sum(f.severity == WARNING for f in self.findings)}

    @property
    def valid(self) -> bool:
        return self.counts[ERROR] == 0

    def to_json(self) -> dict[str, Any]:
        return {"book": self.book, "valid": self.valid, "counts": self.counts,
                "checked_at": self.checked_at.isoformat(),
                "findings": [f.to_json() for f in self.findings]}
