"""The command line lists the pipeline stages and prints profiles."""

import json
import subprocess
import sys


def _run(*args):
    return subprocess.run([sys.executable, "-m", "redundancy", *args], capture_output=True, text=True)


def test_profile_command_prints_the_profile():
    run = _run("profile", "smoke")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["name"] == "smoke"


def test_unknown_profile_on_the_command_line():
    run = _run("profile", "nope")
    assert run.returncode != 0 and "smoke, mini, paper" in run.stderr


def test_help_lists_the_stages():
    run = _run("--help")
    assert run.returncode == 0
    for command in ("profile", "finetune"):
        assert command in run.stdout
