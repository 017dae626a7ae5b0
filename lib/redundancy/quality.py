"""How good a fine-tuned model is: one rule for every chapter.

The baselines, pruning, mimicking and scorecard chapters all ask the same question before they
read a model's results, so they share this rule. A model is then never "usable" in one chapter and
"failed" in another.

* ``failed``: test accuracy below ``FAILED_CHANCE_MULTIPLE`` times the uniform chance level
  (1 / classes; for few classes at most halfway from chance to perfect). The model did not learn its task, so its pruning curves and relative accuracies
  say nothing. Chapters flag it and leave it out of their conclusions.
* ``weak``: it learned, but it is below ``STRONG_ACCURACY``. Relative numbers ("keeps 95 % of the
  accuracy") of such a model cannot be compared with the paper's teachers (0.97-0.99). Chapters
  show it, marked, and the scorecard does not test the paper's claims on it.
* ``strong``: at least ``STRONG_ACCURACY``.
"""

from __future__ import annotations

from typing import Literal

Quality = Literal["failed", "weak", "strong"]

FAILED_CHANCE_MULTIPLE = 2.0
STRONG_ACCURACY = 0.5


def chance_level(n_classes: int) -> float:
    """Uniform chance accuracy of a ``n_classes``-way task."""
    if n_classes < 2:
        raise ValueError(f"a classification task needs at least 2 classes, got {n_classes}")
    return 1.0 / n_classes


def failure_line(n_classes: int) -> float:
    """The accuracy below which a model failed: twice chance, capped halfway between chance and
    perfect (twice chance is 1.0 for a two-way task, which no model could clear)."""
    chance = chance_level(n_classes)
    return min(FAILED_CHANCE_MULTIPLE * chance, (1.0 + chance) / 2)


def model_quality(accuracy: float, n_classes: int) -> Quality:
    """``failed``, ``weak`` or ``strong`` (see the module docstring) for a test accuracy."""
    if not 0.0 <= accuracy <= 1.0:
        raise ValueError(f"accuracy must lie in [0, 1], got {accuracy}")
    if accuracy < failure_line(n_classes):
        return "failed"
    return "strong" if accuracy >= STRONG_ACCURACY else "weak"


def quality_note(accuracy: float, n_classes: int) -> str:
    """Why a model has its quality, in a few words, for tables and figure titles."""
    quality = model_quality(accuracy, n_classes)
    chance = chance_level(n_classes)
    if quality == "failed":
        return f"failed its task: accuracy {accuracy:.2f} < {failure_line(n_classes):.3f} (chance {chance:.3f})"
    if quality == "weak":
        return f"weak: accuracy {accuracy:.2f} < {STRONG_ACCURACY}"
    return f"strong: accuracy {accuracy:.2f}"
