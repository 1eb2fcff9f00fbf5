"""Test harness for integration tests: real daemons, the busybox image, leftover checks."""
