"""Fixtures of the evaluation tests."""

from __future__ import annotations

import pandas as pd
import pytest
from _eval_fixtures import make_table


@pytest.fixture
def feature_table() -> pd.DataFrame:
    return make_table()
