"""Time of ``import pkpd`` against importing numpy, scipy and pandas alone (issue 17, criterion 6).

Each import runs in a fresh interpreter; the median of ``--repeat`` runs is printed with the ratio.

    python benchmarks/bench_import.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

_TIMED = "import time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"


def seconds(stmt: str, repeat: int) -> float:
    """Median wall time of ``stmt`` in ``repeat`` fresh interpreters."""
    runs = [float(subprocess.run([sys.executable, "-c", _TIMED.format(stmt=stmt)], capture_output=True, text=True,
                                 check=True).stdout) for _ in range(repeat)]
    return statistics.median(runs)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    baseline = seconds("import numpy, scipy, pandas", args.repeat)
    pkpd = seconds("import pkpd", args.repeat)
    print(f"import numpy, scipy, pandas: {baseline:.3f} s (median of {args.repeat})")
    print(f"import pkpd:                 {pkpd:.3f} s (median of {args.repeat}); ratio {pkpd / baseline:.2f}")


if __name__ == "__main__":
    main()
