"""The drivers a daemon offers, by the name the API uses."""

from __future__ import annotations

from tether.drivers.base import Driver
from tether.drivers.bridge import BridgeDriver
from tether.drivers.macvlan import IpvlanDriver, MacvlanDriver
from tether.drivers.overlay import OverlayDriver
from tether.drivers.plain import PlainDriver


def make_drivers() -> dict[str, Driver]:
    """One instance of each local driver, keyed by its name."""
    drivers: list[Driver] = [BridgeDriver(), PlainDriver("host"), PlainDriver("null"),
                             MacvlanDriver(), IpvlanDriver(), OverlayDriver()]
    return {d.name: d for d in drivers}
