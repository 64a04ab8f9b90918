"""Rendering: frames pixel for pixel equal to minigrid 3.2.0's ``env.render()``, the Gymnasium
render API of the single and vector envs, RecordVideo and HumanRendering."""

from __future__ import annotations

import gymnasium as gym
import minigrid  # noqa: F401  (registers the reference ids)
import numpy as np
import pytest
from minigrid.core.constants import IDX_TO_COLOR
from minigrid.core.grid import Grid
from minigrid.core.world_object import Goal

import bidir_core
from bidir_core.gym_env import BidirEnv

# Actions that change the world are over-represented so doors open and objects move.
ACTION_PROBS = np.array([0.16, 0.16, 0.3, 0.12, 0.1, 0.12, 0.04])


def reference(task: str, tile_size: int = 32, highlight: bool = True):
    return gym.make(task, render_mode="rgb_array", tile_size=tile_size,
                    highlight=highlight).unwrapped


def assert_frames_equal(ours: np.ndarray, theirs: np.ndarray, where: str) -> None:
    assert ours.dtype == np.uint8 and ours.shape == theirs.shape, where
    if not np.array_equal(ours, theirs):
        bad = np.argwhere(ours != theirs)
        pytest.fail(f"{where}: {len(bad)} bytes differ, first at {bad[0].tolist()}")


def play_and_compare(task: str, seeds: list[int], steps: int, tile_size: int = 32) -> None:
    """Random episodes of len(seeds) envs side by side with minigrid's, frames compared."""
    env = bidir_core.make_vec(task, len(seeds), render_mode="rgb_array", tile_size=tile_size)
    refs = [reference(task, tile_size) for _ in seeds]
    try:
        env.reset(seed=seeds[0])
        pending = [False] * len(seeds)
        for ref, seed in zip(refs, seeds):
            ref.reset(seed=seed)
        rng = np.random.default_rng(seeds[0])
        for t in range(steps + 1):
            frames = env.render()
            assert isinstance(frames, tuple) and len(frames) == len(seeds)
            for i, ref in enumerate(refs):
                assert_frames_equal(frames[i], ref.render(), f"{task} env {i} step {t}")
            actions = rng.choice(7, size=len(seeds), p=ACTION_PROBS)
            env.step(actions)
            for i, ref in enumerate(refs):  # NEXT_STEP autoreset, as the vector env does
                if pending[i]:
                    ref.reset()
                    pending[i] = False
                else:
                    _, _, term, trunc, _ = ref.step(int(actions[i]))
                    pending[i] = term or trunc
    finally:
        env.close()
        for ref in refs:
            ref.close()


@pytest.mark.parametrize("task", [
    "MiniGrid-Empty-5x5-v0",
    "MiniGrid-DoorKey-8x8-v0",
    "BabyAI-GoToRedBallNoDists-v0",
    "BabyAI-UnlockPickupDist-v0",  # locked doors, keys, boxes
])
def test_frames_match_minigrid(task):
    play_and_compare(task, [3, 4], steps=120)


@pytest.mark.slow
@pytest.mark.parametrize("task", [
    "BabyAI-BossLevel-v0",  # every object type and colour, doors in every state
    "BabyAI-KeyCorridorS3R3-v0",
    "BabyAI-PutNextLocal-v0",
    "MiniGrid-DoorKey-16x16-v0",
])
def test_frames_match_minigrid_slow(task):
    play_and_compare(task, [11, 12, 13], steps=300)


@pytest.mark.parametrize("tile_size", [1, 2, 5, 9, 16, 47])
def test_tile_sizes_match_minigrid(tile_size):
    play_and_compare("MiniGrid-DoorKey-6x6-v0", [5], steps=40, tile_size=tile_size)


# Every object minigrid draws: walls of every colour, floors, doors open/closed/locked, keys,
# balls, boxes and goals of every colour, and lava.
ALL_OBJECTS = (
    [(2, c, 0) for c in range(6)] + [(3, c, 0) for c in range(6)]
    + [(4, c, s) for c in range(6) for s in range(3)]
    + [(t, c, 0) for t in (5, 6, 7, 8) for c in range(6)] + [(9, 0, 0)] * 3
)
OVERLAP = {1, 3, 8, 9}  # the agent may stand on empty, floor, goal, lava (and open doors)


def crafted_states(count: int, seed: int):
    """States of MiniGrid-Empty-16x16 holding every object, the agent on a random cell it
    can stand on (floors, goals, lava and open doors included), in a random direction."""
    env = bidir_core.make_vec("MiniGrid-Empty-16x16-v0", 1)
    env.reset(seed=0)
    base = env.get_state(0)
    env.close()
    rng = np.random.default_rng(seed)
    for _ in range(count):
        state = dict(base)
        grid = base["grid"].copy()
        inner = [(x, y) for x in range(1, 15) for y in range(1, 15)]
        cells = rng.permutation(len(inner))[: len(ALL_OBJECTS)]
        for k, obj in zip(cells, ALL_OBJECTS):
            grid[inner[k]] = (*obj, 1, 0, 0)
        standable = [p for p in inner
                     if grid[p][0] in OVERLAP or (grid[p][0] == 4 and grid[p][2] == 0)]
        state["grid"] = grid
        state["agent_pos"] = tuple(int(v) for v in standable[rng.integers(len(standable))])
        state["agent_dir"] = int(rng.integers(4))
        yield state


def minigrid_frame(ref, state) -> np.ndarray:
    encoding = np.ascontiguousarray(state["grid"][:, :, :3])
    ref.grid, _ = Grid.decode(encoding)
    for x, y in np.argwhere(encoding[:, :, 0] == 8):  # Goal.decode forgets the colour
        ref.grid.set(x, y, Goal(IDX_TO_COLOR[encoding[x, y, 1]]))
    ref.agent_pos = state["agent_pos"]
    ref.agent_dir = state["agent_dir"]
    ref.carrying = None
    return ref.render()


@pytest.mark.parametrize("tile_size,highlight,count", [(32, True, 12), (32, False, 4),
                                                        (8, True, 6), (3, True, 4)])
@pytest.mark.slow
def test_every_object_state_and_direction_matches_minigrid(tile_size, highlight, count):
    ref = reference("MiniGrid-Empty-16x16-v0", tile_size, highlight)
    ref.reset(seed=0)
    env = bidir_core.make_vec("MiniGrid-Empty-16x16-v0", 2, render_mode="rgb_array",
                              tile_size=tile_size, highlight=highlight)
    env.reset(seed=0)
    try:
        for k, state in enumerate(crafted_states(count, seed=tile_size * 2 + highlight)):
            env.set_state(1, state)
            frame = env.render_frames([1])[0]
            assert_frames_equal(frame, minigrid_frame(ref, state), f"state {k}")
    finally:
        env.close()
        ref.close()


def test_render_frames_of_a_subset_and_arguments():
    env = bidir_core.make_vec("MiniGrid-DoorKey-8x8-v0", 3, seed=1)
    env.reset()
    all_frames = env.render_frames()
    assert all_frames.shape == (3, 256, 256, 3) and all_frames.dtype == np.uint8
    np.testing.assert_array_equal(env.render_frames([2, 0]), all_frames[[2, 0]])
    np.testing.assert_array_equal(env.render_frames(np.array([1], np.int32)), all_frames[[1]])
    assert env.render_frames([]).shape == (0, 256, 256, 3)
    assert env.render_frames(tile_size=5).shape == (3, 40, 40, 3)
    plain = env.render_frames(highlight=False)
    assert not np.array_equal(plain, all_frames)  # the highlight lightens the view cone
    assert (plain <= all_frames).all()
    assert env.render() is None  # no render mode
    out = np.zeros_like(all_frames)
    assert env.render_frames(out=out) is out
    np.testing.assert_array_equal(out, all_frames)
    for bad, error in ((np.zeros((3, 256, 256, 3), np.int16), TypeError),
                       (np.zeros((2, 256, 256, 3), np.uint8), ValueError),
                       (np.zeros((3, 256, 256, 4), np.uint8)[..., :3], ValueError),
                       (np.broadcast_to(np.uint8(0), (3, 256, 256, 3)), ValueError),
                       ([0], TypeError)):
        with pytest.raises(error, match="out"):
            env.render_frames(out=bad)
    env.close()


def test_bad_render_arguments_raise():
    env = bidir_core.make_vec("MiniGrid-Empty-5x5-v0", 2)
    with pytest.raises(RuntimeError, match="reset"):
        env.render_frames()
    env.reset(seed=0)
    for bad in (0, -1, 1025):
        with pytest.raises(ValueError, match=r"tile_size must be in \[1, 1024\]"):
            env.render_frames(tile_size=bad)
    for bad in (3.5, True, "32"):
        with pytest.raises(TypeError, match="tile_size must be an int"):
            env.render_frames(tile_size=bad)
    with pytest.raises(TypeError, match="highlight must be a bool"):
        env.render_frames(highlight=1)
    with pytest.raises(IndexError, match=r"indices\[1\] = 2 is out of range \[0, 2\)"):
        env.render_frames([0, 2])
    with pytest.raises(IndexError, match="out of range"):
        env.render_frames([-1])
    with pytest.raises(ValueError, match="one-dimensional"):
        env.render_frames([[0]])
    with pytest.raises(TypeError, match="integers"):
        env.render_frames([0.5])
    # The core checks on its own too.
    with pytest.raises(ValueError, match="tile_size"):
        env._core.render(None, 0, True)
    with pytest.raises(IndexError, match="out of range"):
        env._core.render(np.array([5], np.int64), 32, True)
    with pytest.raises(TypeError, match="int64"):
        env._core.render(np.array([0], np.int32), 32, True)
    env.close()
    with pytest.raises(RuntimeError, match="closed"):
        env.render_frames()
    with pytest.raises(ValueError, match="render_mode"):
        bidir_core.make_vec("MiniGrid-Empty-5x5-v0", 1, render_mode="human")
    with pytest.raises(ValueError, match="tile_size"):
        bidir_core.make_vec("MiniGrid-Empty-5x5-v0", 1, tile_size=0)
    with pytest.raises(ValueError, match="render_mode"):
        BidirEnv("MiniGrid-Empty-5x5-v0", render_mode="rgb_array_lists")
    with pytest.raises(ValueError, match="tile_size"):
        BidirEnv("MiniGrid-Empty-5x5-v0", render_mode="rgb_array", tile_size=2000)


def test_single_env_renders_like_minigrid():
    env = gym.make("bidir_core/MiniGrid-DoorKey-5x5-v0", render_mode="rgb_array")
    ref = reference("MiniGrid-DoorKey-5x5-v0")
    assert env.metadata["render_fps"] == ref.metadata["render_fps"]
    env.reset(seed=7)
    ref.reset(seed=7)
    for t in range(30):
        assert_frames_equal(env.render(), ref.render(), f"step {t}")
        a = t % 3 + 1 if t % 5 else 5
        _, _, term, trunc, _ = env.step(a)
        ref.step(a)
        if term or trunc:
            break
    env.close()
    ref.close()
    from gymnasium.utils.env_checker import check_env

    check_env(gym.make("bidir_core/MiniGrid-DoorKey-5x5-v0", render_mode="rgb_array").unwrapped)
    vec = gym.make_vec("bidir_core/MiniGrid-DoorKey-5x5-v0", num_envs=2, tile_size=8,
                       vectorization_mode="vector_entry_point", render_mode="rgb_array")
    vec.reset(seed=7)
    frames = vec.render()
    assert len(frames) == 2 and frames[0].shape == (40, 40, 3)
    vec.close()
    plain = gym.make("bidir_core/MiniGrid-DoorKey-5x5-v0")
    plain.reset(seed=0)
    assert plain.render() is None
    plain.close()


def test_record_video_writes_a_file(tmp_path):
    pytest.importorskip("moviepy")
    env = gym.make("bidir_core/MiniGrid-Empty-5x5-v0", render_mode="rgb_array")
    folder = tmp_path / "videos"
    env = gym.wrappers.RecordVideo(env, str(folder), episode_trigger=lambda e: True,
                                   name_prefix="empty")
    env.reset(seed=0)
    for _ in range(12):
        _, _, term, trunc, _ = env.step(env.unwrapped.expert_action())
        if term or trunc:
            break
    env.close()
    videos = list(folder.glob("empty-episode-0.mp4"))
    assert videos and videos[0].stat().st_size > 1000


def test_human_rendering_through_gymnasium(monkeypatch):
    pytest.importorskip("pygame")
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")
    with pytest.warns(UserWarning, match="HumanRendering"):
        env = gym.make("bidir_core/MiniGrid-Empty-5x5-v0", render_mode="human")
    assert isinstance(env, gym.wrappers.HumanRendering)
    env.reset(seed=0)
    env.step(2)
    env.close()


def test_vector_human_rendering(monkeypatch):
    pytest.importorskip("pygame")
    pytest.importorskip("cv2")  # Gymnasium's vector HumanRendering tiles frames with OpenCV
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")
    vec = gym.wrappers.vector.HumanRendering(
        bidir_core.make_vec("MiniGrid-Empty-5x5-v0", 4, render_mode="rgb_array"))
    vec.reset(seed=0)
    vec.step(np.full(4, 2))
    vec.close()


def test_save_video_writes_gifs_exactly_and_rejects_bad_input(tmp_path, monkeypatch):
    from PIL import Image

    from bidir_core.video import save_video

    env = bidir_core.make_vec("MiniGrid-DoorKey-5x5-v0", 1, seed=0)
    env.reset()
    frames = [env.render_frames()[0]]
    for a in (1, 2, 2, 0, 3):
        env.step(np.array([a]))
        frames.append(env.render_frames()[0])
    env.close()
    path = save_video(frames, tmp_path / "run.gif", fps=5)
    distinct = [frames[0]] + [f for f, g in zip(frames[1:], frames) if not np.array_equal(f, g)]
    with Image.open(path) as gif:
        assert gif.n_frames == len(distinct) and gif.info["duration"] == 200
        for k, frame in enumerate(distinct):  # an exact palette: no colour is changed
            gif.seek(k)
            np.testing.assert_array_equal(np.asarray(gif.convert("RGB")), frame)

    with pytest.raises(ValueError, match="must end in .gif or .mp4"):
        save_video(frames, tmp_path / "run.avi")
    with pytest.raises(ValueError, match="does not exist"):
        save_video(frames, tmp_path / "missing" / "run.gif")
    with pytest.raises(ValueError, match="no frames"):
        save_video([], tmp_path / "run.gif")
    with pytest.raises(ValueError, match=r"frames\[1\] must be uint8"):
        save_video([frames[0], frames[1].astype(np.float32)], tmp_path / "run.gif")
    with pytest.raises(ValueError, match=r"frames\[1\] has shape"):
        save_video([frames[0], frames[1][:8]], tmp_path / "run.gif")
    with pytest.raises(ValueError, match="fps"):
        save_video(frames, tmp_path / "run.gif", fps=0)
    monkeypatch.setitem(__import__("sys").modules, "imageio_ffmpeg", None)  # not installed
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'bidir_core\[video\]'"):
        save_video(frames, tmp_path / "run.mp4")
