"""The container runtime layer: imported images, and containers run by runc behind a shim.

Kept small on purpose: runc does the container work; tether only prepares bundles, keeps the
process alive across daemon restarts, and reads exit codes and logs.
"""

from tether.runtime.bundle import BundleInputs, bundle_config
from tether.runtime.changes import ImageConfig, parse_changes
from tether.runtime.execs import ExecProcess
from tether.runtime.images import ImageStore
from tether.runtime.runc import Runtime

__all__ = ["BundleInputs", "ExecProcess", "ImageConfig", "ImageStore", "Runtime",
           "bundle_config", "parse_changes"]
