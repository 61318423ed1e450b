"""The ``perfxl`` command line: each command is one call into the library.

Library errors (PerfxlError) become a message, Chinese first, and their exit code; a traceback only
with ``--debug``. click's own help and usage errors are worded the same way (``usage.py``); Ctrl-C
ends a command with 已中断 and exit code 130. Heavy modules are imported inside the commands so
``perfxl --help`` is instant.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from . import usage
from .errors import PerfxlError
from .outputs import book_output
from .usage import bad_value

_FORMAT_HELP = "输出格式:text 供阅读,json 供脚本 (output format: text for people, json for scripts)."
_FORCE_HELP = "替换已存在的输出文件 (replace an existing output file)."
_RULES_HELP = ("规则文件(阈值与严重程度);未给出时用环境变量或用户设置中的 PERFXL_RULES (rules file "
               "with thresholds and severities; default: PERFXL_RULES from the environment or "
               "the user's perfxl.conf).")


class _Command(click.Command):
    """A command whose help is bilingual (headings, the --help option)."""

    context_class = usage.Context

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)
        if option is not None:
            option.help = usage.HELP_OPTION
        return option


class _Group(_Command, click.Group):
    """The command group: every error becomes one sentence, Chinese first, and an exit code."""

    command_class = _Command
    group_class = type  # subgroups (addin) are _Groups too

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.exceptions.Exit:
            raise
        except click.ClickException as e:
            raise usage.bilingual(e) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PerfxlError as e:
            if ctx.meta.get("perfxl.debug"):
                raise
            with contextlib.suppress(OSError, ValueError):
                click.echo(f"错误: {e}", err=True)
            ctx.exit(e.exit_code)
        except click.exceptions.Exit:
            raise
        except click.ClickException as e:
            raise usage.bilingual(e) from None
        except (KeyboardInterrupt, click.Abort):
            with contextlib.suppress(OSError, ValueError):
                click.echo(f"\n{usage.INTERRUPTED}", err=True)
            ctx.exit(usage.INTERRUPTED_EXIT)
        except Exception as e:  # an internal error still gets a sentence, not a traceback
            if ctx.meta.get("perfxl.debug"):
                raise
            click.echo(f"内部错误 (internal error): {type(e).__name__}: {e}\n"
                       "请用 --debug 重新运行并报告 (rerun with --debug and report it)", err=True)
            ctx.exit(3)


@click.group(cls=_Group)
@click.version_option(package_name="perfxl", help=usage.VERSION_OPTION,
                      message="%(prog)s 版本 (version) %(version)s")
@click.option("--debug", is_flag=True, help="出错时显示完整的 traceback (show tracebacks).")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """perfxl: 生成、填写、读取和校验预算绩效目标表工作簿 (build, fill, read and check
    budget performance-target workbooks)."""
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

    safe_streams()
    sys.unraisablehook = _quiet_unraisable
    try:
        main()
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 0 if e.code is None else 1
        if isinstance(e.code, str):
            print(e.code, file=sys.stderr)
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
    except (OSError, ValueError) as e:
        with contextlib.suppress(OSError, ValueError):
            print(f"错误: {OutputError(e)}", file=sys.stderr)
        code = 2
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    os._exit(code)


def _quiet_unraisable(info: Any) -> None:
    """A failed write (a full disk) already said its sentence; a library's object that fails
    again to close the same file when it is collected adds nothing but a traceback."""
    if isinstance(info.exc_value, OSError):
        return
    sys.__unraisablehook__(info)


class OutputError(PerfxlError):
    """Standard output cannot be written (closed, a full disk behind a redirect, a broken pipe)."""

    def __init__(self, cause: BaseException | None) -> None:
        if cause is None:
            super().__init__("无法输出结果:标准输出已关闭", "standard output is closed")
            return
        reason = getattr(cause, "strerror", None) or type(cause).__name__
        super().__init__(f"无法输出结果到标准输出: {reason}",
                         f"cannot write to standard output: {reason}")


class _Guarded(io.TextIOBase):
    """sys.stdout as the command writes to it: characters the console or the redirect cannot
    encode are replaced, and a failing write is an :class:`OutputError` (exit 2), never a
    traceback. A closed stdout (``>&-``) fails at the first write."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        if self._stream is None:
            raise OutputError(None)
        try:
            return int(self._stream.write(text))
        except (OSError, ValueError) as e:
            raise OutputError(e) from None

    def flush(self) -> None:
        if self._stream is None:
            return
        try:
            self._stream.flush()
        except (OSError, ValueError) as e:
            raise OutputError(e) from None

    def isatty(self) -> bool:
        return self._stream is not None and bool(self._stream.isatty())

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self._stream, "encoding", "utf-8") or "utf-8")

    @property
    def errors(self) -> str:  # type: ignore[override]
        return "replace"

    def fileno(self) -> int:
        if self._stream is None:
            raise io.UnsupportedOperation("closed")
        return int(self._stream.fileno())


def safe_streams() -> None:
    """Standard output and error for a console command: encoding errors replaced (a console or a
    file in cp1252 still gets the report, with ? for what it cannot show), write failures as a
    sentence."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None:
            with contextlib.suppress(AttributeError, ValueError, OSError):
                stream.reconfigure(errors="replace")
        if name == "stdout":
            sys.stdout = _Guarded(stream)
        elif stream is None:
            sys.stderr = io.StringIO()  # nowhere to say anything; the exit code still tells


@main.command(short_help="生成 2021 年示例部门工作簿 (build the demo department book).")
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("."), show_default=True,
              help="部门工作簿所在的文件夹 (folder for the department book).")
@click.option("--force", is_flag=True, help=_FORCE_HELP)
@click.option("--rules", "rules_file", type=click.Path(dir_okay=False, path_type=Path),
              help=_RULES_HELP)
def demo(out_dir: Path, force: bool, rules_file: Path | None) -> None:
    """生成内置 2021 年数据集(山海关区行政审批部门)的部门工作簿 (build the department book of
    the embedded 2021 dataset)."""
    from . import dataset
    from .consolidate import describe
    from .pipeline import demo_book_name, department_book
    from .values import fmt_amount

    config = _config(rules_file)
    dept = dataset.embedded()
    path = out_dir / demo_book_name(dept)
    with _bar() as progress:
        report, t = department_book(dept, path, force=force, progress=progress, config=config)
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


@main.command(short_help="重建汇总表,报告合计与对账 (rebuild the 汇总 sheet, report totals).")
@click.argument("book", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path),
              help="重建汇总后的工作簿写到这里,默认 BOOK_汇总.xlsx (where to write the book with "
                   "the rebuilt 汇总; default BOOK_汇总.xlsx).")
@click.option("--in-place", is_flag=True,
              help="直接改写 BOOK,旁边保留备份 (rebuild BOOK itself; a backup is kept beside it).")
@click.option("--declared-total", type=str,
              help="申报的部门预算总额,单位元 (the declared department total in 元).")
@click.option("--declared-unit", "declared_units", multiple=True, metavar="CODE=AMOUNT",
              help="申报的单位预算总额,写作 单位编码=金额,可重复 (a declared unit total in 元, "
                   "CODE=AMOUNT; repeatable).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help=_FORMAT_HELP)
@click.option("--rules", "rules_file", type=click.Path(dir_okay=False, path_type=Path),
              help="规则文件,用于汇总中的校验计数 (rules file for the validation counts in the "
                   "summary).")
@click.option("--force", is_flag=True, help=_FORCE_HELP)
def summarize(book: Path, out: Path | None, in_place: bool, declared_total: str | None,
              declared_units: tuple[str, ...], fmt: str, rules_file: Path | None,
              force: bool) -> None:
    """重建 BOOK 的「汇总」工作表,报告合计与对账结果 (rebuild the 汇总 sheet of BOOK and
    report the totals and the reconciliation)."""
    from .consolidate import describe
    from .pipeline import one_target, summarize_book
    from .rules import load_config
    from .settings import rules_file as settings_rules

    one_target(out, in_place)
    if out is not None:
        book_output(out)
    units = {}
    for item in declared_units:
        code, eq, amount = item.partition("=")
        if not (eq and code.strip() and amount.strip()):
            raise bad_value(f"应写作 单位编码=金额,如 630001=500000,而不是 {item!r}",
                            f"expected CODE=AMOUNT, e.g. 630001=500000, not {item!r}",
                            "--declared-unit")
        units[code.strip()] = _amount_option(amount, "--declared-unit")
    with _bar() as progress:
        dept, t, written, saved = summarize_book(
            book, out=out, in_place=in_place, config=load_config(settings_rules(rules_file)),
            declared_total=_amount_option(declared_total, "--declared-total")
            if declared_total else None, declared_units=units, force=force,
            progress=progress)
    if fmt == "json":
        _echo_json(t.to_json(dept))
        return
    from .report import print_totals

    print_totals(dept, t)
    for rec in ([t.department] if t.department else []) + t.units:
        click.echo(f"  {describe(rec, dept)[0]}")
    click.echo(f"已写入 (written): {written}")
    _echo_backup(saved)


def _amount_option(text: str, option: str) -> Any:
    from .values import decimal

    try:
        value = decimal(text)
    except ValueError:
        value = None
    if value is None:
        raise bad_value(f"{text!r} 不是金额", f"not an amount: {text!r}", option)
    return value


@main.command(short_help="按规则目录校验工作簿 (check books against the rule catalogue).")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help=_FORMAT_HELP)
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path),
              help="一个工作簿:写出标注了校验结果的副本;多个:写出审核工作簿 (one book: an "
                   "annotated copy; several: a review book of all of them).")
@click.option("--in-place", is_flag=True,
              help="直接在每个工作簿中标注,旁边保留备份 (annotate each book itself; a backup is "
                   "kept beside it).")
@click.option("--rules", "rules_file", type=click.Path(dir_okay=False, path_type=Path),
              help="规则文件(YAML):阈值与严重程度 (rules file with thresholds and severities, "
                   "YAML).")
@click.option("--jobs", type=click.IntRange(0, 64), default=0, show_default=True,
              help="读取工作簿的进程数,0 为每个 CPU 核一个 (processes reading the books; 0: one "
                   "per core).")
@click.option("--force", is_flag=True, help=_FORCE_HELP)
def validate(inputs: tuple[Path, ...], fmt: str, out: Path | None, in_place: bool,
             rules_file: Path | None, jobs: int, force: bool) -> None:
    """按规则目录校验工作簿(文件或文件夹) (check books, files or folders, against the rule
    catalogue).

    \b
    退出码 (exit code): 0 没有错误 (no errors); 1 有错误 (errors);
    2 有工作簿无法读取 (a book cannot be read).
    """
    from .pipeline import one_target, validate_file
    from .rules import load_config
    from .settings import rules_file as settings_rules

    one_target(out, in_place)
    one = len(inputs) == 1 and not inputs[0].is_dir()
    if out is not None:
        book_output(out, copy_of=inputs[0] if one else None)
    config = load_config(settings_rules(rules_file))
    if one:
        done = validate_file(inputs[0], config, out=out, in_place=in_place, force=force)
        if fmt == "json":
            _echo_json(done.report.to_json())
        else:
            from .report import print_report

            print_report(done.dept, done.report)
            if done.written:
                click.echo(f"已写入校验结果 (annotated): {done.written}")
            _echo_backup(done.backup)
        sys.exit(0 if done.report.valid else 1)
    _validate_many(inputs, fmt, out, in_place, config, jobs, force)


def _validate_many(inputs: tuple[Path, ...], fmt: str, out: Path | None, in_place: bool,
                   config: Any, jobs: int, force: bool) -> None:
    from .batch import few_collections

    with few_collections():  # also while the reports are turned into JSON
        _report_many(inputs, fmt, out, in_place, config, jobs, force)


def _report_many(inputs: tuple[Path, ...], fmt: str, out: Path | None, in_place: bool,
                 config: Any, jobs: int, force: bool) -> None:
    from .pipeline import validate_books

    if not in_place:
        _stream_many(inputs, fmt, out, config, jobs, force)
        return
    with _progress("校验 (validating)") as (advance, total):
        done = validate_books(inputs, config, out=out, in_place=in_place, jobs=jobs,
                              force=force, progress=advance, on_total=total,
                              on_failed=lambda e: click.echo(f"错误: {e}", err=True))
    if fmt == "json":
        _echo_json(done.summary(), books=[r.to_json() for r in done.results])
    else:
        from .report import print_books

        print_books(done.results)
        for saved in done.backups:
            _echo_backup(saved)
        if out is not None:
            click.echo(f"已写入审核工作簿 (review book): {out}")
    sys.exit(done.exit_code)


def _stream_many(inputs: tuple[Path, ...], fmt: str, out: Path | None, config: Any, jobs: int,
                 force: bool) -> None:
    """Many books, each book's report written out as soon as it is checked, in input order
    (JSON: one book per line of "books"); nothing but counts is held, however many books. The
    cross-book findings (PX404), known only after the last book, follow the books: in JSON as
    "cross_book" (each finding with its "book"), then "valid" and "counts" (which include
    them)."""
    from .pipeline import stream_books

    def write(text: str) -> None:
        sys.stdout.write(text)

    started = [False]

    def book(r: Any) -> None:
        write(",\n    " if started[0] else '{\n  "books": [\n    ')
        started[0] = True
        write(json.dumps(r.to_json(), ensure_ascii=False))

    with _progress("校验 (validating)") as (advance, total):
        done = stream_books(inputs, config, out=out, jobs=jobs, force=force, progress=advance,
                            on_total=total, on_book=book if fmt == "json" else None)
    if fmt == "json":
        if not started[0]:
            write('{\n  "books": [')
        cross = ",\n    ".join(json.dumps({**f.to_json(), "book": r.name}, ensure_ascii=False)
                               for r, f in done.cross)
        head = json.dumps(done.summary(), ensure_ascii=False, indent=2)[1:]
        write(f'\n  ],\n  "cross_book": [{f"{chr(10)}    {cross}{chr(10)}  " if cross else ""}'
              f'],{head}\n')
        sys.stdout.flush()
    else:
        from .report import print_books

        print_books(done.results)
        if out is not None:
            click.echo(f"已写入审核工作簿 (review book): {out}")
    sys.exit(done.exit_code)


def _echo_backup(saved: Path | None) -> None:
    if saved is not None:
        click.echo(f"原文件已备份 (backup of the original): {saved}")


@main.command(short_help="列出规则目录 (list the rule catalogue).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True,
              help="输出格式:text 供阅读,json 供脚本,markdown 即 docs/rules.md (output format: "
                   "text, json, or markdown as in docs/rules.md).")
@click.option("--rules", "rules_file", type=click.Path(dir_okay=False, path_type=Path),
              help="显示此规则文件下生效的阈值和严重程度 (show the thresholds and severities in "
                   "effect with this rules file).")
def rules(fmt: str, rules_file: Path | None) -> None:
    """列出规则目录:代码、规则、严重程度、字段、说明、阈值 (list the rule catalogue: code,
    slug, severity, field, message, thresholds)."""
    from .catalogue import catalogue, catalogue_markdown
    from .rules import load_config
    from .settings import rules_file as settings_rules

    if fmt == "markdown":
        click.echo(catalogue_markdown(), nl=False)
        return
    entries = catalogue(load_config(settings_rules(rules_file)))
    if fmt == "json":
        _echo_json(entries)
        return
    from .report import print_rules

    print_rules(entries)


@main.command(short_help="按单位拆分出待填写的工作簿 (one book per unit to hand out).")
@click.argument("book", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              required=True, help="单位工作簿所在的文件夹 (folder for the unit books).")
@click.option("--blank", is_flag=True,
              help="项目表只保留单位、序号、编码、名称 (project sheets keep only their identity: "
                   "unit, 序号, 编码, 名称).")
@click.option("--force", is_flag=True, help=_FORCE_HELP)
@click.option("--rules", "rules_file", type=click.Path(dir_okay=False, path_type=Path),
              help=_RULES_HELP)
def split(book: Path, out_dir: Path, blank: bool, force: bool, rules_file: Path | None) -> None:
    """为每个单位写出一个工作簿(<单位编码>_<单位名称>.xlsx)供下发填写 (write one book per
    unit, <unit code>_<unit name>.xlsx, to hand out for filling in)."""
    from .pipeline import split as _split

    with _bar() as progress:
        written = _split(book, out_dir, blank=blank, force=force, config=_config(rules_file),
                         progress=progress)
    for path in written:
        click.echo(f"已生成 (written): {path}")


@main.command(short_help="合并各单位提交的工作簿 (merge unit submissions).")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="要写出的部门工作簿 (the department book to write, .xlsx).")
@click.option("--plan", type=click.Path(dir_okay=False, path_type=Path),
              help="部门的工作簿:取其部门整体和应提交的项目 (the department's book: its 部门整体, "
                   "and the projects expected).")
@click.option("--on-conflict", type=click.Choice(["refuse", "first", "newest"]),
              default="refuse", show_default=True,
              help="两个输入中同一项目编码内容不同时:refuse 停止,first 取先给出的,newest 取修改时间"
                   "最新的 (two inputs with different content for one project code).")
@click.option("--jobs", type=click.IntRange(1, 64), default=1, show_default=True,
              help="读取输入的进程数 (read the inputs in this many processes).")
@click.option("--strict", is_flag=True,
              help="有任何输入无法合并就不写出 (write nothing unless every input can be merged).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help=_FORMAT_HELP)
@click.option("--rules", "rules_file", type=click.Path(dir_okay=False, path_type=Path),
              help=_RULES_HELP)
@click.option("--force", is_flag=True, help=_FORCE_HELP)
def merge(inputs: tuple[Path, ...], out: Path, plan: Path | None, on_conflict: str, jobs: int,
          strict: bool, fmt: str, rules_file: Path | None, force: bool) -> None:
    """把各单位提交的工作簿(文件或文件夹)合并为一个部门工作簿 (merge unit submissions, files
    or folders, into one department book).

    \b
    退出码 (exit code): 0 全部合并 (every input merged); 1 冲突使合并停止 (a conflict
    stopped the merge); 2 有输入无法合并,已列出,其余已合并 (some inputs could not be
    merged: they are listed, the rest were).
    """
    from .pipeline import merge as _merge
    from .rules import load_config
    from .settings import rules_file as settings_rules

    book_output(out)
    with _bar() as progress:
        result = _merge(inputs, out, plan=plan, on_conflict=on_conflict, jobs=jobs,
                        strict=strict, progress=progress, force=force,
                        config=load_config(settings_rules(rules_file)))
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
    from rich.console import Console
    from rich.progress import Progress

    # on stderr: stdout may be the report (JSON) going to a file
    with Progress(console=Console(stderr=True), transient=True, redirect_stdout=False,
                  redirect_stderr=False) as bar:
        task = bar.add_task(label, total=None)
        yield (lambda n: bar.advance(task, n), lambda total: bar.update(task, total=total))


@contextlib.contextmanager
def _bar() -> Iterator[Any]:
    """A job's progress (perfxl.progress) as a bar on a terminal (stderr), shown once the job
    has run for a second; silent otherwise."""
    if not sys.stderr.isatty():
        yield None
        return
    bar = TerminalProgress(sys.stderr)
    try:
        yield bar
    finally:
        bar.stop()


class TerminalProgress:
    """perfxl.progress.Progress as one rich bar whose description is the current stage; it
    appears only once the job has run ``after`` seconds (a quick job shows nothing) and leaves
    no trace."""

    def __init__(self, stream: Any, after: float = 1.0) -> None:
        import threading

        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                             TimeElapsedColumn(), console=Console(file=stream),
                             transient=True)
        self._task = self._bar.add_task("", total=None)
        self._lock = threading.Lock()
        self._state = "waiting"  # → shown → stopped
        self._timer = threading.Timer(after, self._show)
        self._timer.daemon = True
        self._timer.start()

    def _show(self) -> None:
        with self._lock:
            if self._state == "waiting":
                self._bar.start()
                self._state = "shown"

    def stage(self, name: str, total: int | None = None) -> None:
        self._bar.reset(self._task, total=total, description=name)

    def advance(self, n: int = 1) -> None:
        self._bar.advance(self._task, n)

    def stop(self) -> None:
        self._timer.cancel()
        with self._lock:
            if self._state == "shown":
                self._bar.stop()
            self._state = "stopped"


_RULES_HELP = ("规则文件:其阈值和严重程度也写入工作簿的实时检查 (a rules file; its thresholds and "
               "severities also go into the book's live checks).")


def _config(rules_file: Path | None) -> Any:
    """The rules in effect: --rules, else $PERFXL_RULES, else perfxl.conf (settings.py)."""
    from .rules import load_config
    from .settings import rules_file as settings_rules

    return load_config(settings_rules(rules_file))


def _echo_counts(report: Any) -> None:
    c = report.counts
    click.echo(f"  校验 (validation): 错误 {c['error']} 项 (errors), 警告 {c['warning']} 项 (warnings)"
               " — 见工作簿中的「校验结果」工作表")


@main.command(short_help="写出空白模板,或用数据文件填写 (a blank template, or one filled "
                          "from data).")
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="要写出的工作簿 (the book to write, .xlsx).")
@click.option("--data", type=click.Path(dir_okay=False, path_type=Path),
              help="用此部门数据文件(YAML 或 JSON)填写 (fill it from this department data file, "
                   "YAML or JSON).")
@click.option("--force", is_flag=True, help=_FORCE_HELP)
@click.option("--rules", "rules_file", type=click.Path(dir_okay=False, path_type=Path),
              help=_RULES_HELP)
def template(out: Path, data: Path | None, force: bool, rules_file: Path | None) -> None:
    """写出空白模板工作簿,或用数据文件填写的工作簿 (write a blank template book, or one
    filled from a data file)."""
    from .files import check_output
    from .pipeline import populate
    from .template import write_book

    check_output(out, [data] if data else [], force=force)
    book_output(out)
    config = _config(rules_file)
    if data is None:
        write_book(out, force=force, config=config)
        click.echo(f"已生成空白模板 (blank template written): {out}")
    else:
        with _bar() as progress:
            dept = populate(data, out, force=force, progress=progress, config=config)
        click.echo(f"已生成 (written): {out} — {len(dept.projects)} 个项目 (projects)")


@main.command(short_help="用数据文件生成部门工作簿 (fill the template from a data file).")
@click.argument("data", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="要写出的工作簿 (the book to write, .xlsx).")
@click.option("--force", is_flag=True, help=_FORCE_HELP)
@click.option("--rules", "rules_file", type=click.Path(dir_okay=False, path_type=Path),
              help=_RULES_HELP)
def populate(data: Path, out: Path, force: bool, rules_file: Path | None) -> None:
    """用部门数据文件 DATA(YAML 或 JSON)填写模板 (fill the template from DATA, a department
    data file in YAML or JSON)."""
    from .files import check_output
    from .pipeline import populate as _populate

    check_output(out, [data], force=force)  # the data file itself: refused as such first
    book_output(out)
    with _bar() as progress:
        dept = _populate(data, out, force=force, progress=progress,
                         config=_config(rules_file))
    click.echo(f"已生成 (written): {out} — {len(dept.projects)} 个项目 (projects)")


@main.command(short_help="生成绩效自评工作簿 (build the year-end self-evaluation book).")
@click.argument("book", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="要写出的绩效自评工作簿 (the self-evaluation book to write, .xlsx).")
@click.option("--force", is_flag=True, help=_FORCE_HELP)
@click.option("--rules", "rules_file", type=click.Path(dir_okay=False, path_type=Path),
              help="规则文件:自评的分值、档次和等级 (a rules file: the self-evaluation's points, "
                   "bands and grades).")
def selfeval(book: Path, out: Path, force: bool, rules_file: Path | None) -> None:
    """由绩效目标工作簿 BOOK 生成项目支出绩效自评表,每个项目一张,并附汇总 (write the
    项目支出绩效自评表 of every project in the targets book BOOK, with a 汇总)."""
    from .pipeline import selfeval as _selfeval

    book_output(out)
    dept = _selfeval(book, out, force=force, config=_config(rules_file))
    click.echo(f"已生成绩效自评工作簿 (self-evaluation book written): {out} — "
               f"{len(dept.projects)} 个项目 (projects)")
@main.command(short_help="生成绩效运行监控表 (the mid-year monitoring book).")
@click.argument("book", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="要写出的监控工作簿 (the monitoring book to write, .xlsx).")
@click.option("--month", type=click.IntRange(1, 12),
              help="监控截至的月份 N(1-N月),默认 6,即 7 月的「双监控」 (months 1-N monitored; "
                   "default 6, the July monitoring).")
@click.option("--force", is_flag=True, help=_FORCE_HELP)
@click.option("--rules", "rules_file", type=click.Path(dir_okay=False, path_type=Path),
              help=_RULES_HELP)
def monitor(book: Path, out: Path, month: int | None, force: bool,
            rules_file: Path | None) -> None:
    """由预算绩效目标工作簿 BOOK 生成绩效运行监控表,每个项目一张 (write the 绩效运行监控
    book of the targets book BOOK, one sheet per project)."""
    from .pipeline import monitor as _monitor

    book_output(out)
    dept, month = _monitor(book, out, month=month, force=force, config=_config(rules_file))
    click.echo(f"已生成 (written): {out} — {len(dept.projects)} 个项目 (projects), "
               f"1-{month}月 (months 1-{month})")


@main.command(short_help="生成部门整体考核评分表 (the department's 考核 scoring sheet).")
@click.argument("book", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="要写出的评分工作簿 (the scoring book to write, .xlsx).")
@click.option("--variant", type=click.Choice(["市直部门", "县区"]),
              help="考核口径,默认 市直部门(表中可改) (the scheme's variant; default 市直部门, "
                   "changeable in the sheet).")
@click.option("--force", is_flag=True, help=_FORCE_HELP)
@click.option("--rules", "rules_file", type=click.Path(dir_okay=False, path_type=Path),
              help=_RULES_HELP)
def scoring(book: Path, out: Path, variant: str | None, force: bool,
            rules_file: Path | None) -> None:
    """由工作簿 BOOK「部门整体」的考核方案生成考核评分表 (write the 考核 scoring book of the
    部门整体 scheme in BOOK)."""
    from .pipeline import scoring as _scoring

    book_output(out)
    dept = _scoring(book, out, variant=variant, force=force, config=_config(rules_file))
    click.echo(f"已生成 (written): {out} — {len(dept.scoring.items)} 个考核项目 (items)")


@main.command(short_help="读回工作簿并输出 (read a book back and print it).")
@click.argument("book", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "data"]), default="text",
              show_default=True,
              help="text 供阅读,json(README 所述结构)供脚本,data 为数据文件格式 (text for people, "
                   "json for scripts, data = the data-file form).")
def read(book: Path, fmt: str) -> None:
    """把 BOOK 读回模型并输出 (read BOOK back into the model and print it)."""
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


@main.group(short_help="Excel 功能区加载项 (the Excel ribbon add-in).")
def addin() -> None:
    """Excel 功能区加载项(「绩效目标」选项卡):生成并安装 perfxl.xlam (the Excel ribbon
    add-in, the 绩效目标 tab: build perfxl.xlam, install it)."""


@addin.command("build", short_help="生成加载项 (build the add-in).")
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("."), show_default=True,
              help="生成的文件所在的文件夹 (folder for the built files).")
@click.option("--interpreter",
              help="Excel 调用的 python.exe(写入加载项的 perfxl.conf 工作表),默认取自 perfxl.conf "
                   "文件 (python.exe for Excel to run, written into the add-in; default: from a "
                   "perfxl.conf file).")
@click.option("--force", is_flag=True, help=_FORCE_HELP)
def addin_build(out_dir: Path, interpreter: str | None, force: bool) -> None:
    """用 xlmacros/ 和已安装的 xlwings 生成 perfxl.xlam 与 perfxl_template.xltm (build
    perfxl.xlam and perfxl_template.xltm from xlmacros/ and the installed xlwings)."""
    from .addin import build_addin

    for path in build_addin(out_dir, interpreter=interpreter, force=force).paths():
        click.echo(f"已生成 (written): {path}")


@addin.command("install", short_help="把加载项装进 Excel (install the add-in).")
@click.option("--dir", "target_dir", type=click.Path(file_okay=False, path_type=Path),
              help="安装到此文件夹,而不是 Excel 的 XLSTART (install into this folder instead of "
                   "Excel's XLSTART).")
@click.option("--interpreter",
              help="Excel 调用的 python.exe,默认为当前的 Python (python.exe for Excel to run; "
                   "default: this Python).")
@click.option("--no-config", is_flag=True,
              help="不写入 %USERPROFILE%\\.perfxl\\perfxl.conf (do not write it).")
@click.option("--rules", "rules_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="此后功能区与命令行默认使用的规则文件 (the rules file the ribbon and the command "
                   "line use by default from now on).")
def addin_install(target_dir: Path | None, interpreter: str | None, no_config: bool,
                  rules_file: Path | None) -> None:
    """把 perfxl.xlam 放到 Excel 启动时加载的位置(用户的 XLSTART),并指向 Python (put
    perfxl.xlam where Excel loads it, the user's XLSTART, and point it at Python)."""
    from .addin import install_addin

    done = install_addin(target_dir, interpreter=interpreter, config=not no_config,
                         rules=rules_file)
    click.echo(f"已安装加载项 (add-in installed): {done.addin}")
    if done.config is not None:
        click.echo(f"已设置 Python 解释器 (interpreter set) INTERPRETER_WIN={done.interpreter} "
                   f"in {done.config}")
    click.echo("请重新启动 Excel,功能区会出现「绩效目标」选项卡 (restart Excel: the 绩效目标 tab appears).")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
