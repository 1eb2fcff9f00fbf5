"""The only package that touches the host: netlink, namespaces, nftables and sysctls.

It takes names, ints and ipaddress objects and knows nothing of networks or endpoints.
"""
