"""Command line: the cached pipeline stages for headless or cluster runs.

Each subcommand lives next to the stage it runs: a module registers itself by defining
``add_cli(subparsers)``; this file only lists the modules. Subcommands import heavy libraries lazily.
"""

from __future__ import annotations

import argparse
import importlib

#: Modules that contribute subcommands (each defines ``add_cli(subparsers)``).
CLI_MODULES: tuple[str, ...] = (
    "redundancy.corpus",
    "redundancy.download",
    "redundancy.pretrain",
    "redundancy.pipeline",
    "redundancy.make_models",
    "redundancy.corpus_rebuild",
    "redundancy.features",
    "redundancy.timing",
    "redundancy.mimicking",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m redundancy",
        description="Stages of the redundancy reproduction (arXiv:2409.16302).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    profile = sub.add_parser("profile", help="print a profile's sizes and budgets")
    profile.add_argument("name", nargs="?", default=None)
    profile.set_defaults(func=_print_profile)
    for name in CLI_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name == name:  # stage not written yet
                continue
            raise
        add = getattr(module, "add_cli", None)
        if add is not None:
            add(sub)
    return parser


def _print_profile(args: argparse.Namespace) -> int:
    import json

    from .config import load_profile

    print(json.dumps(load_profile(args.name).to_dict(), indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)
