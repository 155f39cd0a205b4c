"""``pkpd nca`` and ``pkpd fit`` read data files with NONMEM's IGNORE and extra missing-value tokens on request."""

import pandas as pd

from pkpd.cli import main

DATA = "ID,TIME,AMT,DV\nC this is a comment\n1,0,100,NA\n1,1,0,5\n1,2,0,4\n1,4,0,2.5\n1,8,0,1\n"


def test_ignore_and_na_values_reach_the_reader(tmp_path, capsys):
    path = tmp_path / "na.csv"
    path.write_text(DATA)
    assert main(["nca", str(path), "--out", str(tmp_path / "a"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("pkpd: error: na.csv line 2, column ID:") and "IGNORE=C" in err
    assert main(["nca", str(path), "--out", str(tmp_path / "b"), "--quiet", "--ignore", "#C"]) == 2
    assert "na.csv line 3, column DV: value 'NA'" in capsys.readouterr().err
    assert main(["nca", str(path), "--out", str(tmp_path / "c"), "--quiet", "--ignore", "#C",
                 "--na-values", "NA,NaN"]) == 0
    table = pd.read_csv(tmp_path / "c" / "nca.csv")
    assert table.loc[0, "CMAX"] == 5.0 and table.loc[0, "TLAST"] == 8.0
    assert main(["fit", str(path), "--model", "one_compartment_oral", "--out", str(tmp_path / "f"), "--quiet",
                 "--ignore", "#C", "--na-values", "NA"]) == 0
    assert (tmp_path / "f" / "estimates.csv").is_file()
