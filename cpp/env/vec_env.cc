#include "env/vec_env.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "env/text.h"
#include "env/view.h"

namespace bidir {

namespace {
double SteadySeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

VecEnv::VecEnv(const Task* task, int num_envs, int num_threads, AutoresetMode mode)
    : task_(task),
      mode_(mode),
      envs_(static_cast<size_t>(num_envs), GridEnv(task)),
      needs_reset_(static_cast<size_t>(num_envs), 0),
      episode_start_(static_cast<size_t>(num_envs), 0.0),
      pool_(std::min(num_threads, num_envs)) {}

template <typename Fn>
void VecEnv::ForRange(int n, Fn fn) {
  const int shards = pool_.num_threads();
  pool_.Run([&](int shard) {
    const int begin = static_cast<int>(static_cast<int64_t>(n) * shard / shards);
    const int end = static_cast<int>(static_cast<int64_t>(n) * (shard + 1) / shards);
    for (int i = begin; i < end; ++i) fn(i);
  });
}

void VecEnv::Render(const int* ids, int n, int tile_size, bool highlight, uint8_t* out) {
  if (tile_size < 1 || tile_size > kMaxTileSize) {
    throw std::invalid_argument("tile_size must be in [1, " + std::to_string(kMaxTileSize) +
                                "], got " + std::to_string(tile_size));
  }
  const int w = task_->width(), h = task_->height();
  for (int k = 0; k < n; ++k) {
    const Grid& g = envs_[ids[k]].grid;
    if (g.width() != w || g.height() != h) {
      throw std::logic_error("env " + std::to_string(ids[k]) + " has a " +
                             std::to_string(g.width()) + "x" + std::to_string(g.height()) +
                             " grid, not the task's " + std::to_string(w) + "x" +
                             std::to_string(h));
    }
  }
  const size_t cells = static_cast<size_t>(w) * h;
  std::vector<uint16_t> keys(cells * n);
  ForRange(n, [&](int k) { FrameTileKeys(envs_[ids[k]], highlight, &keys[cells * k]); });
  tiles_.Prepare(tile_size, keys.data(), keys.size(),
                 [this](int count, const auto& fn) { ForRange(count, fn); });
  const size_t frame_bytes = cells * tile_size * tile_size * 3;
  ForRange(n, [&](int k) {
    BlitFrame(tiles_, &keys[cells * k], w, h, tile_size, out + frame_bytes * k);
  });
}

void VecEnv::WriteObservation(int i) {
  const GridEnv& e = envs_[i];
  WriteView(e, buf_.image + static_cast<size_t>(i) * kImageBytes);
  buf_.direction[i] = e.agent_dir;
}

void VecEnv::WriteMission(int i) {
  const GridEnv& e = envs_[i];
  uint8_t* m = buf_.mission + static_cast<size_t>(i) * kMissionBytes;
  const size_t len = std::min(e.mission.size(), static_cast<size_t>(kMissionBytes));
  std::memcpy(m, e.mission.data(), len);
  std::memset(m + len, 0, kMissionBytes - len);
}

void VecEnv::ResetOne(int i) {
  envs_[i].Reset();
  needs_reset_[i] = 0;
  WriteObservation(i);
  WriteMission(i);
  if (prompt_style_ == PromptStyle::kGlam) {
    history_[i].Start(buf_.image + static_cast<size_t>(i) * kImageBytes);
  }
}

void VecEnv::Reset(const uint64_t* seeds, const bool* mask) {
  const double now = SteadySeconds();
  ForShards([&](int i) {
    if (mask != nullptr && !mask[i]) return;
    if (seeds != nullptr) envs_[i].Seed(seeds[i]);
    ResetOne(i);
    episode_start_[i] = now;
    buf_.reward[i] = 0.0f;
    buf_.terminated[i] = false;
    buf_.truncated[i] = false;
    buf_.episode_done[i] = false;
  });
}

void VecEnv::StepOne(int i, int64_t action, double now) {
  GridEnv& e = envs_[i];
  buf_.episode_done[i] = false;
  buf_.episode_return[i] = 0.0f;
  buf_.episode_length[i] = 0;
  buf_.episode_success[i] = false;
  buf_.episode_time[i] = 0.0;
  if (needs_reset_[i]) {  // kNextStep: this step starts the next episode
    ResetOne(i);
    buf_.reward[i] = 0.0f;
    buf_.terminated[i] = false;
    buf_.truncated[i] = false;
    return;
  }
  // Defence in depth (set_state validates whole states): GridEnv::Step reads and writes
  // the cell in front of the agent, which must be inside the grid.
  const bool dir_ok = e.agent_dir >= 0 && e.agent_dir < 4;
  if (!dir_ok || !e.grid.InBounds(e.agent.x, e.agent.y) ||
      !e.grid.InBounds(e.FrontPos().x, e.FrontPos().y)) {
    throw std::runtime_error("env " + std::to_string(i) +
                           ": the agent or the cell it faces is outside the grid (env not "
                           "reset or state corrupt)");
  }
  const StepOutcome out = e.Step(static_cast<int>(action));
  buf_.reward[i] = static_cast<float>(out.reward);
  buf_.terminated[i] = out.terminated;
  buf_.truncated[i] = out.truncated;
  if (out.terminated || out.truncated) {
    buf_.episode_done[i] = true;
    buf_.episode_return[i] = static_cast<float>(e.episode_return);
    buf_.episode_length[i] = e.step_count;
    buf_.episode_success[i] = out.success;
    buf_.episode_time[i] = std::nearbyint((now - episode_start_[i]) * 1e6) / 1e6;
    episode_start_[i] = now;
    if (mode_ == AutoresetMode::kSameStep) {
      WriteView(e, buf_.final_image + static_cast<size_t>(i) * kImageBytes);
      buf_.final_direction[i] = e.agent_dir;
      std::memcpy(buf_.final_mission + static_cast<size_t>(i) * kMissionBytes,
                  buf_.mission + static_cast<size_t>(i) * kMissionBytes, kMissionBytes);
      ResetOne(i);
      return;
    }
    needs_reset_[i] = 1;
  }
  WriteObservation(i);
  if (prompt_style_ == PromptStyle::kGlam) {
    history_[i].Push(static_cast<int>(action), buf_.image + static_cast<size_t>(i) * kImageBytes);
  }
}

std::string VecEnv::Prompt(int i) const {
  if (prompt_style_ == PromptStyle::kGlam) return GlamPrompt(envs_[i].mission, history_[i]);
  return EnvPrompt(envs_[i]);
}

void VecEnv::PromptHashes(uint64_t* out) {
  if (prompt_style_ == PromptStyle::kGlam) {
    ForShards([&](int i) { out[i] = PromptHash(Prompt(i)); });
    return;
  }
  ForShards([&](int i) { out[i] = EnvPromptHash(envs_[i]); });
}

void VecEnv::SetPromptStyle(PromptStyle style) {
  prompt_style_ = style;
  history_.assign(style == PromptStyle::kGlam ? envs_.size() : 0, PromptHistory());
}

void VecEnv::RestartHistory(int i) {
  if (prompt_style_ != PromptStyle::kGlam) return;
  uint8_t image[kImageBytes];
  WriteView(envs_[i], image);
  history_[i].Start(image);
}

int VecEnv::Step(const int64_t* actions) {
  const int n = num_envs();
  for (int i = 0; i < n; ++i) {
    if (actions[i] < 0 || actions[i] >= kNumActions) {
      throw std::invalid_argument("actions[" + std::to_string(i) + "] = " +
                                  std::to_string(actions[i]) + " is out of range [0, " +
                                  std::to_string(kNumActions) + ")");
    }
  }
  const double now = SteadySeconds();
  ForShards([&](int i) { StepOne(i, actions[i], now); });
  int ended = 0;
  for (int i = 0; i < n; ++i) ended += buf_.episode_done[i];
  return ended;
}

}  // namespace bidir
