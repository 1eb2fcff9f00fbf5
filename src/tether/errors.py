"""Errors with a kind: the API maps each kind to one HTTP status, the CLI to an exit code.

Nothing in tether branches on the text of an error, only on its class.
"""


class TetherError(Exception):
    """Base of every error tether raises on purpose; `status` is the HTTP status of its kind."""

    status = 500


class InvalidArgument(TetherError):
    """The request is malformed or names an impossible configuration."""

    status = 400


class Forbidden(TetherError):
    """The request is well formed but not allowed in the current state."""

    status = 403


class NotFound(TetherError):
    """A named object does not exist."""

    status = 404


class Conflict(TetherError):
    """The request clashes with an existing object (a name, an address, a port)."""

    status = 409


class NotModified(TetherError):
    """The object is already in the requested state (stopping a stopped container)."""

    status = 304


class DriverError(TetherError):
    """A network driver refused a request where Docker's driver answers 500 (no error kind):
    kept at 500 so clients see what Docker gives them."""

    status = 500


class KernelError(TetherError):
    """The kernel refused an operation that validation expected to succeed."""

    status = 500


class Unavailable(TetherError):
    """A service tether depends on (a store, a kernel feature) cannot be reached or used."""

    status = 503


class CasFailed(Conflict):
    """A compare-and-swap on the store lost a race; callers retry with fresh state."""
