"""The Docker Engine API client the CLI uses: stdlib only, so `tether` starts fast.

Only this package (and the API's schema module) knows Docker's JSON field names. Import
`Client` from `tether.client.api`, option records from `tether.client.network_body` and
`tether.client.run_body`: this package module imports nothing, so that each command loads
only what it uses.
"""
