"""The examples in sparsead's docstrings run."""

import doctest

import pytest

import sparsead
import sparsead.backends.custom


@pytest.mark.parametrize("module", [sparsead, sparsead.backends.custom])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
