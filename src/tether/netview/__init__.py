"""Seeing the network: a topology snapshot, reachability explained, and its picture.

Everything here is pure (data in, data out): the daemon builds a `Topology` from its records
and serves it as JSON; the CLI and the topology page read that JSON back, explain
reachability (`why`) and draw it (`dot`).
"""
