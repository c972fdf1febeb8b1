"""The one error type for bad user input: it knows the file, line and field at fault."""
from __future__ import annotations


class InputError(ValueError):
    """Bad input (topology, config, option) that a user must fix.

    The message is one line, ``FILE:LINE: field 'NAME': what is wrong``, so the CLI can
    print it as it is and exit with status 2.
    """

    def __init__(self, reason: str, *, source: str | None = None, line: int | None = None,
                 field: str | None = None) -> None:
        self.reason = reason
        self.source = source
        self.line = line
        self.field = field
        super().__init__(self._format())

    def _format(self) -> str:
        where = ""
        if self.source is not None:
            where = str(self.source)
            if self.line is not None:
                where += f":{self.line}"
            where += ": "
        what = f"field '{self.field}': " if self.field else ""
        return " ".join(f"{where}{what}{self.reason}".split())

    def located(self, *, source: str | None = None, line: int | None = None) -> "InputError":
        """A copy of this error placed at ``source``/``line`` (keeps what is already known)."""
        return InputError(self.reason, source=self.source or source,
                          line=self.line if self.line is not None else line, field=self.field)
