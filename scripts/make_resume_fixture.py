"""Remake ``tests/fixtures/run_v2_interrupted_mlp``: a schema-2 run interrupted after epoch 1.

Trains a 16-unit MLP on scikit-learn's digits (``configs/quickstart.yaml``, 3 epochs, a resume
state after every epoch) and stops it with a Ctrl-C (``KeyboardInterrupt``) at the end of epoch
1, as a user would: the run directory then holds ``status.json`` (``interrupted``),
``history.csv`` (epoch 1), and ``checkpoints/`` (the resume state and ``fingerprint.json``).
The run directory is copied into the fixture folder (without its ``.lock``, which the next
process recreates) with a README naming the commit that wrote it.

``tests/training/test_resume_fixture.py`` resumes the copy to the end, so a later nnzoo that cannot
resume a run interrupted by this one fails there. Remake it only on purpose: the point of the
fixture is that it was written by an older nnzoo.

    python scripts/make_resume_fixture.py [--out tests/fixtures/run_v2_interrupted_mlp]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "fixtures" / "run_v2_interrupted_mlp"
OVERRIDES = [
    "model.params.hidden_units=[16]",
    "train.epochs=3",
    "train.checkpoint_every_seconds=0",  # a resume state after every epoch
]
README = """\
# run_v2_interrupted_mlp

A run directory (schema 2) of `configs/quickstart.yaml` with
{overrides},
interrupted by a Ctrl-C (`KeyboardInterrupt`) at the end of epoch 1 of 3: `status.json` says
`interrupted`, `checkpoints/` holds the resume state of epoch 1 and `fingerprint.json`.

Written by nnzoo at commit
`{commit}`{dirty}
with `python scripts/make_resume_fixture.py` (the run's `.lock` left out).
`tests/training/test_resume_fixture.py` resumes a copy of it to the end: a run interrupted by
that nnzoo must still resume. Do not remake it to make a test pass.
"""


def _commit() -> tuple[str, bool]:
    """The commit checked out in the repository, and whether the tree has changes."""
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    changes = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--", "nnzoo"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return head, bool(changes)


def make(out: Path) -> None:
    """Train, interrupt after epoch 1, and copy the run directory to ``out``."""
    import keras

    from nnzoo.run.bind import load_config
    from nnzoo.training import train

    class CtrlCAfterEpoch1(keras.callbacks.Callback):
        """A Ctrl-C once epoch 1 has ended (its resume state is saved before this runs)."""

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if epoch == 0:
                raise KeyboardInterrupt

    config = load_config(ROOT / "configs" / "quickstart.yaml", OVERRIDES)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            train(config, runs_dir=tmp, quiet=True, callbacks=[CtrlCAfterEpoch1()])
        except KeyboardInterrupt:
            pass
        else:
            raise SystemExit("the run was not interrupted")
        (run_dir,) = (Path(tmp) / config.name).iterdir()
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(run_dir, out, ignore=shutil.ignore_patterns(".lock"))
    commit, dirty = _commit()
    (out / "README.md").write_text(
        README.format(
            overrides=", ".join(f"`{o}`" for o in OVERRIDES),
            commit=commit,
            dirty=" (with uncommitted changes to nnzoo/)" if dirty else "",
        )
    )
    for path in sorted(out.rglob("*")):
        if path.is_file():
            print(f"{path.stat().st_size:>8}  {path.relative_to(out)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="the fixture folder (replaced)")
    make(parser.parse_args().out)


if __name__ == "__main__":
    main()
