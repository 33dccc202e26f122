"""The action service: Alertmanager webhook -> decisions -> guarded patches on workloads."""
