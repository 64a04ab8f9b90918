// Google Benchmark microbenchmarks of the C++ core alone (no Python): batched env steps
// per task and thread count, BabyAI-Text descriptions, teacher prompts and their hashes,
// the oracle planner, GAE, the feedback aggregation and the student's fused PPO step.
//
// Build and run (JSON into bench/results/core_bench.json, markdown tables on stdout):
//   bench/run_core_bench.sh [extra Google Benchmark flags]
// or by hand:
//   cmake -S . -B build-bench -G Ninja -DBIDIR_BUILD_BENCH=ON -DBIDIR_BUILD_PYTHON=OFF
//   cmake --build build-bench --target core_bench
//   ./build-bench/core_bench --benchmark_out=out.json --benchmark_out_format=json
//
// Flags of its own (before Google Benchmark's --benchmark_*):
//   --tasks=ID,ID,...   the tasks of the per-task benchmarks (default: kDefaultTasks);
//                       --tasks=all for every registered id
//   --num_envs=N        envs per VecEnv (default 64)
//
// Everything is deterministic: envs are seeded 0..N-1, actions come from a table made by a
// fixed-seed std::mt19937, and the views/states that the text and planner benchmarks read
// are recorded along that trajectory. items_per_second is the figure each table reports:
// per wall second for Step (which runs a thread pool), per CPU second of the benchmark's
// thread for the others (robust on a shared machine).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "env/planner.h"
#include "env/prompt_history.h"
#include "env/tasks/task.h"
#include "env/text.h"
#include "env/vec_env.h"
#include "env/view.h"
#include "feedback/td_feedback.h"
#include "rollout/gae.h"
#include "student/mlp_ppo.h"

namespace {

// One task of each kind: the default run's task, a crowded room, a maze of rooms, a
// two-object instruction, the largest BabyAI level and a MiniGrid task.
const char* const kDefaultTasks[] = {
    "BabyAI-GoToRedBallNoDists-v0", "BabyAI-GoToLocal-v0", "BabyAI-GoTo-v0",
    "BabyAI-PutNextLocal-v0",       "BabyAI-BossLevel-v0", "MiniGrid-DoorKey-8x8-v0",
};

int g_num_envs = 64;
constexpr int kActionRows = 1024;  // rows of the random action table (reused cyclically)

// Storage for every VecBuffers array, one row per env.
struct Storage {
  explicit Storage(int n)
      : image(static_cast<size_t>(n) * bidir::kImageBytes),
        direction(n),
        mission(static_cast<size_t>(n) * bidir::kMissionBytes),
        reward(n),
        flags(new bool[4 * static_cast<size_t>(n)]()),  // std::vector<bool> has no bool*
        episode_return(n),
        episode_length(n),
        episode_time(n),
        final_image(static_cast<size_t>(n) * bidir::kImageBytes),
        final_direction(n),
        final_mission(static_cast<size_t>(n) * bidir::kMissionBytes),
        n_(n) {}

  bidir::VecBuffers Buffers() {
    bidir::VecBuffers b;
    b.image = image.data();
    b.direction = direction.data();
    b.mission = mission.data();
    b.reward = reward.data();
    b.terminated = flags.get();
    b.truncated = flags.get() + n_;
    b.episode_done = flags.get() + 2 * n_;
    b.episode_success = flags.get() + 3 * n_;
    b.episode_return = episode_return.data();
    b.episode_length = episode_length.data();
    b.episode_time = episode_time.data();
    b.final_image = final_image.data();
    b.final_direction = final_direction.data();
    b.final_mission = final_mission.data();
    return b;
  }

  std::vector<uint8_t> image;
  std::vector<int64_t> direction;
  std::vector<uint8_t> mission;
  std::vector<float> reward;
  std::unique_ptr<bool[]> flags;
  std::vector<float> episode_return;
  std::vector<int32_t> episode_length;
  std::vector<double> episode_time;
  std::vector<uint8_t> final_image;
  std::vector<int64_t> final_direction;
  std::vector<uint8_t> final_mission;

 private:
  int n_;
};

std::vector<int64_t> RandomActions(int num_envs) {
  std::mt19937 gen(12345);
  std::uniform_int_distribution<int> dist(0, bidir::kNumActions - 1);
  std::vector<int64_t> actions(static_cast<size_t>(kActionRows) * num_envs);
  for (auto& a : actions) a = dist(gen);
  return actions;
}

// A seeded VecEnv with its buffers.
struct Batch {
  Batch(const bidir::Task* task, int num_envs, int num_threads,
        bidir::PromptStyle style = bidir::PromptStyle::kShort)
      : storage(num_envs),
        venv(task, num_envs, num_threads, bidir::AutoresetMode::kNextStep),
        actions(RandomActions(num_envs)) {
    venv.BindBuffers(storage.Buffers());
    venv.SetPromptStyle(style);
    std::vector<uint64_t> seeds(num_envs);
    for (int i = 0; i < num_envs; ++i) seeds[i] = static_cast<uint64_t>(i);
    venv.Reset(seeds.data(), nullptr);
  }
  const int64_t* ActionRow(int64_t t) const {
    return actions.data() + static_cast<size_t>(t % kActionRows) * venv.num_envs();
  }

  Storage storage;
  bidir::VecEnv venv;
  std::vector<int64_t> actions;
};

// Env states (copies) and their views recorded every 8 steps along the random-action
// trajectory of a 64-env batch, ~4k of each.
struct Recording {
  std::vector<bidir::GridEnv> states;
  std::vector<uint8_t> views;  // states.size() x kImageBytes
};

Recording Record(const bidir::Task* task) {
  Batch b(task, 64, 1);
  Recording r;
  for (int t = 0; r.states.size() < 4096; ++t) {
    b.venv.Step(b.ActionRow(t));
    if (t % 8 != 0) continue;
    r.views.insert(r.views.end(), b.storage.image.begin(), b.storage.image.end());
    for (int i = 0; i < b.venv.num_envs(); ++i) r.states.push_back(b.venv.env(i));
  }
  return r;
}

// -- environments -------------------------------------------------------------------

void BM_Step(benchmark::State& state, const bidir::Task* task) {
  const int threads = static_cast<int>(state.range(0));
  Batch b(task, g_num_envs, threads);
  int64_t t = 0;
  for (int w = 0; w < 100; ++w) b.venv.Step(b.ActionRow(t++));  // warm-up
  for (auto _ : state) {
    b.venv.Step(b.ActionRow(t++));
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * g_num_envs);  // env-steps
  state.counters["num_envs"] = g_num_envs;
  state.counters["threads"] = threads;
}

// -- text and prompts ---------------------------------------------------------------

void BM_DescribeView(benchmark::State& state, const bidir::Task* task) {
  const Recording r = Record(task);
  const size_t n = r.states.size();
  std::vector<std::string> sentences;
  size_t v = 0, total = 0;
  for (auto _ : state) {
    sentences.clear();
    bidir::DescribeView(r.views.data() + v * bidir::kImageBytes, &sentences);
    total += sentences.size();
    benchmark::DoNotOptimize(sentences.data());
    if (++v == n) v = 0;
  }
  state.SetItemsProcessed(state.iterations());  // views
  state.counters["sentences_per_view"] =
      static_cast<double>(total) / static_cast<double>(std::max<int64_t>(1, state.iterations()));
}

// Times f(state) over the recorded states of `task`, in turn; one item per call.
template <typename F>
void EachRecordedState(benchmark::State& state, const bidir::Task* task, F f) {
  const Recording r = Record(task);
  size_t v = 0;
  for (auto _ : state) {
    f(r.states[v]);
    if (++v == r.states.size()) v = 0;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_EnvPrompt(benchmark::State& state, const bidir::Task* task) {
  EachRecordedState(state, task, [](const bidir::GridEnv& env) {
    std::string p = bidir::EnvPrompt(env);
    benchmark::DoNotOptimize(p.data());
  });  // items: prompts
}

void BM_EnvPromptHash(benchmark::State& state, const bidir::Task* task) {
  EachRecordedState(state, task, [](const bidir::GridEnv& env) {
    benchmark::DoNotOptimize(bidir::EnvPromptHash(env));
  });  // items: prompts hashed
}

// VecEnv::Prompt / PromptHashes over the whole batch, in the short and GLAM styles, after
// each random step (the step itself is outside the timed region).
void BatchPrompts(benchmark::State& state, const bidir::Task* task, bidir::PromptStyle style,
                  bool hashes) {
  Batch b(task, g_num_envs, 1, style);
  std::vector<uint64_t> out(g_num_envs);
  int64_t t = 0;
  for (int w = 0; w < 8; ++w) b.venv.Step(b.ActionRow(t++));  // GLAM histories fill up
  for (auto _ : state) {
    state.PauseTiming();
    b.venv.Step(b.ActionRow(t++));
    state.ResumeTiming();
    if (hashes) {
      b.venv.PromptHashes(out.data());
      benchmark::DoNotOptimize(out.data());
    } else {
      for (int i = 0; i < g_num_envs; ++i) {
        std::string p = b.venv.Prompt(i);
        benchmark::DoNotOptimize(p.data());
      }
    }
  }
  state.SetItemsProcessed(state.iterations() * g_num_envs);  // prompts
}

void BM_BatchPrompts(benchmark::State& state, const bidir::Task* task) {
  BatchPrompts(state, task, bidir::PromptStyle::kShort, false);
}
void BM_BatchPromptHashes(benchmark::State& state, const bidir::Task* task) {
  BatchPrompts(state, task, bidir::PromptStyle::kShort, true);
}
void BM_BatchGlamPrompts(benchmark::State& state, const bidir::Task* task) {
  BatchPrompts(state, task, bidir::PromptStyle::kGlam, false);
}

// -- planner ------------------------------------------------------------------------

void BM_ExpertAction(benchmark::State& state, const bidir::Task* task) {
  EachRecordedState(state, task, [](const bidir::GridEnv& env) {
    benchmark::DoNotOptimize(bidir::ExpertAction(env));
  });  // items: plans
}

// -- rollout-side numerics ----------------------------------------------------------

// (T, N) rollout arrays with episode ends (terminations 2%, truncations 1%) and queries.
struct Rollout {
  Rollout(int T, int N)
      : t(T), n(N), rewards(T * N), values(T * N), final_values(T * N), next_values(N),
        teacher_logprobs(T * N), behaviour_logprobs(T * N),
        flags(new bool[3 * static_cast<size_t>(T) * N]()),
        advantages(T * N), returns(T * N), deltas(T * N), ratios(T * N), feedback(T * N),
        window_lengths(T * N) {
    std::mt19937 gen(7);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    for (int i = 0; i < T * N; ++i) {
      rewards[i] = u(gen) < 0.03f ? u(gen) : 0.0f;
      values[i] = normal(gen);
      final_values[i] = normal(gen);
      teacher_logprobs[i] = -2.0f * u(gen);
      behaviour_logprobs[i] = -2.0f * u(gen);
      terminated()[i] = u(gen) < 0.02f;
      truncated()[i] = u(gen) < 0.01f;
      queries()[i] = u(gen) < 0.25f;
    }
    for (auto& v : next_values) v = normal(gen);
  }
  bool* terminated() { return flags.get(); }
  bool* truncated() { return flags.get() + static_cast<size_t>(t) * n; }
  bool* queries() { return flags.get() + 2 * static_cast<size_t>(t) * n; }

  int t, n;
  std::vector<float> rewards, values, final_values, next_values, teacher_logprobs,
      behaviour_logprobs;
  std::unique_ptr<bool[]> flags;
  std::vector<float> advantages, returns, deltas, ratios, feedback;
  std::vector<int32_t> window_lengths;
};

void BM_ComputeGae(benchmark::State& state) {
  Rollout r(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  for (auto _ : state) {
    bidir::ComputeGae(r.t, r.n, r.rewards.data(), r.values.data(), r.terminated(),
                      r.truncated(), r.final_values.data(), r.next_values.data(), 0.99f,
                      0.95f, r.advantages.data(), r.returns.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * r.t * r.n);  // transitions
}

void BM_AggregateFeedback(benchmark::State& state) {
  Rollout r(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  bidir::FeedbackInputs in;
  in.T = r.t;
  in.N = r.n;
  in.rewards = r.rewards.data();
  in.values = r.values.data();
  in.terminated = r.terminated();
  in.truncated = r.truncated();
  in.final_values = r.final_values.data();
  in.next_values = r.next_values.data();
  in.queries = r.queries();
  in.teacher_logprobs = r.teacher_logprobs.data();
  in.behaviour_logprobs = r.behaviour_logprobs.data();
  bidir::FeedbackOutputs out;
  out.deltas = r.deltas.data();
  out.advantages = r.advantages.data();
  out.ratios = r.ratios.data();
  out.feedback = r.feedback.data();
  out.window_lengths = r.window_lengths.data();
  for (auto _ : state) {
    bidir::AggregateFeedback(in, 0.99, 0.95, 1.0, out);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * r.t * r.n);  // transitions
}

// -- the student's fused PPO step ---------------------------------------------------

// The student's default network (student/network.py, TrainConfig.hidden = 64) on the
// features of real observations: 49 cells x 20 one-hot values, 4 directions, the mission
// words (a fixed 6-word mission here) and the hint block (A + 1 features, hints absent).
constexpr int kVocab = 44;
constexpr int kHintFeatures = bidir::kNumActions + 1;
constexpr int kFeatures = 49 * 20 + 4 + kVocab + kHintFeatures;  // 1036

struct Student {
  Student(int hidden, int rows) : sizes{kFeatures, hidden, hidden, bidir::kNumActions + 1} {
    std::mt19937 gen(3);
    for (int l = 0; l < 3; ++l) {
      std::normal_distribution<float> normal(0.0f, 1.0f / std::sqrt(float(sizes[l])));
      w.emplace_back(static_cast<size_t>(sizes[l + 1]) * sizes[l]);
      b.emplace_back(sizes[l + 1], 0.0f);
      gw.emplace_back(w.back().size());
      gb.emplace_back(b.back().size());
      for (float& v : w.back()) v = normal(gen);
      layers.push_back({sizes[l], sizes[l + 1], w[l].data(), b[l].data(), gw[l].data(),
                        gb[l].data()});
    }
    // Features of `rows` observations of the default task's random-action trajectory.
    const Recording rec = Record(bidir::FindTask(kDefaultTasks[0]));
    std::vector<float> x(static_cast<size_t>(rows) * kFeatures, 0.0f);
    const int mission_words[] = {9, 10, 11, 12, 13, 14};
    for (int i = 0; i < rows; ++i) {
      const size_t s = static_cast<size_t>(i) % rec.states.size();
      const uint8_t* view = rec.views.data() + s * bidir::kImageBytes;
      float* row = x.data() + static_cast<size_t>(i) * kFeatures;
      for (int k = 0; k < 49; ++k) {
        row[20 * k + std::min<int>(view[3 * k], 10)] = 1.0f;
        row[20 * k + 11 + std::min<int>(view[3 * k + 1], 5)] = 1.0f;
        row[20 * k + 17 + std::min<int>(view[3 * k + 2], 2)] = 1.0f;
      }
      row[980 + rec.states[s].agent_dir] = 1.0f;
      row[984] = 1.0f;  // padding word
      for (int wd : mission_words) row[984 + wd] = 1.0f;
    }
    features.Assign(x.data(), rows, kFeatures);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_int_distribution<int> pick(0, bidir::kNumActions - 1);
    for (int i = 0; i < rows; ++i) {
      actions.push_back(pick(gen));
      old_logprobs.push_back(-1.9f + 0.2f * normal(gen));
      old_values.push_back(normal(gen));
      advantages.push_back(normal(gen));
      returns.push_back(normal(gen));
    }
    int64_t params = 0;
    for (int l = 0; l < 3; ++l) params += static_cast<int64_t>(w[l].size() + b[l].size());
    flat.assign(params, 0.01f);
    flat_grad.assign(params, 0.001f);
    exp_avg.assign(params, 0.0f);
    exp_avg_sq.assign(params, 0.0f);
  }

  std::vector<int> sizes;
  std::vector<std::vector<float>> w, b, gw, gb;
  std::vector<bidir::DenseLayer> layers;
  bidir::SparseRows features;
  std::vector<int64_t> actions;
  std::vector<float> old_logprobs, old_values, advantages, returns;
  std::vector<float> flat, flat_grad, exp_avg, exp_avg_sq;
  float step = 0.0f;
};

// One minibatch of `rows` rows out of a 256-row rollout (the trainer's default shapes):
// MlpPpoGradients, or MlpPpoGradients + ClippedAdamStep (the fused step the trainer runs).
void PpoMinibatch(benchmark::State& state, bool with_adam) {
  const int rows = static_cast<int>(state.range(0));
  const int hidden = static_cast<int>(state.range(1));
  constexpr int kRollout = 256;
  Student s(hidden, kRollout);
  bidir::MlpPpoScratch scratch;
  bidir::PpoLossConfig loss;
  bidir::AdamConfig adam;
  adam.lr = 5e-4f;
  std::vector<int64_t> perm(kRollout);
  bidir::ShuffledIndices(kRollout, 1, perm.data());
  std::vector<int64_t> mb_actions(rows);
  std::vector<float> mb_lp(rows), mb_v(rows), mb_adv(rows), mb_ret(rows);
  float stats[bidir::kNumPpoStats];
  int start = 0;
  for (auto _ : state) {
    const int64_t* idx = perm.data() + start;
    for (int i = 0; i < rows; ++i) {
      mb_actions[i] = s.actions[idx[i]];
      mb_lp[i] = s.old_logprobs[idx[i]];
      mb_v[i] = s.old_values[idx[i]];
      mb_adv[i] = s.advantages[idx[i]];
      mb_ret[i] = s.returns[idx[i]];
    }
    bidir::PpoMinibatch mb;
    mb.n = rows;
    mb.actions = mb_actions.data();
    mb.old_logprobs = mb_lp.data();
    mb.old_values = mb_v.data();
    mb.advantages = mb_adv.data();
    mb.returns = mb_ret.data();
    bidir::MlpPpoGradients(s.features, idx, s.layers, mb, loss, scratch, stats);
    if (with_adam) {
      benchmark::DoNotOptimize(bidir::ClippedAdamStep(
          static_cast<int64_t>(s.flat.size()), s.flat.data(), s.flat_grad.data(),
          s.exp_avg.data(), s.exp_avg_sq.data(), &s.step, adam));
    }
    benchmark::DoNotOptimize(stats);
    start += rows;
    if (start + rows > kRollout) start = 0;
  }
  state.SetItemsProcessed(state.iterations() * rows);  // samples
  state.counters["params"] = static_cast<double>(s.flat.size());
}

void BM_MlpPpoGradients(benchmark::State& state) { PpoMinibatch(state, false); }
void BM_PpoMinibatchStep(benchmark::State& state) { PpoMinibatch(state, true); }

void BM_ClippedAdamStep(benchmark::State& state) {
  Student s(static_cast<int>(state.range(0)), 1);
  bidir::AdamConfig adam;
  for (auto _ : state) {
    benchmark::DoNotOptimize(bidir::ClippedAdamStep(
        static_cast<int64_t>(s.flat.size()), s.flat.data(), s.flat_grad.data(),
        s.exp_avg.data(), s.exp_avg_sq.data(), &s.step, adam));
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(s.flat.size()));  // floats
}

std::vector<std::string> SplitCommas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// Removes --tasks= and --num_envs= from argv (Google Benchmark rejects unknown flags) and
// returns the task ids; exits with a message on a bad value.
std::vector<std::string> ParseOwnFlags(int* argc, char** argv) {
  std::vector<std::string> tasks(std::begin(kDefaultTasks), std::end(kDefaultTasks));
  int kept = 1;
  for (int i = 1; i < *argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--tasks=", 0) == 0) {
      const std::string value = arg.substr(8);
      tasks = value == "all" ? bidir::ListTaskIds() : SplitCommas(value);
    } else if (arg.rfind("--num_envs=", 0) == 0) {
      char* end = nullptr;
      const long v = std::strtol(arg.c_str() + 11, &end, 10);
      if (*end != '\0' || v < 1 || v > 65536) {
        std::fprintf(stderr, "bad --num_envs: %s (want 1..65536)\n", arg.c_str() + 11);
        std::exit(2);
      }
      g_num_envs = static_cast<int>(v);
    } else {
      argv[kept++] = argv[i];
    }
  }
  *argc = kept;
  for (const auto& id : tasks) {
    if (bidir::FindTask(id) == nullptr) {
      std::fprintf(stderr, "unknown task %s (see bidir_core.list_tasks())\n", id.c_str());
      std::exit(2);
    }
  }
  return tasks;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> tasks = ParseOwnFlags(&argc, argv);
  for (const auto& id : tasks) {
    const bidir::Task* task = bidir::FindTask(id);
    benchmark::RegisterBenchmark(("Step/" + id).c_str(), BM_Step, task)
        ->ArgName("threads")
        ->Arg(1)
        ->Arg(2)
        ->UseRealTime()  // items_per_second: env-steps per wall second, all threads together
        ->MeasureProcessCPUTime();  // cpu_time: of every thread, for env-steps per CPU second
    benchmark::RegisterBenchmark(("ExpertAction/" + id).c_str(), BM_ExpertAction, task);
    benchmark::RegisterBenchmark(("DescribeView/" + id).c_str(), BM_DescribeView, task);
  }
  const bidir::Task* text_task = bidir::FindTask(tasks.front());
  benchmark::RegisterBenchmark("EnvPrompt", BM_EnvPrompt, text_task);
  benchmark::RegisterBenchmark("EnvPromptHash", BM_EnvPromptHash, text_task);
  benchmark::RegisterBenchmark("VecEnv.Prompt", BM_BatchPrompts, text_task);
  benchmark::RegisterBenchmark("VecEnv.PromptHashes", BM_BatchPromptHashes, text_task);
  benchmark::RegisterBenchmark("VecEnv.Prompt/glam", BM_BatchGlamPrompts, text_task);
  // (T, N): the trainer's default rollout (16 envs x 16 steps) and a 64 x 128 one.
  for (auto* bm : {benchmark::RegisterBenchmark("ComputeGae", BM_ComputeGae),
                   benchmark::RegisterBenchmark("AggregateFeedback", BM_AggregateFeedback)}) {
    bm->ArgNames({"T", "N"})->Args({16, 16})->Args({128, 64});
  }
  // (rows, hidden): the default minibatch of 64 rows, hidden 64, and hidden 128.
  for (auto* bm : {benchmark::RegisterBenchmark("MlpPpoGradients", BM_MlpPpoGradients),
                   benchmark::RegisterBenchmark("PpoMinibatchStep", BM_PpoMinibatchStep)}) {
    bm->ArgNames({"rows", "hidden"})->Args({64, 64})->Args({64, 128});
  }
  benchmark::RegisterBenchmark("ClippedAdamStep", BM_ClippedAdamStep)
      ->ArgName("hidden")
      ->Arg(64)
      ->Arg(128);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("num_envs", std::to_string(g_num_envs));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
