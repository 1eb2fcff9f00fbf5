"""`tether compose`: compose files loaded, validated and planned as pure data, then run
through the daemon's API by `run` (see DESIGN.md, "compose")."""
