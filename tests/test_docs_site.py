"""The documentation site builds with ``mkdocs build --strict`` (./scripts/test runs it on the
tree), and the build fails on a broken link and on an API object without a docstring: shown
here on copies of the site's sources with one planted fault each."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("mkdocs.yml", "README.md", "BENCHMARKS.md", "RELIABILITY.md", "CHANGELOG.md",
           "docs", "deploy/README.md", "scripts/mkdocs_hooks.py", "benchmarks/results")  # fmt: skip


def build(tmp_path):
    for name in SOURCES:
        source, target = ROOT / name, tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            shutil.copy(source, target)
    return tmp_path


def mkdocs(root):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1",
           "PYTHONPATH": os.pathsep.join([str(root), str(ROOT)])}  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict"],
        cwd=root, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.fixture
def site(tmp_path):
    return build(tmp_path)


def test_a_broken_link_fails_the_build(site):
    page = site / "docs" / "architecture.md"
    page.write_text(page.read_text() + "\nSee [the missing page](no-such-page.md).\n")
    result = mkdocs(site)
    assert result.returncode != 0
    assert "no-such-page.md" in result.stdout + result.stderr


def test_an_undocumented_api_object_fails_the_build(site):
    (site / "planted.py").write_text('"""A module."""\n\n\ndef undocumented():\n    pass\n')
    api = site / "docs" / "api" / "index.md"
    api.write_text(api.read_text() + "\n::: planted.undocumented\n")
    result = mkdocs(site)
    assert result.returncode != 0
    assert "no docstring: planted.undocumented" in result.stdout + result.stderr
