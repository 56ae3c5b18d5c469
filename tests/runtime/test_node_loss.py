"""Losing a node of a multi-node cluster (ray.cluster_utils.Cluster): training goes on."""

import ray

from distrl.config import build_config
from distrl.envs import env_spec
from distrl.ops.tracking import StopRule, TrainingProgress
from distrl.runtime import run_sync
from distrl.runtime.ray_backend import RayBackend

SPEC = env_spec("CartPole-v1")


def node_of(actor):
    return ray.get(actor.__ray_call__.remote(lambda self: ray.get_runtime_context().get_node_id()))


def test_workers_of_a_lost_node_are_recreated_where_there_is_room(multinode_cluster):
    cluster = multinode_cluster
    nodes = [cluster.add_node(num_cpus=3) for _ in range(2)]
    ray.init(address=cluster.address, logging_level="WARNING")
    config = build_config(
        {"workers": 4, "envs_per_worker": 2, "rollout_len": 8, "faults.worker_start_timeout": 60}
    )
    backend = RayBackend(config, SPEC)
    try:
        learner_node = node_of(backend.learner)
        placed = [node_of(w) for w in backend.workers]
        assert len(set(placed)) >= 2  # SPREAD: the workers sit on several nodes
        # Lose a worker node that does not hold the learner (losing the learner's is the
        # learner-restart case, tested apart).
        victim = next(n for n in nodes if n.node_id != learner_node)
        lost = placed.count(victim.node_id)
        assert lost >= 1
        state, seen = TrainingProgress(), []

        def on_update(s):
            seen.append(s.updates)
            if len(seen) == 3:
                cluster.remove_node(victim)

        reason = run_sync(backend, state, StopRule(None, 3_000, None), on_update)
        assert reason == "max_steps"
        assert state.metrics["worker/restarts"] == lost
        # 4 CPUs survive: 1 for the learner, 3 for workers. Those lost are recreated on the
        # survivors while there is room; past that the run goes on with fewer workers.
        active = backend.active_workers()
        assert len(active) == 3 == state.metrics["worker/active"]
        alive = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
        assert all(node_of(backend.workers[i]) in alive for i in active)
        assert len(seen) > 10  # many updates after the loss
    finally:
        backend.shutdown()
