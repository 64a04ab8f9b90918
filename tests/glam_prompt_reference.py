"""An independent transcription of GLAM's prompt (Lamorel's PPO example for BabyAI-Text):
``generate_prompt`` and the loop that keeps each env's observation and action queues."""

from __future__ import annotations

from collections import deque

ACTIONS = ["turn left", "turn right", "go forward", "pick up", "drop", "toggle"]


def generate_prompt(past_obs, past_acts, goal, subgoals=ACTIONS):
    prompt = "Possible action of the agent:"
    for sg in subgoals:
        prompt += " {},".format(sg)
    prompt = prompt[:-1]
    prompt += " \n Goal of the agent: {}".format(goal)
    for i in range(len(past_obs)):
        prompt += " \n Observation {}: ".format(i)
        for d_obs in past_obs[i]:
            prompt += "{}, ".format(d_obs)
        prompt += "\n Action {}: ".format(i)
        if i < len(past_acts):
            prompt += "{}".format(past_acts[i])
    return prompt


class Queues:
    """GLAM's per-env queues: the last 3 descriptions and 2 actions of the episode."""

    def __init__(self, n: int):
        self.obs = [deque([], maxlen=3) for _ in range(n)]
        self.acts = [deque([], maxlen=2) for _ in range(n)]

    def reset(self, j: int, descriptions) -> None:
        self.obs[j].clear()
        self.acts[j].clear()
        self.obs[j].append(descriptions)

    def step(self, j: int, action: str, descriptions) -> None:
        self.acts[j].append(action)
        self.obs[j].append(descriptions)

    def prompt(self, j: int, goal: str) -> str:
        return generate_prompt(self.obs[j], self.acts[j], goal)
