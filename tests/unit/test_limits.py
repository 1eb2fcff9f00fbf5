"""engine.limits: the neighbour-table policy is a pure function of the endpoint count."""

from tether.engine.limits import KERNEL_DEFAULTS, NeighbourBudget, plan


def test_small_counts_need_nothing():
    assert plan(10, KERNEL_DEFAULTS).raise_to is None
    assert plan(10, None).warning is None


def test_near_the_limit_thresholds_are_raised_where_they_can_be_read():
    p = plan(300, KERNEL_DEFAULTS)  # 728 entries: past half of 1024
    assert p.need == 728
    t1, t2, t3 = p.raise_to
    assert t3 >= 4 * p.need and t3 & (t3 - 1) == 0  # room to grow, a power of two
    assert t1 < t2 < t3 and t1 >= KERNEL_DEFAULTS[0]
    assert plan(300, p.raise_to).raise_to is None  # once raised, nothing more to do


def test_higher_thresholds_set_by_the_admin_are_never_lowered():
    mine = (100000, 200000, 400000)
    assert plan(300, mine).raise_to is None
    p = plan(60000, (100000, 110000, 120000))
    assert p.raise_to[0] == 100000 and p.raise_to[2] >= 4 * p.need


def test_where_the_thresholds_are_invisible_it_warns_with_the_fix():
    p = plan(300, None)
    assert p.raise_to is None
    assert "gc_thresh" in p.warning and "300 endpoints" in p.warning


def test_budget_warns_once_and_clears_when_the_count_drops(monkeypatch):
    import tether.engine.limits as limits
    monkeypatch.setattr(limits, "read_thresholds", lambda family: None)
    budget = NeighbourBudget()
    budget.check(300)
    assert len(budget.warnings) == 1
    budget.check(10)
    assert budget.warnings == []


def test_budget_logs_when_the_need_nears_and_passes_the_limit_not_at_every_start(
        monkeypatch, caplog):
    import tether.engine.limits as limits
    monkeypatch.setattr(limits, "read_thresholds", lambda family: None)
    budget = NeighbourBudget()
    with caplog.at_level("WARNING", logger="tether.engine.limits"):
        for endpoints in range(250, 1000):
            budget.check(endpoints)
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 2, said
    assert said[0].startswith("250 endpoints") and "near the kernel's limit" in said[0]
    assert "past the kernel's limit" in said[1]
    assert budget.warnings[0].startswith("999 endpoints")  # /info has the current count
    caplog.clear()
    with caplog.at_level("WARNING", logger="tether.engine.limits"):
        budget.check(10)
        budget.check(300)
    assert len(caplog.records) == 1  # cleared, then near again: said again


def test_budget_rereads_the_thresholds_only_after_a_while_or_a_raise(monkeypatch):
    import tether.engine.limits as limits
    reads, now = [], [0.0]
    current = {"ipv4": (128, 512, 1024), "ipv6": (128, 512, 1024)}
    monkeypatch.setattr(limits, "read_thresholds", lambda f: reads.append(f) or current[f])
    raised = []
    monkeypatch.setattr(NeighbourBudget, "apply", staticmethod(
        lambda family, result: raised.append((family, result.raise_to))))
    budget = NeighbourBudget(clock=lambda: now[0])
    budget.check(10)
    budget.check(11)
    assert reads == ["ipv4", "ipv6"]  # the second check read nothing
    now[0] = limits.REREAD_AFTER
    budget.check(12)
    assert len(reads) == 4
    current["ipv4"] = (16, 32, 64)  # lowered by someone: seen once the window passed
    budget.check(13)
    assert raised == []
    now[0] = 2 * limits.REREAD_AFTER
    budget.check(13)
    assert [f for f, _ in raised] == ["ipv4"]
    budget.check(13)
    assert reads.count("ipv4") == 4  # a raise makes the next check read again
