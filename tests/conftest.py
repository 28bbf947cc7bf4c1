"""Shared pytest configuration: hypothesis profiles sized for a 2-core CI machine."""
import os

from hypothesis import HealthCheck, settings

# Every run draws the same examples (derandomized, no replay of a local example database),
# on CI and on a developer's machine alike: the README's test command gives the same
# outcome on every run. HYPOTHESIS_PROFILE=explore draws new random examples (and more of
# them) to hunt for bugs.
settings.register_profile(
    "ci", max_examples=40, deadline=None, derandomize=True, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "explore", max_examples=60, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

try:  # the reference values in the tests are float64; JAX defaults to float32
    import jax

    jax.config.update("jax_enable_x64", True)
except ImportError:  # JAX is an optional extra
    pass
