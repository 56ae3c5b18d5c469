"""Config building and validation, and the CLI's exit status 2 for bad input."""

import subprocess
import sys

import pytest

from distrl.config import ConfigError, build_config, load_preset, preset_names
from distrl.launch import main


def test_defaults_and_presets_are_valid():
    assert build_config().env == "CartPole-v1"
    for name in preset_names():
        build_config(load_preset(name))
    assert "cartpole-a2c" in preset_names()


def test_defaults_are_the_cartpole_preset():
    # `python -m distrl.launch` with no preset must train exactly the documented preset
    assert build_config(load_preset("cartpole-a2c")) == build_config()


def test_scientific_notation_without_a_dot_is_a_number():
    # YAML 1.1 (PyYAML) reads 7e-4 as a string; the config accepts it as the number it means.
    c = build_config({"a2c.lr": "7e-4", "max_steps": "2e5"})
    assert c.a2c.lr == 7e-4 and c.max_steps == 200_000


def test_later_layers_win_and_sections_merge():
    c = build_config({"a2c": {"lr": 0.1, "gamma": 0.5}}, {"a2c.lr": 0.2, "workers": 3})
    assert (c.a2c.lr, c.a2c.gamma, c.workers) == (0.2, 0.5, 3)
    assert c.model.hidden == (64, 64)


@pytest.mark.parametrize(
    ("layer", "message"),
    [
        ({"wokers": 2}, "unknown config key 'wokers'"),
        ({"a2c.lrr": 1}, "unknown config key 'a2c.lrr'"),
        ({"workers": "many"}, "workers must be an integer; got 'many'"),
        ({"workers": 1.5}, "workers must be an integer; got 1.5"),
        ({"workers": -1}, "workers must be >= 0; got -1"),
        ({"a2c.gamma": 1.5}, "a2c.gamma must be in [0, 1]; got 1.5"),
        ({"a2c.optimizer": "sgd"}, "a2c.optimizer must be one of adam, rmsprop; got 'sgd'"),
        ({"model.hidden": [64, 0]}, "model.hidden must be positive layer sizes"),
        ({"model.name": "resnet"}, "model.name must be one of"),
        ({"acting.jit": "yes"}, "acting.jit must be true or false"),
        ({"mode": "a3c"}, "mode must be one of sync, async; got 'a3c'"),
        ({"async_unit": "gradients"}, "async_unit gradients needs mode async"),
        ({"mode": "async", "overlap": True}, "overlap applies to mode sync"),
        ({"algo": "pg", "overlap": True}, "algo pg neither corrects it nor learns from replay"),
        ({"overlap": "sometimes"}, "overlap must be true or false"),
        (
            {"mode": "async", "async_unit": "gradients", "lag.correction": "vtrace"},
            "correction vtrace applies to trajectories",
        ),
        (
            {"mode": "async", "async_unit": "gradients", "lag.stale_data": "correct"},
            "stale gradients can only be discarded",
        ),
        ({"lag.max_policy_lag": -1}, "lag.max_policy_lag must be >= 0; got -1"),
        ({"lag.stale_data": "keep"}, "lag.stale_data must be one of discard, correct; got 'keep'"),
        ({"a2c.vtrace_c_bar": 0}, "a2c.vtrace_c_bar must be > 0; got 0.0"),
    ],
)
def test_bad_values_raise_config_error_naming_the_key(layer, message):
    with pytest.raises(ConfigError) as err:
        build_config(layer)
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--workers", "-2"], "workers must be >= 0; got -2"),
        (["--workers", "two"], "workers must be an integer; got 'two'"),
        (["--env", "NoSuchEnv-v9"], "unknown env id 'NoSuchEnv-v9'"),
        (["--algo", "td3", "--env", "Acrobot-v1"], "algo td3 needs a continuous action space"),
        (["--preset", "nope"], "unknown preset 'nope'"),
        (["--config", "/nonexistent/x.yaml"], "config file '/nonexistent/x.yaml' does not exist"),
        (["--set", "a2c.lr"], "--set expects KEY=VALUE"),
        (["--set", "a2c.lr=-1"], "a2c.lr must be > 0; got -1.0"),
        (["--max-steps", "0"], "max_steps must be > 0; got 0"),
        (["--mode", "async", "--max-policy-lag", "x"], "lag.max_policy_lag must be an integer"),
        (["--async-unit", "gradients"], "async_unit gradients needs mode async"),
        (["--algo", "ddpg"], "algo ddpg needs a continuous action space; CartPole-v1 has a"),
        (
            ["--algo", "ddpg", "--env", "Pendulum-v1", "--set", "ddpg.noise=pink"],
            "ddpg.noise must be one of ou, gaussian; got 'pink'",
        ),
        (
            ["--algo", "ddpg", "--env", "Pendulum-v1", "--set", "ddpg.tau=0"],
            "ddpg.tau must be in (0, 1]; got 0.0",
        ),
        (["--algo", "ddpg", "--max-policy-lag", "3"], "lag.max_policy_lag bounds on-policy data"),
        (["--checkpoint-dir", "/proc/nope"], "checkpoint_dir '/proc/nope' is not writable"),
        (["--resume", "/nonexistent/ckpt"], "no checkpoint in '/nonexistent/ckpt'"),
        (["--checkpoint-every", "60"], "checkpoint.every needs checkpoint.dir"),
        (["--learner-restarts", "2"], "learner_restarts restarts the learner from a checkpoint"),
        (["--env-step-timeout", "0"], "faults.env_step_timeout must be > 0; got 0.0"),
        (["--nonfinite-limit", "0"], "nonfinite.limit must be >= 1; got 0"),
        (["--learner-threads", "0"], "resources.learner_threads must be >= 1; got 0"),
        (["--nonfinite-action", "ignore"], "nonfinite.action must be one of lower_lr, stop"),
        (
            ["--max-worker-failures", "1.5"],
            "faults.max_worker_failures must be an integer; got 1.5",
        ),
        (
            ["--algo", "pg", "--env", "Pendulum-v1"],
            "algo pg needs a discrete, multi_discrete or multi_binary action space; "
            "Pendulum-v1 has a continuous one",
        ),
        (
            ["--set", "atari.preprocess=deepmind"],
            "atari.preprocess must be one of standard, karpathy",
        ),
        (
            ["--algo", "pg", "--set", "pg.normalize=zscore"],
            "pg.normalize must be one of standardize, std, none",
        ),
        (["--set", "pg.normalize=std"], "pg.normalize applies to algo pg, not to a2c"),
        (
            ["--algo", "ddpg", "--env", "Pendulum-v1", "--set", "model.name=shared_mlp"],
            "model.name does not apply to algo ddpg",
        ),
        (["--run-name", "a/b"], "run_name must be a plain folder name"),
        (
            ["--address", "localhost"],
            "resources.address must be auto or HOST:PORT; got 'localhost'",
        ),
        (["--address", "127.0.0.1:1"], "cannot reach the Ray cluster at '127.0.0.1:1'"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("distrl.launch: error: ")
    assert message in err[0]


def test_config_file_layers_under_flags(tmp_path, capsys):
    f = tmp_path / "run.yaml"
    f.write_text("workers: 3\na2c:\n  lr: 0.01\n")
    assert main(["--config", str(f), "--workers", "5", "--print-config"]) == 0
    out = capsys.readouterr().out
    assert "workers: 5" in out and "lr: 0.01" in out


def test_real_cli_process_exits_2_without_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "distrl.launch", "--envs-per-worker", "0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "envs_per_worker must be >= 1; got 0" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_every_option_is_documented():
    """Every flag is in the README or the configuration reference, and every key in the
    reference or its algorithm's page (which a test below keeps generated from the code)."""
    from pathlib import Path

    from distrl.config import describe_fields
    from distrl.launch import build_parser

    root = Path(__file__).parent.parent
    readme = (root / "README.md").read_text()
    pages = sorted((root / "docs").rglob("*.md"))  # the reference and the algorithm pages
    reference = "".join(p.read_text() for p in pages)
    flags = [s for a in build_parser()._actions for s in a.option_strings if s.startswith("--")]
    missing = [f for f in flags if f"`{f}" not in readme + reference and f != "--help"]
    missing += [k for k, _, _ in describe_fields() if f"`{k}`" not in reference]
    assert not missing, f"undocumented: {missing}"


def test_generated_docs_are_what_the_code_says_now():
    """docs/algorithms/<algo>.md, docs/configuration.md and the README's preset table are what
    the registry, the field help and the preset files say now."""
    from pathlib import Path

    from distrl.reference import main as reference

    assert reference(["--check", str(Path(__file__).parent.parent)]) == 0


def test_a_drifted_generated_doc_is_reported(tmp_path, capsys):
    import shutil
    from pathlib import Path

    from distrl.reference import main as reference

    root = Path(__file__).parent.parent
    shutil.copy(root / "README.md", tmp_path / "README.md")
    assert reference(["--write", str(tmp_path)]) == 0
    assert reference(["--check", str(tmp_path)]) == 0
    readme = tmp_path / "README.md"
    readme.write_text(readme.read_text().replace("| `pong-ppo` |", "| `pong-ppo-old` |"))
    assert reference(["--check", str(tmp_path)]) == 1
    assert "README.md" in capsys.readouterr().err


def test_section_keys_by_flag_name_where_the_api_allows_them():
    """make_config's keywords and checkpoints' configs may name a section key by its flag
    (checkpoint_dir: checkpoint.dir); files and --set must use the key, and are told it."""
    from distrl.config import ConfigError, build_config, make_config

    by_flag = make_config(checkpoint_dir="ck", acting="tensorflow", max_policy_lag=3, workers=2)
    by_key = build_config(
        {"checkpoint.dir": "ck", "acting.backend": "tensorflow", "lag.max_policy_lag": 3,
         "workers": 2}
    )  # fmt: skip
    assert by_flag == by_key
    # A config written before the sections existed (flat keys) still builds, as checkpoints do.
    old = {"algo": "a2c", "checkpoint_dir": "ck", "acting": "tensorflow", "max_policy_lag": 3,
           "workers": 2, "serve_backlog": 10}  # fmt: skip
    assert build_config(old, flag_names=True) == build_config(
        {**{k: v for k, v in by_key.to_dict().items()}, "service": {"backlog": 10}}
    )
    with pytest.raises(ConfigError, match=r"'checkpoint_dir'; it is checkpoint\.dir"):
        build_config(old)


def test_print_config_marks_where_each_value_came_from(tmp_path, capsys):
    """Default, preset, file, flag and --set, each on the values it set (later layers win); the
    output is still YAML that reads back as the resolved config."""
    import yaml

    from distrl.config import build_config, load_file, load_preset

    f = tmp_path / "run.yaml"
    f.write_text("rollout_len: 7\na2c:\n  gamma: 0.9\n")
    argv = ["--preset", "cartpole-a3c", "--config", str(f), "--workers", "2",
            "--set", "a2c.lr=1e-3", "--print-config"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    lines, section = {}, ""
    for line in out.splitlines():  # dotted key -> its line
        name = line.split(":")[0].strip()
        if not line.startswith(" ") and line.rstrip().endswith(":"):
            section = name + "."
        lines[(section if line.startswith(" ") else "") + name] = line
    assert lines["mode"].endswith("# preset cartpole-a3c")  # set by the preset alone
    assert lines["rollout_len"].endswith(f"# file {f}")  # the file over the preset's 5
    assert lines["a2c.gamma"].endswith(f"# file {f}")
    assert lines["workers"].endswith("# flag")
    assert lines["a2c.lr"].endswith("# --set")
    assert lines["ppo.lr"].endswith("# default") and lines["seed"].endswith("# default")
    expected = build_config(load_preset("cartpole-a3c"), load_file(f), {"workers": 2},
                            {"a2c.lr": 1e-3})  # fmt: skip
    assert yaml.safe_load(out) == expected.to_dict()


@pytest.mark.parametrize("layer", [{"lag": 3}, {"a2c": "fast"}, {"model": [1, 2]}])
def test_a_section_given_one_value_is_one_line_naming_it(layer):
    from distrl.config import ConfigError, build_config

    name = next(iter(layer))
    with pytest.raises(ConfigError, match=rf"^{name} is a section: set its keys"):
        build_config(layer)


def test_print_config_keeps_string_values_whole(capsys):
    """A value that ends like YAML's end-of-document mark ("...") is printed as it is."""
    import yaml

    assert main(["--run-name", "wait...", "--print-config"]) == 0
    out = capsys.readouterr().out
    assert "run_name: wait...  # flag" in out
    assert yaml.safe_load(out)["run_name"] == "wait..."


def test_a_budget_that_moves_a_presets_schedules_is_noted(caplog):
    """cartpole-ppo anneals lr and clip over its own max_steps (100,000): a budget from a later
    layer changes their pace, and launch says so, once per schedule. The preset's own budget,
    or a schedule written in the layer that changes the budget, gives no note."""
    import logging

    from distrl.launch import build_parser, config_from_args

    def notes(*argv: str) -> list[str]:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="distrl.launch"):
            config_from_args(build_parser().parse_args(["--preset", "cartpole-ppo", *argv]))
        return [r.getMessage() for r in caplog.records]

    assert notes("--max-steps", "400000") == [
        f"note: ppo.{key} (preset cartpole-ppo) was written to run over max_steps 100000; it "
        "runs over 400000 (flag), 4x slower"
        for key in ("clip_range", "lr")
    ]
    assert notes("--set", "max_steps=20000")[1].endswith("runs over 20000 (--set), 5x faster")
    assert notes() == [] and notes("--max-steps", "100000") == []
    assert notes("--set", "max_steps=20000", "--set", "ppo.lr=lin_1e-3",
                 "--set", "ppo.clip_range=0.2") == []  # fmt: skip


def test_an_algorithms_defaults_lie_under_presets_files_and_flags(tmp_path):
    """PPO's registry entry gives samples_per_update 2048 (SB3's n_steps); a preset, a file, a
    flag or a keyword that sets the fragment length wins over it, and one that sets the batch
    wins over a lower layer's fragment length."""
    from distrl.config import load_file, make_config

    assert build_config({"algo": "ppo"}).samples_per_update == 2048
    assert build_config({"algo": "a2c"}).samples_per_update is None  # A3C-style: per worker
    preset = build_config(load_preset("cartpole-ppo"))
    assert (preset.samples_per_update, preset.rollout_len) == (None, 32)
    f = tmp_path / "run.yaml"
    f.write_text("algo: ppo\nrollout_len: 8\n")
    assert build_config(load_file(f)).rollout_len == 8
    assert make_config(None, f, workers=2).batch_size == 2 * 4 * 8
    over = make_config("cartpole-ppo", samples_per_update=512, workers=2)
    assert (over.rollout_len, over.batch_size) == (64, 512)
    td3 = build_config({"algo": "td3", "env": "Pendulum-v1"})
    assert (td3.envs_per_worker, td3.rollout_len, td3.samples_per_update) == (1, 8, None)
    td3 = build_config({"algo": "td3", "env": "Pendulum-v1", "rollout_len": 3})
    assert (td3.envs_per_worker, td3.rollout_len) == (1, 3)  # each key on its own


SHAPES = [(0, 4, "sync"), (2, 4, "sync"), (16, 4, "sync"), (16, 1, "sync"), (5, 3, "sync"),
          (2, 4, "async")]  # fmt: skip


@pytest.mark.parametrize(("workers", "envs", "mode"), SHAPES)
def test_ppo_takes_the_same_batch_for_any_workers_and_envs(workers, envs, mode):
    c = build_config({"algo": "ppo", "workers": workers, "envs_per_worker": envs, "mode": mode})
    fragments = max(workers, 1) if mode == "sync" else 1
    assert c.batch_size == fragments * envs * c.rollout_len
    assert 2048 <= c.batch_size < 2048 + fragments * envs  # rounded up by less than one step
    # A printed config read back on another worker count derives its fragment length again.
    assert build_config(c.to_dict(), {"workers": 3}).batch_size >= 2048


def test_a_batch_the_workers_cannot_reach_within_2x_is_one_line():
    with pytest.raises(ConfigError, match=r"^samples_per_update 100 cannot be reached within 2x"):
        build_config({"algo": "ppo", "workers": 60, "samples_per_update": 100})
    with pytest.raises(ConfigError, match=r"^samples_per_update sizes on-policy batches; algo td3"):
        build_config({"algo": "td3", "env": "Pendulum-v1", "samples_per_update": 100})


def test_a_registry_entry_may_only_default_the_sampling_keys():
    from dataclasses import replace

    from distrl.agents import registry

    bad = replace(registry.get("ppo"), name="ppo-bad", defaults={"workers": 3})
    with pytest.raises(ValueError, match="defaults may set rollout_len"):
        registry.register(bad)
    assert "ppo-bad" not in registry.names()


def test_print_config_names_the_algorithms_defaults_and_the_derived_length(capsys):
    assert main(["--algo", "ppo", "--workers", "2", "--print-config"]) == 0
    lines = {line.split(":")[0]: line for line in capsys.readouterr().out.splitlines()}
    assert lines["samples_per_update"].endswith("# default (ppo)")
    assert lines["rollout_len"] == (
        "rollout_len: 256  # from samples_per_update: 2 fragment(s) x 4 envs x 256 = 2048"
    )
    assert main(["--algo", "ppo", "--rollout-len", "8", "--print-config"]) == 0
    lines = {line.split(":")[0]: line for line in capsys.readouterr().out.splitlines()}
    assert lines["rollout_len"].endswith("# flag")
    assert lines["samples_per_update"] == "samples_per_update: null  # default"


def test_the_console_header_says_where_each_updates_batch_comes_from():
    def sampling(**keys):
        return build_config({"envs_per_worker": 4, "rollout_len": 16, **keys}).sampling()

    assert (
        sampling(workers=0) == "the in-process worker's 4 envs x 16 steps = 64 samples per update"
    )
    assert sampling(workers=1).startswith("one worker's 4 envs")
    assert sampling(workers=3) == "3 workers' 4 envs x 16 steps = 192 samples per update"
    assert (
        sampling(workers=3, mode="async")
        == "one worker's 4 envs x 16 steps = 64 samples per update"
    )
