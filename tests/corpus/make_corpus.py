"""Write the dataset corpus: one small file per case in ``tests/corpus/files/`` (issue 15).

Each case is a NONMEM-style dataset as users have them -- commented-out headers, ``C`` records, NONMEM
table files, tab/semicolon/blank separators, CR or CRLF line ends, byte-order marks, UTF-16, Latin-1
headers, spreadsheets renamed ``.csv``, ``NA``/``#N/A``/``NULL`` tokens, 17-digit IDs, interleaved IDs,
duplicate columns, out-of-range compartments, numbers at the edge of double precision, ADDL = 1e8 ...
What each must give (accepted, with a few facts, or rejected at a line and column) is in
``manifest.toml``; ``tests/unit/test_dataset_corpus.py`` checks it and that this script reproduces the
files byte for byte. The files are written here, not by hand, because many are not plain text (an editor
or a git checkout could change their line ends, byte-order marks or encodings; ``.gitattributes`` keeps
git from doing so).

Usage: ``python tests/corpus/make_corpus.py [folder]`` (default: ``files/`` beside this script).
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _lines(*rows: str, end: str = "\n") -> bytes:
    return "".join(row + end for row in rows).encode("utf-8")


# a plain valid dataset: two subjects, oral dose then three samples each
PLAIN = ("ID,TIME,AMT,DV,CMT", "1,0,100,.,1", "1,1,0,2.5,2", "1,2,0,1.8,2", "1,4,0,0.9,2",
         "2,0,50,.,1", "2,1,0,1.2,2", "2,2,0,0.8,2", "2,4,0,0.4,2")
# the same, IV bolus (dose and samples in compartment 1) for the one-compartment model and nca
IV = ("ID,TIME,AMT,DV", "1,0,100,.", "1,1,0,8.2", "1,2,0,6.7", "1,4,0,4.5", "1,8,0,2.0",
      "2,0,50,.", "2,1,0,4.1", "2,2,0,3.4", "2,4,0,2.3", "2,8,0,1.0")


def _iv_with(row: int, text: str) -> bytes:
    """IV with one line (1-based file line number) replaced."""
    rows = list(IV)
    rows[row - 1] = text
    return _lines(*rows)


def cases() -> dict[str, bytes]:
    """File name -> bytes of every corpus case."""
    c: dict[str, bytes] = {}

    # ---- NONMEM's IGNORE conventions: comment lines, commented-out headers, C records, table files
    c["ignore_hash_comments.csv"] = _lines("# study 101, cohort A", "ID,TIME,AMT,DV", "# subject 1", *IV[1:6],
                                           "# subject 2", *IV[6:])
    c["ignore_hash_header.csv"] = _lines("#" + IV[0], *IV[1:])
    c["ignore_hash_header_blanks.txt"] = _lines("# ID   TIME   AMT    DV", "  1    0      100    .",
                                                "  1    1      0      8.2", "  1    2      0      6.7")
    c["ignore_hash_header_after_notes.csv"] = _lines("# exported 2024-05-01", "#ID,TIME,AMT,DV", *IV[1:])
    c["ignore_c_column_skipped.csv"] = _lines("C,ID,TIME,AMT,DV", ".,1,0,100,.", ".,1,1,0,8.2", "C,1,1.5,0,99",
                                              ".,1,2,0,6.7", "C,1,3,0,-1", ".,1,4,0,4.5")
    c["ignore_c_column_default.csv"] = c["ignore_c_column_skipped.csv"]
    c["ignore_c_comment_line.txt"] = _lines("ID TIME AMT DV", "1 0 100 .", "C  sample lost in transit",
                                            "1 2 0 6.7", "1 4 0 4.5")
    c["ignore_c_comment_line_skipped.txt"] = c["ignore_c_comment_line.txt"]
    table = ("TABLE NO.     1", " ID          TIME        AMT         DV          PRED",
             "  1.0000E+00  0.0000E+00  1.0000E+02  0.0000E+00  1.0000E+01",
             "  1.0000E+00  1.0000E+00  0.0000E+00  8.2000E+00  8.1873E+00",
             "TABLE NO.     1", " ID          TIME        AMT         DV          PRED",
             "  2.0000E+00  0.0000E+00  5.0000E+01  0.0000E+00  5.0000E+00",
             "  2.0000E+00  1.0000E+00  0.0000E+00  4.1000E+00  4.0937E+00")
    c["ignore_at_table_file.txt"] = _lines(*table)
    c["ignore_at_table_file_default.txt"] = _lines(*table)
    c["ignore_at_note_line.csv"] = _lines(*IV[:3], "@ dose 2 to follow", *IV[3:5])
    c["ignore_at_note_line_default.csv"] = c["ignore_at_note_line.csv"]
    c["ignore_no_header.csv"] = _lines(*IV[1:4])
    c["ignore_comments_count_in_line_numbers.csv"] = _lines("# header follows", "ID,TIME,AMT,DV", "", "1,0,100,.",
                                                            "# note", "", "1,1,0,8.2", "1,two,0,6.7")

    # ---- separators and line ends
    c["sep_tab_empty_fields.csv"] = _lines("ID\tTIME\tAMT\tDV\tWT", "1\t0\t100\t\t70", "1\t1\t\t8.2\t70",
                                           "1\t2\t\t6.7\t", "2\t0\t50\t\t82", "2\t1\t\t4.1\t82")
    c["sep_tab_short_rows.csv"] = _lines("ID\tTIME\tAMT\tDV\tWT", "1\t0\t100\t\t70", "1\t1\t\t8.2", "1\t2")
    c["sep_tab_empty_header_name.csv"] = _lines("ID\tTIME\t\tDV", "1\t0\t100\t.", "1\t1\t0\t8.2")
    c["sep_semicolon_decimal_comma.csv"] = _lines("ID;TIME;AMT;DV;WT", "1;0;100;;70,5", "1;0,5;;8,25;70,5",
                                                  "1;1,5;;6,7;70,5", "2;0;50;;82", "2;0,5;;4,1;82")
    c["sep_semicolon_decimal_point.csv"] = _lines("ID;TIME;AMT;DV", "1;0;100;.", "1;0.5;0;8.25", "1;1.5;0;6.7")
    c["sep_semicolon_thousands.csv"] = _lines("ID;TIME;AMT;DV", "1;0;1.000;", "1;0,5;;8,25", "1;1,5;;6,7")
    c["sep_blanks_nonmem.txt"] = _lines("ID TIME AMT DV", "1   0.0   100   .", "1   1.0     0   8.2",
                                        "1\t2.0\t0\t6.7", " 2   0.0    50   .", " 2   1.0     0   4.1")
    c["sep_quoted_fields.csv"] = _lines('"ID","TIME","AMT","DV","SITE"', '"1","0","100",".","Bern, CH"',
                                        '"1","1","0","8.2","Bern, CH"')
    c["sep_crlf.csv"] = _lines(*IV, end="\r\n")
    c["sep_cr_only.csv"] = _lines(*IV, end="\r")
    c["sep_cr_only_bad_value.csv"] = _iv_with(4, "1,2,0,abc").replace(b"\n", b"\r")
    c["sep_mixed_line_ends.csv"] = (_lines(*IV[:4], end="\r\n") + _lines(*IV[4:7], end="\n")
                                    + _lines(*IV[7:], end="\r"))
    c["sep_blank_spreadsheet_rows.csv"] = _lines(*IV[:6], ",,,", *IV[6:], ",,,", ",,,")
    c["sep_extra_field.csv"] = _iv_with(3, "1,1,0,8.2,7")

    # ---- encodings and files that are not text
    c["enc_utf8_bom.csv"] = b"\xef\xbb\xbf" + _lines(*IV)
    c["enc_utf8_bom_quoted.csv"] = b"\xef\xbb\xbf" + _lines('"ID","TIME","AMT","DV"', *IV[1:])
    text = "".join(row + "\r\n" for row in IV)
    c["enc_utf16le_bom.csv"] = b"\xff\xfe" + text.encode("utf-16-le")
    c["enc_utf16be_bom.csv"] = b"\xfe\xff" + text.encode("utf-16-be")
    c["enc_utf16le_no_bom.csv"] = text.encode("utf-16-le")
    c["enc_utf32_bom.csv"] = b"\xff\xfe\x00\x00" + text.encode("utf-32-le")
    c["enc_latin1_header.csv"] = "\n".join(["ID,TIME,AMT,DV,Größe_cm,Dosis_µg"] + [
        r + (",172,100000" if r.split(",")[0] == "1" else ",165,50000") for r in IV[1:]]).encode("latin-1") + b"\n"
    c["enc_cp1252_header.csv"] = "\n".join(["ID,TIME,AMT,DV,Kosten_€"] + [r + ",12" for r in IV[1:]]).encode("cp1252")
    c["enc_xlsx_renamed.csv"] = (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + b"[Content_Types].xml"
                                 + bytes(range(64)))
    c["enc_xls_renamed.csv"] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    c["enc_gzip_renamed.csv"] = gzip.compress(_lines(*IV), mtime=0)
    c["enc_sas_xport_renamed.csv"] = (b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!000000000000000000000000000000"
                                      + b"  SAS     SAS     SASLIB  9.4     X64_10PR" + bytes(40))
    c["enc_nul_bytes.csv"] = _lines(*IV[:3]) + b"1,2,0,6\x007\n" + _lines(*IV[4:6])

    # ---- missing-value tokens
    c["na_dv_na.csv"] = _iv_with(4, "1,2,0,NA")
    c["na_dv_na_listed.csv"] = c["na_dv_na.csv"]
    c["na_dv_excel_na.csv"] = _iv_with(5, "1,4,0,#N/A")
    c["na_dv_excel_na_listed.csv"] = c["na_dv_excel_na.csv"]
    c["na_wt_null.csv"] = _lines("ID,TIME,AMT,DV,WT", "1,0,100,.,70", "1,1,0,8.2,NULL", "1,2,0,6.7,70")
    c["na_wt_null_listed.csv"] = c["na_wt_null.csv"]
    c["na_dv_nan_text.csv"] = _iv_with(3, "1,1,0,NaN")
    c["na_amt_nan_text_listed.csv"] = _iv_with(3, "1,1,NaN,8.2")
    c["na_wt_minus99_listed.csv"] = _lines("ID,TIME,AMT,DV,WT", "1,0,100,.,-99", "1,1,0,8.2,-99.0", "2,0,50,.,82",
                                           "2,1,0,4.1,82")
    c["na_dv_div0.csv"] = _iv_with(4, "1,2,0,#DIV/0!")
    c["na_id_na.csv"] = _iv_with(7, "NA,0,50,.")
    c["na_cmt_null.csv"] = _lines(*PLAIN[:3], "1,2,0,1.8,NULL", *PLAIN[4:])
    c["na_dv_text_blq.csv"] = _iv_with(9, "2,4,0,<LLOQ")
    c["na_dot_and_empty.csv"] = _lines("ID,TIME,AMT,DV,WT", "1,0,100,.,70", "1,1,,8.2,", "1,2,.,6.7,.")

    # ---- IDs
    c["id_17_digits.csv"] = _lines("ID,TIME,AMT,DV", "12345678901234567,0,100,.", "12345678901234567,1,0,8.2",
                                   "12345678901234568,0,50,.", "12345678901234568,1,0,4.1")
    c["id_19_digits.csv"] = _lines("ID,TIME,AMT,DV", "9223372036854775806,0,100,.", "9223372036854775806,1,0,8.2",
                                   "9223372036854775807,0,50,.", "9223372036854775807,1,0,4.1")
    c["id_20_digits.csv"] = _lines("ID,TIME,AMT,DV", "12345678901234567890,0,100,.", "12345678901234567890,1,0,8.2",
                                   "12345678901234567891,0,50,.", "12345678901234567891,1,0,4.1")
    c["id_text.csv"] = _lines("ID,TIME,AMT,DV", "PAT-001,0,100,.", "PAT-001,1,0,8.2", "PAT-002,0,50,.",
                              "PAT-002,1,0,4.1")
    c["id_leading_zeros.csv"] = _lines("ID,TIME,AMT,DV", "001,0,100,.", "001,1,0,8.2", "002,0,50,.", "002,1,0,4.1")
    c["id_interleaved.csv"] = _lines("ID,TIME,AMT,DV", "1,0,100,.", "1,1,0,8.2", "2,0,50,.", "2,1,0,4.1",
                                     "1,24,100,.", "1,25,0,8.0")
    c["id_unsorted_contiguous.csv"] = _lines("ID,TIME,AMT,DV", "3,0,100,.", "3,1,0,8.2", "1,0,50,.", "1,1,0,4.1",
                                             "2,0,80,.", "2,1,0,6.5")
    c["id_missing.csv"] = _iv_with(3, ",1,0,8.2")

    # ---- columns
    c["col_duplicate_exact.csv"] = _lines("ID,TIME,AMT,DV,DV", "1,0,100,.,.", "1,1,0,8.2,8.2")
    c["col_duplicate_case.csv"] = _lines("ID,TIME,AMT,DV,WT,wt", "1,0,100,.,70,70", "1,1,0,8.2,70,70")
    c["col_lowercase.csv"] = _lines("id,time,amt,dv,evid,mdv", "1,0,100,.,1,1", "1,1,0,8.2,0,0", "1,2,0,6.7,0,0",
                                    "1,4,0,4.5,0,0")
    c["col_missing_time.csv"] = _lines("ID,T,AMT,DV", "1,0,100,.", "1,1,0,8.2")
    c["col_cmt_negative.csv"] = _lines(*PLAIN[:3], "1,2,0,1.8,-2", *PLAIN[4:])
    c["col_cmt_beyond_model.csv"] = _lines("ID,TIME,AMT,DV,CMT", *(row + (",9" if line == 4 else ",1")
                                                                   for line, row in enumerate(IV[1:], start=2)))
    c["col_cmt_dose_beyond_model.csv"] = _lines("ID,TIME,AMT,DV,CMT", "1,0,100,.,3", "1,1,0,8.2,1", "1,2,0,6.7,1")
    c["col_cmt_names.csv"] = _lines("ID,TIME,AMT,DV,CMT", "1,0,100,.,DEPOT", "1,1,0,2.5,CENTRAL",
                                    "1,2,0,1.8,central")
    c["col_evid_7.csv"] = _lines("ID,TIME,EVID,AMT,DV", "1,0,1,100,.", "1,1,0,0,8.2", "1,2,7,0,.", "1,4,0,0,4.5")
    c["col_amt_negative.csv"] = _iv_with(6, "2,0,-50,.")
    c["col_empty_name.csv"] = _lines("ID,TIME,,DV", "1,0,100,.", "1,1,0,8.2")

    # ---- numbers at the edge of double precision
    c["num_amt_1e309.csv"] = _iv_with(2, "1,0,1e309,.")
    c["num_dv_inf.csv"] = _iv_with(4, "1,2,0,inf")
    c["num_dv_minus_infinity.csv"] = _iv_with(4, "1,2,0,-Infinity")
    c["num_ii_overflow.csv"] = _lines("ID,TIME,AMT,II,ADDL,DV", "1,0,100,1e400,2,.", "1,1,0,0,0,8.2")
    c["num_wt_inf.csv"] = _lines("ID,TIME,AMT,DV,WT", "1,0,100,.,70", "1,1,0,8.2,inf")
    c["num_time_1e308.csv"] = _lines("ID,TIME,AMT,DV", "1,0,100,.", "1,1,0,8.2", "1,2,0,6.7", "1,1e308,0,0.001")
    c["num_dv_1e308.csv"] = _lines("ID,TIME,AMT,DV", "1,0,100,.", "1,1,0,1e308", "1,2,0,1.5e308", "1,4,0,1e308",
                                   "1,8,0,5e307")
    c["num_amt_1e308_twice.csv"] = _lines("ID,TIME,AMT,DV", "1,0,1e308,.", "1,1,0,8.2", "1,2,1e308,.", "1,4,0,4.5")
    c["num_time_text.csv"] = _iv_with(3, "1,1h,0,8.2")
    c["num_fullwidth_digits.csv"] = _iv_with(3, "1,\uff11,0,8.2")

    # ---- resource bounds
    c["res_addl_1e8.csv"] = _lines("ID,TIME,AMT,II,ADDL,DV", "1,0,100,12,100000000,.", "1,6,0,0,0,1.1",
                                   "1,24,0,0,0,1.9", "1,48,0,0,0,2.2")
    c["res_addl_1e8_infusion.csv"] = _lines("ID,TIME,AMT,RATE,II,ADDL,DV", "1,0,100,50,24,100000000,.",
                                            "1,1,0,0,0,0,1.6", "1,30,0,0,0,0,1.2", "1,72,0,0,0,0,0.4")
    c["res_addl_1e8_two_subjects.csv"] = _lines("ID,TIME,AMT,II,ADDL,DV", "1,0,100,12,100000000,.", "1,24,0,0,0,1.9",
                                                "2,0,100,24,100000000,.", "2,1,0,0,0,2.0", "2,2400,0,0,0,3.0")
    c["res_addl_1e12_far.csv"] = _lines("ID,TIME,AMT,II,ADDL,DV", "1,0,100,1,1000000000000,.", "1,6,0,0,0,1.1",
                                        "1,1000000000000,0,0,0,2.2")
    return c


def write(folder: Path) -> list[Path]:
    """Write every case into ``folder`` (created if needed); returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in cases().items():
        path = folder / name
        path.write_bytes(data)
        paths.append(path)
    return paths


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "files"
    written = write(target)
    print(f"wrote {len(written)} files to {target}")
