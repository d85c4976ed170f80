"""Customer health score: as-of features, PAYDEX-style baseline, pure-Python model and scoring.

Lambda imports only the standard library and the shipped parameter file from here; numpy/scikit-learn live in
``tools/health`` (offline training and the report). Public entry points for the scoring service:

* :func:`arsync.health.scoring.assess_customer` (ledger + profile -> :class:`HealthAssessment`)
* :func:`arsync.health.scoring.assess_snapshot` (precomputed :class:`FeatureSnapshot`)
* :func:`arsync.health.throughput.measure` (customers per second, for the benchmark suite)
"""

from arsync.health.features import CustomerProfile, FeatureSnapshot, InvoiceFact, compute_features
from arsync.health.scoring import HealthAssessment, HealthFactor, assess_customer, assess_snapshot

__all__ = [
    "CustomerProfile",
    "FeatureSnapshot",
    "HealthAssessment",
    "HealthFactor",
    "InvoiceFact",
    "assess_customer",
    "assess_snapshot",
    "compute_features",
]
