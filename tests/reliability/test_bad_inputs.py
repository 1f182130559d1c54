"""Each bad input of `reliability_cases.CASES` raises an error naming the value, before any work."""

import re

import keras
import pytest
from reliability_cases import CASES
from reliability_cases import message


@pytest.mark.jax
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_bad_input_is_an_error_that_says_what_is_wrong(case, tmp_path):
    if keras.backend.backend() not in case.backends:
        pytest.skip(f"{case.name}: {keras.backend.backend()} not in {case.backends}")
    assert re.search(case.match, message(case, tmp_path), re.DOTALL)
