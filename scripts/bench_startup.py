"""CLI start-up vs `python -c "import keras"` (goal: nnzoo --help / list-models >= 12x faster).

python scripts/bench_startup.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _bench import PY, time_command  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    keras_time = time_command([PY, "-c", "import keras"], args.repeat)
    print(f"{'command':40s} {'median s':>9s} {'vs import keras':>16s}")
    print(f"{'python -c import keras':40s} {keras_time:9.3f} {'1.0x':>16s}")
    for cmd in (
        ["--help"],
        ["list-models"],
        ["list-models", "--json"],
        ["validate", "configs/quickstart.yaml"],
    ):
        t = time_command([PY, "-m", "nnzoo.cli", *cmd], args.repeat)
        print(f"{'nnzoo ' + ' '.join(cmd):40s} {t:9.3f} {keras_time / t:15.1f}x")


if __name__ == "__main__":
    main()
