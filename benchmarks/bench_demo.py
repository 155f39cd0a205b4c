"""``pkpd demo`` as a whole process, warm and cold (issue 17, Done-when 3: < 5 s warm, < 20 s cold).

Each run is a fresh interpreter (``python -m pkpd.cli demo --out <tmp> --force --quiet``):

- **warm**: compiled kernels cached (one warm-up run first); median of ``--repeat`` runs;
- **cold**: empty caches -- pkpd's kernel cache (``PKPD_CACHE_DIR``) and numba's (``NUMBA_CACHE_DIR``) in new
  temporary folders -- so every kernel is compiled; one run (``--no-cold`` skips it);
- **baseline**, in the same process of measurement: a fresh interpreter importing numpy, scipy, pandas and
  matplotlib's pyplot (the floor any such script pays), median of ``--repeat`` runs.

Run: ``python benchmarks/bench_demo.py [--repeat 5] [--no-cold]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def seconds(args, env=None) -> float:
    """Wall time of one fresh interpreter running ``args``."""
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-cold", action="store_true", help="skip the cold run (it compiles every kernel)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        demo = ["-m", "pkpd.cli", "demo", "--out", os.path.join(tmp, "out"), "--force", "--quiet"]
        seconds(demo)                                         # warm-up: kernels compiled or loaded once
        warm, baseline = [], []
        for _ in range(args.repeat):                          # alternated: both see the same machine
            warm.append(seconds(demo))
            baseline.append(seconds(["-c", "import numpy, scipy, pandas, matplotlib.pyplot"]))
        w, b = statistics.median(warm), statistics.median(baseline)
        print(f"pkpd demo, warm:   {w:6.2f} s (median of {args.repeat}: {', '.join(f'{x:.2f}' for x in warm)}); "
              f"target < 5 s: {'met' if w < 5 else 'NOT met'}")
        print(f"baseline (import numpy, scipy, pandas, pyplot): {b:.2f} s; demo / baseline {w / b:.1f}")
        if not args.no_cold:
            env = dict(os.environ, PKPD_CACHE_DIR=os.path.join(tmp, "kernels"), NUMBA_CACHE_DIR=os.path.join(tmp, "nb"))
            c = seconds(demo, env)
            print(f"pkpd demo, cold:   {c:6.2f} s (empty kernel and numba caches); target < 20 s: "
                  f"{'met' if c < 20 else 'NOT met'}")


if __name__ == "__main__":
    main()
