"""Shared fixtures: where the team's reference material lives."""

from pathlib import Path

import pytest

#: ../shared beside the repository (CI places it there); tests that need it skip without it.
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"reference material not found at {SHARED} (expected ../shared beside the repository)")
    return SHARED


# Property tests draw the same examples on every run, so CI results are reproducible; run
# with --hypothesis-seed=<n> (or derandomize off) locally to explore new examples.
from hypothesis import settings  # noqa: E402

settings.register_profile("pkpd", derandomize=True, deadline=None)
settings.load_profile("pkpd")
