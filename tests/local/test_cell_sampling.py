"""Lambda's default sampling over cells: the reservoir (first invocation each second) is the
function's, so N cells together trace one a second plus 5 %, not N a second."""

from __future__ import annotations

import random

from ecomctl.local.tracing import CellSampler


def _traced(sampler: CellSampler, seconds: range, per_second: int) -> int:
    return sum(sampler.should_trace(now=s + k / per_second) for s in seconds for k in range(per_second))


def test_one_cell_takes_the_reservoir_every_second():
    traced = _traced(CellSampler(0, 1, random.Random(1)), range(1000, 1200), per_second=20)
    assert 200 + 0.02 * 3800 < traced < 200 + 0.09 * 3800  # 200 reservoir + 5 % of the other 3 800


def test_two_cells_share_one_reservoir_between_them():
    seconds = range(2000, 2200)
    a, b = CellSampler(0, 2, random.Random(2)), CellSampler(1, 2, random.Random(3))
    together = _traced(a, seconds, 10) + _traced(b, seconds, 10)
    # 4 000 invocations in 200 s: 200 by the shared reservoir and about 5 % of the rest; two
    # samplers that each kept a reservoir of their own would trace about 400 + 5 % of 3 600.
    assert 200 + 0.02 * 3800 < together < 200 + 0.09 * 3800


def test_a_cell_takes_the_reservoir_only_in_its_own_seconds():
    sampler = CellSampler(1, 2)
    sampler.RATE = 0.0
    assert [sampler.should_trace(now=s) for s in (10, 11, 11.5, 12, 13, 13.9)] == [False, True, False, False,
                                                                                 True, False]
