"""Shared fixtures. Distributed tests use a real Ray with a fixed number of logical CPUs."""

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

RAY_CPUS = 4  # 2 workers + learner + 1 spare, whatever the machine's core count


@pytest.fixture(scope="session")
def ray_cluster():
    import ray

    ray.init(num_cpus=RAY_CPUS, include_dashboard=False, logging_level="WARNING")
    yield ray
    ray.shutdown()
