"""Metric and label names of the namespace power exporter.

The first four metrics are CONTRACT.md's; the rest are gridshift additions (docs/power.md).
Counter names carry no `_total`: prometheus-client adds it. These belong beside the grid
exporter's names in gridshift/names.py; until they move there they live here, in one place.
"""

from gridshift.names import NAMESPACE, NODE, PREFIX, REASON, ZONE

__all__ = ["NAMESPACE", "NODE", "REASON", "ZONE"]

RESOURCE = "resource"

# CONTRACT.md, namespace power exporter.
NAMESPACE_POWER_WATTS = f"{PREFIX}_namespace_power_watts"
NAMESPACE_ENERGY_JOULES = f"{PREFIX}_namespace_energy_joules"
NAMESPACE_EMISSIONS_GRAMS = f"{PREFIX}_namespace_emissions_grams"
NODE_ZONE_INFO = f"{PREFIX}_node_zone_info"

# gridshift additions.
EMISSIONS_UNATTRIBUTED_JOULES = f"{PREFIX}_namespace_emissions_unattributed_joules"
KEPLER_SCRAPE_UP = f"{PREFIX}_kepler_scrape_up"
KEPLER_LAST_SCRAPE = f"{PREFIX}_kepler_last_successful_scrape_timestamp_seconds"
KEPLER_SCRAPE_ERRORS = f"{PREFIX}_kepler_scrape_errors"
KUBE_ERRORS = f"{PREFIX}_power_kube_errors"
INTENSITY_ERRORS = f"{PREFIX}_power_intensity_fetch_errors"
CYCLE_DURATION = f"{PREFIX}_power_cycle_duration_seconds"
