"""Adapters of the batched C++ envs to other RL libraries (import each submodule on its own:
``bidir_core.integrations.sb3`` needs stable-baselines3, the ``sb3`` extra)."""
