"""Output files that appear together or not at all, with the modes a plain ``open()`` gives.

A run that writes a JSON report, a CSV and a plot must not leave two of them behind when the
third fails. Each file is rendered into a hidden temporary beside its target, and only once
every one is rendered are they all renamed into place.
"""
from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from hwloop.traces import InputError

PathLike = str | os.PathLike[str]


class OutputFiles:
    """Targets written all or none. :meth:`add` renders one into a temporary file beside it,
    :meth:`commit` renames them all into place; leaving the ``with`` block without committing
    (an error, KeyboardInterrupt included) removes every temporary and touches no target.

    A ``label`` (the command-line option that named the file) turns an OSError while writing
    into an :class:`~hwloop.traces.InputError` on that option.
    """

    def __init__(self) -> None:
        self._pending: list[tuple[Path, Path, str | None]] = []  # (temporary, target, label)

    def __enter__(self) -> "OutputFiles":
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.discard()

    def reserve(self, target: PathLike, label: str | None = None) -> Path:
        """An empty temporary beside ``target`` for a writer that runs later (a trace the
        simulation records); it goes into place with the others on :meth:`commit`."""
        try:
            final = output_target(target)
        except ValueError as exc:
            if label is None:
                raise
            raise InputError(str(exc), field=label) from None
        try:
            fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp")
        except OSError as exc:
            raise _unwritable(exc, final, label) from None
        os.close(fd)
        self._pending.append((Path(tmp), final, label))
        return Path(tmp)

    def add(self, target: PathLike, render: Callable[[Path], object],
            label: str | None = None) -> None:
        """Render ``target`` now: ``render(temporary)`` writes the whole file."""
        tmp = self.reserve(target, label)
        try:
            render(tmp)
        except OSError as exc:
            raise _unwritable(exc, Path(target), label) from None

    def commit(self) -> None:
        """Rename every rendered temporary onto its target. Should a rename fail, the targets
        this commit created are removed again."""
        mask = _umask()
        created: list[Path] = []
        try:
            for tmp, final, _ in self._pending:
                os.chmod(tmp, _mode(final, mask))
            for tmp, final, label in self._pending:
                new = not os.path.lexists(final)
                try:
                    os.replace(tmp, final)
                except OSError as exc:
                    raise _unwritable(exc, final, label) from None
                if new:
                    created.append(final)
        except BaseException:
            for path in created:
                path.unlink(missing_ok=True)
            raise
        finally:
            self.discard()

    def discard(self) -> None:
        """Remove every temporary not yet in place."""
        for tmp, _, _ in self._pending:
            tmp.unlink(missing_ok=True)
        self._pending.clear()


def write_atomic(path: PathLike, text: str, label: str | None = None) -> None:
    """Write one text file all or nothing (see :class:`OutputFiles`)."""
    with OutputFiles() as files:
        files.add(path, lambda tmp: tmp.write_text(text), label)
        files.commit()


def output_target(path: PathLike) -> Path:
    """The file a plain ``open(path, "w")`` would write: ``path`` through its symbolic links.

    Raises ValueError for a stream or device (``/dev/stdout``, ``/proc/self/fd/1``, or a link
    to one): renaming a file onto it would replace whatever it stands for, not write into it.
    """
    current = os.path.abspath(path)
    for _ in range(40):  # the kernel's own limit on links followed
        if _special(current):
            raise ValueError(f"{os.fspath(path)!r} is a stream or device, not a file")
        if not os.path.islink(current):
            break
        current = os.path.join(os.path.dirname(current), os.readlink(current))
        current = os.path.abspath(current)
    final = os.path.realpath(current)
    if _special(final):
        raise ValueError(f"{os.fspath(path)!r} is a stream or device, not a file")
    return Path(final)


def _special(path: str) -> bool:
    """A device, stream, pipe or socket (or a name in ``/proc``, or a new name directly in
    ``/dev``); a file or folder on a tmpfs under ``/dev`` (``/dev/shm``) is ordinary."""
    if path in ("/dev", "/proc") or path.startswith("/proc/"):
        return True
    try:
        mode = os.stat(path).st_mode
    except OSError:  # a new file: only /dev itself holds device nodes
        return os.path.dirname(path) == "/dev"
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _mode(final: Path, mask: int) -> int:
    """An existing file keeps its mode (as ``open`` truncating it would); a new one gets
    0o666 less the umask (``mkstemp`` made the temporary 0o600)."""
    try:
        st = final.stat()
    except OSError:
        return 0o666 & ~mask
    return stat.S_IMODE(st.st_mode) if stat.S_ISREG(st.st_mode) else 0o666 & ~mask


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _unwritable(exc: OSError, path: Path, label: str | None) -> OSError | InputError:
    if label is None:
        return exc
    return InputError(f"cannot write {str(path)!r}: {exc.strerror or exc}", field=label)
