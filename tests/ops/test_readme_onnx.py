"""The README's onnxruntime example runs as written on a policy exported by distrl, in a
process that imports neither distrl nor TensorFlow."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from distrl.export import main as export
from tests.ops.test_export import checkpoint

pytestmark = pytest.mark.slow


def test_the_readme_onnx_example_runs_as_written(tmp_path):
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    (code,) = re.findall(r"<!-- onnx-example -->\n```python\n(.*?)```", readme, re.S)
    path, _ = checkpoint(tmp_path, {"algo": "a2c", "env": "CartPole-v1"})
    assert export(["--checkpoint", str(path), "--onnx", str(tmp_path / "policy.onnx")]) == 0
    guard = '\nimport sys\nassert "distrl" not in sys.modules and "tensorflow" not in sys.modules\n'
    out = subprocess.run([sys.executable, "-c", code + guard], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert re.fullmatch(r"\[[01] [01]\]\n", out.stdout), out.stdout
