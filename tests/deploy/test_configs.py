"""Every deploy file checked by its tool's own validator (no Docker engine, cloud or Kubernetes
here): Ray's cluster-config schema, the Compose specification's JSON schema, hadolint, and the
Kubernetes schemas for the RayJob's pod templates (KubeRay's own CRD schema is not obtainable
offline, so the RayJob's fields are checked against the KubeRay API reference below)."""

import copy
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parent.parent.parent
CLUSTER_CONFIGS = ["deploy/aws.yaml", "deploy/gcp.yaml", "deploy/local.yaml"]
BIN = Path(sys.executable).parent


def ray_validate(config):
    from ray.autoscaler._private.commands import prepare_config
    from ray.autoscaler._private.util import validate_config

    validate_config(prepare_config(copy.deepcopy(config)))


@pytest.mark.parametrize("path", CLUSTER_CONFIGS)
def test_cluster_configs_pass_rays_own_validation(path):
    config = yaml.safe_load((ROOT / path).read_text())
    ray_validate(config)
    typo = {**config, "head_start_ray_comands": []}  # the validator does bite
    with pytest.raises(Exception, match="head_start_ray_comands"):
        ray_validate(typo)


@pytest.mark.parametrize("path", [*CLUSTER_CONFIGS, "deploy/kuberay-rayjob.yaml",
                                  "docker/docker-compose.yml"])  # fmt: skip
def test_every_top_level_key_is_commented(path):
    lines = (ROOT / path).read_text().splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^[a-z_]+:", line) and line.split(":")[0] not in ("apiVersion", "kind"):
            assert i > 0 and lines[i - 1].startswith("#"), f"{path}:{i + 1} {line!r} uncommented"


def test_cloud_configs_have_cpu_and_gpu_groups_and_the_image():
    for path in ("deploy/aws.yaml", "deploy/gcp.yaml"):
        config = yaml.safe_load((ROOT / path).read_text())
        types = config["available_node_types"]
        assert types["head"]["resources"] == {"CPU": 0}
        assert types["cpu_worker"]["max_workers"] >= 8
        assert types["gpu_learner"]["resources"]["GPU"] == 1
        assert config["docker"]["image"] == "distrl:0.1.0"


def check_compose(path):
    return subprocess.run(
        [BIN / "check-jsonschema", "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True, text=True,
    )  # fmt: skip


def test_compose_file_follows_the_compose_specification(tmp_path):
    path = ROOT / "docker/docker-compose.yml"
    result = check_compose(path)
    assert result.returncode == 0, result.stdout + result.stderr
    compose = yaml.safe_load(path.read_text())
    services = compose["services"]
    assert set(services) == {"ray-head", "ray-worker", "trainer"}
    for name, service in services.items():
        assert service["shm_size"] == "2gb", name
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), port  # never on all interfaces
    assert "healthcheck" in services["ray-head"] and "healthcheck" in services["ray-worker"]
    trainer = " ".join(services["trainer"]["command"].split())
    assert "python -m distrl.launch --address ray-head:6379 --workers 16" in trainer
    bad = copy.deepcopy(compose)
    bad["services"]["ray-head"]["shm_size"] = ["2gb"]  # the schema does bite
    (tmp_path / "bad.yml").write_text(yaml.safe_dump(bad))
    assert check_compose(tmp_path / "bad.yml").returncode != 0


def test_dockerfile_passes_hadolint_and_runs_as_a_non_root_user(tmp_path):
    dockerfile = ROOT / "docker/Dockerfile"
    result = subprocess.run([BIN / "hadolint", str(dockerfile)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    text = dockerfile.read_text()
    assert re.search(r"^FROM python:3\.11", text, re.M)
    assert re.search(r"^USER 1000:1000$", text, re.M)
    assert "--constraint constraints.txt" in text  # the same pins as the test suite
    (tmp_path / "Dockerfile").write_text(text.replace("apt-get install -y", "apt-get install"))
    bad = subprocess.run([BIN / "hadolint", str(tmp_path / "Dockerfile")], capture_output=True)
    assert bad.returncode != 0  # the linter does bite
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ignored[:2] == ["*", "!constraints.txt"] or "*" in ignored


def test_kuberay_rayjob_pod_templates_pass_kubernetes_validation():
    import kubernetes_validate as kv

    job = yaml.safe_load((ROOT / "deploy/kuberay-rayjob.yaml").read_text())
    # KubeRay's RayJob API (ray.io/v1): the fields this manifest relies on.
    assert (job["apiVersion"], job["kind"]) == ("ray.io/v1", "RayJob")
    spec = job["spec"]
    assert set(spec) <= {"entrypoint", "shutdownAfterJobFinishes", "ttlSecondsAfterFinished",
                         "activeDeadlineSeconds", "rayClusterSpec"}  # fmt: skip
    assert "python -m distrl.launch --address auto" in " ".join(spec["entrypoint"].split())
    cluster = spec["rayClusterSpec"]
    groups = [cluster["headGroupSpec"], *cluster["workerGroupSpecs"]]
    for group in groups:
        assert isinstance(group["rayStartParams"], dict)
        assert all(isinstance(v, str) for v in group["rayStartParams"].values())
        pod = {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"},
               "template": group["template"]}  # fmt: skip
        kv.validate(pod, kv.latest_version(), strict=True)
    broken = copy.deepcopy(groups[0]["template"])
    broken["spec"]["containers"][0]["imagePullPolicy"] = 3
    with pytest.raises(kv.ValidationError):
        kv.validate({"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"},
                     "template": broken}, kv.latest_version(), strict=True)  # fmt: skip
