"""The local autoscaler's arithmetic: KEDA between zero and one, the HPA with its behavior above one.

Time is passed in; each case is a poll sequence with the replicas a cluster would have after it.
"""

from __future__ import annotations

from typing import Any

from stoker_client.dev.scaling import Autoscaler, jobs_to_start
from stoker_client.dev.values import Scaling


def scaling(**over: Any) -> Scaling:
    fields: dict[str, Any] = {
        "min_replicas": 0,
        "max_replicas": 10,
        "target_per_replica": 4,
        "activation_target": 0,
        "polling_interval_s": 15,
        "cooldown_s": 300,
        "behavior": {
            "scaleUp": {
                "stabilizationWindowSeconds": 0,
                "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
            },
            "scaleDown": {
                "stabilizationWindowSeconds": 0,
                "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}],
            },
        },
    }
    return Scaling(**(fields | over))


def test_an_empty_pool_stays_at_zero_and_one_job_wakes_it_to_one() -> None:
    a = Autoscaler(scaling())
    assert a.decide(0, 0, now=0).desired == 0
    woke = a.decide(9, 0, now=15)
    assert woke.desired == 1 and "activation" in woke.reason  # KEDA takes it to one; the HPA does the rest


def test_the_activation_target_must_be_exceeded() -> None:
    a = Autoscaler(scaling(activation_target=5))
    assert a.decide(5, 0, now=0).desired == 0
    assert a.decide(6, 0, now=15).desired == 1


def test_above_one_replicas_are_the_metric_over_the_target_rounded_up() -> None:
    a = Autoscaler(scaling())
    assert a.decide(9, 1, now=0).desired == 2  # wants 3; 100% per 15 s allows 2
    assert a.decide(9, 2, now=15).desired == 3
    assert a.decide(100, 3, now=30).desired == 6  # doubling per period
    assert a.decide(100, 6, now=45).desired == 10  # the maximum


def test_a_ratio_within_ten_percent_keeps_the_count() -> None:
    a = Autoscaler(scaling())
    kept = a.decide(17, 4, now=0)  # 17 / (4 * 4) = 1.06
    assert kept.desired == 4 and "within 10%" in kept.reason
    assert a.decide(19, 4, now=15).desired == 5  # 1.19: outside


def test_scale_up_policies_count_what_was_added_in_their_period() -> None:
    one_a_minute = {
        "scaleUp": {"stabilizationWindowSeconds": 0, "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}
    }
    a = Autoscaler(scaling(target_per_replica=1, behavior=one_a_minute))
    assert a.decide(12, 1, now=0).desired == 2
    held = a.decide(12, 2, now=30)
    assert held.desired == 2 and "rate policy" in held.reason
    assert a.decide(12, 2, now=61).desired == 3


def test_the_default_behavior_allows_four_pods_or_double_per_period() -> None:
    a = Autoscaler(scaling(target_per_replica=1, behavior={}))
    assert a.decide(50, 1, now=0).desired == 5  # Pods 4 beats Percent 100 from one replica
    assert a.decide(50, 5, now=15).desired == 10  # Percent 100 beats Pods 4 from five


def test_the_scale_down_window_holds_the_highest_recent_recommendation() -> None:
    window = {
        "scaleDown": {
            "stabilizationWindowSeconds": 60,
            "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
        }
    }
    a = Autoscaler(scaling(min_replicas=1, behavior=window))
    assert a.decide(12, 3, now=0).desired == 3
    held = a.decide(0, 3, now=30)
    assert held.desired == 3 and "stabilization" in held.reason
    assert a.decide(0, 3, now=61).desired == 1  # the 3 has left the window; min 1


def test_scale_down_policies_remove_one_pod_a_minute() -> None:
    a = Autoscaler(scaling(min_replicas=1))
    assert a.decide(4, 4, now=0).desired == 3
    assert a.decide(4, 3, now=30).desired == 3
    assert a.decide(4, 3, now=61).desired == 2


def test_an_idle_pool_goes_to_zero_only_after_the_cooldown() -> None:
    a = Autoscaler(scaling(cooldown_s=30))
    assert a.decide(4, 1, now=0).desired == 1
    waiting = a.decide(0, 1, now=10)
    assert waiting.desired == 1 and "zero in 20 s" in waiting.reason
    slept = a.decide(0, 1, now=31)
    assert slept.desired == 0 and "cooldown" in slept.reason


def test_activity_during_the_cooldown_restarts_it() -> None:
    a = Autoscaler(scaling(cooldown_s=30))
    a.decide(4, 1, now=0)
    a.decide(2, 1, now=20)
    assert a.decide(0, 1, now=40).desired == 1
    assert a.decide(0, 1, now=51).desired == 0


def test_a_minimum_above_zero_is_kept_while_idle() -> None:
    a = Autoscaler(scaling(min_replicas=2, cooldown_s=0))
    assert a.decide(0, 0, now=0).desired == 2
    assert a.decide(0, 2, now=1000).desired == 2


def test_a_scaled_job_starts_what_the_metric_wants_less_those_running() -> None:
    s = scaling(target_per_replica=2, max_replicas=3)
    assert jobs_to_start(s, 7, 1).desired == 3  # ceil(7 / 2) = 4, at most 3: two more
    assert jobs_to_start(s, 3, 2).desired == 2
    assert jobs_to_start(s, 0, 1).desired == 1  # idle: none started, none stopped
