"""Importing the package registers its envs, as a user's package would."""

from gymnasium.envs.registration import register

for name, cls in [("ReachDisc-v0", "ReachDisc"), ("ReachBox-v0", "ReachBox"),
                  ("DictReach-v0", "DictReach"), ("Pixels-v0", "Pixels"),
                  ("Broken-v0", "Broken")]:  # fmt: skip
    register(id=name, entry_point=f"userenvs.envs:{cls}", max_episode_steps=20)
