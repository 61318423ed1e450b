"""Human-readable output: rich tables that fit a terminal, and whole rows when written to a file."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .consolidate import Totals
from .findings import ERROR, SEVERITY_ZH, WARNING, Report
from .model import Department

if TYPE_CHECKING:
    from rich.console import Console

    from .batch import BookResult
    from .merge import MergeResult

UNCUT = 100_000
"""The width of the report when it is not on a terminal: a table row never wraps or cuts."""


def _console(*, highlight: bool = False) -> Console:
    """On a terminal, tables fit its width (long messages cut with …); written to a file or a
    pipe, nothing is cut: every row of a table is whole on its line, for reading and grep."""
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else UNCUT, highlight=highlight)


def print_department(dept: Department) -> None:
    from rich.table import Table

    from .forms import SELFEVAL

    if dept.form == SELFEVAL:
        print_selfeval(dept)
        return
    console = _console(highlight=True)
    title = f"{dept.year or ''} {dept.name}".strip() or "(未命名部门)"
    console.print(f"[bold]{title}[/bold]  模板版本 (template): {dept.template_version or '—'}")
    if dept.form:
        from .forms import FORMS

        console.print(f"按{FORMS[dept.form][0]}读取 (read as the {FORMS[dept.form][1]})")
    table = Table(show_lines=False)
    for col, justify in (("序号", "right"), ("单位", "left"), ("项目编码", "left"),
                         ("项目名称", "left"), ("预算数(元)", "right"), ("支出计划(%)", "left"),
                         ("指标", "right"), ("工作表", "left")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for p in dept.projects:
        plan = "—" if p.plan is None else "/".join("" if q is None else f"{q.normalize():f}" for q in p.plan)
        table.add_row(str(p.seq), p.unit_code, p.code, p.name,
                      f"{p.budget:,.2f}" if p.budget is not None else "—", plan,
                      str(len(p.indicators)), p.sheet)
    console.print(table)
    for code, total in dept.unit_totals().items():
        console.print(f"  {code} {dept.unit_name(code)}: {total:,.2f} 元")
    console.print(f"  [bold]合计 (total): {dept.total():,.2f} 元[/bold]")
    for s in dept.skipped:
        console.print(f"  [yellow]跳过 (skipped)[/yellow] {s.sheet}: {s.reason}")
    for p in dept.projects:
        if (m := p.monitor) is not None:
            rate = m.execution_rate
            shown = "—" if rate is None else f"{rate:.2f}%"
            console.print(f"  {p.seq}. 1-{m.month}月执行率 (execution rate) {shown} / 时间进度 "
                          f"(time progress) {m.time_progress:.2f}%")
    if (a := dept.assessment) is not None:
        from .scoring import fmt_plain as n

        console.print(f"  考核评分 (assessment, {a.variant}): 得分 {n(a.score())} + 加分 "
                      f"{n(a.bonus_counted())} − 扣分 {n(a.deduction_total())} = 总分 (total) "
                      f"{n(a.total())}")


def print_selfeval(dept: Department) -> None:
    """A 绩效自评 book: each project's amounts, rate, score and grade, then the units' and the
    department's scores (means weighted by 全年预算数, as the book's 汇总)."""
    from rich.table import Table

    from .selfeval_book import weighted

    console = _console(highlight=True)
    console.print(f"[bold]{dept.year or ''} {dept.name} 绩效自评 (self-evaluation)[/bold]")
    table = Table(show_lines=False)
    for col, justify in (("序号", "right"), ("单位", "left"), ("项目编码", "left"),
                         ("项目名称", "left"), ("全年预算数", "right"), ("全年执行数", "right"),
                         ("执行率(%)", "right"), ("总分", "right"), ("等级", "left"),
                         ("工作表", "left")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]

    def shown(d: Any, money: bool = False) -> str:
        return "—" if d is None else f"{d:,.2f}" if money else f"{d:f}"

    for p in dept.projects:
        se = p.selfeval
        if se is None:
            continue
        table.add_row(str(p.seq), p.unit_code, p.code, p.name, shown(se.budget, True),
                      shown(se.spent, True), shown(se.execution_rate), shown(se.score),
                      se.grade or "—", p.sheet)
    console.print(table)
    groups = [(f"{u.code} {u.name}", [p for p in dept.projects if p.unit_code == u.code])
              for u in dept.units]
    for label, ps in [*groups, ("部门 (department)", dept.projects)]:
        mean = weighted([(p.selfeval.budget, p.selfeval.score) for p in ps if p.selfeval])
        console.print(f"  {label}: 得分 (score, budget-weighted) {shown(mean)}")


def print_report(dept: Department, report: Report) -> None:
    """Findings grouped by project, errors first, with counts; coloured on a terminal."""
    from collections import Counter
    from itertools import groupby

    from rich.table import Table

    console = _console()
    shared = {s for s, n in Counter(p.sheet for p in dept.projects).items() if n > 1}
    names = {p.sheet: p.sheet if p.sheet in shared  # several projects (an import sheet)
             else f"{p.seq}. {p.name} ({p.code})" for p in dept.projects}
    ordered = sorted(report.findings, key=lambda f: (f.sheet not in names, f.sheet != "部门整体",
                                                    list(names).index(f.sheet)
                                                    if f.sheet in names else 0))
    for sheet, group in groupby(ordered, key=lambda f: f.sheet):
        items = list(group)
        table = Table(title=names.get(sheet, sheet or "(全书)"), title_justify="left",
                      show_header=True, expand=False)
        for col in ("严重程度", "代码", "规则", "单元格", "说明"):
            table.add_column(col)
        for f in sorted(items, key=lambda f: f.severity != ERROR):
            style = "red" if f.severity == ERROR else "yellow"
            table.add_row(f"[{style}]{SEVERITY_ZH[f.severity]}[/{style}]", f.code, f.rule,
                          f.cell, f.message)
        console.print(table)
    c = report.counts
    verdict = "[green]校验通过 (valid)[/green]" if report.valid else "[red]未通过 (errors)[/red]"
    console.print(f"{report.book}: 错误 {c[ERROR]} 项, 警告 {c[WARNING]} 项 — {verdict}")


def print_rules(entries: list[dict[str, Any]]) -> None:
    from rich.table import Table

    console = _console()
    table = Table(show_lines=False)
    for col in ("代码", "规则", "名称", "严重程度", "字段", "实时", "说明", "阈值"):
        table.add_column(col)
    for r in entries:
        th = ", ".join(f"{k}={v['value']}" for k, v in r["thresholds"].items())
        table.add_row(r["code"], r["rule"], r["title"], r["severity"], r["field"],
                      "实时" if r["live"] else "完整校验", r["message"], th)
    console.print(table)


def print_totals(dept: Department, t: Totals) -> None:
    from rich.table import Table

    console = _console()
    table = Table(title=f"{dept.year or ''} {dept.name} 汇总", title_justify="left")
    for col in ("单位", "项目数", "预算数(元)"):
        table.add_column(col, justify="right" if col != "单位" else "left")
    for code, amount in t.by_unit.items():
        n = sum(p.unit_code == code for p in dept.projects)
        table.add_row(f"{code} {dept.unit_name(code)}", str(n), f"{amount:,.2f}")
    table.add_row("[bold]合计[/bold]", str(t.projects), f"[bold]{t.total:,.2f}[/bold]")
    console.print(table)
    plan = " / ".join(f"{a:,.2f}" for a in t.plan_amounts)
    console.print(f"  财政资金 {t.fiscal:,.2f} 元, 其他资金 {t.other:,.2f} 元; "
                  f"计划累计支出 (3/6/10/12月底): {plan}")


def print_merge(result: MergeResult, out: Any) -> None:
    from rich.table import Table

    console = _console()
    table = Table(title="来源 (inputs)", title_justify="left")
    for col in ("文件", "单位", "取用的项目", "跳过及原因"):
        table.add_column(col)
    for s in result.sources:
        reasons = "\n".join([*([f"[red]{s.error}[/red]"] if s.error else []), *s.skipped])
        table.add_row(s.name, "、".join(s.units), str(len(s.taken)), reasons)
    console.print(table)
    d = result.dept
    console.print(f"已合并 (merged): {len(d.projects)} 个项目, {len(d.units)} 个单位, "
                  f"合计 {d.total():,.2f} 元 → {out}")
    for f in result.findings:
        style = "red" if f.severity == ERROR else "yellow"
        console.print(f"  [{style}]{SEVERITY_ZH[f.severity]}[/{style}] {f.code} {f.message}")


def print_in_pieces(console: Console, renderable: Any, lines: int = 1000) -> None:
    """``console.print(renderable)``, the same text, written every ``lines`` lines: rich
    renders a table row by row but prints nothing before the whole of it is rendered (a
    province's table of books held tens of megabytes)."""
    from rich.segment import Segments

    piece: list[Any] = []
    count = 0
    for segment in console.render(renderable):
        piece.append(segment)
        if segment.text == "\n":
            count += 1
            if count >= lines:
                console.print(Segments(piece), end="")
                piece, count = [], 0
    console.print(Segments(piece), end="")


def print_books(results: Iterable[BookResult]) -> None:
    """One line per book of a folder validation, then the totals."""
    from rich.table import Table

    console = _console()
    table = Table(title="校验结果 (books)", title_justify="left")
    for col, justify in (("工作簿", "left"), ("部门", "left"), ("项目", "right"),
                         ("预算合计(元)", "right"), ("错误", "right"), ("警告", "right"),
                         ("状态", "left")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    books = skipped = unreadable = 0
    counts = {ERROR: 0, WARNING: 0}
    for r in results:  # once: they may be read back from disk
        books += 1
        if r.skipped:
            skipped += 1
            table.add_row(r.name, "", "", "", "", "", f"已跳过: {r.skipped}")
            continue
        if r.report is None:
            unreadable += 1
            table.add_row(r.name, "", "", "", "", "", f"[red]无法读取: {r.error}[/red]")
            continue
        c = r.report.counts
        counts[ERROR] += c[ERROR]
        counts[WARNING] += c[WARNING]
        status = "[green]通过[/green]" if r.report.valid else "[red]有错误[/red]"
        table.add_row(r.name, r.department, str(r.projects), f"{r.total:,.2f}", str(c[ERROR]),
                      str(c[WARNING]), status)
    print_in_pieces(console, table)
    console.print(f"{books} 个工作簿, {unreadable} 个无法读取"
                  f"{f', {skipped} 个已跳过' if skipped else ''}; "
                  f"错误 {counts[ERROR]} 项, 警告 {counts[WARNING]} 项")
