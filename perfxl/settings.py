"""The user's perfxl settings: ``%USERPROFILE%\\.perfxl\\perfxl.conf`` (``~/.perfxl`` elsewhere).

One file for the ribbon and the command line alike. It is the settings file the add-in's
xlwings module reads (``"KEY","value"`` lines, VBA ``Write #`` format): ``INTERPRETER_WIN`` (the
Python Excel runs) and ``PERFXL_RULES``, the rules file in effect when no ``--rules`` is given, so
the ribbon's 校验 and ``perfxl validate`` give the same verdict on the same book.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from .files import write_bytes

PROJECT_NAME = "perfxl"
RULES_KEY = "PERFXL_RULES"


def user_config_file() -> Path:
    """``%USERPROFILE%\\.perfxl\\perfxl.conf``, the user settings the xlwings module reads."""
    home = os.environ.get("USERPROFILE") or str(Path.home())
    return Path(home) / f".{PROJECT_NAME}" / f"{PROJECT_NAME}.conf"


def read_config(path: Path | None = None) -> dict[str, str]:
    """The settings of a ``.conf`` file by upper-case key ({} when there is none)."""
    path = path or user_config_file()
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(",")
        if key.strip():
            out[key.strip().strip('"').upper()] = value.strip().strip('"')
    return out


def write_config(path: Path, settings: Mapping[str, str]) -> None:
    """Set ``settings`` in an xlwings ``.conf`` file, keeping its other lines."""
    lines = []
    if path.exists():
        wanted = {k.upper() for k in settings}
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            key = line.split(",", 1)[0].strip().strip('"').upper()
            if line.strip() and key not in wanted:
                lines.append(line)
    lines += [f'"{key}","{value}"' for key, value in settings.items()]
    # perfxl's own settings file, its other lines kept: replaced whole, atomically
    write_bytes(path, ("\r\n".join(lines) + "\r\n").encode("utf-8"), force=True)


def rules_file(explicit: str | Path | None = None) -> Path | None:
    """The rules file in effect: ``--rules``, else the environment's ``PERFXL_RULES``, else the
    user's settings file's ``PERFXL_RULES``; None for the built-in defaults."""
    if explicit is not None:
        return Path(explicit)
    for value in (os.environ.get(RULES_KEY), read_config().get(RULES_KEY)):
        if value:
            return Path(value)
    return None
