from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DTYPE_UNSPECIFIED: _ClassVar[DType]
    FLOAT32: _ClassVar[DType]
    FLOAT64: _ClassVar[DType]
    INT32: _ClassVar[DType]
    INT64: _ClassVar[DType]
    UINT8: _ClassVar[DType]
    BOOL: _ClassVar[DType]

class ActionKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTION_KIND_UNSPECIFIED: _ClassVar[ActionKind]
    DISCRETE: _ClassVar[ActionKind]
    CONTINUOUS: _ClassVar[ActionKind]
    MULTI_DISCRETE: _ClassVar[ActionKind]
    MULTI_BINARY: _ClassVar[ActionKind]
DTYPE_UNSPECIFIED: DType
FLOAT32: DType
FLOAT64: DType
INT32: DType
INT64: DType
UINT8: DType
BOOL: DType
ACTION_KIND_UNSPECIFIED: ActionKind
DISCRETE: ActionKind
CONTINUOUS: ActionKind
MULTI_DISCRETE: ActionKind
MULTI_BINARY: ActionKind

class Array(_message.Message):
    __slots__ = ("dtype", "shape", "data")
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    dtype: DType
    shape: _containers.RepeatedScalarFieldContainer[int]
    data: bytes
    def __init__(self, dtype: _Optional[_Union[DType, str]] = ..., shape: _Optional[_Iterable[int]] = ..., data: _Optional[bytes] = ...) -> None: ...

class GetSpecRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Spec(_message.Message):
    __slots__ = ("env_id", "algo", "observation_shape", "observation_dtype", "action_kind", "num_actions", "action_low", "action_high", "rollout_len", "weights_version", "training", "max_batch", "action_nvec", "action_mask", "state_size")
    ENV_ID_FIELD_NUMBER: _ClassVar[int]
    ALGO_FIELD_NUMBER: _ClassVar[int]
    OBSERVATION_SHAPE_FIELD_NUMBER: _ClassVar[int]
    OBSERVATION_DTYPE_FIELD_NUMBER: _ClassVar[int]
    ACTION_KIND_FIELD_NUMBER: _ClassVar[int]
    NUM_ACTIONS_FIELD_NUMBER: _ClassVar[int]
    ACTION_LOW_FIELD_NUMBER: _ClassVar[int]
    ACTION_HIGH_FIELD_NUMBER: _ClassVar[int]
    ROLLOUT_LEN_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_VERSION_FIELD_NUMBER: _ClassVar[int]
    TRAINING_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_FIELD_NUMBER: _ClassVar[int]
    ACTION_NVEC_FIELD_NUMBER: _ClassVar[int]
    ACTION_MASK_FIELD_NUMBER: _ClassVar[int]
    STATE_SIZE_FIELD_NUMBER: _ClassVar[int]
    env_id: str
    algo: str
    observation_shape: _containers.RepeatedScalarFieldContainer[int]
    observation_dtype: DType
    action_kind: ActionKind
    num_actions: int
    action_low: _containers.RepeatedScalarFieldContainer[float]
    action_high: _containers.RepeatedScalarFieldContainer[float]
    rollout_len: int
    weights_version: int
    training: bool
    max_batch: int
    action_nvec: _containers.RepeatedScalarFieldContainer[int]
    action_mask: bool
    state_size: int
    def __init__(self, env_id: _Optional[str] = ..., algo: _Optional[str] = ..., observation_shape: _Optional[_Iterable[int]] = ..., observation_dtype: _Optional[_Union[DType, str]] = ..., action_kind: _Optional[_Union[ActionKind, str]] = ..., num_actions: _Optional[int] = ..., action_low: _Optional[_Iterable[float]] = ..., action_high: _Optional[_Iterable[float]] = ..., rollout_len: _Optional[int] = ..., weights_version: _Optional[int] = ..., training: _Optional[bool] = ..., max_batch: _Optional[int] = ..., action_nvec: _Optional[_Iterable[int]] = ..., action_mask: _Optional[bool] = ..., state_size: _Optional[int] = ...) -> None: ...

class GetWeightsRequest(_message.Message):
    __slots__ = ("min_version", "timeout_s")
    MIN_VERSION_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_S_FIELD_NUMBER: _ClassVar[int]
    min_version: int
    timeout_s: float
    def __init__(self, min_version: _Optional[int] = ..., timeout_s: _Optional[float] = ...) -> None: ...

class Weights(_message.Message):
    __slots__ = ("version", "names", "arrays")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    NAMES_FIELD_NUMBER: _ClassVar[int]
    ARRAYS_FIELD_NUMBER: _ClassVar[int]
    version: int
    names: _containers.RepeatedScalarFieldContainer[str]
    arrays: _containers.RepeatedCompositeFieldContainer[Array]
    def __init__(self, version: _Optional[int] = ..., names: _Optional[_Iterable[str]] = ..., arrays: _Optional[_Iterable[_Union[Array, _Mapping]]] = ...) -> None: ...

class WatchWeightsRequest(_message.Message):
    __slots__ = ("min_version",)
    MIN_VERSION_FIELD_NUMBER: _ClassVar[int]
    min_version: int
    def __init__(self, min_version: _Optional[int] = ...) -> None: ...

class ActRequest(_message.Message):
    __slots__ = ("observations", "deterministic", "state")
    OBSERVATIONS_FIELD_NUMBER: _ClassVar[int]
    DETERMINISTIC_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    observations: Array
    deterministic: bool
    state: Array
    def __init__(self, observations: _Optional[_Union[Array, _Mapping]] = ..., deterministic: _Optional[bool] = ..., state: _Optional[_Union[Array, _Mapping]] = ...) -> None: ...

class ActResponse(_message.Message):
    __slots__ = ("actions", "log_probs", "weights_version", "state")
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    LOG_PROBS_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_VERSION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    actions: Array
    log_probs: Array
    weights_version: int
    state: Array
    def __init__(self, actions: _Optional[_Union[Array, _Mapping]] = ..., log_probs: _Optional[_Union[Array, _Mapping]] = ..., weights_version: _Optional[int] = ..., state: _Optional[_Union[Array, _Mapping]] = ...) -> None: ...

class Rollout(_message.Message):
    __slots__ = ("observations", "actions", "rewards", "terminated", "truncated", "behaviour_log_probs", "last_observations", "final_observations", "policy_version", "episode_returns", "episode_lengths", "initial_state")
    OBSERVATIONS_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    REWARDS_FIELD_NUMBER: _ClassVar[int]
    TERMINATED_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    BEHAVIOUR_LOG_PROBS_FIELD_NUMBER: _ClassVar[int]
    LAST_OBSERVATIONS_FIELD_NUMBER: _ClassVar[int]
    FINAL_OBSERVATIONS_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    EPISODE_RETURNS_FIELD_NUMBER: _ClassVar[int]
    EPISODE_LENGTHS_FIELD_NUMBER: _ClassVar[int]
    INITIAL_STATE_FIELD_NUMBER: _ClassVar[int]
    observations: Array
    actions: Array
    rewards: Array
    terminated: Array
    truncated: Array
    behaviour_log_probs: Array
    last_observations: Array
    final_observations: Array
    policy_version: int
    episode_returns: _containers.RepeatedScalarFieldContainer[float]
    episode_lengths: _containers.RepeatedScalarFieldContainer[int]
    initial_state: Array
    def __init__(self, observations: _Optional[_Union[Array, _Mapping]] = ..., actions: _Optional[_Union[Array, _Mapping]] = ..., rewards: _Optional[_Union[Array, _Mapping]] = ..., terminated: _Optional[_Union[Array, _Mapping]] = ..., truncated: _Optional[_Union[Array, _Mapping]] = ..., behaviour_log_probs: _Optional[_Union[Array, _Mapping]] = ..., last_observations: _Optional[_Union[Array, _Mapping]] = ..., final_observations: _Optional[_Union[Array, _Mapping]] = ..., policy_version: _Optional[int] = ..., episode_returns: _Optional[_Iterable[float]] = ..., episode_lengths: _Optional[_Iterable[int]] = ..., initial_state: _Optional[_Union[Array, _Mapping]] = ...) -> None: ...

class PushRolloutRequest(_message.Message):
    __slots__ = ("rollout",)
    ROLLOUT_FIELD_NUMBER: _ClassVar[int]
    rollout: Rollout
    def __init__(self, rollout: _Optional[_Union[Rollout, _Mapping]] = ...) -> None: ...

class PushTransitionsRequest(_message.Message):
    __slots__ = ("observations", "actions", "rewards", "next_observations", "terminated", "truncated", "policy_version", "episode_returns", "episode_lengths")
    OBSERVATIONS_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    REWARDS_FIELD_NUMBER: _ClassVar[int]
    NEXT_OBSERVATIONS_FIELD_NUMBER: _ClassVar[int]
    TERMINATED_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    EPISODE_RETURNS_FIELD_NUMBER: _ClassVar[int]
    EPISODE_LENGTHS_FIELD_NUMBER: _ClassVar[int]
    observations: Array
    actions: Array
    rewards: Array
    next_observations: Array
    terminated: Array
    truncated: Array
    policy_version: int
    episode_returns: _containers.RepeatedScalarFieldContainer[float]
    episode_lengths: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, observations: _Optional[_Union[Array, _Mapping]] = ..., actions: _Optional[_Union[Array, _Mapping]] = ..., rewards: _Optional[_Union[Array, _Mapping]] = ..., next_observations: _Optional[_Union[Array, _Mapping]] = ..., terminated: _Optional[_Union[Array, _Mapping]] = ..., truncated: _Optional[_Union[Array, _Mapping]] = ..., policy_version: _Optional[int] = ..., episode_returns: _Optional[_Iterable[float]] = ..., episode_lengths: _Optional[_Iterable[int]] = ...) -> None: ...

class PushResponse(_message.Message):
    __slots__ = ("accepted_steps", "weights_version")
    ACCEPTED_STEPS_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_VERSION_FIELD_NUMBER: _ClassVar[int]
    accepted_steps: int
    weights_version: int
    def __init__(self, accepted_steps: _Optional[int] = ..., weights_version: _Optional[int] = ...) -> None: ...

class StatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StatusResponse(_message.Message):
    __slots__ = ("weights_version", "env_steps", "updates", "episodes", "recent_returns", "steps_per_s", "external_steps", "backlog_steps", "training")
    WEIGHTS_VERSION_FIELD_NUMBER: _ClassVar[int]
    ENV_STEPS_FIELD_NUMBER: _ClassVar[int]
    UPDATES_FIELD_NUMBER: _ClassVar[int]
    EPISODES_FIELD_NUMBER: _ClassVar[int]
    RECENT_RETURNS_FIELD_NUMBER: _ClassVar[int]
    STEPS_PER_S_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_STEPS_FIELD_NUMBER: _ClassVar[int]
    BACKLOG_STEPS_FIELD_NUMBER: _ClassVar[int]
    TRAINING_FIELD_NUMBER: _ClassVar[int]
    weights_version: int
    env_steps: int
    updates: int
    episodes: int
    recent_returns: _containers.RepeatedScalarFieldContainer[float]
    steps_per_s: float
    external_steps: int
    backlog_steps: int
    training: bool
    def __init__(self, weights_version: _Optional[int] = ..., env_steps: _Optional[int] = ..., updates: _Optional[int] = ..., episodes: _Optional[int] = ..., recent_returns: _Optional[_Iterable[float]] = ..., steps_per_s: _Optional[float] = ..., external_steps: _Optional[int] = ..., backlog_steps: _Optional[int] = ..., training: _Optional[bool] = ...) -> None: ...

class CheckpointRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CheckpointResponse(_message.Message):
    __slots__ = ("path",)
    PATH_FIELD_NUMBER: _ClassVar[int]
    path: str
    def __init__(self, path: _Optional[str] = ...) -> None: ...

class StopRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StopResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
