"""The tests use the demo's emulated cluster (gridshift/demo/emulator.py): kmock's KubernetesEmulator."""

from gridshift.demo.emulator import Emulator, Fault, make_api_client, running_emulator

__all__ = ["Emulator", "Fault", "make_api_client", "running_emulator"]
