"""Embedded DNS: the record table and lookup (pure), the wire format, the forwarder and the server."""
