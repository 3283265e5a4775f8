"""Write ``examples/penguins.csv``: a generated table shaped like the Palmer penguins (344
rows; a string label, two string feature columns, ``NA`` and empty cells, and a numeric column
a user may want to predict), so the table configs run offline.

    python scripts/make_penguins.py
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
HEADER = ["species", "island", "bill_length_mm", "flipper_length_mm", "body_mass_g", "sex"]


def rows(n: int = 344, seed: int = 0) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    species = rng.choice(["Adelie", "Chinstrap", "Gentoo"], n, p=[0.44, 0.2, 0.36])
    island = np.where(
        species == "Gentoo", "Biscoe", rng.choice(["Dream", "Torgersen", "Biscoe"], n)
    )
    island = np.where(species == "Chinstrap", "Dream", island)
    bill = np.where(species == "Adelie", 38.8, np.where(species == "Gentoo", 47.5, 48.8))
    bill = np.round(bill + rng.normal(0, 2.5, n), 1)
    flipper = np.round(np.where(species == "Gentoo", 217, np.where(species == "Adelie", 190, 196)))
    flipper = np.round(flipper + rng.normal(0, 6, n))
    sex = rng.choice(["male", "female"], n)
    mass = flipper * 48 - 5400 + np.where(sex == "male", 350, -350) + rng.normal(0, 250, n)
    out = []
    for i in range(n):
        row = [
            str(species[i]),
            str(island[i]),
            f"{bill[i]}",
            f"{int(flipper[i])}",
            f"{int(round(mass[i], -1))}",
            str(sex[i]),
        ]
        if i % 43 == 3:
            row[2] = "NA"
        if i % 31 == 5:
            row[5] = ""
        if i % 57 == 7:
            row[3] = "NA"
        out.append(row)
    return out


def main() -> None:
    path = ROOT / "examples" / "penguins.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(rows())
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
