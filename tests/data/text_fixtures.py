"""Tiny separable text classification data: three topics, each with its own words.

Each text is six words of its topic and four common words, shuffled, so a model that learns
which words belong to which topic classifies it (chance is 1/3).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

# fmt: off
TOPICS = {
    "cooking": ["recipe", "oven", "flour", "sugar", "butter", "bake", "simmer", "spice",
                "kitchen", "sauce"],
    "space": ["rocket", "orbit", "planet", "galaxy", "comet", "astronaut", "telescope", "moon",
              "launch", "star"],
    "sports": ["goal", "match", "team", "score", "player", "coach", "league", "ball", "stadium",
               "referee"],
}
COMMON = ["the", "a", "of", "and", "with", "today", "very", "really", "some"]
# fmt: on


def topic_text(rng: np.random.Generator, topic: str, extra: str = "") -> str:
    words = [*rng.choice(TOPICS[topic], 6), *rng.choice(COMMON, 4)]
    rng.shuffle(words)
    return " ".join(words).capitalize() + "." + extra


def write_text_folder(
    root: Path, per_class: int = 20, seed: int = 0, marker: bool = False
) -> Path:
    """``root/<topic>/<i>.txt``; with ``marker`` each file also holds a word of its own,
    ``zq<topic><i>``, 12 times (KerasHub learns words seen 10 times or more)."""
    rng = np.random.default_rng(seed)
    for topic in TOPICS:
        (root / topic).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            extra = f" zq{topic}{i}" * 12 if marker else ""
            (root / topic / f"{i:02d}.txt").write_text(topic_text(rng, topic, extra))
    return root


def write_text_csv(path: Path, rows: int = 150, seed: int = 1) -> Path:
    """A CSV with a header ``id,review,stars,topic``: the text in ``review``, the label in
    ``topic``, and two columns that are not used."""
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "review", "stars", "topic"])
        for i in range(rows):
            topic = list(TOPICS)[i % 3]
            writer.writerow([i, topic_text(rng, topic), i % 5, topic])
    return path
