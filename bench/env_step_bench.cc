// Microbenchmark of the C++ core alone (no Python): batched VecEnv steps, BabyAI-Text
// descriptions of the stepped views, and the oracle planner.
//
// Usage: env_step_bench [task] [num_envs] [num_threads] [steps]
//   task         default BabyAI-GoToRedBallNoDists-v0 (any id of bidir::ListTaskIds())
//   num_envs     default 64
//   num_threads  default 1
//   steps        default 2000 batched steps (env-steps = steps * num_envs)
// Build: cmake -S . -B build-bench -DBIDIR_BUILD_BENCH=ON -DBIDIR_BUILD_PYTHON=OFF
//        cmake --build build-bench && ./build-bench/env_step_bench
//
// Envs are seeded 0..N-1; actions 0..6 come from a table pre-generated with a fixed-seed
// std::mt19937, so the run is deterministic. Each measurement is the best of 3 repeats.
// Descriptions and plans are timed over views/states recorded during the stepping phase.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "env/planner.h"
#include "env/tasks/task.h"
#include "env/text.h"
#include "env/vec_env.h"
#include "env/view.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

int ParseInt(const char* s, const char* name) {
  char* end = nullptr;
  const long v = std::strtol(s, &end, 10);
  if (end == s || *end != '\0' || v < 1 || v > (1L << 30)) {
    std::fprintf(stderr, "bad %s: %s (want a positive integer)\n", name, s);
    std::exit(2);
  }
  return static_cast<int>(v);
}

// Storage for every VecBuffers array, one row per env.
struct Storage {
  explicit Storage(int n)
      : image(static_cast<size_t>(n) * bidir::kImageBytes),
        direction(n),
        mission(static_cast<size_t>(n) * bidir::kMissionBytes),
        reward(n),
        terminated(new bool[n]()),
        truncated(new bool[n]()),
        episode_done(new bool[n]()),
        episode_return(n),
        episode_length(n),
        episode_success(new bool[n]()),
        final_image(static_cast<size_t>(n) * bidir::kImageBytes),
        final_direction(n),
        final_mission(static_cast<size_t>(n) * bidir::kMissionBytes) {}
  ~Storage() {
    delete[] terminated;
    delete[] truncated;
    delete[] episode_done;
    delete[] episode_success;
  }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  bidir::VecBuffers Buffers() {
    bidir::VecBuffers b;
    b.image = image.data();
    b.direction = direction.data();
    b.mission = mission.data();
    b.reward = reward.data();
    b.terminated = terminated;
    b.truncated = truncated;
    b.episode_done = episode_done;
    b.episode_return = episode_return.data();
    b.episode_length = episode_length.data();
    b.episode_success = episode_success;
    b.final_image = final_image.data();
    b.final_direction = final_direction.data();
    b.final_mission = final_mission.data();
    return b;
  }

  std::vector<uint8_t> image;
  std::vector<int64_t> direction;
  std::vector<uint8_t> mission;
  std::vector<float> reward;
  bool* terminated;  // std::vector<bool> has no bool* storage
  bool* truncated;
  bool* episode_done;
  std::vector<float> episode_return;
  std::vector<int32_t> episode_length;
  bool* episode_success;
  std::vector<uint8_t> final_image;
  std::vector<int64_t> final_direction;
  std::vector<uint8_t> final_mission;
};

}  // namespace

int main(int argc, char** argv) {
  const std::string task_id = argc > 1 ? argv[1] : "BabyAI-GoToRedBallNoDists-v0";
  const int num_envs = argc > 2 ? ParseInt(argv[2], "num_envs") : 64;
  const int num_threads = argc > 3 ? ParseInt(argv[3], "num_threads") : 1;
  const int steps = argc > 4 ? ParseInt(argv[4], "steps") : 2000;
  constexpr int kRepeats = 3;

  const bidir::Task* task = bidir::FindTask(task_id);
  if (task == nullptr) {
    std::fprintf(stderr, "unknown task %s; known:\n", task_id.c_str());
    for (const auto& id : bidir::ListTaskIds()) std::fprintf(stderr, "  %s\n", id.c_str());
    return 2;
  }

  Storage storage(num_envs);
  bidir::VecEnv venv(task, num_envs, num_threads, bidir::AutoresetMode::kNextStep);
  venv.BindBuffers(storage.Buffers());
  std::vector<uint64_t> seeds(num_envs);
  for (int i = 0; i < num_envs; ++i) seeds[i] = static_cast<uint64_t>(i);

  // Pre-generated actions: steps rows of num_envs actions in 0..6.
  std::mt19937 gen(12345);
  std::uniform_int_distribution<int> dist(0, bidir::kNumActions - 1);
  std::vector<int64_t> actions(static_cast<size_t>(steps) * num_envs);
  for (auto& a : actions) a = dist(gen);

  // 1. Batched steps. Warm-up: one pass over a few hundred steps.
  venv.Reset(seeds.data(), nullptr);
  for (int t = 0; t < std::min(steps, 200); ++t) {
    venv.Step(actions.data() + static_cast<size_t>(t) * num_envs);
  }
  double best_step = 1e30;
  int64_t episodes = 0;
  for (int r = 0; r < kRepeats; ++r) {
    venv.Reset(seeds.data(), nullptr);
    episodes = 0;
    const auto t0 = Clock::now();
    for (int t = 0; t < steps; ++t) {
      venv.Step(actions.data() + static_cast<size_t>(t) * num_envs);
      for (int i = 0; i < num_envs; ++i) episodes += storage.episode_done[i];
    }
    best_step = std::min(best_step, Seconds(t0, Clock::now()));
  }
  const double env_steps = static_cast<double>(steps) * num_envs;

  // Record views and env states along a stepped trajectory for the next two phases.
  const int kSnapshots = std::max(1, std::min(steps, 4096 / num_envs + 1));
  const int stride = std::max(1, steps / kSnapshots);
  std::vector<uint8_t> views;
  std::vector<bidir::GridEnv> states;
  venv.Reset(seeds.data(), nullptr);
  for (int t = 0; t < steps && static_cast<int>(states.size()) < kSnapshots * num_envs; ++t) {
    venv.Step(actions.data() + static_cast<size_t>(t) * num_envs);
    if (t % stride != 0) continue;
    views.insert(views.end(), storage.image.begin(), storage.image.end());
    for (int i = 0; i < num_envs; ++i) states.push_back(venv.env(i));
  }
  const size_t num_views = views.size() / bidir::kImageBytes;

  // 2. DescribeView over the recorded views (single thread), with a reused vector.
  std::vector<std::string> sentences;
  size_t total_sentences = 0;
  for (size_t v = 0; v < num_views; ++v) {  // warm-up
    sentences.clear();
    bidir::DescribeView(views.data() + v * bidir::kImageBytes, &sentences);
    total_sentences += sentences.size();
  }
  const double mean_sentences = static_cast<double>(total_sentences) / num_views;
  const int desc_passes = std::max(1, static_cast<int>(1000000 / num_views));
  double best_desc = 1e30;
  size_t sink = 0;
  for (int r = 0; r < kRepeats; ++r) {
    const auto t0 = Clock::now();
    for (int p = 0; p < desc_passes; ++p) {
      for (size_t v = 0; v < num_views; ++v) {
        sentences.clear();
        bidir::DescribeView(views.data() + v * bidir::kImageBytes, &sentences);
        sink += sentences.size();
      }
    }
    best_desc = std::min(best_desc, Seconds(t0, Clock::now()));
  }
  const double desc_count = static_cast<double>(desc_passes) * num_views;

  // 3. ExpertAction (BFS planner) over the recorded states (single thread).
  for (const auto& e : states) sink += bidir::ExpertAction(e);  // warm-up
  const int plan_passes = std::max(1, static_cast<int>(100000 / states.size()));
  double best_plan = 1e30;
  for (int r = 0; r < kRepeats; ++r) {
    const auto t0 = Clock::now();
    for (int p = 0; p < plan_passes; ++p) {
      for (const auto& e : states) sink += bidir::ExpertAction(e);
    }
    best_plan = std::min(best_plan, Seconds(t0, Clock::now()));
  }
  const double plan_count = static_cast<double>(plan_passes) * states.size();

  std::printf("task %s, num_envs %d, num_threads %d, steps %d, best of %d (checksum %zu)\n",
              task_id.c_str(), num_envs, num_threads, steps, kRepeats, sink % 10);
  std::printf("%-24s %14s %12s %12s\n", "phase", "count", "seconds", "per second");
  std::printf("%-24s %14.0f %12.4f %12.0f\n", "env steps (VecEnv)", env_steps, best_step,
              env_steps / best_step);
  std::printf("%-24s %14.0f %12.4f %12.0f\n", "DescribeView (views)", desc_count, best_desc,
              desc_count / best_desc);
  std::printf("%-24s %14.0f %12.4f %12.0f\n", "ExpertAction (plans)", plan_count, best_plan,
              plan_count / best_plan);
  std::printf("episodes ended per timed pass: %lld; mean sentences per view: %.2f; "
              "%zu distinct views/states sampled\n",
              static_cast<long long>(episodes), mean_sentences, num_views);
  return 0;
}
