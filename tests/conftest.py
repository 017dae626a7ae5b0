"""Shared fixtures. Pipeline-level fixtures use the project's cache, so the smoke corpus and smoke
models built here are reused by the notebook tests (nbval) that run after the library tests."""

from pathlib import Path

import pytest

from redundancy.config import load_profile


@pytest.fixture(scope="session")
def smoke():
    return load_profile("smoke")


@pytest.fixture(scope="session")
def smoke_corpus(smoke) -> Path:
    from redundancy.corpus import build_corpus

    return build_corpus(smoke)
