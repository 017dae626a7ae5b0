"""Reading the studies the benchmark scripts record under ``results/<profile>``.

The chapters show studies that only some profiles have: a benchmark writes its JSON when someone
runs it, so a fresh profile (smoke, paper) has none. A missing study must say which script records
it, never fail the chapter or vanish without a word; a damaged one must name its file.
"""

from __future__ import annotations

import json
from typing import Any

from redundancy.paths import results_dir


def recorded_study(profile: str, filename: str, *, what: str | None = None,
                   writer: str | None = None) -> Any | None:
    """The parsed ``results/<profile>/<filename>``, or None when it is not recorded.

    With ``what`` given, a missing study prints one line saying so (and which ``writer`` records it);
    without it the study is an optional side input and a missing one is silent.
    """
    path = results_dir(profile) / filename
    if not path.is_file():
        if what is not None:
            hint = f" ({writer} writes one)" if writer else ""
            print(f"no {what} recorded for the {profile} profile{hint}")
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON ({error}); rerun {writer or 'the script that wrote it'}") from error
