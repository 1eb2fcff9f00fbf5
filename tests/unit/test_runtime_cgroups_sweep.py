import time

from tether.runtime import cgroups


def test_sweep_removes_empty_leftovers_and_keeps_the_rest(tmp_path, monkeypatch):
    point = tmp_path / "memory"
    for name in ("old", "running", "busy"):
        (point / "tether" / name).mkdir(parents=True)
    (point / "tether" / "busy" / "child").mkdir()  # rmdir refuses a non-empty dir, as EBUSY
    mountinfo = f"30 20 0:30 / {point} rw - cgroup cgroup rw,memory\n"
    real_open = open
    monkeypatch.setattr("builtins.open", lambda p, *a, **k: __import__("io").StringIO(mountinfo)
                        if p == "/proc/self/mountinfo" else real_open(p, *a, **k))
    assert cgroups.sweep_cgroups({"running"}) == []  # all young: maybe starts in progress
    assert (point / "tether" / "old").is_dir()
    later = time.time() + cgroups.STARTING_GRACE + 1
    removed = cgroups.sweep_cgroups({"running"}, now=later)
    assert removed == [str(point / "tether" / "old")]
    assert (point / "tether" / "running").is_dir() and (point / "tether" / "busy").is_dir()
