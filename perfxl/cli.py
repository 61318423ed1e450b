"""The ``perfxl`` command line: each command is one call into the library.

Library errors (PerfxlError) become a message, Chinese first, and their exit code; a traceback only
with ``--debug``. Heavy modules are imported inside the commands so ``perfxl --help`` is instant.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from .errors import PerfxlError


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PerfxlError as e:
            if ctx.meta.get("perfxl.debug"):
                raise
            click.echo(f"错误: {e}", err=True)
            ctx.exit(e.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as e:  # an internal error still gets a sentence, not a traceback
            if ctx.meta.get("perfxl.debug"):
                raise
            click.echo(f"内部错误 (internal error): {type(e).__name__}: {e}\n"
                       "请用 --debug 重新运行并报告 (rerun with --debug and report it)", err=True)
            ctx.exit(3)


@click.group(cls=_Group)
@click.version_option(package_name="perfxl")
@click.option("--debug", is_flag=True, help="出错时显示完整的 traceback (show tracebacks).")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """perfxl: 预算绩效目标表 — build, fill, read and check performance-target workbooks."""
    ctx.meta["perfxl.debug"] = debug


def run() -> None:
    """The console command: :func:`main`, then a quick exit.

    Tearing down an interpreter that imported pandas and pandera frees every module and object
    one by one (0.1–0.25 s, a tenth of validating 200 books) and does nothing a finished command
    needs. So once ``main`` is done: the atexit handlers run, the standard streams are flushed,
    and the process ends with the command's exit code.
    """
    import atexit
    import os

    try:
        main()
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 0 if e.code is None else 1
        if isinstance(e.code, str):
            print(e.code, file=sys.stderr)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


@main.command()
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("."), show_default=True, help="Folder for the department book.")
def demo(out_dir: Path) -> None:
    """Build the department book of the embedded 2021 dataset (山海关区行政审批部门)."""
    from . import dataset
    from .consolidate import describe
    from .populate import demo_book_name, department_book
    from .values import fmt_amount

    dept = dataset.embedded()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / demo_book_name(dept)
    report, t = department_book(dept, path)
    click.echo(f"已生成 (written): {path}")
    click.echo(f"  {dept.year} {dept.name}: {len(dept.units)} 个单位 (units), "
               f"{len(dept.projects)} 个项目 (projects)")
    for code, total in dept.unit_totals().items():
        click.echo(f"  {code} {dept.unit_name(code)}: {fmt_amount(total)} 元")
    click.echo(f"  合计 (total): {fmt_amount(dept.total())} 元")
    if t.department:
        click.echo(f"  申报总额 (declared): {fmt_amount(t.department.declared)} 元 — "
                   f"{describe(t.department, dept)[0]}")
    _echo_counts(report)


@main.command()
@click.argument("book", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the book with the rebuilt 汇总 (default: BOOK_汇总.xlsx).")
@click.option("--in-place", is_flag=True, help="Rebuild BOOK itself (a backup is kept beside it).")
@click.option("--declared-total", type=str, help="The declared department total in 元.")
@click.option("--declared-unit", "declared_units", multiple=True, metavar="CODE=AMOUNT",
              help="A declared unit total in 元 (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--rules", "rules_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Rules file for the validation counts in the summary.")
def summarize(book: Path, out: Path | None, in_place: bool, declared_total: str | None,
              declared_units: tuple[str, ...], fmt: str, rules_file: Path | None) -> None:
    """Rebuild the 汇总 sheet of BOOK and report the totals and the reconciliation."""
    from .consolidate import describe
    from .populate import summarize_book
    from .rules import load_config

    if out is not None and in_place:
        raise click.UsageError("-o 与 --in-place 只能选一个 (use either -o or --in-place)")
    units = {}
    for item in declared_units:
        code, _, amount = item.partition("=")
        units[code.strip()] = _amount_option(amount, "--declared-unit")
    dept, t, written = summarize_book(
        book, out=out, in_place=in_place, config=load_config(rules_file),
        declared_total=_amount_option(declared_total, "--declared-total")
        if declared_total else None, declared_units=units)
    if fmt == "json":
        _echo_json(t.to_json(dept))
        return
    from .report import print_totals

    print_totals(dept, t)
    for rec in ([t.department] if t.department else []) + t.units:
        click.echo(f"  {describe(rec, dept)[0]}")
    click.echo(f"已写入 (written): {written}")


def _amount_option(text: str, option: str) -> Any:
    from .values import decimal

    try:
        value = decimal(text)
    except ValueError:
        value = None
    if value is None:
        raise click.BadParameter(f"不是金额 (not an amount): {text!r}", param_hint=option)
    return value


@main.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path),
              help="One book: an annotated copy. Several: a review book of all of them.")
@click.option("--in-place", is_flag=True,
              help="Annotate each book itself (a backup is kept beside it).")
@click.option("--rules", "rules_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Rules file with thresholds and severities (YAML).")
@click.option("--jobs", type=click.IntRange(0, 64), default=0, show_default=True,
              help="Processes reading the books (0: one per core).")
def validate(inputs: tuple[Path, ...], fmt: str, out: Path | None, in_place: bool,
             rules_file: Path | None, jobs: int) -> None:
    """Check books (files or folders) against the rule catalogue.

    Exit 0: no errors; 1: errors; 2: a book cannot be read.
    """
    from .rules import load_config
    from .validate import annotate_book, validate_book

    if out is not None and in_place:
        raise click.UsageError("-o 与 --in-place 只能选一个 (use either -o or --in-place)")
    config = load_config(rules_file)
    if len(inputs) == 1 and not inputs[0].is_dir():
        book = inputs[0]
        dept, report = validate_book(book, config)
        written = annotate_book(book, report, out=out, in_place=in_place)
        if fmt == "json":
            _echo_json(report.to_json())
        else:
            from .report import print_report

            print_report(dept, report)
            if written:
                click.echo(f"已写入校验结果 (annotated): {written}")
        sys.exit(0 if report.valid else 1)
    _validate_many(inputs, fmt, out, in_place, config, jobs)


def _validate_many(inputs: tuple[Path, ...], fmt: str, out: Path | None, in_place: bool,
                   config: Any, jobs: int) -> None:
    from .files import collect
    from .validate import few_collections

    with few_collections():
        _check_many(collect(inputs), fmt, out, in_place, config, jobs)


def _check_many(paths: list[Path], fmt: str, out: Path | None, in_place: bool, config: Any,
                jobs: int) -> None:
    from .validate import annotate_book, validate_paths

    with _progress("校验 (validating)") as (advance, total):
        if total:
            total(len(paths))
        results = validate_paths(paths, config, jobs=jobs, progress=advance)
    if out is not None:
        from .review import write_review

        write_review(out, results)
    if in_place:
        for r in results:
            if r.report is not None:
                annotate_book(r.path, r.report, in_place=True)
    unreadable = sum(1 for r in results if r.unreadable)
    errors = sum(r.report.counts["error"] for r in results if r.report)
    warnings = sum(r.report.counts["warning"] for r in results if r.report)
    if fmt == "json":
        _echo_json({"valid": not errors and not unreadable,
                    "counts": {"books": len(results), "unreadable": unreadable, "error": errors,
                               "warning": warnings}}, books=[r.to_json() for r in results])
    else:
        from .report import print_books

        print_books(results)
        if out is not None:
            click.echo(f"已写入审核工作簿 (review book): {out}")
    sys.exit(2 if unreadable else 1 if errors else 0)


@main.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True)
@click.option("--rules", "rules_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Show the thresholds and severities in effect with this rules file.")
def rules(fmt: str, rules_file: Path | None) -> None:
    """List the rule catalogue: code, slug, severity, field, message, thresholds."""
    from .rules import catalogue, catalogue_markdown, load_config

    if fmt == "markdown":
        click.echo(catalogue_markdown(), nl=False)
        return
    entries = catalogue(load_config(rules_file))
    if fmt == "json":
        _echo_json(entries)
        return
    from .report import print_rules

    print_rules(entries)


@main.command()
@click.argument("book", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              required=True, help="Folder for the unit books.")
@click.option("--blank", is_flag=True,
              help="Project sheets keep only their identity (unit, 序号, 编码, 名称).")
def split(book: Path, out_dir: Path, blank: bool) -> None:
    """Write one book per unit (<unit code>_<unit name>.xlsx) to hand out for filling in."""
    from .merge import split as _split

    for path in _split(book, out_dir, blank=blank):
        click.echo(f"已生成 (written): {path}")


@main.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The department book to write.")
@click.option("--plan", type=click.Path(dir_okay=False, path_type=Path),
              help="The department's book: its 部门整体, and the projects expected.")
@click.option("--on-conflict", type=click.Choice(["refuse", "first", "newest"]),
              default="refuse", show_default=True,
              help="Two inputs with different content for one project code.")
@click.option("--jobs", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Read the inputs in this many processes.")
@click.option("--strict", is_flag=True, help="Write nothing unless every input can be merged.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def merge(inputs: tuple[Path, ...], out: Path, plan: Path | None, on_conflict: str, jobs: int,
          strict: bool, fmt: str) -> None:
    """Merge unit submissions (files or folders) into one department book.

    Exit 0: every input merged; 1: a conflict stopped the merge; 2: some inputs could not be
    merged (they are listed; the rest were).
    """
    from .merge import merge as _merge

    with _progress("读取 (reading)") as (advance, total):
        result = _merge(inputs, out, plan=plan, on_conflict=on_conflict, jobs=jobs,
                        strict=strict, progress=advance, on_total=total)
    if fmt == "json":
        _echo_json(result.to_json(out))
    else:
        from .report import print_merge

        print_merge(result, out)
    sys.exit(0 if result.complete else 2)


@contextlib.contextmanager
def _progress(label: str) -> Iterator[tuple[Any, Any]]:
    """A rich progress bar on a terminal (stderr); silent otherwise."""
    if not sys.stderr.isatty():
        yield (None, None)
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task(label, total=None)
        yield (lambda n: bar.advance(task, n), lambda total: bar.update(task, total=total))


def _echo_counts(report: Any) -> None:
    c = report.counts
    click.echo(f"  校验 (validation): 错误 {c['error']} 项 (errors), 警告 {c['warning']} 项 (warnings)"
               " — 见工作簿中的「校验结果」工作表")


@main.command()
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The book to write (.xlsx).")
@click.option("--data", type=click.Path(dir_okay=False, path_type=Path),
              help="Fill it from this department data file (YAML or JSON).")
def template(out: Path, data: Path | None) -> None:
    """Write a blank template book, or one filled from a data file."""
    from .populate import populate
    from .template import write_book

    if data is None:
        write_book(out)
        click.echo(f"已生成空白模板 (blank template written): {out}")
    else:
        _refuse_same(data, out)
        dept = populate(data, out)
        click.echo(f"已生成 (written): {out} — {len(dept.projects)} 个项目 (projects)")


@main.command()
@click.argument("data", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The book to write (.xlsx).")
def populate(data: Path, out: Path) -> None:
    """Fill the template from DATA, a department data file (YAML or JSON)."""
    from .populate import populate as _populate

    _refuse_same(data, out)
    dept = _populate(data, out)
    click.echo(f"已生成 (written): {out} — {len(dept.projects)} 个项目 (projects)")


@main.command()
@click.argument("book", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "data"]), default="text",
              show_default=True,
              help="text for people, json (documented shape) for scripts, data = the data-file form.")
def read(book: Path, fmt: str) -> None:
    """Read BOOK back into the model and print it."""
    from .read import read_book

    dept = read_book(book)
    if fmt == "json":
        _echo_json(dept.to_json())
    elif fmt == "data":
        from .dataset import to_data

        _echo_json(to_data(dept))
    else:
        from .report import print_department

        print_department(dept)


def _echo_json(obj: Any, books: list[Any] | None = None) -> None:
    """Indented JSON; ``books`` (many books' reports) become a list "books" with one book per
    line, so a reviewer's thousands of findings are encoded by json's C encoder."""
    if books is None:
        click.echo(json.dumps(obj, ensure_ascii=False, indent=2))
        return
    head = json.dumps(obj, ensure_ascii=False, indent=2)[:-2]
    lines = ",\n    ".join(json.dumps(b, ensure_ascii=False) for b in books)
    click.echo(f'{head},\n  "books": [\n    {lines}\n  ]\n}}')


def _refuse_same(source: Path, out: Path) -> None:
    from .files import same_file

    if same_file(source, out):
        raise PerfxlError(f"输出文件与输入文件相同,拒绝覆盖: {out}",
                          f"refusing to overwrite the input {out}")


@main.group()
def addin() -> None:
    """The Excel ribbon add-in (绩效目标 tab): build perfxl.xlam, install it."""


@addin.command("build")
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("."), show_default=True, help="Folder for the built files.")
@click.option("--interpreter", help="python.exe for Excel to run (written into the add-in's "
              "perfxl.conf sheet); default: from a perfxl.conf file.")
def addin_build(out_dir: Path, interpreter: str | None) -> None:
    """Build perfxl.xlam and perfxl_template.xltm from xlmacros/ and the installed xlwings."""
    from .addin import build_addin

    for path in build_addin(out_dir, interpreter=interpreter).paths():
        click.echo(f"已生成 (written): {path}")


@addin.command("install")
@click.option("--dir", "target_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Install into this folder instead of Excel's XLSTART.")
@click.option("--interpreter", help="python.exe for Excel to run (default: this Python).")
@click.option("--no-config", is_flag=True, help="Do not write %USERPROFILE%\\.perfxl\\perfxl.conf.")
def addin_install(target_dir: Path | None, interpreter: str | None, no_config: bool) -> None:
    """Put perfxl.xlam where Excel loads it (the user's XLSTART) and point it at Python."""
    from .addin import install_addin

    done = install_addin(target_dir, interpreter=interpreter, config=not no_config)
    click.echo(f"已安装加载项 (add-in installed): {done.addin}")
    if done.config is not None:
        click.echo(f"已设置 Python 解释器 (interpreter set) INTERPRETER_WIN={done.interpreter} "
                   f"in {done.config}")
    click.echo("请重新启动 Excel,功能区会出现「绩效目标」选项卡 (restart Excel: the 绩效目标 tab appears).")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
