"""The store contract: a small etcd-like key-value API that memory, SQLite and etcd all honour.

Keys are '/'-separated strings; values are bytes (JSON made by `tether.store.codec`). Every key
has a revision: an int that grows on each write. Revision 0 means "absent".
"""

from tether.store.base import Store, WatchEvent

__all__ = ["Store", "WatchEvent"]
