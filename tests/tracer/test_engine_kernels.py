"""Set operations of the tracer engine against pure-Python set references: the Numba
kernels and the numpy path that small inputs take (``tracer._setops``)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracer import _kernels, _setops


class _NumpyPath:
    """``tracer._setops`` with every operation forced onto its numpy path."""

    def __getattr__(self, name):
        def call(*args):
            with _setops.numpy_only():
                return getattr(_setops, name)(*args)
        return call


IMPLS = pytest.mark.parametrize("K", [_kernels, _NumpyPath()], ids=["numba", "numpy"])

MAX_KEY = 40


def to_csr(sets):
    ptr = np.zeros(len(sets) + 1, np.int64)
    ptr[1:] = np.cumsum([len(s) for s in sets])
    idx = np.array([k for s in sets for k in sorted(s)], np.int64)
    return ptr, idx


def from_csr(ptr, idx):
    out = []
    for e in range(ptr.size - 1):
        row = idx[ptr[e]:ptr[e + 1]].tolist()
        assert row == sorted(set(row)), "rows must be sorted and unique"
        out.append(set(row))
    return out


set_lists = st.lists(st.sets(st.integers(0, MAX_KEY), max_size=30), min_size=1, max_size=12)


def rowmap_for(m_out, m_src, data):
    return np.array(data.draw(st.lists(st.integers(-1, m_src - 1), min_size=m_out,
                                       max_size=m_out)), np.int64)


@IMPLS
@settings(max_examples=30)
@given(set_lists, st.data())
def test_gather_rows(K, sets, data):
    m = data.draw(st.integers(0, 10))
    rowmap = rowmap_for(m, len(sets), data)
    got = from_csr(*K.gather_rows(*to_csr(sets), rowmap))
    assert got == [sets[r] if r >= 0 else set() for r in rowmap]


@IMPLS
@settings(max_examples=30)
@given(set_lists, set_lists, st.data())
def test_union2_with_maps_and_identity(K, a, b, data):
    m = data.draw(st.integers(1, 10))
    ma = rowmap_for(m, len(a), data)
    mb = rowmap_for(m, len(b), data)
    got = from_csr(*K.union2(*to_csr(a), ma, *to_csr(b), mb, m))
    assert got == [(a[i] if i >= 0 else set()) | (b[j] if j >= 0 else set())
                   for i, j in zip(ma, mb)]
    # empty map = identity
    bb = (b * len(a))[:len(a)]
    got = from_csr(*K.union2(*to_csr(a), np.empty(0, np.int64), *to_csr(bb),
                             np.empty(0, np.int64), len(a)))
    assert got == [x | y for x, y in zip(a, bb)]


@IMPLS
@settings(max_examples=30)
@given(set_lists, st.data())
def test_union_rows_and_cumulative(K, sets, data):
    groups = data.draw(st.lists(st.lists(st.integers(-1, len(sets) - 1), max_size=6),
                                min_size=1, max_size=6))
    sel_ptr = np.zeros(len(groups) + 1, np.int64)
    sel_ptr[1:] = np.cumsum([len(g) for g in groups])
    sel_rows = np.array([r for g in groups for r in g], np.int64)
    got = from_csr(*K.union_rows(*to_csr(sets), sel_ptr, sel_rows))
    assert got == [set().union(*[sets[r] for r in g if r >= 0]) for g in groups]
    # cumulative union along each group (cumsum), no -1 rows
    rows = np.where(sel_rows < 0, 0, sel_rows)
    got = from_csr(*K.cumulative_union(*to_csr(sets), sel_ptr, rows))
    expected = []
    for s in range(len(groups)):
        run = set()
        for r in rows[sel_ptr[s]:sel_ptr[s + 1]]:
            run = run | sets[r]
            expected.append(set(run))
    assert got == expected


@IMPLS
def test_union_rows_large_rows_use_sort(K):
    rng = np.random.default_rng(0)
    sets = [set(rng.integers(0, 1000, size=200).tolist()) for _ in range(5)]
    got = from_csr(*K.union_rows(*to_csr(sets), np.array([0, 5]), np.arange(5)))
    assert got == [set().union(*sets)]


@IMPLS
@settings(max_examples=30)
@given(set_lists, set_lists, st.data())
def test_pairs(K, a, b, data):
    n = MAX_KEY + 1
    got = from_csr(*K.self_pairs(*to_csr(a), n))
    assert got == [{i * n + j for i in s for j in s if i <= j} for s in a]
    m = data.draw(st.integers(1, 8))
    ma = rowmap_for(m, len(a), data)
    mb = rowmap_for(m, len(b), data)
    got = from_csr(*K.cross_pairs(*to_csr(a), ma, *to_csr(b), mb, m, n))
    expected = []
    for i, j in zip(ma, mb):
        sa = a[i] if i >= 0 else set()
        sb = b[j] if j >= 0 else set()
        expected.append({min(p, q) * n + max(p, q) for p in sa for q in sb})
    assert got == expected


@IMPLS
@settings(max_examples=30)
@given(set_lists, st.data())
def test_splice_rows(K, sets, data):
    pos = sorted(data.draw(st.sets(st.integers(0, len(sets) - 1))))
    reps = data.draw(st.lists(st.sets(st.integers(0, MAX_KEY), max_size=5),
                              min_size=len(pos), max_size=len(pos)))
    got = from_csr(*K.splice_rows(*to_csr(sets), np.array(pos, np.int64), *to_csr(reps)))
    expected = list(sets)
    for p, r in zip(pos, reps):
        expected[p] = r
    assert got == expected


@IMPLS
@settings(max_examples=40)
@given(set_lists, st.data())
def test_rows_subset(K, a, data):
    m = data.draw(st.integers(1, 8))
    ma = rowmap_for(m, len(a), data)
    b = [set(data.draw(st.sets(st.sampled_from(sorted(a[r])), max_size=3))) if r >= 0 and a[r]
         else set() for r in ma]
    if data.draw(st.booleans()):
        b[data.draw(st.integers(0, m - 1))].add(MAX_KEY + 1)  # breaks the inclusion
    expected = all(sb <= (a[r] if r >= 0 else set()) for sb, r in zip(b, ma))
    assert K.rows_subset(*to_csr(a), ma, *to_csr(b), np.empty(0, np.int64), m) == expected
