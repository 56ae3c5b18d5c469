"""The Python API on real Ray and in-process: train, callbacks, stop, save/restore, threads."""

import json
import threading

import numpy as np
import pytest

import distrl
from distrl.config import ConfigError

# CartPole-v1 counts as solved at a last-20 mean return of 475 (its registered threshold).
# Settings as the cartpole-a2c preset, fewer and wider workers; the budget is a safety net.
SOLVE_BUDGET = 600_000  # env steps; 2 x 16 envs solve in about 100k


def cartpole(tmp_path, **overrides):
    base = {"workers": 2, "envs_per_worker": 16, "max_steps": SOLVE_BUDGET,
            "logdir": str(tmp_path / "run"), "logging.progress_interval": 60.0}  # fmt: skip
    return distrl.make_config("cartpole-a2c", **{**base, **overrides})


class Recorder(distrl.Callback):
    """Counts what the run showed it, and can stop the run after ``stop_after`` updates."""

    def __init__(self, stop_after=None):
        self.stop_after = stop_after
        self.updates, self.episodes, self.started, self.ended = [], [], 0, []

    def on_start(self, trainer):
        self.started += 1

    def on_update(self, trainer, state):
        self.updates.append(state.updates)
        if self.stop_after is not None and state.updates >= self.stop_after:
            trainer.stop()

    def on_episode(self, trainer, episode_return, length):
        self.episodes.append((episode_return, length))

    def on_end(self, trainer, summary):
        self.ended.append(summary)


def test_trains_cartpole_to_solved_on_two_ray_workers_and_leaves_ray_running(ray_cluster, tmp_path):
    recorder = Recorder()
    trainer = distrl.Trainer(cartpole(tmp_path), callbacks=[recorder])
    summary = trainer.train()
    assert summary.solved and summary.stop_reason == "solved", summary
    assert summary.worker_nodes == 1 and summary.workers == 2
    # Every update and every finished episode reached the callbacks, once.
    assert recorder.updates == list(range(1, summary.learner_updates + 1))
    assert len(recorder.episodes) == summary.episodes
    assert recorder.started == 1 and recorder.ended == [summary]
    # The Ray this process already used is left as it was.
    assert ray_cluster.is_initialized()
    # The finished run still gives its policy: it balances the pole.
    policy = trainer.policy()
    import gymnasium as gym

    env = gym.make("CartPole-v1")
    obs, _ = env.reset(seed=1)
    total, done = 0.0, False
    while not done:
        obs, reward, terminated, truncated, _ = env.step(int(policy.act(obs, deterministic=True)))
        total += reward
        done = terminated or truncated
    assert total >= 200, total  # a random policy averages about 20


@pytest.mark.slow
def test_trains_in_process_from_a_worker_thread(tmp_path):
    """As a notebook's executor or a Tune trial would call it: no signal handlers, no exit."""
    config = cartpole(tmp_path, workers=0, envs_per_worker=32)
    out = {}

    def run():
        try:
            out["summary"] = distrl.Trainer(config).train()
        except BaseException as e:  # reported below, with its traceback
            out["error"] = e

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=600)
    assert not thread.is_alive()
    assert "error" not in out, out.get("error")
    assert out["summary"].solved, out["summary"]


@pytest.mark.slow
def test_embedded_ray_started_from_a_thread_is_shut_down_after(tmp_path):
    import ray

    if ray.is_initialized():  # this test is about the Ray the trainer starts itself
        ray.shutdown()
    config = cartpole(tmp_path, max_steps=2_000)
    out = {}
    thread = threading.Thread(target=lambda: out.setdefault("s", distrl.Trainer(config).train()))
    thread.start()
    thread.join(timeout=600)
    assert out["s"].stop_reason == "max_steps" and out["s"].env_steps >= 2_000
    assert not ray.is_initialized()


@pytest.mark.slow
def test_a_callback_stops_the_run(tmp_path):
    recorder = Recorder(stop_after=5)
    summary = distrl.Trainer(cartpole(tmp_path, workers=0), callbacks=[recorder]).train()
    assert summary.stop_reason == "stopped" and summary.learner_updates == 5
    assert recorder.updates == [1, 2, 3, 4, 5]


@pytest.mark.slow
def test_save_restore_act_and_resume_continue_the_run(tmp_path):
    first = distrl.Trainer(cartpole(tmp_path, workers=0), callbacks=[Recorder(stop_after=20)])
    first.train()
    path = first.save(tmp_path / "ckpt")
    obs = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    restored = distrl.Policy.from_checkpoint(path, seed=7)
    live = first.policy(seed=7)
    assert np.array_equal(restored.act(obs, deterministic=True), live.act(obs, deterministic=True))
    assert np.array_equal(restored.act(obs), live.act(obs))  # sampling: same seed, same draws
    # A resumed run continues the counters (and the weights) where the first stopped.
    second = distrl.Trainer.restore(path, callbacks=[Recorder(stop_after=30)],
                                    logdir=str(tmp_path / "run2"))  # fmt: skip
    summary = second.train()
    assert summary.learner_updates == 30
    assert summary.env_steps > first.summary.env_steps
    assert second.progress.episodes >= first.summary.episodes


def test_a_second_train_continues_the_same_run(tmp_path):
    """As SB3's learn(reset_num_timesteps=False): weights, counters, clock and run folder go
    on; episodes.jsonl holds one series."""
    c = cartpole(tmp_path, workers=0, envs_per_worker=4, max_steps=1024)
    trainer = distrl.Trainer(c)
    first = trainer.train()
    second = trainer.train(max_steps=2048)
    assert (first.env_steps, second.env_steps) == (1024, 2048)
    assert second.learner_updates == 2 * first.learner_updates  # continued, not restarted
    assert second.wall_s > first.wall_s  # the training clock goes on
    assert second.run_dir == first.run_dir and len(list((tmp_path / "run").iterdir())) == 1
    lines = (tmp_path / "run" / trainer.run_dir.name / "episodes.jsonl").read_text().splitlines()
    steps = [json.loads(line)["env_step"] for line in lines]
    assert steps == sorted(steps) and steps[-1] > 1024  # one series, not two from the start
    assert trainer.progress.episodes == len(steps)
    # the learner went on from its own state: its weights version counts every update
    assert trainer.progress.version == second.learner_updates
    with pytest.raises(ConfigError, match=r"does not end in \.keras"):
        trainer.save_policy(tmp_path / "policy")  # Keras could not open it again
    # A budget the run has already spent ends the next call at once; a bad one is refused.
    assert trainer.train().env_steps <= 2048 + 4 * 16
    with pytest.raises(ConfigError, match="max_steps"):
        trainer.train(max_steps=0)


def test_a_start_that_fails_before_training_leaves_no_run_folder(tmp_path):
    c = cartpole(tmp_path, workers=0, model={"name": "tests.models.test_builders:one_output"})
    trainer = distrl.Trainer(c)
    trainer.prepare()
    assert (trainer.run_dir / "config.yaml").exists()  # made before the learner is built
    with pytest.raises(ConfigError, match="one_output"):
        trainer.train()
    assert list((tmp_path / "run").iterdir()) == []


def test_make_config_errors_match_the_command_line():
    with pytest.raises(ConfigError, match="workers must be >= 0; got -2"):
        distrl.make_config(workers=-2)
    with pytest.raises(ConfigError, match=r"a2c\.lr must be > 0; got -1\.0"):
        distrl.make_config("cartpole-a2c", a2c={"lr": -1})
    with pytest.raises(ConfigError, match=r"unknown config key 'a2c\.nope'"):
        distrl.make_config(None, {"a2c.nope": 1})
    with pytest.raises(
        ConfigError, match="algo pg needs a discrete, multi_discrete or multi_binary action space"
    ):
        distrl.Trainer(distrl.make_config(algo="pg", env="Pendulum-v1")).prepare()
