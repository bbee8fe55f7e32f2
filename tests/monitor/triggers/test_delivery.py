"""monitor/triggers/delivery.py: outbox to sinks, backoff with jitter, dead items, the loop."""

from __future__ import annotations

from monitor.triggers.model import TriggerEvent
from tests.support.wait import eventually


async def test_down_sink_keeps_items_and_backs_off(make_service, receiver, clock) -> None:
    r, url = receiver
    r.down = True
    svc = make_service(sinks=[{"type": "webhook", "url": url, "secret": "s3cret"}],
                       retry={"base_backoff_s": 2, "max_backoff_s": 8})
    for i in range(3):
        svc.raise_trigger(TriggerEvent(type="drift", dedup_key=f"drift:{i}", title="t",
                                       source="drift"))
    reg = svc.metrics.registry
    assert reg.get_sample_value("tunewatch_outbox_depth", {"sink": "webhook"}) == 3
    assert await svc.delivery.deliver_once() == 0
    assert len(r.raw) == 1  # a failing sink is not hammered with the rest in the same pass
    assert reg.get_sample_value("tunewatch_sink_delivery_failures_total", {"sink": "webhook"}) == 1
    delays = []
    for _ in range(4):
        due = svc.delivery.next_due()
        delays.append(due - clock())
        clock.advance(due - clock())
        assert await svc.delivery.deliver_once() == 0
    # exponential with jitter in [d/2, d]: d = 2, 4, 8, 8 (capped)
    for d, cap in zip(delays, (2, 4, 8, 8), strict=True):
        assert cap / 2 <= d <= cap
    assert reg.get_sample_value("tunewatch_outbox_depth", {"sink": "webhook"}) == 3
    r.down = False
    clock.advance(10)
    assert await svc.delivery.deliver_once() == 3
    assert reg.get_sample_value("tunewatch_outbox_depth", {"sink": "webhook"}) == 0
    assert reg.get_sample_value("tunewatch_sink_deliveries_total",
                                {"sink": "webhook", "result": "delivered"}) == 3
    assert sorted(p["ticket"]["dedup_key"] for p in r.events()) == ["drift:0", "drift:1", "drift:2"]
    await svc.stop()


async def test_max_attempts_parks_dead(make_service, receiver, clock) -> None:
    r, url = receiver
    r.down = True
    svc = make_service(sinks=[{"type": "webhook", "url": url}], retry={"max_attempts": 2})
    svc.raise_trigger(TriggerEvent(type="drift", dedup_key="drift:x", title="t", source="drift"))
    await svc.delivery.deliver_once()
    clock.advance(100)
    await svc.delivery.deliver_once()
    assert svc.outbox.depth() == {"webhook": 0}
    assert svc.outbox.store.query("SELECT state, attempts FROM trigger_outbox") == [("dead", 2)]
    assert svc.metrics.registry.get_sample_value(
        "tunewatch_sink_deliveries_total", {"sink": "webhook", "result": "dead"}) == 1
    await svc.stop()


async def test_delivery_loop_runs_in_background(make_service, tmp_path) -> None:
    d = tmp_path / "d"
    svc = make_service(sinks=[{"type": "directory", "path": str(d)}])
    await svc.start()
    try:
        svc.raise_trigger(TriggerEvent(type="drift", dedup_key="drift:bg", title="t",
                                       source="drift"))
        await eventually(lambda: svc.outbox.depth() == {"directory": 0}, timeout=10,
                         what="the delivery")
        assert (d / "TW-1.md").exists()
        assert svc.readiness()["sinks"]["directory"]["outbox_depth"] == 0
    finally:
        await svc.stop()
