"""The arrival schedule: absolute offsets, profiles, the split across processes, the pool size."""

from __future__ import annotations

import itertools

import pytest

from ecomctl.load.schedule import MAX_USERS, MIN_USERS, PROFILES, Schedule, pool_size, share


def test_steady_schedule_is_exactly_rate_times_duration_evenly_spaced():
    offsets = list(Schedule(600, 60).offsets())
    assert len(offsets) == 600
    assert offsets[0] == 0.0
    assert offsets[-1] == pytest.approx(59.9)
    gaps = {round(b - a, 9) for a, b in itertools.pairwise(offsets)}
    assert gaps == {0.1}


def test_offsets_do_not_drift_over_a_long_run():
    offsets = list(Schedule(60_000, 3600).offsets())
    assert len(offsets) == 3_600_000
    assert offsets[2_999_999] == pytest.approx(2_999_999 * 0.001, abs=1e-9)  # computed, not accumulated


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_profile_is_monotonic_and_within_its_duration(profile):
    schedule = Schedule(1200, 30, profile)
    offsets = list(schedule.offsets())
    assert offsets == sorted(offsets)
    assert offsets[0] >= 0 and offsets[-1] < 30


def test_spike_triples_the_rate_for_a_tenth_of_the_run():
    offsets = list(Schedule(600, 100, "spike").offsets())
    in_spike = sum(1 for o in offsets if 40 <= o < 50)
    before = sum(1 for o in offsets if 20 <= o < 30)
    assert before == pytest.approx(100, abs=1)
    assert in_spike == pytest.approx(300, abs=1)


def test_ramp_starts_at_a_tenth_and_reaches_the_rate_at_half_time():
    schedule = Schedule(600, 100, "ramp")
    assert schedule.rate_at(0) == pytest.approx(1.0)
    assert schedule.rate_at(50) == pytest.approx(10.0)
    assert schedule.rate_at(90) == pytest.approx(10.0)


def test_unknown_profile_is_refused():
    with pytest.raises(ValueError, match="unknown profile"):
        Schedule(60, 10, "tuesday")


def test_share_splits_the_schedule_without_gaps_or_overlap():
    offsets = list(Schedule(600, 10).offsets())
    parts = [list(share(iter(offsets), i, 3)) for i in range(3)]
    numbers = sorted(n for part in parts for n, _ in part)
    assert numbers == list(range(len(offsets)))
    assert all(offsets[n] == o for part in parts for n, o in part)


def test_pool_size_follows_littles_law_with_headroom_and_bounds():
    assert pool_size(100, 2.0) == 300  # 100 rps x 2 s x 1.5
    assert pool_size(100, 2.0, backlog=40) == 340
    assert pool_size(1, 0.01) == MIN_USERS
    assert pool_size(10_000, 60) == MAX_USERS
