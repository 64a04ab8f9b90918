"""Pure-Python reference for the BabyAI-Text descriptions (GLAM, Carta et al. 2023).

Written the way GLAM's own code builds them (MiniGridEnv.gen_graph in the gym-minigrid fork
of its babyai-text package): a dictionary of the visible objects, three straight-line scans
for walls, then one sentence per object. It is the independent peer that the C++
``DescribeView`` (cpp/env/text.h, where every rule is listed) is checked and timed against.

Differences from GLAM's code, both shared with the C++ version:

* Open doors take "an" ("You see an open red door ..."). GLAM compares the state's name
  with the integer 0, which is always unequal, so it writes "a open"; that is a bug.
* The carried object is read from the agent's own view cell (3, 6), where minigrid's
  gen_obs_grid puts it, instead of from ``env.carrying``.

Encodings minigrid never produces raise KeyError here (as they would in GLAM); the C++ code
reads them as unseen cells instead.
"""

from __future__ import annotations

import numpy as np

IDX_TO_OBJECT = {
    0: "unseen",
    1: "empty",
    2: "wall",
    3: "floor",
    4: "door",
    5: "key",
    6: "ball",
    7: "box",
    8: "goal",
    9: "lava",
    10: "agent",
}
IDX_TO_COLOR = {0: "red", 1: "green", 2: "blue", 3: "purple", 4: "yellow", 5: "grey"}
IDX_TO_STATE = {0: "open", 1: "closed", 2: "locked"}

UNSEEN, EMPTY, WALL, DOOR = 0, 1, 2, 4
AGENT_VX, AGENT_VY = 3, 6  # the agent's cell; it faces decreasing vy


def _steps(n: int) -> str:
    return f"{n} step{'s' if n > 1 else ''}"


def _wall_ahead(image: np.ndarray, cells, direction: str) -> list[str]:
    """The wall sentence for a straight-line scan, if its first non-empty cell is a wall."""
    for distance, (i, j) in enumerate(cells, start=1):
        obj = int(image[i][j][0])
        if obj != UNSEEN and obj != EMPTY:
            if obj == WALL:
                return [f"You see a wall {_steps(distance)} {direction}"]
            return []
    return []


def describe(image: np.ndarray) -> list[str]:
    """BabyAI-Text sentences for one (7, 7, 3) uint8 egocentric observation image."""
    image = np.asarray(image)
    assert image.shape == (7, 7, 3), image.shape
    descriptions = []

    carried = image[AGENT_VX][AGENT_VY]
    if int(carried[0]) not in (UNSEEN, EMPTY):
        descriptions.append(
            f"You carry a {IDX_TO_COLOR[int(carried[1])]} {IDX_TO_OBJECT[int(carried[0])]}"
        )

    # Visible objects: everything but unseen, empty and wall cells, column by column.
    view_field = {}
    for i in range(image.shape[0]):
        for j in range(image.shape[1]):
            if int(image[i][j][0]) not in (UNSEEN, EMPTY, WALL):
                view_field.setdefault(i, {})[j] = image[i][j]

    # A wall is described only when nothing stands between it and the agent.
    descriptions += _wall_ahead(
        image, [(AGENT_VX, j) for j in range(AGENT_VY - 1, -1, -1)], "forward"
    )
    descriptions += _wall_ahead(
        image, [(i, AGENT_VY) for i in range(AGENT_VX - 1, -1, -1)], "left"
    )
    descriptions += _wall_ahead(
        image, [(i, AGENT_VY) for i in range(AGENT_VX + 1, image.shape[0])], "right"
    )

    for i, column in view_field.items():
        for j, obj in column.items():
            if i == AGENT_VX and j == AGENT_VY:
                continue
            dx, dy = i - AGENT_VX, AGENT_VY - j
            if dx == 0:
                parts = [f"{_steps(dy)} forward"]
            else:
                parts = [f"{_steps(abs(dx))} {'right' if dx > 0 else 'left'}"]
                if dy > 0:
                    parts.append(f"{_steps(dy)} forward")

            obj_type, color, state = (int(v) for v in obj)
            name = f"{IDX_TO_COLOR[color]} {IDX_TO_OBJECT[obj_type]}"
            if obj_type == DOOR:
                state_name = IDX_TO_STATE[state]
                article = "an" if state_name == "open" else "a"
                head = f"You see {article} {state_name} {name}"
            else:
                head = f"You see a {name}"
            descriptions.append(f"{head} {' and '.join(parts)}")
    return descriptions


def join(sentences: list[str]) -> str:
    """The ", "-joined form the teacher prompt uses (JoinSentences in C++)."""
    return ", ".join(sentences)
