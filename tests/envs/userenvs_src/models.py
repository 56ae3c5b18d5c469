"""The user's own DDPG networks (``ddpg.actor`` / ``ddpg.critic`` builders)."""

import keras


def small_actor(spec, config):
    obs = keras.Input(shape=spec.observation_shape, dtype=spec.observation_dtype)
    x = keras.layers.Dense(32, activation="relu")(keras.ops.cast(obs, "float32"))
    return keras.Model(obs, keras.layers.Dense(spec.num_actions, activation="tanh")(x))


def small_critic(spec, config):
    obs = keras.Input(shape=spec.observation_shape, dtype=spec.observation_dtype)
    action = keras.Input(shape=(spec.num_actions,))
    x = keras.layers.Concatenate()([keras.ops.cast(obs, "float32"), action])
    x = keras.layers.Dense(64, activation="relu")(x)
    return keras.Model([obs, action], keras.layers.Dense(1)(x))


def wrong_actor(spec, config):
    obs = keras.Input(shape=spec.observation_shape, dtype=spec.observation_dtype)
    return keras.Model(obs, keras.layers.Dense(spec.num_actions + 1)(obs))
