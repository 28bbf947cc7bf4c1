"""Shared pytest configuration: hypothesis profiles sized for a 2-core CI machine."""
import os

from hypothesis import HealthCheck, settings

# CI draws the same examples on every run, so a green commit stays green.
settings.register_profile(
    "ci", max_examples=40, deadline=None, derandomize=True, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "dev", max_examples=60, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

try:  # the reference values in the tests are float64; JAX defaults to float32
    import jax

    jax.config.update("jax_enable_x64", True)
except ImportError:  # JAX is an optional extra
    pass
