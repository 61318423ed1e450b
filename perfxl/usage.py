"""click's own words, Chinese first with the English beside them, like perfxl's messages.

click writes its help headings and usage errors in English. The command line's context uses
:class:`Formatter` for the help, and its group turns every click error into
:class:`BilingualError` (:func:`bilingual`), whose ``show`` prints the usage, where help is, and
``错误: 中文 (English)``; the exit code stays click's (2 for a usage error).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import IO, Any

import click

INTERRUPTED = "已中断 (interrupted)"
INTERRUPTED_EXIT = 130
"""128 + SIGINT, what shells report for a command stopped with Ctrl-C."""

HELP_OPTION = "显示本帮助并退出 (show this message and exit)."
VERSION_OPTION = "显示版本并退出 (show the version and exit)."

_HEADINGS = {"Options": "选项 (Options)", "Commands": "命令 (Commands)"}
_USAGE = "用法 (Usage): "
_EXTRAS = ((re.compile(r"\[default: "), "[默认 (default): "),
           (re.compile(r"(?<=[\[; ])required\]"), "必填 (required)]"))


class Formatter(click.HelpFormatter):
    """click's help formatter with bilingual headings and option notes."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, _USAGE if prefix is None else prefix)

    @contextmanager
    def section(self, name: str) -> Iterator[None]:
        with super().section(_HEADINGS.get(name, name)):
            yield

    def write_dl(self, rows: Any, col_max: int = 30, col_spacing: int = 2) -> None:
        # rows: (term, text) pairs (typed Any: click's own annotation differs between versions)
        super().write_dl([(term, _extras(text)) for term, text in rows], col_max, col_spacing)


def _extras(text: str) -> str:
    for pattern, zh in _EXTRAS:
        text = pattern.sub(zh, text)
    return text


class Context(click.Context):
    formatter_class = Formatter


# --- errors -------------------------------------------------------------------------------------

class BilingualError(click.UsageError):
    """A click error shown Chinese first, English beside it; exits with the original's code."""

    def __init__(self, original: click.ClickException) -> None:
        super().__init__(original.format_message(), getattr(original, "ctx", None))
        self.original = original
        self.__dict__["exit_code"] = original.exit_code  # a class attribute in newer click
        self.zh, self.en = translate(original)

    def show(self, file: IO[Any] | None = None) -> None:
        no_args = getattr(click.exceptions, "NoArgsIsHelpError", ())
        if isinstance(self.original, no_args):  # `perfxl` alone: the help itself
            self.original.show(file)
            return
        lines = []
        ctx = self.ctx
        if isinstance(self.original, click.UsageError) and ctx is not None:
            lines.append(ctx.get_usage())
            if ctx.command.get_help_option(ctx) is not None:
                lines.append(f"帮助 (help): {ctx.command_path} --help")
            lines.append("")
        lines.append(f"错误: {self.zh} ({self.en})")
        click.echo("\n".join(lines), file=file, err=file is None)


def bilingual(e: click.ClickException) -> BilingualError:
    return e if isinstance(e, BilingualError) else BilingualError(e)


def bad_value(zh: str, en: str, option: str) -> click.BadParameter:
    """A bad option value of our own, worded in both languages."""
    e = click.BadParameter(f"{zh} ({en})", param_hint=option)
    e.zh, e.en = zh, en  # type: ignore[attr-defined]
    return e


def usage_error(zh: str, en: str) -> click.UsageError:
    """A usage error of our own (options that exclude each other…), in both languages."""
    e = click.UsageError(f"{zh} ({en})")
    e.zh, e.en = zh, en  # type: ignore[attr-defined]
    return e


_CLICK_ZH: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(en), zh) for en, zh in (
    (r"(?:File|Directory|Path) (?P<p>'.*') is a directory\.", "{p} 是文件夹,这里要的是文件"),
    (r"(?:File|Directory|Path) (?P<p>'.*') is a file\.", "{p} 是文件,这里要的是文件夹"),
    (r"(?:File|Directory|Path) (?P<p>'.*') does not exist\.", "{p} 不存在"),
    (r"(?:File|Directory|Path) (?P<p>'.*') is not readable\.", "没有读取 {p} 的权限"),
    (r"(?:File|Directory|Path) (?P<p>'.*') is not writable\.", "没有写入 {p} 的权限"),
    (r"(?P<v>.*) is not one of (?P<c>.*)\.", "{v} 不是可选的值,应为 {c} 之一"),
    (r"(?P<v>.*) is not (?P<c>'[^']*')\.", "{v} 不是可选的值,应为 {c}"),
    (r"(?P<v>.*) is not a valid integer(?: range)?\.", "{v} 不是整数"),
    (r"(?P<v>.*) is not a valid float(?: range)?\.", "{v} 不是数字"),
    (r"(?P<v>.*) is not in the range (?P<r>.*)\.", "{v} 不在允许的范围 {r} 内"),
    (r"Option (?P<o>'.*') requires an argument\.", "选项 {o} 后面要跟一个值"),
    (r"Option (?P<o>'.*') requires (?P<n>\d+) arguments\.", "选项 {o} 后面要跟 {n} 个值"),
    (r"Option (?P<o>'.*') does not take a value\.", "选项 {o} 不带值"),
    (r"Got unexpected extra arguments? \((?P<a>.*)\)", "多余的参数: {a}"),
    (r"No such command (?P<c>'.*')\.", "没有命令 {c}"),
    (r"Missing command\.", "缺少命令"),
))


def translate(e: click.ClickException) -> tuple[str, str]:
    """(Chinese, English) for a click error; the English is click's own message."""
    en = e.format_message().rstrip(".")
    if isinstance(e, click.MissingParameter):
        kind = e.param_type or (e.param.param_type_name if e.param else "parameter")
        hint = _hint(e)
        what = {"argument": "参数", "option": "选项"}.get(kind, "参数")
        return f"缺少{what} {hint}".rstrip(), en
    if isinstance(e, click.BadParameter):
        hint = _hint(e)
        inner = getattr(e, "zh", None) or _sentence(e.message)
        if hasattr(e, "en"):
            en = f"invalid value for {hint}: {e.en}" if hint else f"invalid value: {e.en}"
        return (f"{hint} 的取值无效: {inner}" if hint else f"取值无效: {inner}"), en
    if hasattr(e, "zh"):
        return e.zh, getattr(e, "en", en)
    zh = _sentence(e.message)
    possibilities = getattr(e, "possibilities", None)
    if isinstance(e, click.NoSuchOption):
        zh = f"没有选项 {e.option_name!r}"
    if possibilities and (isinstance(e, click.NoSuchOption) or "command" in e.message):
        zh += f",是不是要用 {'、'.join(repr(p) for p in sorted(possibilities))}?"
    return zh, en


def _hint(e: click.BadParameter) -> str:
    hint: Sequence[str] | str | None = e.param_hint
    if hint is None and e.param is not None:
        hint = e.param.get_error_hint(e.ctx) if e.ctx is not None else e.param.name
    if hint is not None and not isinstance(hint, str):
        hint = " / ".join(repr(h) for h in hint)
    return hint or ""


_CJK = re.compile(r"[\u4e00-\u9fff]")


def _sentence(message: str) -> str:
    """click's English message in Chinese (a message of ours is Chinese already)."""
    if _CJK.search(message):
        return message
    for pattern, zh in _CLICK_ZH:
        m = pattern.fullmatch(message.strip())
        if m:
            return zh.format(**m.groupdict())
    return "命令行参数有误"
