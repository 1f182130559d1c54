"""`docs/errors.md` is the table `errors_doc.py` writes from the current cases and messages."""

import keras
import pytest
from errors_doc import DOC
from errors_doc import render


def test_errors_doc_is_up_to_date():
    if keras.backend.backend() != "tensorflow":
        pytest.skip("the table records TensorFlow's messages")
    assert DOC.read_text() == render(), (
        "docs/errors.md is stale: run .venv/bin/python tests/reliability/errors_doc.py"
    )
