"""The ``model`` and ``atari`` sections: what network the algorithms build and how Atari envs are
preprocessed. Each section checks itself in ``__post_init__``."""

from __future__ import annotations

from dataclasses import dataclass

from distrl.config.fields import check, check_at_least, check_choice, check_sizes, setting

# Activations the workers' NumPy forward pass implements (see distrl/models/numpy_forward.py).
NUMPY_ACTIVATIONS = ("tanh", "relu", "linear", "sigmoid", "elu")
MODEL_NAMES = (
    "mlp",
    "shared_mlp",
    "seed000_actor_critic",
    "seed004_actor_critic",
    "nature_cnn",
    "seed002_cnn",
    "cnn",
)
CNN_MODELS = ("nature_cnn", "seed002_cnn", "cnn")
PRECISIONS = ("float32", "mixed_bfloat16")
PREPROCESS = ("standard", "karpathy")
VECTORIZERS = ("auto", "ale", "gymnasium")


@dataclass(frozen=True)
class ModelConfig:
    name: str = setting(
        "mlp",
        "model builder: mlp, shared_mlp, seed000_actor_critic, seed004_actor_critic, "
        "nature_cnn (Atari: 3 conv + 512 dense), seed002_cnn (2 conv, on frame differences), "
        "cnn (images of any size, HxWxC or CxHxW), "
        "or package.module:function",
    )
    hidden: tuple[int, ...] = setting(
        (64, 64), "hidden layer sizes of the policy (mlp, shared_mlp)"
    )
    value_hidden: tuple[int, ...] | None = setting(
        None, "hidden sizes of the value network for mlp (default: same as hidden)"
    )
    activation: str = setting("tanh", "hidden activation (any Keras activation name)")
    precision: str = setting(
        "float32",
        "float32, or mixed_bfloat16: the layers compute in bfloat16 (variables, outputs and "
        "losses stay float32; weights travel as float32) in the learner and in TensorFlow "
        "acting; NumPy acting stays float32",
    )
    lstm_size: int = setting(
        0,
        "units of an LSTM between the torso and the heads (0: none, a feed-forward policy); "
        "a2c and ppo; workers carry each env copy's state, the learner unrolls fragments",
    )
    lstm_burn_in: int = setting(
        0,
        "with lstm_size: the first steps of each fragment only warm the LSTM state (no "
        "gradient, no loss), as R2D2's burn-in; must be below rollout_len",
    )

    @property
    def numpy_friendly(self) -> bool:
        """A built-in MLP with an activation the NumPy forward pass implements."""
        return (
            ":" not in self.name
            and self.name not in CNN_MODELS
            and self.activation in NUMPY_ACTIVATIONS
            and not self.recurrent
        )

    @property
    def recurrent(self) -> bool:
        return self.lstm_size > 0

    def __post_init__(self) -> None:
        check_at_least("model.lstm_size", self.lstm_size, 0)
        check_at_least("model.lstm_burn_in", self.lstm_burn_in, 0)
        check(
            self.lstm_burn_in == 0 or self.recurrent,
            "model.lstm_burn_in needs model.lstm_size > 0",
        )
        check(
            not self.recurrent or ":" not in self.name,
            f"model.lstm_size adds an LSTM to the built-in models; {self.name!r} is a user builder",
        )
        check_choice("model.precision", self.precision, PRECISIONS)
        check(
            self.name in MODEL_NAMES or ":" in self.name,
            f"model.name must be one of {', '.join(MODEL_NAMES)} or package.module:function; "
            f"got {self.name!r}",
        )
        check_sizes("model.hidden", self.hidden)
        check(
            self.value_hidden is None or all(h > 0 for h in self.value_hidden),
            f"model.value_hidden must be positive layer sizes; got {self.value_hidden}",
        )


@dataclass(frozen=True)
class AtariConfig:
    preprocess: str = setting(
        "standard",
        "standard (frame skip 4 with max-pool, no-op reset, 84x84 gray, frame stack) or "
        "karpathy (seed 002: crop, downsample, binarise; the model takes frame differences)",
    )
    frame_skip: int = setting(4, "emulator frames per agent step (standard)")
    frame_stack: int = setting(4, "frames stacked per observation (standard)")
    noop_max: int = setting(30, "most random no-op actions at reset (standard)")
    episodic_life: bool = setting(True, "training only: a lost life ends the episode (standard)")
    clip_rewards: bool = setting(True, "training only: rewards clipped to their sign (standard)")
    sticky_actions: float | None = setting(
        None, "probability of repeating the last action (null: the env id's default)"
    )
    vectorizer: str = setting(
        "auto",
        "how workers step their envs: ale (ale-py's C++ vector env; standard preprocessing "
        "only), gymnasium (Python wrappers), or auto (ale for standard, else gymnasium)",
    )

    def __post_init__(self) -> None:
        check_choice("atari.preprocess", self.preprocess, PREPROCESS)
        check_at_least("atari.frame_skip", self.frame_skip, 1)
        check_at_least("atari.frame_stack", self.frame_stack, 1)
        check_at_least("atari.noop_max", self.noop_max, 0)
        check(
            self.sticky_actions is None or 0.0 <= self.sticky_actions < 1.0,
            f"atari.sticky_actions must be in [0, 1) or null; got {self.sticky_actions}",
        )
        check_choice("atari.vectorizer", self.vectorizer, VECTORIZERS)
        check(
            self.vectorizer != "ale" or self.preprocess == "standard",
            f"atari.vectorizer ale needs atari.preprocess standard; got {self.preprocess!r}",
        )
