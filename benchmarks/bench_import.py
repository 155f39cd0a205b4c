"""Time of ``import pkpd`` against importing numpy, scipy and pandas alone (issue 17, criterion 6).

Each import runs in a fresh interpreter, the two alternated (``baseline, pkpd, baseline, pkpd, ...``) so that both
see the same machine; the medians of ``--repeat`` runs each are printed with their ratio, and the median of the
pairs' ratios.

    python benchmarks/bench_import.py [--repeat 9]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

_TIMED = "import time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"


def seconds(stmt: str) -> float:
    """Wall time of ``stmt`` in a fresh interpreter."""
    return float(subprocess.run([sys.executable, "-c", _TIMED.format(stmt=stmt)], capture_output=True, text=True,
                                check=True).stdout)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args(argv)
    pairs = [(seconds("import numpy, scipy, pandas"), seconds("import pkpd")) for _ in range(args.repeat)]
    baseline, pkpd = (statistics.median(column) for column in zip(*pairs))
    ratio = statistics.median(p / b for b, p in pairs)
    print(f"import numpy, scipy, pandas: {baseline:.3f} s (median of {args.repeat}, alternated)")
    print(f"import pkpd:                 {pkpd:.3f} s (median of {args.repeat}); ratio of medians "
          f"{pkpd / baseline:.2f}, median of the pairs' ratios {ratio:.2f} (target: <= 0.7 s, <= 1.3)")


if __name__ == "__main__":
    main()
