"""Run the whole session inside a private network + mount + PID namespace when run as root.

Integration tests create bridges, veths, nftables tables and container processes. Before any
test is collected, a root session that selects integration tests re-executes itself under
tools/nsrun, so all of that lives in namespaces that die with the run: even a killed run
leaves nothing on the host. Unit tests run there too, unharmed. TETHER_NO_NS=1 opts out
(the integration tests are then skipped).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
INTEGRATION = REPO / "tests" / "integration"
sys.path.insert(0, str(REPO / "tools"))

import tetherlab  # noqa: E402


def _selects_integration(args: list[str], invocation_dir: Path) -> bool:
    """True if any path argument is the integration directory, inside it, or above it."""
    for arg in args:
        path = (invocation_dir / arg.split("::")[0]).resolve()
        if path == INTEGRATION or INTEGRATION in path.parents or path in INTEGRATION.parents:
            return True
    return False


def _should_enter(config) -> bool:
    return (os.geteuid() == 0 and not tetherlab.in_namespace()
            and os.environ.get("TETHER_NO_NS") != "1"
            and _selects_integration(config.args, config.invocation_params.dir))


def pytest_cmdline_main(config):
    """Re-execute pytest under tools/nsrun with the same arguments (never returns then)."""
    if not _should_enter(config):
        return None
    capture = config.pluginmanager.getplugin("capturemanager")
    if capture is not None:
        capture.stop_global_capturing()  # give the real stdout/stderr back before exec
    os.chdir(config.invocation_params.dir)
    tetherlab.enter_namespace(["-m", "pytest", *config.invocation_params.args])
    return None
