"""Synthetic cohorts and batch runs shared by the batch tests (built once per test session)."""

from __future__ import annotations

import pytest
from batchtools import Cohort, Run, batch, make_cohort


@pytest.fixture(scope="session")
def clean_cohort(tmp_path_factory: pytest.TempPathFactory) -> Cohort:
    """200 synthetic patients, no bad records."""
    return make_cohort(tmp_path_factory.mktemp("clean") / "bulk", 0.0)


@pytest.fixture(scope="session")
def bad_cohort(tmp_path_factory: pytest.TempPathFactory) -> Cohort:
    """200 synthetic patients with 3 % bad lines."""
    return make_cohort(tmp_path_factory.mktemp("bad") / "bulk", 0.03)


@pytest.fixture(scope="session")
def clean_run(clean_cohort: Cohort, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The clean cohort assessed on two worker processes."""
    return batch(clean_cohort.path, tmp_path_factory.mktemp("clean-run"), workers=2)


@pytest.fixture(scope="session")
def bad_run(bad_cohort: Cohort, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The cohort with bad records, in one process."""
    return batch(bad_cohort.path, tmp_path_factory.mktemp("bad-run"), workers=1)
