"""Where the command line writes: a folder whose files are checked before any work and opened safely.

Every command that writes files (``pkpd demo``, ``nca``, ``fit``, ``simulate``, ``trial``) names them up
front. Before anything is computed, the folder refuses:

- a folder path or a file path that is a symbolic link (never followed, even with ``force``);
- a file that exists, unless ``force`` (``--force``);
- a file that is one of the command's inputs (never overwritten, even with ``force``).

Files are then opened with ``O_NOFOLLOW`` (and ``O_EXCL`` without ``force``), so a link or a file created
between the check and the write is refused too.

Examples
--------
>>> import tempfile, pathlib
>>> folder = OutputFolder(pathlib.Path(tempfile.mkdtemp()) / "out", {"md": "report.md"})
>>> with folder.open("md") as fh:
...     _ = fh.write("# report")
>>> folder.files["md"].read_text()
'# report'
>>> OutputFolder(folder.path, {"md": "report.md"})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
FileExistsError: refusing to overwrite .../out/report.md (use --force to replace it)
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

__all__ = ["OutputFolder"]

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class OutputFolder:
    """A folder and the files a command will write into it, checked on creation.

    Parameters
    ----------
    path : path
        The folder (created, with its parents, by :meth:`open`).
    names : mapping
        Key -> file name inside the folder.
    force : bool
        Replace existing regular files (never links, never inputs).
    inputs : iterable of path
        The command's input files, which are never written over.
    """

    def __init__(self, path, names: Mapping[str, str], *, force: bool = False, inputs: Iterable = ()):
        self.path = Path(path)
        self.force = bool(force)
        self.inputs = tuple(Path(p) for p in inputs)
        if self.path.is_symlink():
            raise FileExistsError(f"output folder {self.path} is a symbolic link; give a real folder")
        if self.path.exists() and not self.path.is_dir():
            raise FileExistsError(f"output folder {self.path} exists and is not a folder")
        self.files = {key: self.path / name for key, name in names.items()}
        for file in self.files.values():
            self._check(file)

    def _check(self, file: Path) -> None:
        if file.is_symlink():
            raise FileExistsError(f"refusing to write {file}: it is a symbolic link")
        if not file.exists():
            return
        if not file.is_file():
            raise FileExistsError(f"refusing to write {file}: it exists and is not a regular file")
        for source in self.inputs:
            if source.exists() and os.path.samefile(file, source):
                raise FileExistsError(f"refusing to write {file}: it is the input file {source}")
        if not self.force:
            raise FileExistsError(f"refusing to overwrite {file} (use --force to replace it)")

    def open(self, key: str, binary: bool = False):
        """The file ``key`` opened for writing (text: UTF-8, no newline translation)."""
        if self.path.is_symlink():
            raise FileExistsError(f"output folder {self.path} is a symbolic link; give a real folder")
        self.path.mkdir(parents=True, exist_ok=True)
        file = self.files[key]
        self._check(file)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _NOFOLLOW | (0 if self.force else os.O_EXCL)
        try:
            fd = os.open(file, flags, 0o644)
        except FileExistsError:
            raise FileExistsError(f"refusing to overwrite {file} (use --force to replace it)") from None
        except OSError as err:
            raise OSError(f"cannot write {file}: {err.strerror}") from None
        return os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="")

    def write_text(self, key: str, text: str) -> Path:
        with self.open(key) as fh:
            fh.write(text)
        return self.files[key]

    def write_csv(self, key: str, frame, **kwargs) -> Path:
        with self.open(key) as fh:
            frame.to_csv(fh, **kwargs)
        return self.files[key]

    def save_figure(self, key: str, figure, **kwargs) -> Path:
        with self.open(key, binary=True) as fh:
            figure.savefig(fh, format=self.files[key].suffix.lstrip(".") or "png", **kwargs)
        return self.files[key]
