"""The benchmark suite's own logic: stop-rule statistics, the report, skipped peers, and the
measurements it takes from /proc and a real Ray (tiny sizes; the numbers are not checked)."""

import json
import os
import subprocess
import sys
import time

import pytest

from benchmarks import peers, run, scaling


def _run(solved, wall, steps, updates=None, startup=5.0):
    r = {
        "solved": solved,
        "wall_s": wall,
        "env_steps": steps,
        "startup_s": startup,
        "final_mean_return": 0.0,
    }
    if updates is not None:
        r["learner_updates"] = updates
    return r


def test_solve_stats_count_an_unsolved_run_with_its_capped_wall():
    stats = run.solve_stats(
        [_run(True, 10, 1000, 10), _run(False, 120, 9000, 90), _run(True, 20, 3000, 40)]
    )
    assert stats["solved"] == "2/3" and not stats["all_solved"]
    assert stats["wall_s"] == 20 and stats["env_steps"] == 3000
    assert stats["steps_per_s"] == pytest.approx(100.0)  # 1000/10, 75, 150 -> median 100
    assert stats["updates_per_s"] == pytest.approx(1.0)


def _results():
    distrl = {
        "name": "distrl A2C sync",
        "env": "CartPole-v1",
        "runs": [_run(True, 4.0, 80_000, 160), _run(True, 5.0, 100_000, 200)],
    }
    sb3 = {
        "name": "stable-baselines3 A2C",
        "env": "CartPole-v1",
        "runs": [_run(True, 16.0, 120_000), _run(True, 20.0, 160_000)],
    }
    rllib = {
        "name": "rllib-ppo-cartpole",
        "env": "CartPole-v1",
        "runs": [{"skipped": "not installed: torch"}],
    }
    return {
        "solve": {"rows": [distrl]},
        "peers": {"rows": [sb3, rllib]},
        "startup": {
            "workers": 16,
            "median_startup_s": 11.0,
            "runs": [{"startup_s": 11.0}, {"startup_s": 12.5}],
        },
        "broadcast": {
            "repeats": 5,
            "rows": [
                {"hidden": 64, "weights_mib": 0.02, "workers": 1, "median_ms": 1.5},
                {"hidden": 64, "weights_mib": 0.02, "workers": 2, "median_ms": 2.5},
            ],
        },
        "machine": {
            "cpus": 2,
            "memory_gib": 23.5,
            "python": "3.11",
            "ray": "2",
            "keras": "3",
            "tensorflow": "2",
            "gymnasium": "1",
        },
        "generated": "2026-11-22",
    }


def test_report_compares_with_each_peer_and_names_the_skipped_one(tmp_path):
    block = run.render(_results(), tmp_path, draw=False)
    assert block.startswith(run.BEGIN) and block.endswith(run.END)
    # distrl: median wall 4.5 s, 20,000 steps/s; SB3: 18 s, median of 7,500 and 8,000 steps/s
    assert "training wall = **0.25x**" in block
    assert "env steps/s = **2.6x**" in block  # 20,000 / 7,750
    assert "rllib-ppo-cartpole on CartPole-v1: not run (not installed: torch)" in block
    assert "| rllib-ppo-cartpole | CartPole-v1 | skipped: not installed: torch |" in block
    assert "median **11.0 s**" in block
    assert "| MLP 64x64, 0.02 MiB | 1.5 ms | 2.5 ms |" in block


def test_report_draws_the_plots(tmp_path):
    block = run.render(_results(), tmp_path)
    assert (tmp_path / "time_to_solve.png").stat().st_size > 1000
    assert "time_to_solve.png)" in block


def test_the_generated_block_replaces_only_itself():
    block = f"{run.BEGIN}\nnew\n{run.END}"
    document = f"# Benchmarks\nhand written\n\n{run.BEGIN}\nold\n{run.END}\n\n## Later\nkept\n"
    replaced = run.replace_block(document, block)
    assert "old" not in replaced and "new" in replaced
    assert replaced.startswith("# Benchmarks\nhand written") and replaced.endswith("kept\n")
    assert run.replace_block(replaced, block) == replaced
    appended = run.replace_block("# Benchmarks\n", block)
    assert appended == f"# Benchmarks\n\n{block}\n"


def test_a_missing_peer_is_reported_as_skipped_never_run(monkeypatch, capsys):
    def must_not_train(args):
        raise AssertionError("a peer without its library must not train")

    monkeypatch.setitem(peers.PEERS, "ghost", (("no_such_module_for_distrl",), must_not_train))
    with pytest.raises(SystemExit):  # argparse rejects a name outside PEERS...
        peers.main(["nobody"])
    capsys.readouterr()
    peers.main(["ghost", "--seed", "3"])  # ...and skips a known one whose library is absent
    document = json.loads(capsys.readouterr().out)
    assert document["peer_id"] == "ghost" and document["seed"] == 3
    assert document["skipped"].startswith("not installed: no_such_module_for_distrl")
    assert "solved" not in document and "wall_s" not in document


def test_the_last_json_line_is_taken_from_chatty_output():
    out = 'Ray says hello\n{"a": 1}\n(pid=3) {not json}\n{"peer_id": "x", "solved": true}\n'
    assert run._last_json(out) == {"peer_id": "x", "solved": True}
    with pytest.raises(ValueError):
        run._last_json("no json here\n")


def test_memory_is_read_from_proc_for_the_whole_process_tree():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        deadline = time.time() + 10
        while child.pid not in scaling.descendants(os.getpid()) and time.time() < deadline:
            time.sleep(0.05)
        assert child.pid in scaling.descendants(os.getpid())
        own, childs = scaling.pss_mib(os.getpid()), scaling.pss_mib(child.pid)
        assert own > 1 and childs > 1  # MiB: this interpreter and a bare one both use some
        assert scaling.tree_pss_mib(os.getpid()) >= own + childs - 0.5
    finally:
        child.kill()
        child.wait()


def test_broadcast_reaches_every_worker_on_a_real_ray(ray_cluster):
    document = scaling.broadcast([1, 2], [16, 64], repeats=2)
    rows = document["rows"]
    assert [(r["hidden"], r["workers"]) for r in rows] == [(16, 1), (16, 2), (64, 1), (64, 2)]
    small, large = rows[0]["weights_mib"], rows[2]["weights_mib"]
    assert 0 < small < large  # the 64-unit MLP's weights are bigger
    assert all(r["median_ms"] > 0 and len(r["runs_ms"]) == 2 for r in rows)


def test_bad_options_stop_before_anything_runs(tmp_path, capsys):
    cases = [
        (["--rllib-python", str(tmp_path / "no-python")], "cannot import ray and torch"),
        (["--markdown", str(tmp_path / "missing.md")], "no such file"),
        (["--peer-max-seconds", "0"], "must be > 0"),
    ]
    for argv, message in cases:
        with pytest.raises(SystemExit) as stop:
            run.main([*argv, "--results", str(tmp_path / "results")])
        assert stop.value.code == 2
        error = capsys.readouterr().err.strip().splitlines()[-1]
        assert error.startswith("usage: ") is False and message in error
    assert not (tmp_path / "results" / "meta.json").exists()  # nothing was run or written


def test_a_failing_peer_is_recorded_and_the_others_still_run(monkeypatch):
    calls = []

    def fake_python_m(python, module, *args, timeout):
        calls.append(args[0])
        if args[0] == "sb3-a2c-cartpole":
            raise RuntimeError("benchmarks.peers failed:\nTraceback ...\nOSError: out of memory")
        return json.dumps({"peer_id": args[0], "peer": "x", **_run(True, 1.0, 10)}) + "\n"

    monkeypatch.setattr(run, "_python_m", fake_python_m)
    document = run.run_peers([0, 1], None, 10.0)
    first, *others = document["rows"]
    assert first["runs"][0]["skipped"] == "run failed: OSError: out of memory"
    assert len(first["runs"]) == 1  # a failed peer is not retried for every seed
    assert all(r["runs"][0]["solved"] for r in others) and len(calls) == 1 + 2 * len(others)


def test_version_reach_waits_for_the_last_worker_and_counts_newer_versions():
    from benchmarks.cluster_scale import version_reach

    published = [(1, 10.0), (2, 11.0), (3, 12.0)]
    loads = [
        [(1, 10.5), (3, 12.2)],  # skipped version 2: version 3 counts for it
        [(1, 10.1), (2, 11.4)],  # never reached version 3
    ]
    assert version_reach(published, loads) == [0.5, pytest.approx(1.2)]


def test_each_distrl_run_is_compared_with_the_peer_of_its_own_algorithm():
    def row(name, wall, steps):
        return {"name": name, "env": "CartPole-v1", **run.solve_stats([_run(True, wall, steps)])}

    rows = [
        row("distrl A2C sync", 5.0, 100_000),
        row("distrl A2C sync overlap", 2.5, 100_000),
        row("distrl PPO sync", 4.0, 40_000),
        row("stable-baselines3 A2C", 10.0, 100_000),
        row("stable-baselines3 PPO", 8.0, 32_000),
    ]
    lines = run.peer_ratios(rows)
    assert len(lines) == 3  # two A2C runs against SB3 A2C, PPO against SB3 PPO only
    assert "distrl A2C sync overlap / stable-baselines3 A2C training wall = **0.25x**" in lines[1]
    assert "env steps/s = **4.0x**" in lines[1]
    assert "distrl PPO sync / stable-baselines3 PPO training wall = **0.50x**" in lines[2]
    assert "env steps = 1.25x" in lines[2]


def test_cluster_scale_report_has_a_row_per_mode_and_count_and_draws_the_curves(tmp_path):
    from benchmarks.cluster_scale import report

    def row(mode, k):
        return {"mode": mode, "workers": k, "driver_cpu_us_per_fragment": 1000.0 / k,
                "version_reach_ms": 2.0 * k, "samples_per_s": 100.0 * k}  # fmt: skip

    document = {
        "nodes": 5, "step_s": 0.01, "machine": {"cpus": 2},
        "scale": {"rows": [row(mode, k) for k in (1, 8) for mode in ("sync", "async")]},
    }  # fmt: skip
    table = report(document, str(tmp_path / "curves.png")).splitlines()
    assert len(table) == 2 + 4
    assert table[0].count("|") == 2 + 3 + 1  # mode, workers and the three columns present
    assert table[4] == "| sync | 8 | 125 | 16 | 800 |"
    assert (tmp_path / "curves.png").stat().st_size > 1000


def test_atari_breakdown_rows_are_core_microseconds_per_agent_step():
    """Each row's CPU seconds over the window's agent steps; the rows add up to the cores the
    window had; medians over windows; overrides are read as --set reads them."""
    from benchmarks import atari_breakdown as bd

    def window(scale):
        w = {row: 0.5 * scale for row in bd.ROWS}  # 10 rows x 0.5 s: 5 core-seconds
        return {**w, "wall_s": 2.5, "agent_steps": 5_000 * scale, "updates": 50,
                "learner_update_wall_s": 1.0}  # fmt: skip

    result = bd.table([window(1), window(2), window(1)])
    assert result["core_us_per_agent_step"]["env"] == 100.0  # 0.5 s / 5,000 steps
    assert result["core_us_total"] == 1000.0  # 2 cores x 2.5 s / 5,000 steps
    assert result["agent_steps_per_s"] == 2_000.0 and result["learner_busy_share"] == 0.4
    text = bd.markdown({"preset": result, "other": result})
    assert "| env | 100 | 100 |" in text and "| agent steps/s | **2,000** | **2,000** |" in text
    overrides = bd.parse_overrides(["a2c.lr=1e-3", "overlap=true"])
    config = bd.build_config(overrides)  # read as --set reads them
    assert config.a2c.lr == 1e-3 and config.overlap is True
    busy, idle = bd.machine_cpu()
    before = bd.process_cpu(os.getpid())
    sum(i * i for i in range(2_000_000))  # burn some CPU in this process
    assert bd.process_cpu(os.getpid()) > before and busy > 0 and idle >= 0


def test_atari_floor_counts_multiply_adds_and_derives_the_ceiling():
    """forward_macs counts Conv2D and Dense multiply-adds from the layers' shapes; summarize
    turns windows into core-microseconds per agent step and the 2-core ceiling."""
    import keras

    from benchmarks import atari_floor as floor

    inputs = keras.Input((10, 10, 3))
    x = keras.layers.Conv2D(4, 3, strides=1)(inputs)  # 8x8x4 outputs x 3x3x3 each: 6,912
    x = keras.layers.Conv2D(2, 2, strides=2)(x)  # 4x4x2 outputs x 2x2x4 each: 512
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(5)(x)  # 32 x 5: 160
    assert floor.forward_macs(keras.Model(inputs, outputs)) == 6_912 + 512 + 160

    def window(scale):
        parts = {"env": 0.4, "acting": 0.3, "weights load": 0.05, "targets": 0.05,
                 "train step": 0.3, "rest": 0.1}  # fmt: skip
        return {**{k: v * scale for k, v in parts.items()}, "agent_steps": 1_000 * scale,
                "wall_s": 1.25 * scale, "cpu_s": 1.2 * scale}  # fmt: skip

    result = floor.summarize(1, [window(1), window(3), window(2)], macs=1_000_000)
    assert result["core_us_per_agent_step"]["env"] == 400.0
    assert result["agent_steps_per_s_one_process"] == 800.0 and result["cores_busy"] == 0.96
    assert result["ceiling_2_cores"] == 2_000.0  # 2e6 / (400 + 300 + 300)
    assert result["train_step_gflops"] == 20.0  # 6e6 FLOPs per sample in 300 microseconds
