"""What a long job tells as it goes: the stage it begins (with how many things that stage
counts, when it knows) and each thing done. The jobs (pipeline.py) and the writers below them
call it; the CLI shows it as a progress bar on a terminal (cli.py); the default tells no one."""

from __future__ import annotations


class Progress:
    """Told nothing by default; a front end overrides both methods."""

    def stage(self, name: str, total: int | None = None) -> None:
        """A stage begins: ``name`` as users read it, ``total`` things to count (or None)."""

    def advance(self, n: int = 1) -> None:
        """``n`` more things of the current stage are done."""


QUIET = Progress()
