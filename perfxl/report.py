"""Human-readable output on a terminal (rich tables; plain text when piped)."""

from __future__ import annotations

from .model import Department


def print_department(dept: Department) -> None:
    import sys

    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 160)
    title = f"{dept.year or ''} {dept.name}".strip() or "(未命名部门)"
    console.print(f"[bold]{title}[/bold]  模板版本 (template): {dept.template_version or '—'}")
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
