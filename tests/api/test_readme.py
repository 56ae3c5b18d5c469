"""The README's Python API example runs as written, in a fresh process with its own Ray."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # the README example trains CartPole to 400

ROOT = Path(__file__).resolve().parents[2]


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    found = re.search(r"<!-- api-example -->\n```python\n(.*?)```", text, flags=re.S)
    assert found, "README.md lost its api-example block"
    return found.group(1)


def test_the_readme_api_example_runs_as_written(tmp_path):
    script = tmp_path / "example.py"
    script.write_text(readme_example())
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=900)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert any(line.startswith("stopped ") for line in lines), done.stdout[-2000:]
    assert (tmp_path / "runs/api-example/best.keras").is_file()
    assert any(
        p.name.startswith("ckpt-") for p in (tmp_path / "runs/api-example/checkpoints").iterdir()
    )
    assert any(line.startswith("resumed to") for line in lines)
