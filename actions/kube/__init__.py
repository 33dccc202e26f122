"""The only part of the action service that talks to the Kubernetes API (and imports its client)."""
