// A batch of N environments of one task, stepped in shards by a thread pool.
//
// Ownership follows PufferLib: the caller (Python) allocates every output array once and
// hands raw pointers to BindBuffers(); Reset() and Step() write into them and allocate
// nothing. Env i has its own numpy-exact RNG; Reset with seeds s_i replays
// gymnasium.make(task).reset(seed=s_i), and later automatic resets continue that stream.
//
// Autoreset modes (gymnasium.vector.AutoresetMode):
// * kNextStep: the step after an episode ends ignores that env's action and returns the
//   first observation of a new episode with reward 0 and no termination/truncation.
// * kSameStep: the step that ends an episode writes the final observation into the
//   final_* buffers and returns the first observation of the next episode.
#ifndef BIDIR_ENV_VEC_ENV_H_
#define BIDIR_ENV_VEC_ENV_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "env/grid_env.h"
#include "env/prompt_history.h"
#include "env/render.h"
#include "env/tasks/task.h"

namespace bidir {

enum class AutoresetMode { kNextStep = 0, kSameStep = 1 };

// Room for the longest BabyAI mission: two "and"s of put-next instructions with colors and
// locations joined by " after you " is 305 bytes (BossLevel); nothing is truncated.
inline constexpr int kMissionBytes = 320;

// Output arrays, each with num_envs rows, C-contiguous.
struct VecBuffers {
  uint8_t* image = nullptr;          // (N, 7, 7, 3)
  int64_t* direction = nullptr;      // (N,)
  uint8_t* mission = nullptr;        // (N, kMissionBytes), UTF-8, zero padded
  float* reward = nullptr;           // (N,)
  bool* terminated = nullptr;        // (N,)
  bool* truncated = nullptr;         // (N,)
  bool* episode_done = nullptr;      // (N,) an episode ended in this step
  // The ended episode's statistics where episode_done, 0 elsewhere (Step writes every row).
  float* episode_return = nullptr;   // (N,) its return
  int32_t* episode_length = nullptr; // (N,) its length
  bool* episode_success = nullptr;   // (N,) whether it completed the mission
  double* episode_time = nullptr;    // (N,) its seconds (steady clock), rounded to 1e-6
  uint8_t* final_image = nullptr;    // (N, 7, 7, 3) kSameStep only: the ended episode's last obs
  int64_t* final_direction = nullptr;// (N,) kSameStep only
  uint8_t* final_mission = nullptr;  // (N, kMissionBytes) kSameStep only
};

class VecEnv {
 public:
  VecEnv(const Task* task, int num_envs, int num_threads, AutoresetMode mode);

  int num_envs() const { return static_cast<int>(envs_.size()); }
  int num_threads() const { return pool_.num_threads(); }
  AutoresetMode autoreset_mode() const { return mode_; }
  const Task& task() const { return *task_; }

  void BindBuffers(const VecBuffers& buffers) { buf_ = buffers; }
  // Resets the envs where mask is null or mask[i]; seeds may be null (continue each
  // env's stream) or hold one seed per env.
  void Reset(const uint64_t* seeds, const bool* mask);
  // Validates every action (0..6) first, then steps all envs and returns how many
  // episodes ended. Throws std::invalid_argument naming the first bad index; nothing is
  // stepped then.
  int Step(const int64_t* actions);

  GridEnv& env(int i) { return envs_[i]; }
  const GridEnv& env(int i) const { return envs_[i]; }
  // The teacher prompt of env i's current state in the env's prompt style: EnvPrompt
  // (env/text.h) or GlamPrompt over its history (env/prompt_history.h).
  std::string Prompt(int i) const;
  PromptStyle prompt_style() const { return prompt_style_; }
  // Chooses the prompt style. Histories start empty: each env's begins at its next reset,
  // or at RestartHistory(i) for an env that already has a state.
  void SetPromptStyle(PromptStyle style);
  // kGlam: env i's history starts again at its current view (after set_state).
  void RestartHistory(int i);
  // Writes Fnv1a64(Prompt(i)) to out[i] for every env, sharded over the pool; allocates
  // nothing.
  void PromptHashes(uint64_t* out);

  // Rewrites env i's rows of image and direction from its state (after set_state).
  void WriteObservation(int i);
  // Rewrites env i's row of mission from its state.
  void WriteMission(int i);
  // Draws the frames of envs ids[0..n) (valid indices) as minigrid's render() does, into
  // out: n frames of (height * tile_size, width * tile_size, 3) bytes (tile_size in
  // [1, kMaxTileSize]); tiles are cached across calls, frames are drawn in parallel.
  void Render(const int* ids, int n, int tile_size, bool highlight, uint8_t* out);

  // kNextStep: env i's episode ended and its next step starts a new one.
  bool NeedsReset(int i) const { return needs_reset_[i] != 0; }
  void SetNeedsReset(int i, bool value) { needs_reset_[i] = value ? 1 : 0; }

 private:
  void StepOne(int i, int64_t action, double now);
  void ResetOne(int i);
  // Runs fn(i) for every env, sharded over the pool.
  template <typename Fn>
  void ForShards(Fn fn) { ForRange(num_envs(), fn); }
  // Runs fn(k) for k in [0, n), sharded over the pool.
  template <typename Fn>
  void ForRange(int n, Fn fn);

  const Task* task_;
  AutoresetMode mode_;
  std::vector<GridEnv> envs_;
  std::vector<uint8_t> needs_reset_;
  // Steady-clock seconds at which each env's episode began: its reset, or (kNextStep) the
  // end of the one before, so that the new episode's time counts its reset step as
  // Gymnasium's RecordEpisodeStatistics does.
  std::vector<double> episode_start_;
  ThreadPool pool_;
  VecBuffers buf_;
  PromptStyle prompt_style_ = PromptStyle::kShort;
  std::vector<PromptHistory> history_;  // kGlam only: one per env
  TileCache tiles_;                     // Render's tiles
};

}  // namespace bidir

#endif  // BIDIR_ENV_VEC_ENV_H_
