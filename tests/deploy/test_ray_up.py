"""``ray up`` itself: the local-provider config (deploy/local.yaml) against this machine over
SSH on loopback. The test installs and starts an SSH server where there is none (Debian's
packages, as root), brings a head up, trains through ``ray exec`` and tears the cluster down.

It changes the machine (packages, sshd, the login user's authorized_keys, every Ray process),
so it is a ``system`` test: it runs only with DISTRL_SYSTEM_TESTS=1 (CI sets it).
"""

import getpass
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parent.parent.parent
BIN = Path(sys.executable).parent


def listening(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def apt_install(*packages):
    assert os.geteuid() == 0, f"needs {' and '.join(packages)}, or root to install them"
    command = ["apt-get", "install", "-y", "--no-install-recommends", *packages]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(command, capture_output=True, env=env).returncode != 0:
        subprocess.run(["apt-get", "update"], check=True, capture_output=True, env=env)
        subprocess.run(command, check=True, capture_output=True, env=env)


def ensure_ssh_server():
    """An sshd on 127.0.0.1:22 (started here if none is running); returns the process we
    started, or None."""
    if not Path("/usr/sbin/sshd").exists():
        apt_install("openssh-server")
    if shutil.which("rsync") is None:
        apt_install("rsync")
    if listening(22):
        return None
    subprocess.run(["ssh-keygen", "-A"], check=True, capture_output=True)  # host keys
    Path("/run/sshd").mkdir(exist_ok=True)
    sshd = subprocess.Popen(
        ["/usr/sbin/sshd", "-D", "-e", "-p", "22", "-o", "ListenAddress=127.0.0.1",
         "-o", "PasswordAuthentication=no", "-o", "PermitRootLogin=prohibit-password"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not listening(22):
        assert time.monotonic() < deadline and sshd.poll() is None, "sshd did not start"
        time.sleep(0.2)
    return sshd


@pytest.mark.slow
@pytest.mark.system
def test_ray_up_local_provider_over_loopback_ssh_trains_and_tears_down(tmp_path, _ray_session):
    import ray

    ray.shutdown()  # `ray down` stops every Ray process of this machine
    sshd = ensure_ssh_server()
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    # sshd reads the key file of the user it logs in as, wherever $HOME points now.
    authorized = Path(pwd.getpwuid(os.getuid()).pw_dir) / ".ssh" / "authorized_keys"
    authorized.parent.mkdir(mode=0o700, exist_ok=True)
    before = authorized.read_text() if authorized.exists() else None
    authorized.write_text((before or "") + key.with_suffix(".pub").read_text())
    authorized.chmod(0o600)
    # deploy/local.yaml with this machine as the head and no workers; the node already has
    # distrl (this virtual environment), so no file mounts or setup commands.
    config = yaml.safe_load((ROOT / "deploy/local.yaml").read_text())
    config["cluster_name"] = f"distrl-test-{os.getpid()}"
    config["provider"].update(head_ip="127.0.0.1", worker_ips=[])
    config["max_workers"] = 0
    config["auth"] = {"ssh_user": getpass.getuser(), "ssh_private_key": str(key)}
    config["file_mounts"], config["setup_commands"] = {}, []
    port = 6479
    # Ray's token authentication, explicit (a head enables it by itself when it finds
    # ~/.ray/auth_token, which would make the result depend on this machine's past).
    token = tmp_path / "ray_token"
    token.write_text(secrets.token_hex(32))
    auth = f"RAY_AUTH_MODE=token RAY_AUTH_TOKEN_PATH={token}"
    config["head_start_ray_commands"] = [
        f"{BIN}/ray stop",
        f"{auth} {BIN}/ray start --head --port={port} --num-cpus=3 --include-dashboard=false "
        "--autoscaling-config=~/ray_bootstrap_config.yaml",
    ]
    config["worker_start_ray_commands"] = []
    cluster_yaml = tmp_path / "cluster.yaml"
    cluster_yaml.write_text(yaml.safe_dump(config))
    summary = tmp_path / "summary.json"
    ray_cli = str(BIN / "ray")
    try:
        up = subprocess.run([ray_cli, "up", "-y", "--no-config-cache", str(cluster_yaml)],
                            capture_output=True, text=True, timeout=600)  # fmt: skip
        assert up.returncode == 0, (up.stdout + up.stderr)[-3000:]
        train = (
            f"{auth} {sys.executable} -m distrl.launch --address 127.0.0.1:{port} --workers 2 "
            f"--max-steps 3000 --logdir {tmp_path / 'run'} --json-summary {summary}"
        )
        run = subprocess.run([ray_cli, "exec", str(cluster_yaml), train],
                             capture_output=True, text=True, timeout=600)  # fmt: skip
        assert run.returncode == 0, (run.stdout + run.stderr)[-6000:-1500]
        assert '"stop_reason": "max_steps"' in summary.read_text()
    finally:
        # The local provider's `ray down` did not stop the head's Ray here (it reports "Head
        # node ... not found" for a loopback head), so stop it through the cluster first.
        subprocess.run([ray_cli, "exec", str(cluster_yaml), f"{BIN}/ray stop"],
                       capture_output=True, timeout=300)  # fmt: skip
        down = subprocess.run([ray_cli, "down", "-y", str(cluster_yaml)],
                              capture_output=True, text=True, timeout=300)  # fmt: skip
        if before is None:
            authorized.unlink()
        else:
            authorized.write_text(before)
        if sshd is not None:
            sshd.terminate()
            sshd.wait(timeout=30)
    assert down.returncode == 0, (down.stdout + down.stderr)[-3000:]
    deadline = time.monotonic() + 60
    while listening(port) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not listening(port)  # the head is gone
