"""Shared fixtures. Distributed tests use a real Ray with a fixed number of logical CPUs."""

import os
import secrets
import tempfile

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Keras writes ~/.keras/keras.json on first import: keep it (and subprocesses') out of $HOME.
os.environ.setdefault("KERAS_HOME", tempfile.mkdtemp(prefix="distrl-keras-"))
# A new local Ray cluster turns token auth on and, without a token, writes one to
# ~/.ray/auth_token: give this session (and its subprocesses) a token file of its own instead.
if not (os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH")):
    _token = os.path.join(tempfile.mkdtemp(prefix="distrl-ray-"), "auth_token")
    with open(_token, "w") as f:
        f.write(secrets.token_hex(16))
    os.environ["RAY_AUTH_TOKEN_PATH"] = _token

RAY_CPUS = 4  # 2 workers + learner + 1 spare, whatever the machine's core count
SYSTEM_TESTS = os.environ.get("DISTRL_SYSTEM_TESTS") == "1"  # .ci/run sets it


RAY_FIXTURES = {"ray_cluster", "multinode_cluster", "_ray_session"}


def pytest_collection_modifyitems(config, items):
    """Tests on a real Ray are ``slow`` (starting actors takes seconds): ``pytest -m "not slow"``
    is the fast inner loop. Tests marked ``system`` change the machine outside the clone: they
    run only when asked (DISTRL_SYSTEM_TESTS=1, as CI does), else are reported as skipped."""
    skip = pytest.mark.skip(reason="changes the machine; set DISTRL_SYSTEM_TESTS=1 to run it")
    for item in items:
        if RAY_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
        if "system" in item.keywords and not SYSTEM_TESTS:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def _ray_session():
    yield
    import ray

    ray.shutdown()


@pytest.fixture
def ray_cluster(_ray_session):
    """The shared one-node Ray (started once; again after a multi-node test shut it down)."""
    import ray

    if not ray.is_initialized():
        ray.init(num_cpus=RAY_CPUS, include_dashboard=False, logging_level="WARNING")
    return ray


@pytest.fixture
def multinode_cluster(_ray_session):
    """A ``ray.cluster_utils.Cluster``: a head with one CPU; tests add worker nodes. The driver
    is connected to it for the test, then the shared one-node Ray comes back when asked for."""
    import ray
    from ray.cluster_utils import Cluster

    ray.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    try:
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()
