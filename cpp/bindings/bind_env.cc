// Bindings for the batched environments: task list, VecEnv (state save/load in
// env_state.cc), planner.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/typing.h>

#include <array>
#include <atomic>
#include <cstring>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "bindings/checks.h"
#include "bindings/env_state.h"
#include "env/planner.h"
#include "env/tasks/task.h"
#include "env/text.h"
#include "env/vec_env.h"
#include "env/view.h"

namespace bidir {
namespace {

// Marks a PyVecEnv busy for the duration of one call. The envs, their buffers and the
// thread pool may only be used by one call at a time; a call from a second Python thread
// (possible while the first has released the GIL) or a re-entrant call raises instead of
// corrupting memory or deadlocking the pool.
class BusyGuard {
 public:
  BusyGuard(std::atomic<bool>* flag, const char* method) : flag_(flag) {
    bool expected = false;
    if (!flag_->compare_exchange_strong(expected, true, std::memory_order_acq_rel)) {
      throw std::runtime_error(std::string("VecEnv.") + method +
                               ": this env is used from two threads at once (or re-entered "
                               "while a call is running); give each thread its own env or "
                               "serialise the calls with a lock");
    }
  }
  ~BusyGuard() { flag_->store(false, std::memory_order_release); }
  BusyGuard(const BusyGuard&) = delete;
  BusyGuard& operator=(const BusyGuard&) = delete;

 private:
  std::atomic<bool>* flag_;
};

// One output buffer bind_buffers() takes: its key, its shape after the env axis, and how
// to check an array's dtype / shape / layout and store its pointer in VecBuffers.
struct BufferSpec {
  const char* name;
  std::vector<py::ssize_t> per_env_shape;
  py::dtype (*dtype)();
  void (*check_and_set)(py::array& a, const char* name,
                        const std::vector<py::ssize_t>& shape, VecBuffers* b);
};

template <typename T, T* VecBuffers::*Field>
BufferSpec Buffer(const char* name, std::vector<py::ssize_t> per_env_shape) {
  return {name, std::move(per_env_shape), [] { return py::dtype::of<T>(); },
          [](py::array& a, const char* name, const std::vector<py::ssize_t>& shape,
             VecBuffers* b) {
            CheckArray<T>(a, name, shape, true);
            b->*Field = static_cast<T*>(a.mutable_data());
          }};
}

// The output buffers, in VecBuffers order: the one definition of their layout, exported to
// Python by buffer_specs() (vector_env_buffers.core_buffers allocates from it).
const std::vector<BufferSpec>& BufferSpecs() {
  using B = VecBuffers;
  static const std::vector<BufferSpec> specs = {
      Buffer<uint8_t, &B::image>("image", {7, 7, 3}),
      Buffer<int64_t, &B::direction>("direction", {}),
      Buffer<uint8_t, &B::mission>("mission", {kMissionBytes}),
      Buffer<float, &B::reward>("reward", {}),
      Buffer<bool, &B::terminated>("terminated", {}),
      Buffer<bool, &B::truncated>("truncated", {}),
      Buffer<bool, &B::episode_done>("episode_done", {}),
      Buffer<float, &B::episode_return>("episode_return", {}),
      Buffer<int32_t, &B::episode_length>("episode_length", {}),
      Buffer<bool, &B::episode_success>("episode_success", {}),
      Buffer<double, &B::episode_time>("episode_time", {}),
      Buffer<uint8_t, &B::final_image>("final_image", {7, 7, 3}),
      Buffer<int64_t, &B::final_direction>("final_direction", {}),
      Buffer<uint8_t, &B::final_mission>("final_mission", {kMissionBytes}),
  };
  return specs;
}

class PyVecEnv {
 public:
  PyVecEnv(const std::string& task_id, int num_envs, int num_threads, bool same_step) {
    const Task* task = FindTask(task_id);
    if (task == nullptr) throw py::value_error("unknown task id '" + task_id + "'");
    if (num_envs < 1) throw py::value_error("num_envs must be >= 1, got " + std::to_string(num_envs));
    if (num_threads < 1) {
      throw py::value_error("num_threads must be >= 1, got " + std::to_string(num_threads));
    }
    try {
      vec_ = std::make_unique<VecEnv>(task, num_envs, num_threads,
                                      same_step ? AutoresetMode::kSameStep : AutoresetMode::kNextStep);
    } catch (const std::system_error& err) {
      // The pool has joined the workers it started; say what to do about it.
      throw std::runtime_error("could not start " + std::to_string(num_threads) +
                               " threads for the envs (" + err.what() +
                               "): use fewer num_threads or raise the process/memory limit");
    }
    num_envs_ = num_envs;
    num_threads_ = vec_->num_threads();
    task_id_ = task->id();
    width_ = task->width();
    height_ = task->height();
    started_.assign(static_cast<size_t>(num_envs), 0);
    actions_.assign(static_cast<size_t>(num_envs), 0);
  }

  void BindBuffers(const py::object& obj) {
    BusyGuard busy(&busy_, "bind_buffers");
    RequireOpen("bind_buffers");
    if (!py::isinstance<py::dict>(obj)) {
      throw py::type_error("arrays must be a dict of numpy arrays, got " +
                           std::string(py::str(py::type::handle_of(obj).attr("__name__"))));
    }
    const py::dict arrays = py::reinterpret_borrow<py::dict>(obj);
    const py::ssize_t n = num_envs_;
    const std::vector<BufferSpec>& specs = BufferSpecs();
    std::vector<py::array> held;
    std::vector<ByteRange> ranges;
    VecBuffers b;
    // Never converted: each buffer must be the caller's own writeable array.
    for (const BufferSpec& spec : specs) {
      if (!arrays.contains(spec.name)) {
        throw py::value_error(std::string("missing buffer '") + spec.name + "'");
      }
      py::array a = AsArray(arrays[spec.name], spec.name);
      std::vector<py::ssize_t> shape{n};
      shape.insert(shape.end(), spec.per_env_shape.begin(), spec.per_env_shape.end());
      spec.check_and_set(a, spec.name, shape, &b);
      ranges.push_back(RangeOf(a, spec.name));
      held.push_back(std::move(a));
    }
    CheckNoOverlap(ranges, ranges.size());
    // Hold the arrays themselves (not the dict, which the caller may clear) for as long as
    // the envs hold their pointers.
    held_ = std::move(held);
    vec_->BindBuffers(b);
    bound_ = true;
  }

  void Reset(const py::object& seeds, const py::object& mask) {
    BusyGuard busy(&busy_, "reset");
    RequireBound("reset");
    const py::ssize_t n = num_envs_;
    // Copies: another Python thread may write the caller's arrays once the GIL is released.
    std::vector<uint64_t> seed_copy;
    std::vector<uint8_t> mask_copy;
    if (!seeds.is_none()) {
      py::array seed_arr = AsArray(seeds, "seeds");
      CheckArray<uint64_t>(seed_arr, "seeds", {n}, false);
      const auto* d = static_cast<const uint64_t*>(seed_arr.data());
      seed_copy.assign(d, d + n);
    }
    if (!mask.is_none()) {
      py::array mask_arr = AsArray(mask, "reset_mask");
      CheckArray<bool>(mask_arr, "reset_mask", {n}, false);
      const auto* d = static_cast<const uint8_t*>(mask_arr.data());
      mask_copy.resize(static_cast<size_t>(n));
      for (py::ssize_t i = 0; i < n; ++i) mask_copy[i] = d[i] != 0;
    }
    {
      py::gil_scoped_release release;
      vec_->Reset(seed_copy.empty() ? nullptr : seed_copy.data(),
                  mask_copy.empty() ? nullptr : reinterpret_cast<const bool*>(mask_copy.data()));
    }
    for (int i = 0; i < num_envs_; ++i) {
      if (mask_copy.empty() || mask_copy[i]) MarkStarted(i);
    }
  }

  int Step(const py::array& actions) {
    BusyGuard busy(&busy_, "step");
    RequireReady("step");
    CheckArray<int64_t>(actions, "actions", {num_envs_}, false);
    // A copy, so that the values validated are the values stepped with.
    std::memcpy(actions_.data(), actions.data(), sizeof(int64_t) * actions_.size());
    py::gil_scoped_release release;
    return vec_->Step(actions_.data());
  }

  std::vector<std::string> Missions() {
    BusyGuard busy(&busy_, "missions");
    RequireReady("missions");
    std::vector<std::string> out;
    for (int i = 0; i < num_envs_; ++i) out.push_back(vec_->env(i).mission);
    return out;
  }

  std::vector<std::vector<std::string>> Descriptions() {
    BusyGuard busy(&busy_, "descriptions");
    RequireReady("descriptions");
    std::vector<std::vector<std::string>> out(static_cast<size_t>(num_envs_));
    {
      py::gil_scoped_release release;
      uint8_t image[kImageBytes];
      for (int i = 0; i < num_envs_; ++i) {
        WriteView(vec_->env(i), image);
        DescribeView(image, &out[i]);
      }
    }
    return out;
  }

  // Prompts of the envs in `indices` (an int64 array, or None for all envs).
  std::vector<std::string> Prompts(const py::object& indices) {
    BusyGuard busy(&busy_, "prompts");
    RequireReady("prompts");
    const std::vector<int> ids = Indices(indices);
    std::vector<std::string> out(ids.size());
    py::gil_scoped_release release;
    for (size_t k = 0; k < ids.size(); ++k) out[k] = vec_->Prompt(ids[k]);
    return out;
  }

  // Frames of the envs in `indices` as minigrid's render() draws them: uint8
  // (len(indices), height * tile_size, width * tile_size, 3).
  // `out`, if given, is a writeable C-contiguous uint8 array of that shape to fill (no
  // allocation); it is returned.
  py::array Render(const py::object& indices, int tile_size, bool highlight,
                   const py::object& out) {
    BusyGuard busy(&busy_, "render");
    RequireReady("render");
    if (tile_size < 1 || tile_size > kMaxTileSize) {
      throw py::value_error("tile_size must be in [1, " + std::to_string(kMaxTileSize) +
                            "], got " + std::to_string(tile_size));
    }
    const std::vector<int> ids = Indices(indices);
    const py::ssize_t n = static_cast<py::ssize_t>(ids.size());
    const std::vector<py::ssize_t> shape = {n, static_cast<py::ssize_t>(height_) * tile_size,
                                            static_cast<py::ssize_t>(width_) * tile_size,
                                            py::ssize_t{3}};
    py::array frames;
    if (out.is_none()) {
      frames = py::array_t<uint8_t>(shape);
    } else {
      frames = AsArray(out, "out");
      CheckArray<uint8_t>(frames, "out", shape, true);
    }
    auto* data = static_cast<uint8_t*>(frames.mutable_data());
    py::gil_scoped_release release;
    vec_->Render(ids.data(), static_cast<int>(n), tile_size, highlight, data);
    return frames;
  }

  // FNV-1a 64 of every env's prompt, written into `out` (uint64 (N,)) or a new array.
  py::array PromptHashes(const py::object& out) {
    BusyGuard busy(&busy_, "prompt_hashes");
    RequireReady("prompt_hashes");
    const py::ssize_t n = num_envs_;
    py::array arr;
    if (out.is_none()) {
      arr = py::array_t<uint64_t>(n);
    } else {
      if (!py::isinstance<py::array>(out)) {
        throw py::type_error("out must be None or a uint64 numpy.ndarray, got " +
                             std::string(py::str(py::type::handle_of(out).attr("__name__"))));
      }
      arr = py::reinterpret_borrow<py::array>(out);
      CheckArray<uint64_t>(arr, "out", {n}, true);
    }
    auto* d = static_cast<uint64_t*>(arr.mutable_data());
    py::gil_scoped_release release;
    vec_->PromptHashes(d);
    return arr;
  }

  py::array_t<int64_t> ExpertActions() {
    return PerEnv("expert_actions", [](const GridEnv& env) { return ExpertAction(env); });
  }

  py::array_t<int64_t> PlanLengths() {
    return PerEnv("plan_lengths", [](const GridEnv& env) { return PlanShortest(env).length; });
  }

  py::dict State(int i) {
    BusyGuard busy(&busy_, "get_state");
    RequireStarted(i, "get_state");
    return StateDict(vec_->env(i), vec_->NeedsReset(i));
  }

  EnvSnapshot Snapshot(int i) {
    BusyGuard busy(&busy_, "snapshot");
    RequireStarted(i, "snapshot");
    return EnvSnapshot{vec_->env(i), vec_->NeedsReset(i)};
  }

  // Env indices[k] takes the state of snapshots[k]; everything is checked first.
  void Restore(const py::object& indices, const py::object& snapshots) {
    BusyGuard busy(&busy_, "restore");
    RequireBound("restore");
    const py::array idx = AsArray(indices, "indices");
    if (idx.ndim() != 1) throw py::value_error("indices must be one-dimensional");
    CheckArray<int64_t>(idx, "indices", {idx.shape(0)}, false);
    if (!py::isinstance<py::list>(snapshots)) {
      throw py::type_error("snapshots must be a list of EnvSnapshot");
    }
    const py::list snaps = py::reinterpret_borrow<py::list>(snapshots);
    const size_t n = static_cast<size_t>(idx.shape(0));
    if (py::len(snaps) != n) {
      throw py::value_error("indices has " + std::to_string(n) + " entries but snapshots has " +
                            std::to_string(py::len(snaps)));
    }
    const auto* d = static_cast<const int64_t*>(idx.data());
    std::vector<const EnvSnapshot*> src(n);
    for (size_t k = 0; k < n; ++k) {
      if (d[k] < 0 || d[k] >= num_envs_) {
        throw py::index_error("indices[" + std::to_string(k) + "] = " + std::to_string(d[k]) +
                              " is out of range [0, " + std::to_string(num_envs_) + ")");
      }
      if (!py::isinstance<EnvSnapshot>(snaps[k])) {
        throw py::type_error("snapshots[" + std::to_string(k) + "] must be an EnvSnapshot");
      }
      src[k] = snaps[k].cast<const EnvSnapshot*>();
      if (src[k]->env.task != &vec_->task()) {
        throw py::value_error("snapshots[" + std::to_string(k) + "] is of " +
                              src[k]->env.task->id() + " but this env runs " + task_id_);
      }
    }
    for (size_t k = 0; k < n; ++k) {
      const int i = static_cast<int>(d[k]);
      vec_->env(i) = src[k]->env;  // reuses the env's storage
      vec_->SetNeedsReset(i, src[k]->needs_reset);
      vec_->WriteObservation(i);
      vec_->WriteMission(i);
      vec_->RestartHistory(i);
      MarkStarted(i);
    }
  }

  void SetState(int i, const py::object& state) {
    BusyGuard busy(&busy_, "set_state");
    RequireBound("set_state");
    CheckIndex(i);
    bool needs_reset = false;
    GridEnv e = ParseState(vec_->task(), state, &needs_reset);
    vec_->env(i) = std::move(e);
    vec_->SetNeedsReset(i, needs_reset);
    vec_->WriteObservation(i);
    vec_->WriteMission(i);
    vec_->RestartHistory(i);
    MarkStarted(i);
  }

  // Stops the thread pool and frees the envs and the buffers they write to; every later
  // call raises. Closing twice is allowed.
  void Close() {
    BusyGuard busy(&busy_, "close");
    if (closed_) return;
    closed_ = true;
    bound_ = false;
    {
      py::gil_scoped_release release;  // joins the pool's workers
      vec_.reset();
    }
    held_.clear();
  }

  std::string prompt_style() const { return prompt_style_; }
  void set_prompt_style(const std::string& style) {
    BusyGuard busy(&busy_, "prompt_style");
    RequireOpen("prompt_style");
    if (style != "short" && style != "glam") {
      throw py::value_error("prompt_style must be 'short' or 'glam', got '" + style + "'");
    }
    vec_->SetPromptStyle(style == "glam" ? PromptStyle::kGlam : PromptStyle::kShort);
    prompt_style_ = style;
    // Envs that already have a state (reset() or set_state) start their history there.
    if (bound_) {
      for (int i = 0; i < num_envs_; ++i) {
        if (started_[i]) vec_->RestartHistory(i);
      }
    }
  }

  bool closed() const { return closed_; }
  int num_envs() const { return num_envs_; }
  int num_threads() const { return num_threads_; }
  std::string task_id() const { return task_id_; }
  int width() const { return width_; }
  int height() const { return height_; }

 private:
  // The env indices of `indices` (an int64 array, or None for all envs), range-checked.
  std::vector<int> Indices(const py::object& indices) const {
    const int n = num_envs_;
    std::vector<int> ids;
    if (indices.is_none()) {
      ids.resize(static_cast<size_t>(n));
      for (int i = 0; i < n; ++i) ids[i] = i;
    } else {
      if (!py::isinstance<py::array>(indices)) {
        throw py::type_error("indices must be None or an int64 numpy.ndarray, got " +
                             std::string(py::str(py::type::handle_of(indices).attr("__name__"))));
      }
      const py::array arr = py::reinterpret_borrow<py::array>(indices);
      if (arr.ndim() != 1) {
        throw py::value_error("indices must be one-dimensional, got ndim " +
                              std::to_string(arr.ndim()));
      }
      CheckArray<int64_t>(arr, "indices", {arr.shape(0)}, false);
      const auto* d = static_cast<const int64_t*>(arr.data());
      ids.resize(static_cast<size_t>(arr.shape(0)));
      for (size_t k = 0; k < ids.size(); ++k) {
        if (d[k] < 0 || d[k] >= n) {
          throw py::index_error("indices[" + std::to_string(k) + "] = " + std::to_string(d[k]) +
                                " is out of range [0, " + std::to_string(n) + ")");
        }
        ids[k] = static_cast<int>(d[k]);
      }
    }
    return ids;
  }
  void MarkStarted(int i) {
    if (!started_[i]) {
      started_[i] = 1;
      ++num_started_;
    }
  }
  void CheckIndex(int i) const {
    if (i < 0 || i >= num_envs_) {
      throw py::index_error("env index " + std::to_string(i) + " is out of range [0, " +
                            std::to_string(num_envs_) + ")");
    }
  }
  void RequireOpen(const char* method) const {
    if (closed_) {
      throw std::runtime_error(std::string("VecEnv.") + method + ": the env is closed");
    }
  }
  void RequireBound(const char* method) const {
    RequireOpen(method);
    if (!bound_) {
      throw std::runtime_error(std::string("VecEnv.") + method +
                               ": bind_buffers() must be called first");
    }
  }
  // Env i exists and has a state (reset() or set_state).
  void RequireStarted(int i, const char* method) const {
    RequireOpen(method);
    CheckIndex(i);
    if (!started_[i]) {
      throw std::runtime_error(std::string("VecEnv.") + method + ": env " + std::to_string(i) +
                               " has no state yet: call reset() (or set_state) first");
    }
  }
  // Every env has a state: reset() ran for all (or set_state gave the others one).
  void RequireReady(const char* method) const {
    RequireBound(method);
    if (num_started_ < num_envs_) {
      int first = 0;
      while (started_[first]) ++first;
      throw std::runtime_error(std::string("VecEnv.") + method +
                               ": call reset() first (env " + std::to_string(first) +
                               " has never been reset)");
    }
  }

  // int64 (N,): `f` of every env, computed without the GIL (method names the caller).
  template <typename F>
  py::array_t<int64_t> PerEnv(const char* method, F f) {
    BusyGuard busy(&busy_, method);
    RequireReady(method);
    py::array_t<int64_t> out(num_envs_);
    int64_t* d = out.mutable_data();
    py::gil_scoped_release release;
    for (int i = 0; i < num_envs_; ++i) d[i] = f(vec_->env(i));
    return out;
  }

  std::unique_ptr<VecEnv> vec_;
  std::vector<py::array> held_;  // the bound buffers, alive while vec_ holds their pointers
  std::vector<uint8_t> started_;  // env i has had a reset() or set_state()
  std::vector<int64_t> actions_;  // step()'s copy of the actions
  int num_started_ = 0;
  bool bound_ = false;
  bool closed_ = false;
  mutable std::atomic<bool> busy_{false};
  int num_envs_ = 0, num_threads_ = 0, width_ = 0, height_ = 0;
  std::string task_id_;
  std::string prompt_style_ = "short";
};

}  // namespace

void BindEnv(py::module_& m) {
  m.def("list_tasks", &ListTaskIds, "The ids of all tasks, in registration order.");
  m.attr("MISSION_BYTES") = kMissionBytes;
  m.attr("NUM_ACTIONS") = kNumActions;
  m.attr("MAX_TILE_SIZE") = kMaxTileSize;
  using py::typing::Tuple;
  m.def(
      "buffer_specs",
      [] {
        py::typing::List<Tuple<py::str, Tuple<py::int_, py::ellipsis>, py::str>> specs;
        for (const BufferSpec& spec : BufferSpecs()) {
          specs.append(py::make_tuple(spec.name, py::tuple(py::cast(spec.per_env_shape)),
                                      py::str(spec.dtype())));
        }
        return specs;
      },
      "(name, shape after the env axis, numpy dtype name) of each array VecEnv.bind_buffers "
      "takes, in its order.");
  m.def(
      "_fail_thread_start_for_testing",
      [](int worker) {
        if (worker < 0) throw py::value_error("worker must be >= 0");
        ThreadPool::FailAtWorkerForTesting().store(worker);
      },
      py::arg("worker"),
      "Test hook: new envs fail to start thread pool worker `worker` (1-based; 0: off).");
  py::class_<EnvSnapshot>(m, "EnvSnapshot",
                          "One env's state, copied in C++ by VecEnv.snapshot() for restore().")
      .def_property_readonly("task_id", [](const EnvSnapshot& s) { return s.env.task->id(); });
  py::class_<PyVecEnv>(m, "VecEnv", "Raw batched environments; use bidir_core.make_vec().")
      .def(py::init<const std::string&, int, int, bool>(), py::arg("task_id"),
           py::arg("num_envs"), py::arg("num_threads"), py::arg("same_step"))
      .def("bind_buffers", &PyVecEnv::BindBuffers, py::arg("arrays"),
           "Hands the output arrays (a dict of numpy arrays) to the envs, once.")
      .def("reset", &PyVecEnv::Reset, py::arg("seeds") = py::none(),
           py::arg("reset_mask") = py::none(), "Resets envs (all, or where reset_mask).")
      .def("step", &PyVecEnv::Step, py::arg("actions"), "Steps all envs with int64 actions; returns how many episodes ended.")
      .def("missions", &PyVecEnv::Missions, "Each env's mission string.")
      .def("descriptions", &PyVecEnv::Descriptions, "BabyAI-Text sentences for each env.")
      .def("prompts", &PyVecEnv::Prompts, py::arg("indices") = py::none(),
           "Teacher prompts (in prompt_style) of the envs in `indices` (int64 array; "
           "None: all).")
      .def("prompt_hashes", &PyVecEnv::PromptHashes, py::arg("out") = py::none(),
           "FNV-1a 64 hash of every env's prompt into `out` (uint64 (N,); None: a new "
           "array), without building Python strings.")
      .def("render", &PyVecEnv::Render, py::arg("indices") = py::none(),
           py::arg("tile_size") = 32, py::arg("highlight") = true, py::arg("out") = py::none(),
           "RGB frames (uint8 (len(indices), height * tile_size, width * tile_size, 3)) of "
           "the envs in `indices` (int64 array; None: all), pixel for pixel minigrid's "
           "render(), written into `out` (None: a new array); highlight lightens the cells "
           "the agent sees.")
      .def("expert_actions", &PyVecEnv::ExpertActions, "The oracle planner's next action per env.")
      .def("plan_lengths", &PyVecEnv::PlanLengths, "Length of the oracle's plan per env (-1: none).")
      .def("close", &PyVecEnv::Close,
           "Stops the env's threads and frees its envs; every later call raises RuntimeError.")
      .def_property_readonly("closed", &PyVecEnv::closed)
      .def("get_state", &PyVecEnv::State, py::arg("index"), "Env `index`'s full state as a dict.")
      .def("set_state", &PyVecEnv::SetState, py::arg("index"), py::arg("state"),
           "Restores env `index` from a get_state() dict; rejects malformed states.")
      .def("snapshot", &PyVecEnv::Snapshot, py::arg("index"),
           "Env `index`'s state copied in C++ (no dict), for restore().")
      .def("restore", &PyVecEnv::Restore, py::arg("indices"), py::arg("snapshots"),
           "Env indices[k] (int64 array) takes the state of snapshots[k] (a list of "
           "EnvSnapshot of this task).")
      .def_property("prompt_style", &PyVecEnv::prompt_style, &PyVecEnv::set_prompt_style,
                    "'short' (one observation) or 'glam' (GLAM's header and the last 3 "
                    "observations and 2 actions of the episode).")
      .def_property_readonly("num_envs", &PyVecEnv::num_envs)
      .def_property_readonly("num_threads", &PyVecEnv::num_threads)
      .def_property_readonly("task_id", &PyVecEnv::task_id)
      .def_property_readonly("width", &PyVecEnv::width)
      .def_property_readonly("height", &PyVecEnv::height);
}

}  // namespace bidir
