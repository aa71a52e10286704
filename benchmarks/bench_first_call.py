"""First call: import → result of a 3×3 float32 layer (which the rule gives to Winograd) and a
depthwise one, forward + backward, in a fresh process — on an empty compiled-code cache and
on a warm one (``convgrad/ops/warmup.py``). Run the code in ``--root`` (a checkout; default:
this one) to compare an older commit (``git worktree add /tmp/old COMMIT``).

    python benchmarks/bench_first_call.py [--root /tmp/old] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCRIPT = """
import time; t0 = time.time()
import numpy as np, convgrad as cg
from convgrad import nn
x = cg.tensor(np.random.rand(4, 16, 24, 24).astype(np.float32), requires_grad=True)
c, d = nn.Conv2d(16, 16, 3), nn.Conv2d(16, 16, 3, groups=16)
for m in (c, d):
    for p in m.parameters():
        p.array = p.array.astype(np.float32)
y = d(c(x)); y.sum().backward()
print(time.time() - t0)
"""


def first_call(root: Path, cache: Path) -> float:
    """Seconds from import to result in a fresh process with this cache folder."""
    env = {**os.environ, "CONVGRAD_CACHE_DIR": str(cache), "PYTHONPATH": str(root)}
    env.pop("CONVGRAD_COMPILE", None)                 # the default: background
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                          text=True, check=True, cwd=tempfile.gettempdir())
    return float(done.stdout.split()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    background = (args.root / "convgrad" / "ops" / "warmup.py").exists()
    print("| code | empty cache s | warm cache s (best of runs) |")
    print("|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        cache = Path(folder)
        cold = first_call(args.root, cache)
        while background and not list(cache.glob("*.built")):
            time.sleep(1)              # the build the first process left goes on: wait for it
        warm = min(first_call(args.root, cache) for _ in range(args.repeat))
    print(f"| {args.root} | {cold:.2f} | {warm:.2f} |")


if __name__ == "__main__":
    main()
