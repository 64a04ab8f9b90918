"""
bidir_core C++ core: batched grid worlds, text descriptions, planner, GAE, feedback, the student's PPO gradient.
"""
from __future__ import annotations
import collections.abc
import numpy
import numpy.typing
import typing
__all__: list[str] = ['ACTION_NAMES', 'EnvSnapshot', 'FeedbackTable', 'MAX_TILE_SIZE', 'MISSION_BYTES', 'MISSION_WORDS', 'MlpPpoGradient', 'NUM_ACTIONS', 'PROMPT_ACTIONS', 'PROMPT_WORDS', 'RunningMeanStd', 'VecEnv', 'aggregate_feedback', 'buffer_specs', 'clipped_adam_step', 'compute_gae', 'describe_images', 'glam_prompt', 'hash_prompts', 'list_tasks', 'shuffled_indices']
class EnvSnapshot:
    """
    One env's state, copied in C++ by VecEnv.snapshot() for restore().
    """
    @property
    def task_id(self) -> str:
        ...
class VecEnv:
    """
    Raw batched environments; use bidir_core.make_vec().
    """
    def __init__(self, task_id: str, num_envs: typing.SupportsInt | typing.SupportsIndex, num_threads: typing.SupportsInt | typing.SupportsIndex, same_step: bool) -> None:
        ...
    def bind_buffers(self, arrays: typing.Any) -> None:
        """
        Hands the output arrays (a dict of numpy arrays) to the envs, once.
        """
    def close(self) -> None:
        """
        Stops the env's threads and frees its envs; every later call raises RuntimeError.
        """
    def descriptions(self) -> list[list[str]]:
        """
        BabyAI-Text sentences for each env.
        """
    def expert_actions(self) -> numpy.typing.NDArray[numpy.int64]:
        """
        The oracle planner's next action per env.
        """
    def get_state(self, index: typing.SupportsInt | typing.SupportsIndex) -> dict:
        """
        Env `index`'s full state as a dict.
        """
    def missions(self) -> list[str]:
        """
        Each env's mission string.
        """
    def plan_lengths(self) -> numpy.typing.NDArray[numpy.int64]:
        """
        Length of the oracle's plan per env (-1: none).
        """
    def prompt_hashes(self, out: typing.Any = None) -> numpy.ndarray:
        """
        FNV-1a 64 hash of every env's prompt into `out` (uint64 (N,); None: a new array), without building Python strings.
        """
    def prompts(self, indices: typing.Any = None) -> list[str]:
        """
        Teacher prompts (in prompt_style) of the envs in `indices` (int64 array; None: all).
        """
    def render(self, indices: typing.Any = None, tile_size: typing.SupportsInt | typing.SupportsIndex = 32, highlight: bool = True, out: typing.Any = None) -> numpy.ndarray:
        """
        RGB frames (uint8 (len(indices), height * tile_size, width * tile_size, 3)) of the envs in `indices` (int64 array; None: all), pixel for pixel minigrid's render(), written into `out` (None: a new array); highlight lightens the cells the agent sees.
        """
    def reset(self, seeds: typing.Any = None, reset_mask: typing.Any = None) -> None:
        """
        Resets envs (all, or where reset_mask).
        """
    def restore(self, indices: typing.Any, snapshots: typing.Any) -> None:
        """
        Env indices[k] (int64 array) takes the state of snapshots[k] (a list of EnvSnapshot of this task).
        """
    def set_state(self, index: typing.SupportsInt | typing.SupportsIndex, state: typing.Any) -> None:
        """
        Restores env `index` from a get_state() dict; rejects malformed states.
        """
    def snapshot(self, index: typing.SupportsInt | typing.SupportsIndex) -> EnvSnapshot:
        """
        Env `index`'s state copied in C++ (no dict), for restore().
        """
    def step(self, actions: numpy.ndarray) -> int:
        """
        Steps all envs with int64 actions; returns how many episodes ended.
        """
    @property
    def closed(self) -> bool:
        ...
    @property
    def height(self) -> int:
        ...
    @property
    def num_envs(self) -> int:
        ...
    @property
    def num_threads(self) -> int:
        ...
    @property
    def prompt_style(self) -> str:
        """
        'short' (one observation) or 'glam' (GLAM's header and the last 3 observations and 2 actions of the episode).
        """
    @prompt_style.setter
    def prompt_style(self, arg1: str) -> None:
        ...
    @property
    def task_id(self) -> str:
        ...
    @property
    def width(self) -> int:
        ...
class RunningMeanStd:
    """
    Running mean and variance (Chan et al.'s parallel Welford).
    """
    def __init__(self) -> None:
        ...
    def load_state(self, state: typing.Any) -> None:
        """
        Restores a state() dict.
        """
    def normalize(self, x: typing.Any, mask: typing.Any = None, eps: typing.Any = 1e-08, clip: typing.Any = 5.0) -> numpy.typing.NDArray[numpy.float32]:
        """
        clip((x - mean) / (std + eps)) as a new float32 array (0 where not mask).
        """
    def state(self) -> dict[str, typing.Any]:
        """
        The statistics as a dict (for checkpoints).
        """
    def update(self, x: typing.Any, mask: typing.Any = None) -> None:
        """
        Folds the float32 values of x (where mask, if given) into the statistics.
        """
    @property
    def count(self) -> float:
        ...
    @property
    def mean(self) -> float:
        ...
    @property
    def var(self) -> float:
        ...
class FeedbackTable:
    """
    Running (EMA) feedback per (prompt hash, action); see feedback/feedback_table.h.
    """
    def __init__(self, num_actions: typing.Any, rate: typing.Any = 0.1, capacity: typing.Any = 1048576) -> None:
        ...
    def __len__(self) -> int:
        ...
    def clear(self) -> None:
        ...
    def load_state(self, state: typing.Any) -> None:
        """
        Replaces the content with a state() dict of a table with the same num_actions.
        """
    def lookup(self, hashes: typing.Any, out: typing.Any = None) -> numpy.typing.NDArray[numpy.float32]:
        """
        (n, num_actions) float32 table values for hashes (0 where unseen).
        """
    def state(self) -> dict[str, typing.Any]:
        """
        The table as a dict of arrays (for checkpoints).
        """
    def update(self, hashes: typing.Any, actions: typing.Any, feedback: typing.Any) -> None:
        """
        Folds feedback (n,) float32 into entries (hashes (n,) uint64, actions (n,) int64).
        """
    @property
    def capacity(self) -> int:
        ...
    @property
    def num_actions(self) -> int:
        ...
    @property
    def rate(self) -> float:
        ...
class MlpPpoGradient:
    """
    The PPO loss gradient of one minibatch through the student's MLP (ReLU between
    layers; the last layer gives the logits and the value), written into the gradient
    arrays given at construction. The first layer's input may be sparse: only the
    weight columns of features a minibatch uses are touched. Not thread-safe.
    """
    def __init__(self, weights: list, biases: list, grad_weights: list, grad_biases: list, clip_coef: typing.Any, ent_coef: typing.Any, vf_coef: typing.Any, norm_adv: bool, clip_vloss: bool) -> None:
        """
        weights[l] float32 (out, in) and biases[l] (out,) per layer, in torch's layout;
        grad_weights / grad_biases the same shapes, overwritten by compute().
        """
    def compute(self, rows: typing.Any, actions: typing.Any, old_logprobs: typing.Any, old_values: typing.Any, advantages: typing.Any, returns: typing.Any) -> numpy.typing.NDArray[numpy.float32]:
        """
        Writes the gradients of the minibatch of rows (n,) int64 of set_inputs' x, with
        int64 actions and float32 old log-probs, old values, advantages and returns (n,)
        of those rows; returns the
        statistics (policy_loss, value_loss, entropy, approx_kl, clipfrac) float32 (5,).
        """
    def set_inputs(self, x: typing.Any) -> None:
        """
        Keeps the non-zeros of the rollout's network inputs x (B, features) float32;
        compute() reads its rows from them.
        """
def _fail_thread_start_for_testing(worker: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    Test hook: new envs fail to start thread pool worker `worker` (1-based; 0: off).
    """
def aggregate_feedback(rewards: typing.Any, values: typing.Any, terminated: typing.Any, truncated: typing.Any, final_values: typing.Any, next_values: typing.Any, queries: typing.Any, teacher_logprobs: typing.Any, behaviour_logprobs: typing.Any, gamma: typing.Any, lam: typing.Any, rho_max: typing.Any, deltas: typing.Any, advantages: typing.Any, ratios: typing.Any, feedback: typing.Any, window_lengths: typing.Any) -> None:
    """
    Writes (T, N) TD errors and, at query steps, the window sums of TD errors (advantages), the truncated importance ratios, their product (feedback) and the window lengths, in place; see feedback/td_feedback.h.
    """
def buffer_specs() -> list[tuple[str, tuple[int, ...], str]]:
    """
    (name, shape after the env axis, numpy dtype name) of each array VecEnv.bind_buffers takes, in its order.
    """
def clipped_adam_step(param: typing.Any, grad: typing.Any, exp_avg: typing.Any, exp_avg_sq: typing.Any, step: typing.Any, lr: typing.Any, beta1: typing.Any, beta2: typing.Any, eps: typing.Any, max_grad_norm: typing.Any) -> float:
    """
    One optimiser step on flat float32 (n,) arrays, in place: grad scaled to L2 norm
    <= max_grad_norm (as torch.nn.utils.clip_grad_norm_), then torch.optim.Adam's
    update with its state exp_avg, exp_avg_sq and step (a float32 0-d array, incremented).
    Returns the gradient norm before clipping.
    """
def compute_gae(rewards: typing.Any, values: typing.Any, terminated: typing.Any, truncated: typing.Any, final_values: typing.Any, next_values: typing.Any, gamma: typing.Any, lam: typing.Any, advantages: typing.Any, returns: typing.Any) -> None:
    """
    Writes GAE advantages and returns (T, N) float32 in place from (T, N) rollout arrays, bootstrapping truncated episodes from final_values.
    """
def describe_images(images: numpy.ndarray) -> list[list[str]]:
    """
    BabyAI-Text sentences for each (7, 7, 3) uint8 observation image of a batch.
    """
def glam_prompt(mission: str, observations: collections.abc.Sequence[collections.abc.Sequence[str]], actions: collections.abc.Sequence[str]) -> str:
    """
    GLAM's prompt from a mission, observations (sentence lists, oldest first) and the action strings taken after all but the last.
    """
def hash_prompts(prompts: typing.Any) -> numpy.typing.NDArray[numpy.uint64]:
    """
    FNV-1a 64 hash of the UTF-8 bytes of each str, uint64 (N,): the key VecEnv.prompt_hashes gives the same prompt.
    """
def list_tasks() -> list[str]:
    """
    The ids of all tasks, in registration order.
    """
def shuffled_indices(n: typing.Any, seed: typing.Any) -> numpy.typing.NDArray[numpy.int64]:
    """
    A reproducible permutation of 0..n-1 (int64), from splitmix64 Fisher-Yates.
    """
ACTION_NAMES: tuple = ('turn left', 'turn right', 'go forward', 'pick up', 'drop', 'toggle', 'done')
MAX_TILE_SIZE: int = 1024
MISSION_BYTES: int = 320
MISSION_WORDS: tuple = ('<pad>', '<unk>', 'go', 'to', 'get', 'pick', 'up', 'open', 'put', 'next', 'use', 'unlock', 'avoid', 'the', 'a', 'an', 'and', 'then', 'after', 'you', ',', 'red', 'green', 'blue', 'purple', 'yellow', 'grey', 'door', 'ball', 'box', 'key', 'object', 'goal', 'square', 'wall', 'lava', 'on', 'your', 'left', 'right', 'in', 'front', 'of', 'behind')
NUM_ACTIONS: int = 7
PROMPT_ACTIONS: int = 6
PROMPT_WORDS: tuple = (',', '0', '1', '10', '11', '12', '13', '14', '15', '16', '17', '18', '19', '2', '3', '4', '5', '6', '7', '8', '9', ':', 'a', 'action', 'after', 'agent', 'an', 'and', 'ball', 'behind', 'blue', 'box', 'carry', 'closed', 'done', 'door', 'drop', 'empty', 'floor', 'forward', 'front', 'get', 'go', 'goal', 'green', 'grey', 'in', 'it', 'key', 'lava', 'left', 'locked', 'next', 'object', 'observation', 'of', 'open', 'pick', 'purple', 'put', 'red', 'right', 'see', 'square', 'step', 'steps', 'the', 'then', 'to', 'toggle', 'turn', 'unseen', 'up', 'use', 'wall', 'yellow', 'you', 'your')
