"""Reading: a text file or a DataFrame -> the named columns of a :class:`_Table`, one row per record.

A file is decoded (UTF-8/16/32, Windows-1252), split into lines, its header located (also one commented out
for NONMEM), its separator found and its records read as text columns; a DataFrame gives its columns as they
are. Also the options ``ignore=`` and ``na_values=`` of :func:`read_nonmem`. The cells are parsed in
:mod:`._cells`.
"""

from __future__ import annotations

import csv
import io
import math
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DatasetError
from ._table import _DECIMAL_COMMA, _NUMBER, MISSING_TEXT, STANDARD, _factorize, _Table

# characters that make up a line without content: whitespace and the separators (",,,," is a blank
# spreadsheet row, not a record)
_NOT_CONTENT = " \t,;\x0b\x0c"
_BLANKS = " \t\x0b\x0c"  # what may precede a comment mark (as in the pattern of _skipped_line)
_BLANK_RUN = re.compile(r"[ \t]+")
#: The first bytes of binary files often renamed ``.csv``, what they are, and what to do instead.
_SIGNATURES = (
    (b"PK\x03\x04", "a ZIP archive, as an Excel .xlsx or OpenDocument .ods workbook",
     "save the sheet as CSV in the spreadsheet program, or read it with pandas.read_excel and pass the DataFrame"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an OLE2 compound document, as a legacy Excel .xls workbook",
     "save the sheet as CSV in the spreadsheet program, or read it with pandas.read_excel and pass the DataFrame"),
    (b"HEADER RECORD*******LIBRARY HEADER RECORD", "a SAS transport (XPORT) file",
     "read it with pandas.read_sas and pass the DataFrame"),
    (b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xc2\xea\x81\x60\xb3\x14\x11\xcf", "a SAS dataset (.sas7bdat)",
     "read it with pandas.read_sas and pass the DataFrame"),
    (b"\x1f\x8b", "a gzip-compressed file", "decompress it first"),
    (b"%PDF", "a PDF document", "export the table as CSV"),
    (b"PAR1", "a Parquet file", "read it with pandas.read_parquet and pass the DataFrame"),
    (b"SQLite format 3\x00", "an SQLite database", "export the table as CSV"),
    (b"{\\rtf", "an RTF document", "export the table as CSV"),
)
_PANDAS_MAJOR = int(pd.__version__.split(".")[0])


# ---------------------------------------------------------------------------------------------
# options
# ---------------------------------------------------------------------------------------------
def _ignore_option(ignore) -> frozenset[str]:
    if ignore is None:
        return frozenset()
    items = list(ignore) if isinstance(ignore, str) else ignore
    try:
        chars = list(items)
    except TypeError:
        chars = None
    if chars is None or not all(isinstance(c, str) and len(c) == 1 and not c.isspace() for c in chars):
        raise DatasetError(f"ignore={ignore!r}: expected comment characters such as '#' (the default), '@' or 'C', "
                           "as a string ('#C') or a sequence of one-character strings")
    return frozenset(chars)


def _na_option(na_values) -> tuple[frozenset[str], frozenset[float]]:
    if na_values is None:
        na_values = ()
    items = [na_values] if isinstance(na_values, (str, int, float)) else na_values
    try:
        items = list(items)
    except TypeError:
        items = None
    ok = items is not None and all(
        (isinstance(v, str) and v.strip() == v and v) or (isinstance(v, (int, float, np.integer, np.floating))
                                                          and not isinstance(v, bool) and math.isfinite(v))
        for v in items)
    if not ok:
        raise DatasetError(f"na_values={na_values!r}: expected missing-value tokens such as ('NA',) or ('#N/A', -99): "
                           "non-empty strings without surrounding blanks, or finite numbers")
    texts = {str(v) for v in items if isinstance(v, str)}
    numbers = {float(v) for v in items if not isinstance(v, str)}
    numbers |= {float(t) for t in texts if _NUMBER.fullmatch(t) and math.isfinite(float(t))}
    texts |= {repr(int(v)) if float(v).is_integer() else repr(float(v)) for v in items if not isinstance(v, str)}
    return MISSING_TEXT | texts, frozenset(numbers)


# ---------------------------------------------------------------------------------------------
# loading: file or DataFrame -> named columns + source lines
# ---------------------------------------------------------------------------------------------
def _load(data, id_column, ignore_chars, missing, missing_numbers) -> _Table:
    decimal_comma = from_text = False
    if isinstance(data, pd.DataFrame):
        names = [str(c) for c in data.columns]
        if len(data) == 0:
            raise DatasetError(f"the DataFrame has no rows; expected records with columns {', '.join(names) or 'ID, TIME, ...'}")
        columns = [column for _, column in data.items()]  # views: never modified
        lines, source, header = np.arange(1, len(data) + 1), None, "DataFrame columns"
    elif isinstance(data, (str, Path)):
        names, columns, lines, source, header, decimal_comma = _read_file(Path(data), ignore_chars, id_column, missing)
        from_text = True
    else:
        raise DatasetError(f"read_nonmem takes a CSV file path or a DataFrame, not {type(data).__name__}")
    original = names
    names = _normalise_names(names, id_column, header)
    table = _Table(dict(zip(names, columns)), lines, source, header, missing, missing_numbers, decimal_comma, from_text)
    # a DataFrame's rows are never skipped: a C (or @) row there is always an error
    _check_c_records(table, original[0], ignore_chars if from_text else frozenset())
    return table


def _comment_mark(field) -> str:
    """'C' or '@' when a record's first field marks it as a comment under NONMEM's IGNORE=C or IGNORE=@, else ''.

    ``C`` alone or followed by blanks and text (a comment line of a comma-separated file is one field), or
    anything starting with ``@``; a text ID such as ``CTL-01`` is no mark."""
    if not isinstance(field, str):
        return ""
    text = field.lstrip()
    if text == "C" or text[:2] in ("C ", "C\t"):
        return "C"
    return "@" if text[:1] == "@" else ""


def _check_c_records(table: _Table, first: str, ignore_chars):
    """NONMEM's IGNORE=C and IGNORE=@: a record marked so is left out by NONMEM only with that option, so
    without it the record is an error here (reading it as data would keep what was meant to be left out)."""
    if not table.columns:
        return
    series = next(iter(table.columns.values()))
    if pd.api.types.is_numeric_dtype(series.dtype):
        return
    codes, uniques = _factorize(series)
    marks = [_comment_mark(v) for v in uniques]
    bad = np.array([bool(m) and m not in ignore_chars for m in marks] + [False], dtype=bool)[codes]
    if bad.any():
        values = series.to_numpy(dtype=object)
        mark = marks[codes[int(np.argmax(bad))]]
        how = (f"ignore='#{mark}' to skip the records starting with {mark}, as NONMEM's IGNORE={mark}" if table.source
               else f"the rows marked {mark} dropped before reading (NONMEM's IGNORE={mark})")
        table.fail(bad, first, values, f"marks a record that NONMEM skips only with IGNORE={mark}", how)


def _decode(raw: bytes, source: str) -> str:
    """The text of a file: UTF-8/16/32 by byte-order mark, BOM-less UTF-16 by its zeros, else UTF-8 or Windows-1252."""
    for magic, what, advice in _SIGNATURES:
        if raw.startswith(magic):
            raise DatasetError(f"{source} line 1, column 1: value {raw[:len(magic)][:8]!r} begins {what}, not text; "
                               f"expected a text file of values separated by commas, tabs, semicolons or blanks: {advice}")
    encoding = None
    if raw.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        encoding = "utf-32"
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    elif len(raw) >= 4 and b"\x00" in raw[:200]:
        head = raw[:200 - 200 % 2]
        even, odd = head[0::2], head[1::2]
        if odd.count(0) >= 0.9 * len(odd) and even.count(0) <= 0.1 * len(even):
            encoding = "utf-16-le"  # ASCII text written as UTF-16 without a byte-order mark
        elif even.count(0) >= 0.9 * len(even) and odd.count(0) <= 0.1 * len(odd):
            encoding = "utf-16-be"
    if encoding:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as err:
            line = raw[:err.start].decode(encoding, errors="replace").count("\n") + 1
            raise DatasetError(f"{source} line {line}: bytes {raw[err.start:err.start + 4]!r} are not valid {encoding.upper()} "
                               f"({err.reason}); expected a text file in one encoding") from None
    else:
        body = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            try:  # what Excel and older tools on Windows write ("latin-1" headers: Größe, µg/mL)
                text = body.decode("cp1252")
            except UnicodeDecodeError:
                text = body.decode("latin-1")
    text = text.lstrip("\ufeff")
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        at = nul - text.rfind("\n", 0, nul)
        raise DatasetError(f"{source} line {line}: character {at} of the line is a NUL byte, as in binary files, "
                           "not text; expected a text file of values separated by commas, tabs, semicolons or blanks")
    return text


def _read_file(path: Path, ignore_chars, id_column, missing):
    """-> (names, columns, file line of each record, file name, header location, decimal comma)."""
    source = path.name
    text = _decode(path.read_bytes(), source)
    # CRLF (Windows) and lone CR (classic Mac OS, some Excel exports) both end a line
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    header_i, head, records = _locate(lines, ignore_chars, id_column, source)
    header = f"{source} line {header_i + 1} (header)"
    sep = _separator(head)
    names = _header_names(head, sep, header, has_records=bool(records))
    id_j = _normalise_names(names, id_column, header).index("ID") if _has_id(names, id_column) else None
    contiguous = bool(records) and records[-1] - records[0] == len(records) - 1
    body = "\n".join(lines[records[0]:records[-1] + 1] if contiguous else [lines[i] for i in records])
    file_lines = np.asarray(records, dtype=np.int64) + 1
    # A semicolon-separated file with a comma between digits anywhere is from a decimal-comma locale: every
    # number is then parsed here (a "." in it is ambiguous). Otherwise pandas parses the numbers, with only
    # NONMEM's missing values (and na_values) as missing: "NA", "NaN", "nan" stay text, for an error here.
    decimal_comma = sep == ";" and re.search(r"[0-9],[0-9]", body) is not None
    options = dict(header=None, names=list(range(len(names))), index_col=False, keep_default_na=False,
                   na_values=sorted(missing), skip_blank_lines=False, low_memory=False)
    # IDs as text, parsed here: through float64 two 17-digit IDs could merge
    options["dtype"] = str if decimal_comma else ({id_j: str} if id_j is not None else None)
    if _PANDAS_MAJOR < 3:
        options["float_precision"] = "round_trip"
    if sep is None:
        options.update(sep=r"\s+")
    else:  # a tab always separates: two tabs hold an empty (missing) field, as spreadsheets write them
        options.update(sep=sep, skipinitialspace=sep != "\t")
    try:
        with warnings.catch_warnings():
            # extra fields on the first record only warn ("loss of data"): make that an error too
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(io.StringIO(body), **options)
    except (pd.errors.ParserError, pd.errors.ParserWarning, csv.Error, ValueError) as err:
        _raise_field_count(lines, records, len(names), sep, source, err)
    if len(frame) != len(file_lines):
        raise DatasetError(
            f"{source}: read {len(frame)} records from {len(file_lines)} data lines; expected one record per line "
            "(no line breaks inside quoted fields)"
        )
    return names, [frame.iloc[:, j] for j in range(len(names))], file_lines, source, header, decimal_comma


def _has_id(names, id_column) -> bool:
    keys = {n.strip().upper() for n in names}
    return "ID" in keys or (id_column is not None and (id_column in names or str(id_column).strip().upper() in keys))


def _skipped_line(ignore_chars) -> re.Pattern:
    """Finds a blank or comment line (the same lines as :func:`_is_blank` and :func:`_is_comment`)."""
    # searched in "\n" + text + "\n": every alternative starts with a newline, which the engine finds fast
    marks = "".join(re.escape(c) for c in sorted(ignore_chars))
    first = "|".join(([f"[{marks}]"] if marks else []) + (["[^\\W\\d_]"] if "@" in ignore_chars else []))
    return re.compile(r"\n[ \t\x0b\x0c,;]*\n" + (rf"|\n[ \t\x0b\x0c]*(?:{first})" if first else ""))


def _is_blank(line: str) -> bool:
    return not line.strip(_NOT_CONTENT)


def _is_comment(line: str, chars) -> bool:
    s = line.lstrip(_BLANKS)
    return bool(s) and (s[0] in chars or ("@" in chars and s[0].isalpha()))


def _separator(line: str):
    """The field separator of a line: the most frequent of comma, tab and semicolon; None (blanks) if none."""
    counts = {sep: line.count(sep) for sep in (",", "\t", ";")}
    best = max(counts, key=counts.get)
    return best if counts[best] else None


def _split(line: str, sep) -> list[str]:
    if sep is None:  # blanks as pandas' whitespace separator sees them: spaces and tabs only
        return _BLANK_RUN.split(line.strip(" \t")) if line.strip(" \t") else []
    return [f.strip() for f in next(csv.reader([line], delimiter=sep, skipinitialspace=True), [])]


def _is_number_text(text: str, decimal_comma: bool = True) -> bool:
    return bool(_NUMBER.fullmatch(text) or (decimal_comma and _DECIMAL_COMMA.fullmatch(text)))


def _known_name(name: str, id_column) -> bool:
    key = name.strip().upper()
    return key in STANDARD or (id_column is not None and key == str(id_column).strip().upper())


def _looks_like_record(line: str, id_column) -> bool:
    """A line with a number (or '.') among its fields and no column name: data, not a header."""
    try:
        fields = _split(line, _separator(line))
    except csv.Error:
        return False
    return (not any(_known_name(f, id_column) for f in fields)
            and any(f == "." or _is_number_text(f) for f in fields))


def _header_forms(line: str, ignore_chars) -> list[str]:
    """Ways a skipped line may hold the header: '#ID,TIME' -> 'ID,TIME'; 'C,ID,TIME' as is; 'C ID TIME' -> 'ID TIME'."""
    s = line.strip()
    forms = [s.lstrip("#@").strip(), s]
    first = _split(s, _separator(s))[:1] if s else []
    if first and first[0] in ignore_chars:
        rest = s[s.index(first[0]) + len(first[0]):].lstrip().lstrip(",;\t").strip()
        forms.append(rest)
    return [f for f in dict.fromkeys(forms) if f]


def _header_names_of(form: str, id_column):
    try:
        names = _split(form, _separator(form))
    except csv.Error:
        return None
    if (not names or not all(names) or not any(_known_name(n, id_column) for n in names)
            or any(_is_number_text(n) for n in names)):
        return None
    return names


def _locate(lines, ignore_chars, id_column, source):
    """0-based index of the header line, its text, and the 0-based indexes of the record lines.

    The header is the first line that is neither blank nor a comment, unless that line is a record: then it
    is the nearest comment line before it that names the columns (a header commented out for NONMEM)."""
    comments = []
    first = None
    for i, line in enumerate(lines):
        if _is_blank(line):
            continue
        if _is_comment(line, ignore_chars):
            comments.append(i)
            continue
        first = i
        break
    if first is None:
        raise DatasetError(f"{source} line 1: the file is empty (no line besides blank and comment lines); "
                           "expected a header line naming the columns (ID, TIME, AMT, DV, ...)")
    if _looks_like_record(lines[first], id_column):
        n_fields = len(_split(lines[first], _separator(lines[first])))
        found = None
        for i in reversed(comments):
            candidates = [(form, names) for form in _header_forms(lines[i], ignore_chars)
                          if (names := _header_names_of(form, id_column))]
            exact = [c for c in candidates if len(c[1]) == n_fields]
            if exact or candidates:
                found = (i, (exact or candidates)[0][0])
                break
        if found is None and lines[first].strip().upper().startswith("TABLE NO."):
            raise DatasetError(
                f"{source} line {first + 1}, column 1: value {lines[first].strip()[:60]!r} starts a NONMEM table file; "
                "expected ignore='@' to skip its 'TABLE NO.' and header lines (NONMEM's IGNORE=@), or a plain header line")
        if found is None:
            raise DatasetError(
                f"{source} line {first + 1}, column 1: value {lines[first].strip()[:60]!r} is a record, but no header "
                "line comes before it; expected a header line naming the columns (ID, TIME, AMT, DV, ...) first, "
                "plain or commented out as '#ID,TIME,AMT,DV'")
        header_i, head = found
    else:
        header_i = first
        head = lines[first].strip()
        if head[:1] in ("#", "@"):  # '#ID TIME ...' read with ignore='' (or '@ID'): the mark is no part of a name
            head = head.lstrip("#@").strip()
    last = len(lines)
    while last > header_i + 1 and not lines[last - 1].strip(_NOT_CONTENT):
        last -= 1
    if not _skipped_line(ignore_chars).search("\n" + "\n".join(lines[header_i + 1:last]) + "\n"):
        return header_i, head, list(range(header_i + 1, last))  # fast path: every line a record
    letters = "@" in ignore_chars
    records = []
    for i in range(header_i + 1, len(lines)):  # inline: this loop runs once per line of a large file
        line = lines[i]
        if line.strip(_NOT_CONTENT):
            c = line.lstrip(_BLANKS)[0]
            if not (c in ignore_chars or (letters and c.isalpha())):
                records.append(i)
    return header_i, head, records


def _header_names(head: str, sep, header: str, has_records: bool) -> list[str]:
    try:
        names = _split(head, sep)
    except csv.Error as err:
        raise DatasetError(f"{header}, column 1: value {head[:60]!r} cannot be split into column names ({err}); "
                           "expected names separated by commas, tabs, semicolons or blanks") from None
    if not has_records:
        raise DatasetError(f"{header}: the file has a header ({', '.join(names)}) but no records; expected data lines after it")
    empty = [j for j, n in enumerate(names) if not n]
    if empty:
        raise DatasetError(f"{header}, column {empty[0] + 1}: value '' is an empty column name; expected a name for every column")
    return names


def _raise_field_count(lines, records, n_names, sep, source, err):
    """Find the first data line with more fields than the header (slow path, on a parse error only)."""
    for i in records:
        line = lines[i]
        try:
            fields = _split(line, None) if sep is None else next(csv.reader([line], delimiter=sep, skipinitialspace=sep != "\t"), [])
        except csv.Error:
            fields = None
        if fields is None or len(fields) > n_names:
            got = "unparseable" if fields is None else f"{len(fields)} fields"
            mark = _comment_mark(fields[0] if fields else line)
            hint = f", or ignore='#{mark}' if it is a comment (NONMEM's IGNORE={mark})" if mark else ""
            raise DatasetError(
                f"{source} line {i + 1}, column {n_names + 1}: value {line[:60]!r} has {got}; expected at most {n_names} fields as in the header{hint}"
            ) from None
    reason = " ".join(str(err).split())  # one line
    raise DatasetError(f"{source}: the file could not be parsed as CSV ({reason}); expected a header line and one record per line") from None


def _first_duplicate(names):
    seen = {}
    for j, name in enumerate(names):
        key = name.strip().upper()
        if key in seen:
            return seen[key], (j, name)
        seen[key] = (j, name)
    return None


def _normalise_names(names, id_column, header):
    dup = _first_duplicate(names)
    if dup:
        (j0, a), (j1, b) = dup
        if a == b:
            raise DatasetError(f"{header}, column {b}: duplicate column name ({a!r} is both column {j0 + 1} and "
                               f"column {j1 + 1}); expected unique names")
        raise DatasetError(
            f"{header}, column {b}: duplicate column name ({a!r} and {b!r} are the same after case-folding); expected unique names"
        )
    out = [n.strip().upper() if n.strip().upper() in STANDARD else n for n in names]
    if id_column is not None:
        matches = [j for j, n in enumerate(names) if n == id_column] or [
            j for j, n in enumerate(names) if n.strip().upper() == str(id_column).strip().upper()
        ]
        if not matches:
            raise DatasetError(f"{header}: id_column {id_column!r} is not a column; the columns are {', '.join(names)}")
        j = matches[0]
        if "ID" in out and out.index("ID") != j:
            raise DatasetError(
                f"{header}, column ID: both {names[out.index('ID')]!r} and id_column {id_column!r} would be the ID column; expected one"
            )
        out[j] = "ID"
    return out
