from tether.kernel.links import TETHER_PREFIXES
from tether.kernel.reaper import TOMBSTONE_PREFIX, tombstone_name


def test_tombstones_are_tagged_unique_and_fit_the_kernel_limit():
    names = {tombstone_name() for _ in range(1000)}
    assert len(names) == 1000
    assert all(len(n) <= 15 and n.startswith(TOMBSTONE_PREFIX) for n in names)
    assert TOMBSTONE_PREFIX.startswith(TETHER_PREFIXES)  # host_prefixes() ignores them
