"""The rule catalogue: every check perfxl makes, with its stable code, slug, severity, field,
messages (Chinese and English) and thresholds.

Thresholds and severities come from a rules file (YAML) so a finance bureau can tune them without
code; ``RulesConfig`` holds the documented defaults. Structure and type checks run as pandera
schemas over the tidy tables (``schemas.py``); the cross-field and quality rules are the small
functions below. Both end as the same ``Finding``.
"""

from __future__ import annotations

import functools
import itertools
import operator
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from . import formula as F
from .errors import ReadError
from .findings import ERROR, FIELD_LABELS, WARNING, Finding
from .forms import FORMS
from .layout import SHEET_DEPARTMENT, parse_a1
from .model import LEVELS, Department, Indicator, Project, finer_than_fen
from .values import WAN, fmt_amount, key, parse_value, text_key


@dataclass(frozen=True)
class Rule:
    code: str
    slug: str
    title_zh: str         # a short Chinese title, shown beside the slug in the books
    severity: str
    field: str
    message: str          # Chinese template, str.format(**params)
    message_en: str
    thresholds: tuple[str, ...] = ()
    engine: str = "rule"  # "pandera" (schemas.py) or "rule" (a function here)


CATALOGUE: tuple[Rule, ...] = (
    Rule("PX100", "no-filled-project", "没有填写任何项目", ERROR, "project.*",
         "工作簿中没有填写任何项目(项目支出绩效目标表是空白的),不是有效的报送",
         "the book has no filled-in project (its project tables are blank); "
         "it is not a valid submission"),
    Rule("PX101", "required-missing", "必填项未填写", ERROR, "project.*",
         "必填项「{label}」未填写", "required field {label} is empty", engine="pandera"),
    Rule("PX102", "amount-not-number", "金额不是数字", ERROR, "project.budget",
         "「{label}」不是数字: {value}", "{label} is not a number: {value}"),
    Rule("PX103", "money-unit-unstated", "未注明金额单位", WARNING, "project.budget",
         "表中未注明金额单位(单位:元 或 单位:万元),已按元读取",
         "the table does not state its money unit; read as 元"),
    Rule("PX104", "code-absent-in-form", "表中没有项目编码", ERROR, "project.code",
         "本表({form})没有「{label}」: {how}", "this {form_en} has no {label}: {how_en}"),
    Rule("PX105", "amounts-absent-in-form", "表中没有金额栏目", WARNING, "project.budget",
         "本表({form})只有绩效指标,没有{missing}: 这些栏目不核对,本表 {count} 个项目的金额不计入合计",
         "this {form_en} holds indicators only, no {missing_en}: these are not checked, and its "
         "{count} projects add nothing to the totals"),
    Rule("PX106", "amount-stored-as-text", "金额以文本保存", ERROR, "project.budget",
         "{label} {value} 以文本形式保存,工作簿自身的合计公式(SUM、SUBTOTAL)不会计入;请改为数字 {number}",
         "{label} {value} is stored as text, which the book's own totals (SUM, SUBTOTAL) skip; "
         "enter it as the number {number}"),
    Rule("PX107", "formula-without-value", "公式没有计算结果", ERROR, "project.budget",
         "{label}的公式没有计算结果(保存它的程序没有计算公式),请在 Excel/WPS 中打开并保存后再提交",
         "{label} holds a formula without a computed value (the program that saved the book "
         "never calculated it); open the book in Excel or WPS, save it and submit it again"),
    Rule("PX201", "funds-mismatch", "预算数与资金来源不符", ERROR, "project.budget",
         "预算数 {budget} 元 ≠ 财政资金 {fiscal} 元 + 其他资金 {other} 元(相差 {diff} 元)",
         "budget {budget} ≠ fiscal {fiscal} + other {other} (difference {diff})",
         engine="pandera"),
    Rule("PX202", "amount-negative", "金额为负数", ERROR, "project.budget",
         "「{label}」不能为负数: {value} 元", "{label} is negative: {value}", engine="pandera"),
    Rule("PX203", "amount-finer-than-fen", "金额精确到分以下", ERROR, "project.budget",
         "「{label}」{value} 元精确到分以下,金额应保留两位小数",
         "{label} {value} is finer than a fen; amounts have two decimals"),
    Rule("PX301", "plan-missing", "缺少资金支出计划", ERROR, "project.plan",
         "资金支出计划未填写{which}", "the spending plan is missing{which_en}"),
    Rule("PX302", "plan-out-of-range", "支出比例超出 0–100%", ERROR, "project.plan",
         "{quarter}累计支出比例 {value}% 不在 0–100% 之间",
         "cumulative spending at {quarter} is {value}%, outside 0–100%", engine="pandera"),
    Rule("PX303", "plan-not-monotonic", "累计支出比例减少", ERROR, "project.plan",
         "{quarter}累计支出比例 {value}% 小于上一期的 {previous}%(累计比例不应减少)",
         "cumulative spending at {quarter} ({value}%) is below the previous {previous}%"),
    Rule("PX304", "plan-not-100", "12月底累计不是 100%", ERROR, "project.plan",
         "12月底累计支出比例应为 100%,实际为 {value}%",
         "cumulative spending at 12月底 must be 100%, is {value}%"),
    Rule("PX305", "plan-whole-percent", "支出计划填成整数", ERROR, "project.plan",
         "资金支出计划填的是 {written},在百分比格式的单元格中显示为 {shown};已按 {meant} 读取,"
         "请改填 {meant}(带 % 号)",
         "the spending plan is written as {written}, which its percent cells show as {shown}; "
         "read as {meant}: enter {meant} (with the % sign)"),
    Rule("PX401", "code-pattern", "项目编码不合规则", ERROR, "project.code",
         "项目编码「{value}」不符合规则: 应为 {length} 位,以 {prefix} 开头的数字和大写字母(实际 {actual} 位)",
         "project code {value} does not match: {length} characters starting {prefix} "
         "(has {actual})", thresholds=("code_region", "code_length"), engine="pandera"),
    Rule("PX402", "code-whitespace", "项目编码含空格", WARNING, "project.code",
         "项目编码中有空格或换行,已去除后读取: 「{raw}」",
         "the project code contains whitespace, removed when reading: {raw!r}"),
    Rule("PX403", "project-code-duplicate", "项目编码重复", ERROR, "project.code",
         "项目编码 {value} 重复,另见: {others}", "project code {value} is also used by: {others}"),
    Rule("PX404", "project-code-cross-book", "项目编码与其他工作簿重复", ERROR, "project.code",
         "项目编码 {value} 也出现在其他部门的工作簿中: {others}",
         "project code {value} is also used in: {others}", engine="batch"),
    Rule("PX405", "project-seq-duplicate", "序号重复", WARNING, "project.seq",
         "序号 {value} 与本单位其他项目重复: {others}(复制工作表后未改序号?)",
         "number {value} is also used by: {others} (a copied sheet?)"),
    Rule("PX406", "title-names-other-project", "标题是另一个项目", WARNING, "project.title",
         "{where}写的是另一个项目「{other}」,而本表的项目名称是「{name}」(复制工作表后未改全?)",
         "the {where_en} names another project ({other}), but this table's project is {name} "
         "(a copied sheet, half edited?)"),
    Rule("PX501", "indicator-level-missing", "缺少指标层级", ERROR, "indicator.level3",
         "指标行缺少{label}", "the indicator row has no {label}", engine="pandera"),
    Rule("PX502", "indicator-level-mismatch", "二级指标不属于一级指标", ERROR, "indicator.level2",
         "二级指标「{level2}」不属于一级指标「{level1}」(应为: {allowed})",
         "level-2 indicator {level2} does not belong to {level1} (allowed: {allowed})",
         engine="pandera"),
    Rule("PX503", "indicator-category-missing", "缺少某类指标", ERROR, "indicator.level1",
         "缺少{category}(每个项目应至少有一条)", "no {category} indicator in this project"),
    Rule("PX504", "indicator-duplicate", "三级指标重复", ERROR, "indicator.level3",
         "三级指标「{value}」在本项目中重复出现", "level-3 indicator {value} appears twice"),
    Rule("PX505", "indicator-value-missing", "缺少指标值", ERROR, "indicator.value",
         "指标「{name}」未填写指标值", "indicator {name} has no value", engine="pandera"),
    Rule("PX506", "indicator-value-unparseable", "指标值无法识别", ERROR, "indicator.value",
         "指标值「{value}」无法识别: 应为「运算符 数值 单位」(如 ≥95%)、日期或 优/良/中/差、达到/基本达到",
         "indicator value {value} cannot be read: operator number unit (≥95%), a date or a grade"),
    Rule("PX507", "indicator-unit-mismatch", "指标值单位不符", WARNING, "indicator.value",
         "{problem}: 「{name}」的指标值为「{value}」", "{problem_en}: {name} = {value}",
         thresholds=("money_units", "duration_units", "count_units", "percent_max")),
    Rule("PX508", "satisfaction-below-floor", "满意度目标偏低", WARNING, "indicator.value",
         "满意度指标值 {value} 低于 {floor}%", "satisfaction target {value} is below {floor}%",
         thresholds=("satisfaction_floor",)),
    Rule("PX509", "description-repeats-name", "指标描述只重复名称", WARNING, "indicator.description",
         "绩效指标描述只是重复了指标名称「{name}」,请说明指标的含义和计算方法",
         "the description only repeats the indicator name {name}"),
    Rule("PX510", "indicator-value-vague", "指标值表述模糊", WARNING, "indicator.value",
         "指标值「{value}」含模糊表述「{word}」,应量化", "indicator value {value} is vague ({word})",
         thresholds=("vague_words",)),
    Rule("PX511", "description-missing", "缺少指标描述", WARNING, "indicator.description",
         "指标「{name}」没有绩效指标描述", "indicator {name} has no description"),
    Rule("PX512", "basis-missing", "缺少指标值确定依据", WARNING, "indicator.basis",
         "指标「{name}」未填写指标值确定依据", "indicator {name} has no basis for its value"),
    Rule("PX601", "indicator-set-copied", "指标与其他项目雷同", WARNING, "indicator.level3",
         "本项目的 {count} 条指标与其他项目完全相同({others}),指标应针对本项目设置",
         "the {count} indicators are identical to those of: {others}",
         thresholds=("copied_min_indicators",)),
    Rule("PX602", "goals-copied", "绩效目标与其他项目雷同", WARNING, "project.goals",
         "绩效目标与其他项目完全相同({others})", "the performance goals are identical to: {others}"),
    Rule("PX701", "scoring-not-100", "考核分值不符", ERROR, "department.scoring",
         "{problem}", "{problem_en}", thresholds=("scoring_total", "bonus_cap")),
    # the department's 考核 scoring sheet (perfxl scoring; scoring.py): in scoring books only
    Rule("PX711", "scoring-score-out-of-range", "考核得分超出分值", ERROR, "department.assessment",
         "「{name}」得分 {value} 不在 0 到其分值 {points} 分({variant})之间",
         "{name}: the score {value} is outside 0 to its {points} points ({variant})",
         engine="scoring"),
    Rule("PX712", "scoring-bonus-out-of-range", "每次加分超出范围", ERROR, "department.assessment",
         "每次加分应为 {low}-{high} 分,此处为 {value} 分",
         "a bonus is {low}-{high} points per event, not {value}", engine="scoring"),
    Rule("PX713", "scoring-bonus-over-cap", "加分超过上限", ERROR, "department.assessment",
         "加分合计 {value} 分超过上限 {cap} 分(总分只计 {cap} 分)",
         "the bonus points add up to {value}, above the cap of {cap} (the total counts {cap})",
         engine="scoring"),
    Rule("PX714", "scoring-deduction-not-allowed", "每次扣分不符", ERROR, "department.assessment",
         "每次扣分应为 {allowed} 分,此处为 {value} 分",
         "a deduction is {allowed} points per event, not {value}", engine="scoring"),
    # the 绩效运行监控表 (perfxl monitor; monitor.py): checked in monitoring books only
    Rule("PX901", "monitor-overspent", "执行数超过全年预算数", ERROR, "monitor.spent",
         "1-{month}月执行数 {value} 元超过全年预算数 {budget} 元",
         "spending in months 1-{month} ({value}) exceeds the year's budget ({budget})",
         engine="monitor"),
    Rule("PX902", "monitor-spending-behind", "执行进度慢于时间进度", WARNING, "monitor.reason",
         "执行率 {rate}% 低于时间进度 {progress}% 超过 {margin} 个百分点,请在「执行偏差原因」中说明",
         "the execution rate {rate}% is more than {margin} points behind the time progress "
         "{progress}%: give the reason in 执行偏差原因", thresholds=("monitor_margin",),
         engine="monitor"),
    Rule("PX903", "monitor-forecast-short", "预计完不成目标未说明原因", ERROR, "monitor.reasons",
         "指标「{name}」全年预计完成值 {value} 达不到年度指标值 {target},请填写偏差原因分析",
         "indicator {name}: the forecast {value} falls short of the target {target}; give the "
         "reason for the deviation", engine="monitor"),
    Rule("PX904", "monitor-likelihood-certain", "预计完不成却填确定能", ERROR,
         "monitor.likelihood",
         "指标「{name}」全年预计完成值 {value} 达不到年度指标值 {target},完成目标可能性不能是「确定能」",
         "indicator {name}: the forecast {value} falls short of the target {target}, so the "
         "likelihood cannot be 确定能", engine="monitor"),
    Rule("PX905", "monitor-likelihood-unreasoned", "可能完不成未说明原因", ERROR,
         "monitor.reasons",
         "指标「{name}」完成目标可能性为「{value}」,请填写偏差原因分析",
         "indicator {name}: the likelihood is {value}; give the reason for the deviation",
         engine="monitor"),
    # merging unit submissions (perfxl merge): findings point at the input's row on 来源
    Rule("PX801", "input-unreadable", "文件未能合并", ERROR, "source",
         "文件 {file} 未合并: {reason}", "{file} was not merged: {reason}", engine="merge"),
    Rule("PX802", "duplicate-file", "文件重复", WARNING, "source",
         "文件 {file} 与 {first} 内容相同,只合并一次", "{file} is identical to {first}; merged once",
         engine="merge"),
    Rule("PX803", "duplicate-project", "项目重复提交", WARNING, "source",
         "项目 {code} 在 {file} 与 {first} 中各有一份相同的副本,只取一次",
         "project {code} is in {file} and {first} alike; taken once", engine="merge"),
    Rule("PX804", "unit-in-two-files", "单位分在两个文件中", WARNING, "source",
         "单位 {unit} 的项目分别来自 {first} 和 {file},请确认",
         "unit {unit} has projects in {first} and {file}", engine="merge"),
    Rule("PX805", "plan-project-missing", "计划项目未提交", ERROR, "source",
         "计划中的项目 {code} {name}(单位 {unit})没有提交",
         "planned project {code} {name} (unit {unit}) was not submitted", engine="merge"),
    Rule("PX806", "project-not-in-plan", "项目不在计划中", WARNING, "source",
         "项目 {code} {name} 不在部门计划中", "project {code} {name} is not in the department plan",
         engine="merge"),
    Rule("PX807", "merge-conflict", "合并冲突", WARNING, "source",
         "项目 {code}: {file} 与 {other} 内容不同 (字段: {fields}),按 --on-conflict {choice} 处理",
         "project {code} differs between {file} and {other} ({fields}); resolved by "
         "--on-conflict {choice}", engine="merge"),
    Rule("PX808", "unit-mismatch", "项目单位与文件不符", ERROR, "unit.code",
         "文件 {file} 是单位 {book_unit} 的工作簿,但项目 {code} 填写的单位是 {unit}",
         "{file} belongs to unit {book_unit} but project {code} names unit {unit}",
         engine="merge"),
    Rule("PX809", "merged-book-input", "输入是合并后的部门工作簿", ERROR, "source",
         "文件 {file} 是 perfxl 合并生成的部门工作簿,不是单位的报送,未合并",
         "{file} is a department book merged by perfxl, not a unit's submission; not merged",
         engine="merge"),
    Rule("PX810", "project-degraded-in-merge", "合并后项目的错误增多", ERROR, "source",
         "项目 {code} 在合并后的工作簿中有 {after} 个错误,在其报送文件 {file} 中只有 {before} 个:"
         "合并时读取或写入丢失了内容,请核对该项目",
         "project {code} has {after} errors in the merged book but {before} in its submission "
         "{file}: the merge lost something; check the project", engine="merge"),
    # 绩效自评 (perfxl selfeval): the self-evaluation book's rules, in perfxl/selfeval.py
    Rule("PX951", "selfeval-value-missing", "自评未填写", ERROR, "selfeval.actual",
         "{label}未填写", "{label} is not filled in", engine="selfeval"),
    Rule("PX952", "selfeval-execution-reason-missing", "执行率偏低未说明原因", ERROR,
         "selfeval.execution_reason",
         "预算执行率 {rate}% 低于 {floor}%,请填写偏差原因分析及改进措施",
         "the budget execution rate {rate}% is below {floor}%: give the reason and the remedy",
         thresholds=("selfeval_execution_floor",), engine="selfeval"),
    Rule("PX953", "selfeval-weights-not-100", "自评分值合计不符", ERROR, "selfeval.weight",
         "分值合计 {total} 分(预算执行率 {execution} 分,指标 {indicators} 分),应为 {expected} 分",
         "the points add up to {total} (execution {execution}, indicators {indicators}), "
         "not {expected}",
         thresholds=("selfeval_execution_points", "selfeval_output_points",
                     "selfeval_benefit_points", "selfeval_satisfaction_points"),
         engine="selfeval"),
    Rule("PX954", "selfeval-reason-missing", "未达分值未说明原因", ERROR, "selfeval.reason",
         "指标「{name}」得分 {score} 低于分值 {weight},请填写偏差原因分析及改进措施",
         "indicator {name} scores {score} of {weight}: give the reason and the remedy",
         engine="selfeval"),
    Rule("PX955", "selfeval-grade-score-out-of-band", "定性指标得分不在档内", ERROR,
         "selfeval.score", "{problem}", "{problem_en}",
         thresholds=("selfeval_band_achieved", "selfeval_band_partial"), engine="selfeval"),
    Rule("PX956", "selfeval-grade-score-missing", "定性指标未评分", ERROR, "selfeval.score",
         "定性指标「{name}」实际完成「{actual}」,请在得分栏按档次填写得分",
         "qualitative indicator {name} is {actual}: enter its score within that band",
         engine="selfeval"),
    Rule("PX957", "selfeval-actual-not-number", "实际完成值不是数值", ERROR, "selfeval.actual",
         "指标「{name}」的实际完成值「{value}」不是{kind},得分无法计算",
         "the actual value {value} of indicator {name} is not {kind_en}; it cannot be scored",
         engine="selfeval"),
)
RULES: dict[str, Rule] = {r.slug: r for r in CATALOGUE}


def rule_label(slug: str) -> str:
    """``缺少资金支出计划 (plan-missing)``: the Chinese title, the slug beside it for searching."""
    rule = RULES.get(slug)
    return f"{rule.title_zh} ({slug})" if rule else slug


# --- thresholds ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class RulesConfig:
    """Thresholds with their documented defaults (override them in a rules file)."""

    satisfaction_floor: Decimal = Decimal(90)
    """满意度 targets below this percentage are warned about."""
    code_region: str = "130303"
    """项目编码 starts with this region code, then the two-digit year."""
    code_length: int = 21
    """Characters in a 项目编码 (after removing whitespace)."""
    percent_max: Decimal = Decimal(100)
    """Percent-valued indicators above this are warned about."""
    money_units: tuple[str, ...] = ("元", "万元", "千元")
    """Units a 成本指标 may be valued in."""
    duration_units: tuple[str, ...] = ("天", "日", "个工作日", "工作日", "小时", "周", "月", "个月", "年")
    """Units of a duration (a 时效指标 is a date or a duration)."""
    count_units: tuple[str, ...] = ("个", "人", "人次", "次", "件", "家", "项", "户", "村", "台", "套",
                                    "场", "期", "份", "名", "座", "处", "条", "批", "篇")
    """Units of a count: an indicator named …(个)/(人) must be valued in one of them."""
    vague_words: tuple[str, ...] = ("合理", "提高", "有效提升", "进一步", "明显", "显著", "较好",
                                    "逐步", "大幅", "有所", "加强", "提升")
    """Words that make an indicator value vague instead of measurable."""
    copied_min_indicators: int = 3
    """An indicator set shared by several projects is reported when it has at least this many rows."""
    scoring_total: int = 100
    """Points each variant (市直部门, 县区) of the 考核 scheme must add up to."""
    bonus_cap: int = 5
    """The most bonus points (加分) the scheme may grant."""
    monitor_margin: Decimal = Decimal(10)
    """Percentage points the 执行率 of a 绩效运行监控表 may lag behind the time progress (N/12)
    before a reason is asked for."""
    # 绩效自评 (perfxl selfeval): the widely used national defaults (财政部《项目支出绩效评价管理办法》,
    # 财预〔2020〕10号, and its 项目支出绩效自评表)
    selfeval_execution_points: Decimal = Decimal(10)
    """自评: points of 预算执行率 (national default 10); its score is min(B/A, 1) × these."""
    selfeval_output_points: Decimal = Decimal(50)
    """自评: points of the 产出指标, split equally among them unless 分值 are entered (default 50)."""
    selfeval_benefit_points: Decimal = Decimal(30)
    """自评: points of the 效益指标 (default 30)."""
    selfeval_satisfaction_points: Decimal = Decimal(10)
    """自评: points of the 满意度指标 (default 10)."""
    selfeval_execution_floor: Decimal = Decimal(90)
    """自评: a 预算执行率 below this percentage needs a reason (default 90)."""
    selfeval_band_achieved: Decimal = Decimal(80)
    """自评: a qualitative indicator 达成 scores this to 100 % of its 分值; 部分达成 below it (80)."""
    selfeval_band_partial: Decimal = Decimal(60)
    """自评: 部分达成 scores from this % of 分值 (up to the 达成 band); 未达成 below it (60)."""
    selfeval_grade_excellent: Decimal = Decimal(90)
    """自评: 等级 优 from this total (default 90)."""
    selfeval_grade_good: Decimal = Decimal(80)
    """自评: 等级 良 from this total (default 80)."""
    selfeval_grade_fair: Decimal = Decimal(60)
    """自评: 等级 中 from this total (default 60); below it 差."""
    severities: dict[str, str] = field(default_factory=dict)
    """slug → "error" | "warning" | "off"."""

    def severity(self, rule: Rule) -> str:
        return self.severities.get(rule.slug, rule.severity)


def threshold_docs() -> dict[str, tuple[Any, str]]:
    """name → (default, doc) for `perfxl rules` and docs/rules.md."""
    import ast
    import inspect

    src = inspect.getsource(RulesConfig)
    docs: dict[str, str] = {}
    tree = ast.parse(src).body[0]
    assert isinstance(tree, ast.ClassDef)
    body = tree.body
    for a, b in itertools.pairwise(body):
        if (isinstance(a, ast.AnnAssign) and isinstance(a.target, ast.Name)
                and isinstance(b, ast.Expr) and isinstance(b.value, ast.Constant)):
            docs[a.target.id] = str(b.value.value)
    defaults = RulesConfig()
    return {f.name: (getattr(defaults, f.name), docs.get(f.name, ""))
            for f in fields(RulesConfig) if f.name != "severities"}


def load_config(path: str | Path | None) -> RulesConfig:
    """Read a rules file: ``thresholds: {name: value}`` and ``rules: {slug: {severity: …}}``."""
    if path is None:
        return RulesConfig()
    import yaml

    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ReadError(f"找不到规则文件: {p}", f"rules file not found: {p}") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise ReadError(f"规则文件格式错误 {p}: {e}", f"rules file is not valid YAML: {p}") from None
    if not isinstance(data, dict):
        raise ReadError(f"规则文件格式错误: {p}", f"rules file must be a mapping: {p}")
    defaults = RulesConfig()
    changes: dict[str, Any] = {}
    for name, value in (data.get("thresholds") or {}).items():
        if not hasattr(defaults, name) or name == "severities":
            raise ReadError(f"规则文件中有未知的阈值「{name}」", f"unknown threshold {name!r} in {p}")
        current = getattr(defaults, name)
        try:
            if isinstance(current, Decimal):
                changes[name] = Decimal(str(value))
            elif isinstance(current, tuple):
                changes[name] = tuple(str(v) for v in value)
            else:
                changes[name] = type(current)(value)
        except (TypeError, ValueError, ArithmeticError):
            raise ReadError(f"阈值「{name}」的取值无效: {value!r}",
                            f"invalid value for threshold {name}: {value!r}") from None
    severities = {}
    for slug, opts in (data.get("rules") or {}).items():
        if slug not in RULES:
            raise ReadError(f"规则文件中有未知的规则「{slug}」", f"unknown rule {slug!r} in {p}")
        sev = (opts or {}).get("severity", RULES[slug].severity)
        if sev is False or (opts or {}).get("enabled") is False:
            sev = "off"  # YAML reads an unquoted `off` as false
        if sev not in (ERROR, WARNING, "off"):
            raise ReadError(f"规则「{slug}」的严重程度无效: {sev}", f"invalid severity for {slug}")
        severities[slug] = sev
    return replace(defaults, **changes, severities=severities)


# --- making findings -----------------------------------------------------------------------------

QUARTER_NAMES = ("3月底", "6月底", "10月底", "12月底")


def make(rule: Rule, config: RulesConfig, *, project: Project | None = None, field: str = "",
         cell: str = "", value: Any = "", sheet: str = "", severity: str | None = None,
         **params: Any) -> Finding | None:
    """A finding of ``rule``; None when the rules file turned the rule off."""
    sev = config.severity(rule)
    if sev == "off":
        return None
    if severity is not None and rule.slug not in config.severities:
        sev = severity
    fld = field or rule.field
    text_value = fmt_amount(value) if isinstance(value, Decimal) else str(value or "")
    params = {"value": text_value, "label": FIELD_LABELS.get(fld, fld), **params}
    return Finding(
        code=rule.code, rule=rule.slug, severity=sev, field=fld,
        message=rule.message.format(**params), message_en=rule.message_en.format(**params),
        unit_code=project.unit_code if project else "",
        project_code=project.code if project else "",
        project_name=project.name if project else "",
        sheet=sheet or (project.sheet if project else ""), cell=cell, value=text_value,
    )


def indicator_cell(ind: Indicator, fld: str) -> str:
    return str(ind.cells.get(fld.split(".", 1)[1], ""))


def project_cell(p: Project, fld: str, index: int | None = None) -> str:
    c = p.cells.get(fld, "")
    if isinstance(c, list):
        return str(c[index or 0]) if c else ""
    return str(c)


# --- the rules -------------------------------------------------------------------------------------

Check = Callable[[Department, RulesConfig], Iterator[Finding | None]]
CHECKS: list[Check] = []


def check(fn: Check) -> Check:
    CHECKS.append(fn)
    return fn


def _name(ind: Indicator) -> str:
    return ind.level3 or ind.description or ind.level2


@check
def filled(dept: Department, cfg: RulesConfig) -> Iterator[Finding | None]:
    """A book without a filled-in project (a blank template) is no submission."""
    if dept.projects:
        return
    blank = next((s for s in dept.skipped if s.reason == BLANK_PROJECT), None)
    yield make(RULES["no-filled-project"], cfg, sheet=blank.sheet if blank else "",
               cell=blank.cell if blank else "")


BLANK_PROJECT = "空白项目表"
"""The reason the reader gives for a project sheet with nothing filled in."""

MONEY_FIELDS = ("project.budget", "project.fiscal", "project.other")


@check
def amounts_as_written(dept: Department, cfg: RulesConfig) -> Iterator[Finding | None]:
    for p in dept.projects:
        for fld, raw in p.raw.items():
            yield make(RULES["amount-not-number"], cfg, project=p, field=fld,
                       cell=project_cell(p, fld), value=raw)
        factor = WAN if p.amount_unit == "万元" else Decimal(1)
        for fld, written in p.text_amounts.items():
            amount = getattr(p, fld.split(".")[1])
            yield make(RULES["amount-stored-as-text"], cfg, project=p, field=fld,
                       cell=project_cell(p, fld), value=written,
                       number=format((amount / factor).normalize(), "f"))
        for cell in sorted(p.uncalculated, key=_cell_key):
            fld, label = _field_of(p, cell)
            yield make(RULES["formula-without-value"], cfg, project=p, field=fld, cell=cell,
                       label=label)
        for fld, amount in (("project.budget", p.budget), ("project.fiscal", p.fiscal),
                            ("project.other", p.other)):
            if finer_than_fen(amount):
                yield make(RULES["amount-finer-than-fen"], cfg, project=p, field=fld,
                           cell=project_cell(p, fld), value=f"{amount}")
        if dept.template_version is None and not p.amount_unit and "project.budget" not in p.absent:
            yield make(RULES["money-unit-unstated"], cfg, project=p,
                       cell=project_cell(p, "project.budget"))


_HOW = {
    "project.code": ("请在「项目名称」上方插入一行「项目编码」并填写(合并、查重按项目编码进行)",
                     "insert a 项目编码 row above 项目名称 and fill it in (merging and duplicate "
                     "checks go by code)"),
    "unit.code": ("请在「实施单位」中写上单位编码,如「630001 单位名称」",
                  "write the unit code into 实施单位, e.g. 630001 followed by the unit's name"),
}
_ABSENT_SHOWN = ("unit.code", "unit.name", "project.name", "project.budget", "project.plan",
                 "project.goals", "indicator.description", "indicator.basis")
"""The fields an indicators-only form's finding names when they are absent (the amounts as one)."""


@check
def absent_in_form(dept: Department, cfg: RulesConfig) -> Iterator[Finding | None]:
    """Fields the form a project was read from has no place for (forms.py), reported once as
    such instead of as empty cells: a code, per project; no amounts (an indicator import
    sheet), once per sheet."""
    indicators_only: dict[str, list[Project]] = defaultdict(list)
    for p in dept.projects:
        form, form_en = FORMS.get(p.form, ("", ""))
        if "project.budget" in p.absent:
            indicators_only[p.sheet].append(p)
            continue
        for fld, (how, how_en) in _HOW.items():
            if fld in p.absent:
                yield make(RULES["code-absent-in-form"], cfg, project=p, field=fld,
                           cell=project_cell(p, fld), form=form, form_en=form_en, how=how,
                           how_en=how_en)
    for sheet, ps in indicators_only.items():
        form, form_en = FORMS.get(ps[0].form, ("", ""))
        missing = [f for f in _ABSENT_SHOWN if any(f in p.absent for p in ps)]
        yield make(RULES["amounts-absent-in-form"], cfg, sheet=sheet,
                   cell=project_cell(ps[0], "project.code"), form=form, form_en=form_en,
                   missing="、".join(FIELD_LABELS[f] for f in missing),
                   missing_en=", ".join(missing), count=len(ps))


def _cell_key(cell: str) -> tuple[int, int]:

    return parse_a1(cell) or (0, 0)


def _field_of(p: Project, cell: str) -> tuple[str, str]:
    """The field a cell of the project holds, and its label (a plan cell names its quarter)."""
    for fld in MONEY_FIELDS:
        if p.cells.get(fld) == cell:
            return fld, FIELD_LABELS[fld]
    plan = p.cells.get("project.plan") or []
    q = plan.index(cell) if cell in plan else 0
    return "project.plan", f"资金支出计划({QUARTER_NAMES[q]})"


@check
def spending_plan(dept: Department, cfg: RulesConfig) -> Iterator[Finding | None]:
    for p in dept.projects:
        if "project.plan" in p.absent:
            continue  # the form has no spending plan
        if p.plan is None:
            if not p.uncalculated.intersection(p.cells.get("project.plan") or ()):
                yield make(RULES["plan-missing"], cfg, project=p,
                           cell=project_cell(p, "project.plan", 0), which="", which_en="")
            continue
        if p.plan_whole_percents:
            meant = [f"{plain(q)}%" for q in p.plan if q is not None]
            yield make(RULES["plan-whole-percent"], cfg, project=p,
                       cell=project_cell(p, "project.plan", 0),
                       written="、".join(plain(q) for q in p.plan if q is not None),
                       shown="、".join(f"{plain(q * 100)}%" for q in p.plan if q is not None),
                       meant="、".join(meant))
        previous: Decimal | None = None
        for q, pct in enumerate(p.plan):
            cell = project_cell(p, "project.plan", q)
            if pct is None and cell in p.uncalculated:
                continue  # formula-without-value says why it is empty
            if pct is None:
                yield make(RULES["plan-missing"], cfg, project=p, cell=cell,
                           which=f"({QUARTER_NAMES[q]})", which_en=f" at {QUARTER_NAMES[q]}")
                continue
            if previous is not None and pct < previous:
                yield make(RULES["plan-not-monotonic"], cfg, project=p, cell=cell, value=pct,
                           quarter=QUARTER_NAMES[q], previous=fmt_amount(previous))
            previous = pct
        last = p.plan[3]
        if last is not None and last != 100:
            yield make(RULES["plan-not-100"], cfg, project=p, cell=project_cell(p, "project.plan", 3),
                       value=last)


@check
def codes(dept: Department, cfg: RulesConfig) -> Iterator[Finding | None]:
    by_code: dict[str, list[Project]] = defaultdict(list)
    for p in dept.projects:
        if p.code_raw and re.search(r"\s", p.code_raw):
            yield make(RULES["code-whitespace"], cfg, project=p,
                       cell=project_cell(p, "project.code"), value=p.code, raw=p.code_raw)
        if p.code:
            by_code[p.code].append(p)
    for code, ps in by_code.items():
        if len(ps) > 1:
            for p in ps:
                others = "、".join(f"{o.seq}.{o.name}({o.sheet})" for o in ps if o is not p)
                yield make(RULES["project-code-duplicate"], cfg, project=p,
                           cell=project_cell(p, "project.code"), value=code, others=others)


@check
def copied_sheets(dept: Department, cfg: RulesConfig) -> Iterator[Finding | None]:
    """A sheet copied by hand and half edited: its title's 序号 repeats another project's (in
    the same unit: some departments number each unit from 1), or its title or sheet name names
    another project of the book."""
    by_seq: dict[tuple[str, int], list[Project]] = defaultdict(list)
    for p in dept.projects:
        if p.seq and "title" in p.cells:  # the 序号 as the title writes it, not a position
            by_seq[(p.unit_code, p.seq)].append(p)
    for (_unit, seq), ps in by_seq.items():
        if len(ps) > 1:
            for p in ps:
                others = "、".join(f"{o.name or o.code}(工作表「{o.sheet}」)"
                                  for o in ps if o is not p)
                yield make(RULES["project-seq-duplicate"], cfg, project=p,
                           cell=project_cell(p, "title"), value=seq, others=others)
    names = [(text_key(p.name), p) for p in dept.projects if p.name]
    for p in dept.projects:
        own = text_key(p.name)
        if not own:
            continue
        written = text_key(p.title)
        if written and written != own:
            other = next((q for k, q in names if k == written and q is not p), None)
            if other is not None:
                yield make(RULES["title-names-other-project"], cfg, project=p,
                           cell=project_cell(p, "title"), value=p.title, where="标题",
                           where_en="title", other=other.name, name=p.name)
                continue
        tab = _SHEET_NAME.sub("", text_key(p.sheet))
        if len(tab) >= _TAB_PREFIX and not own.startswith(tab):
            # a sheet name is cut at 31 characters: it names a project its name starts with
            other = next((q for k, q in names if k.startswith(tab) and q is not p), None)
            if other is not None:
                yield make(RULES["title-names-other-project"], cfg, project=p,
                           cell=project_cell(p, "project.name"), value=p.sheet,
                           where=f"工作表名称「{p.sheet}」", where_en=f"sheet name {p.sheet!r}",
                           other=other.name, name=p.name)


_SHEET_NAME = re.compile(r"^\d+[.、]|\(\d+\)$")
"""A sheet name's 序号 (``1.``) and the number Excel adds to a copy (``(2)``)."""
_TAB_PREFIX = 6
"""The fewest characters of a sheet name taken to name a project (by its name's start)."""


@check
def indicator_rows(dept: Department, cfg: RulesConfig) -> Iterator[Finding | None]:

    vague_words = _any_of(cfg.vague_words)
    for p in dept.projects:
        seen: dict[str, Indicator] = {}
        for ind in p.indicators:
            name = _name(ind)
            k3 = text_key(ind.level3)
            if k3:
                if k3 in seen:
                    yield make(RULES["indicator-duplicate"], cfg, project=p,
                               cell=indicator_cell(ind, "indicator.level3"), value=ind.level3)
                seen.setdefault(k3, ind)
            if not ind.description:
                if "indicator.description" not in p.absent:
                    yield make(RULES["description-missing"], cfg, project=p,
                               cell=indicator_cell(ind, "indicator.description"), name=name)
            elif k3 and text_key(ind.description) == k3:
                yield make(RULES["description-repeats-name"], cfg, project=p,
                           cell=indicator_cell(ind, "indicator.description"),
                           value=ind.description, name=ind.level3)
            if not ind.basis and "indicator.basis" not in p.absent:
                yield make(RULES["basis-missing"], cfg, project=p,
                           cell=indicator_cell(ind, "indicator.basis"), name=name)
            if not ind.value:
                continue  # indicator-value-missing comes from the schema
            pv = parse_value(ind.value)
            cell = ind.cells.get("value", "")
            vague = (next(w for w in cfg.vague_words if w in ind.value)
                     if vague_words.search(ind.value) else None)
            if vague:
                yield make(RULES["indicator-value-vague"], cfg, project=p, cell=cell,
                           value=ind.value, word=vague)
            if pv is None:
                if not vague:
                    yield make(RULES["indicator-value-unparseable"], cfg, project=p, cell=cell,
                               value=ind.value)
                continue
            problem = unit_problem(ind, pv, p, cfg)
            if problem:
                yield make(RULES["indicator-unit-mismatch"], cfg, project=p, cell=cell,
                           value=ind.value, name=name, problem=problem[0], problem_en=problem[1])
            if (ind.level1 == "满意度指标" and pv.kind == "number" and pv.number is not None
                    and pv.unit in ("%", "百分比") and pv.op in ("≥", ">", "=")
                    and pv.number < cfg.satisfaction_floor):
                yield make(RULES["satisfaction-below-floor"], cfg, project=p, cell=cell,
                           value=ind.value, floor=plain(cfg.satisfaction_floor))


@functools.lru_cache(maxsize=8)
def _any_of(words: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(map(re.escape, words)) or "(?!)")


_COUNT_NAME = re.compile(r"\((?P<unit>[^()%]{1,3})\)$")
PERCENT_UNITS = ("%", "百分比", "百分点")


def unit_problem(ind: Indicator, pv: Any, p: Project, cfg: RulesConfig) -> tuple[str, str] | None:
    """Whether the value's unit fits the kind of indicator (None when it does)."""
    if ind.level2 == "成本指标":
        if pv.kind != "number" or pv.unit not in cfg.money_units:
            return ("成本指标应以金额(元/万元)计量", "a cost indicator must be valued in money")
        amount = pv.number * (WAN if pv.unit == "万元" else Decimal(1000) if pv.unit == "千元"
                              else Decimal(1))
        if p.budget is not None and amount > p.budget:
            return (f"成本指标 {fmt_amount(amount)} 元超过预算数 {fmt_amount(p.budget)} 元",
                    "the cost exceeds the budget")
        return None
    if ind.level2 == "时效指标":
        if pv.kind == "date" or (pv.kind == "number" and pv.unit in cfg.duration_units):
            return None
        return ("时效指标应为日期或时长(如 2021年12月底、≤30天)",
                "a timeliness indicator must be a date or a duration")
    m = _COUNT_NAME.search(text_key(ind.level3))
    if m and m.group("unit") in cfg.count_units:
        if pv.kind == "number" and pv.unit in (*cfg.count_units, ""):
            return None
        return (f"数量指标「{ind.level3}」应以{m.group('unit')}计数",
                "a count indicator must be valued as a count")
    if (pv.kind == "number" and pv.unit in PERCENT_UNITS and pv.number is not None
            and pv.number > cfg.percent_max):
        return (f"百分比不应超过 {cfg.percent_max}%", "a percentage above 100")
    return None


@check
def categories(dept: Department, cfg: RulesConfig) -> Iterator[Finding | None]:
    for p in dept.projects:
        levels1 = {i.level1 for i in p.indicators}
        levels2 = {i.level2 for i in p.indicators}
        header = p.indicators[0].cells.get("level1", "") if p.indicators else ""
        for category in LEVELS:
            if category not in levels1:
                yield make(RULES["indicator-category-missing"], cfg, project=p, cell=header,
                           category=category)
        if "产出指标" in levels1 and "成本指标" not in levels2:
            yield make(RULES["indicator-category-missing"], cfg, project=p, cell=header,
                       category="成本指标", severity=WARNING)


def _signature(p: Project) -> tuple[tuple[str, ...], ...]:
    return tuple(sorted(tuple(map(text_key, _TEXTS(i))) for i in p.indicators))


_TEXTS = operator.attrgetter("level1", "level2", "level3", "description", "value", "basis")
_LEVEL3 = operator.attrgetter("level3")


@check
def copied(dept: Department, cfg: RulesConfig) -> Iterator[Finding | None]:
    sets: dict[Any, list[Project]] = defaultdict(list)
    goals: dict[str, list[Project]] = defaultdict(list)
    # two projects with one signature have the same 三级指标 (a part of it, cheaper to key):
    # only projects sharing those with another are signed, in the same order
    eligible = [p for p in dept.projects if len(p.indicators) >= cfg.copied_min_indicators]
    names = [tuple(sorted(map(text_key, map(_LEVEL3, p.indicators)))) for p in eligible]
    shared = Counter(names)
    for p, n in zip(eligible, names, strict=True):
        if shared[n] > 1:
            sets[_signature(p)].append(p)
    for p in dept.projects:
        if key(p.goals):
            goals[key(p.goals)].append(p)
    for ps in sets.values():
        if len(ps) > 1:
            for p in ps:
                others = "、".join(f"{o.seq}.{o.name}" for o in ps if o is not p)
                yield make(RULES["indicator-set-copied"], cfg, project=p,
                           cell=indicator_cell(p.indicators[0], "indicator.level3"),
                           count=len(p.indicators), others=others)
    for ps in goals.values():
        if len(ps) > 1:
            for p in ps:
                others = "、".join(f"{o.seq}.{o.name}" for o in ps if o is not p)
                yield make(RULES["goals-copied"], cfg, project=p,
                           cell=project_cell(p, "project.goals"), others=others)


@check
def scoring(dept: Department, cfg: RulesConfig) -> Iterator[Finding | None]:

    s = dept.scoring
    if not s.items:
        return
    cell = dept.cells.get("department.scoring", "")
    city, county = s.totals()
    rule = RULES["scoring-not-100"]
    for variant, variant_en, total, col in (("市直部门", "city", city, "C"),
                                            ("县区", "county", county, "D")):
        if total != cfg.scoring_total:
            yield make(rule, cfg, sheet=SHEET_DEPARTMENT,
                       cell=f"{col}{cell[1:]}" if cell else "", value=total,
                       problem=f"考核分值({variant})合计 {total} 分,应为 {cfg.scoring_total} 分",
                       problem_en=f"{variant_en} scoring items add up to {total}, "
                                  f"not {cfg.scoring_total}")
    if s.bonus_cap > cfg.bonus_cap or s.bonus_max > s.bonus_cap:
        yield make(rule, cfg, sheet=SHEET_DEPARTMENT,
                   cell=dept.cells.get("department.bonus_cap", ""), value=s.bonus_cap,
                   field="department.scoring",
                   problem=f"加分上限为 {s.bonus_cap} 分,不应超过 {cfg.bonus_cap} 分"
                           f"(每次加分 {s.bonus_min}–{s.bonus_max} 分)",
                   problem_en=f"the bonus cap {s.bonus_cap} exceeds {cfg.bonus_cap}")


def plain(v: Any) -> Any:
    """A threshold as data: a Decimal as its digits, a tuple as a list."""
    if isinstance(v, Decimal):
        return format(v.normalize(), "f")
    if isinstance(v, tuple):
        return list(v)
    return v


# --- the checks above as live formulas (formula.py), beside the function each mirrors ------------
# (amounts_as_written → amount-stored-as-text; spending_plan → plan-*; codes → code-whitespace;
# indicator_rows → indicator-duplicate, description-*, basis-missing, indicator-value-vague,
# satisfaction-below-floor; categories → indicator-category-missing)

@F.live("amount-stored-as-text")
def _text_amounts_live(ctx: F.Context) -> Iterator[F.Test]:
    for fld in MONEY_FIELDS:
        if ctx.has(fld):
            yield F.Test("amount-stored-as-text", F.PROJECT, fld, F.text_number(ctx.ref(fld)))


@F.live("plan-missing", "plan-not-monotonic", "plan-not-100")
def _plan_live(ctx: F.Context) -> Iterator[F.Test]:
    if not ctx.has("project.plan"):
        return
    given = [ctx.plan_given(q) for q in range(4)]
    none = f"({'+'.join(given)}=0)"
    for q in range(4):
        missing = f"(1-{given[q]})" if q == 0 else f"(1-{given[q]})*(1-{none})"
        yield F.Test("plan-missing", F.PROJECT, "project.plan", missing, quarter=q)
    pct = [f"ROUND({ctx.percent(q)},9)" for q in range(4)]
    previous = f"IF({given[0]},{pct[0]},-1E+300)"
    for q in range(1, 4):  # below the last quarter before it that is given
        yield F.Test("plan-not-monotonic", F.PROJECT, "project.plan",
                     f"{given[q]}*({pct[q]}<{previous})", quarter=q)
        previous = f"IF({given[q]},{pct[q]},{previous})"
    yield F.Test("plan-not-100", F.PROJECT, "project.plan", f"{given[3]}*({pct[3]}<>100)",
                 quarter=3)


@F.live("code-whitespace")
def _code_space_live(ctx: F.Context) -> Iterator[F.Test]:
    if ctx.has("project.code"):
        c = f"TRIM({ctx.ref('project.code')})"
        spaces = [f'ISNUMBER(FIND(" ",{c}))', f"ISNUMBER(FIND(CHAR(10),{c}))",
                  f"ISNUMBER(FIND(CHAR(13),{c}))", f"ISNUMBER(FIND(CHAR(9),{c}))",
                  f'ISNUMBER(FIND("\u3000",{c}))']
        yield F.Test("code-whitespace", F.PROJECT, "project.code", F.any_of(spaces))


@F.live("indicator-duplicate")
def _duplicate_live(ctx: F.Context) -> Iterator[F.Test]:
    if ctx.table is None:
        return

    def earlier(p: F.Places) -> str:
        # the same 三级指标, keyed as the reader keys it, on a row above. MARK/AT: over the rows
        # from the header down to this one, where the row itself counts once (a range never
        # reversed: LibreOffice rewrites $C$9:C8 as $C$8:C9 when a row is inserted); COUNT:
        # each row's first equal row (MATCH with its wildcards escaped) is above it
        c = F.keyed(p.col("level3"))
        if p.mode == F.COUNT:
            return f"(MATCH({F.verbatim(c)},{c},0)<{p.row_number()}-{p.header_row()}+1)"
        return f"(SUMPRODUCT(({F.keyed(p.above('level3'))}={c})*1)>1)"

    yield F.Test("indicator-duplicate", F.TABLE, "level3",
                 lambda p: f"{F.filled(p.col('level3'))}*{earlier(p)}")


@F.live("description-missing", "description-repeats-name", "basis-missing")
def _texts_live(ctx: F.Context) -> Iterator[F.Test]:
    if ctx.table is None:
        return
    if "indicator.description" not in ctx.absent:
        yield F.Test("description-missing", F.TABLE, "description",
                     lambda p: F.blank(p.col('description')))
        yield F.Test("description-repeats-name", F.TABLE, "description",
                     lambda p: f"{F.filled(p.col('description'))}"
                               f"*{F.filled(p.col('level3'))}"
                               f"*{F.same(F.keyed(p.col('description')), F.keyed(p.col('level3')))}")
    if "indicator.basis" not in ctx.absent:
        yield F.Test("basis-missing", F.TABLE, "basis",
                     lambda p: F.blank(p.col('basis')))


@F.live("indicator-value-vague")
def _vague_live(ctx: F.Context) -> Iterator[F.Test]:
    if ctx.table is None or not ctx.cfg.vague_words:
        return
    words = ctx.cfg.vague_words
    yield F.Test("indicator-value-vague", F.TABLE, "value",
                 lambda p: F.any_of(f"ISNUMBER(FIND({F.text(w)},{p.col('value')}))"
                                      for w in words))


@F.live("satisfaction-below-floor")
def _satisfaction_live(ctx: F.Context) -> Iterator[F.Test]:
    if ctx.table is None:
        return
    floor = ctx.cfg.satisfaction_floor

    def below(p: F.Places) -> str:
        # ≥ ≧ > = or no operator, a number, then % or 百分比 (values.parse_value)
        v = F.keyed(p.col("value"))
        number = v
        for op in ("≥", "≧", ">", "=", "%", "百分比"):
            number = f"SUBSTITUTE({number},{F.text(op)},\"\")"
        unit = f'((RIGHT({v},1)="%")+(RIGHT({v},3)="百分比"))'
        other_op = F.any_of(f"ISNUMBER(FIND({F.text(o)},{v}))" for o in ("<", "≤", "≦", "≈"))
        return (f"{p.level1_is(['满意度指标'])}*(1-{other_op})*{unit}"
                f"*(IFERROR(VALUE({number}),1E+300)<{plain(floor)})")

    yield F.Test("satisfaction-below-floor", F.TABLE, "value", below)


@F.live("indicator-category-missing")
def _categories_live(ctx: F.Context) -> Iterator[F.Test]:
    if ctx.table is None:
        return
    rows = ctx.rows()
    indicator = rows.indicator()

    def has(l1: str) -> str:
        return f'(SUMPRODUCT({indicator}*({rows.level1()}="{l1}"))>0)'

    for category in LEVELS:
        yield F.Test("indicator-category-missing", F.PROJECT, "indicator.level1",
                     f"(1-{has(category)})")
    cost = f'(SUMPRODUCT({indicator}*({rows.level2()}="成本指标"))>0)'
    yield F.Test("indicator-category-missing", F.PROJECT, "indicator.level1",
                 f"{has('产出指标')}*(1-{cost})", severity=WARNING)
