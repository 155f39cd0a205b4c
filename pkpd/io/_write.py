"""Writing a dataset as a NONMEM-style CSV file that :func:`read_nonmem` reads back unchanged."""

from __future__ import annotations

from ..errors import DatasetError
from ._nonmem import as_dataset
from ._table import MISSING_TEXT

__all__ = ["write_nonmem"]


def write_nonmem(data, path, missing: str = ".") -> None:
    """Write a dataset as a NONMEM-style CSV file that :func:`read_nonmem` reads back unchanged.

    Parameters
    ----------
    data : Dataset or DataFrame
        A Dataset, or a table that :func:`read_nonmem` accepts (it is validated first).
    path : str or Path
        The file to write (comma-separated, with a header line; floats written with full precision).
    missing : str
        How missing values are written: ``"."`` (NONMEM's convention) or ``""``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from pkpd.io import load_dataset, read_nonmem, write_nonmem
    >>> ds = load_dataset("indometacin")
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "indometacin.csv"
    >>> write_nonmem(ds, path)
    >>> print(path.read_text().splitlines()[0])
    ID,TIME,EVID,AMT,RATE,CMT,II,ADDL,SS,MDV,DV
    >>> read_nonmem(path) == ds
    True
    """
    if missing not in MISSING_TEXT:
        raise DatasetError(f"missing={missing!r}: expected '.' or '' (the values read_nonmem reads as missing)")
    ds = as_dataset(data)
    ds._events.to_csv(path, index=False, na_rep=missing, lineterminator="\n")
