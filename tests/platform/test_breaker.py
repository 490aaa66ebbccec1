"""The DynamoDB circuit breaker's state machine, driven directly."""

from __future__ import annotations

import time

import pytest

from ecomshop.breaker import BreakerOpen, CircuitBreaker, State, Thresholds


@pytest.fixture
def breaker(platform):
    return CircuitBreaker("payments-api", Thresholds(failure_threshold=3, reset_timeout_s=2.0))


def test_opens_after_threshold_consecutive_failures_and_fails_fast(breaker):
    for _ in range(2):
        breaker.before_call()
        breaker.record_failure()
    assert breaker.state() is State.CLOSED
    breaker.record_failure()
    assert breaker.state() is State.OPEN
    with pytest.raises(BreakerOpen):
        breaker.before_call()


def test_a_success_resets_the_consecutive_count(breaker):
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state() is State.CLOSED


def test_half_open_admits_exactly_one_probe_then_closes_on_success(breaker):
    for _ in range(3):
        breaker.record_failure()
    time.sleep(2.05)
    other = CircuitBreaker("payments-api", breaker.thresholds)  # another Lambda environment
    breaker.before_call()  # wins the probe
    assert breaker.state() is State.HALF_OPEN
    with pytest.raises(BreakerOpen):
        other.before_call()
    breaker.record_success()
    assert breaker.state() is State.CLOSED
    other.before_call()


def test_a_failed_probe_reopens(breaker):
    for _ in range(3):
        breaker.record_failure()
    time.sleep(2.05)
    breaker.before_call()
    breaker.record_failure()
    assert breaker.state() is State.OPEN
    with pytest.raises(BreakerOpen):
        breaker.before_call()
