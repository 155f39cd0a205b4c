"""``--out``: never overwrite without --force, never follow a symbolic link, never write over an input."""

import os

import pytest

import pkpd
from pkpd._internal.output import OutputFolder
from pkpd.cli import main


@pytest.fixture()
def data(tmp_path):
    path = tmp_path / "theo.csv"
    pkpd.write_nonmem(pkpd.load_dataset("theophylline").subject(1), path)
    return path


def one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    assert lines[0].startswith("pkpd: error: ")
    return lines[0]


def test_a_second_run_refuses_to_overwrite_and_force_replaces(data, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["nca", str(data), "--out", str(out), "--quiet"]) == 0
    (out / "nca.csv").write_text("kept")
    assert main(["nca", str(data), "--out", str(out), "--quiet"]) == 2
    line = one_error_line(capsys)
    assert f"refusing to overwrite {out / 'nca.csv'}" in line and "--force" in line
    assert (out / "nca.csv").read_text() == "kept"                 # refused before anything was written
    assert main(["nca", str(data), "--out", str(out), "--quiet", "--force"]) == 0
    assert (out / "nca.csv").read_text().startswith("ID,")


def test_a_symbolic_link_is_never_followed_even_with_force(data, tmp_path, capsys):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "out"
    out.mkdir()
    os.symlink(victim, out / "nca.md")
    for force in ([], ["--force"]):
        assert main(["nca", str(data), "--out", str(out), "--quiet", *force]) == 2
        assert f"refusing to write {out / 'nca.md'}: it is a symbolic link" in one_error_line(capsys)
    assert victim.read_text() == "precious" and not (out / "nca.csv").exists()
    linked = tmp_path / "linked"
    os.symlink(out, linked)
    assert main(["nca", str(data), "--out", str(linked), "--quiet", "--force"]) == 2
    assert f"output folder {linked} is a symbolic link" in one_error_line(capsys)


def test_the_input_file_is_never_written_over(data, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    source = out / "nca.csv"
    source.write_bytes(data.read_bytes())
    assert main(["nca", str(source), "--out", str(out), "--quiet", "--force"]) == 2
    assert f"it is the input file {source}" in one_error_line(capsys)
    assert source.read_bytes() == data.read_bytes()


def test_a_link_created_after_the_check_is_refused_at_the_write(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    folder = OutputFolder(tmp_path / "out", {"md": "report.md"}, force=True)
    folder.path.mkdir()
    os.symlink(victim, folder.files["md"])                    # a race: the link appears after the checks
    with pytest.raises(FileExistsError, match="symbolic link"):
        folder.write_text("md", "overwritten")
    os.remove(folder.files["md"])
    assert folder.write_text("md", "new").read_text() == "new"
    assert victim.read_text() == "precious"


@pytest.mark.parametrize("command", [["demo", "--n", "1"], ["simulate", "s.toml"], ["trial", "t.toml"],
                                     ["fit", "d.csv", "--model", "one_compartment_oral"]])
def test_every_writing_command_takes_force(command):
    from pkpd.cli.main import build_parser

    assert build_parser().parse_args([*command, "--force"]).force is True


def test_messages_escape_control_characters(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("ID,TIME,AMT,DV\n1,0,100,.\n1,\x1b[2J\x1b]0;owned\x07,0,5\n")
    assert main(["nca", str(bad), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    line = one_error_line(capsys)
    assert "\\x1b[2J\\x1b]0;owned\\x07" in line and "\x1b" not in line and "\x07" not in line
