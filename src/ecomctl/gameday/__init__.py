"""The game day: up, baseline load, each scenario under load, recovery, reconciliation, down."""
