// Bindings for the batched environments: task list, VecEnv, state save/load, planner.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <array>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "bindings/checks.h"
#include "env/planner.h"
#include "env/tasks/task.h"
#include "env/text.h"
#include "env/vec_env.h"
#include "env/view.h"

namespace bidir {
namespace {

constexpr int kStateVersion = 1;
constexpr int kCellBytes = 6;

py::int_ U128(uint64_t hi, uint64_t lo) {
  py::int_ h(hi), l(lo);
  return py::reinterpret_steal<py::int_>(
      PyNumber_Or(PyNumber_Lshift(h.ptr(), py::int_(64).ptr()), l.ptr()));
}

void SplitU128(const py::handle& value, const char* name, uint64_t* hi, uint64_t* lo) {
  if (!py::isinstance<py::int_>(value)) {
    throw py::type_error(std::string("state['rng']['") + name + "'] must be an int");
  }
  py::int_ v = py::reinterpret_borrow<py::int_>(value);
  py::int_ mask((uint64_t)~0ULL);
  if (v < py::int_(0) || v >= (py::int_(1).attr("__lshift__")(128))) {
    throw py::value_error(std::string("state['rng']['") + name + "'] must be in [0, 2**128)");
  }
  *lo = (v & mask).cast<uint64_t>();
  *hi = (v.attr("__rshift__")(64)).cast<uint64_t>();
}

py::array_t<uint8_t> CellArray(const Cell& c) {
  py::array_t<uint8_t> a(kCellBytes);
  auto* d = a.mutable_data();
  d[0] = c.type, d[1] = c.color, d[2] = c.state;
  d[3] = c.inner_type, d[4] = c.inner_color, d[5] = c.inner_state;
  return a;
}

// Raises ValueError unless c is a valid stored cell ("where" names it in the message).
Cell ParseCell(const uint8_t* d, const std::string& where, bool allow_door) {
  Cell c;
  c.type = d[0], c.color = d[1], c.state = d[2];
  c.inner_type = d[3], c.inner_color = d[4], c.inner_state = d[5];
  auto bad = [&](const std::string& why) { throw py::value_error(where + ": " + why); };
  if (c.type < kEmpty || c.type > kLava) bad("object type must be in 1..9");
  if (c.color >= kNumColors) bad("color must be in 0..5");
  if (c.type == kDoor) {
    if (!allow_door) bad("a door cannot be carried or put in a box");
    if (c.state > kDoorLocked) bad("door state must be 0, 1 or 2");
  } else if (c.state != 0) {
    bad("state must be 0 for non-door objects");
  }
  if (c.type == kBox) {
    if (c.inner_type != kEmpty && c.inner_type != kKey && c.inner_type != kBall &&
        c.inner_type != kBox) {
      bad("a box may contain only empty (1), key, ball or box");
    }
    if (c.inner_color >= kNumColors || c.inner_state != 0) bad("bad box contents");
  } else if (c.inner_type != kEmpty || c.inner_color != 0 || c.inner_state != 0) {
    bad("only boxes have contents (bytes 3..5 must be 1, 0, 0)");
  }
  return c;
}

template <typename T>
T GetItem(const py::dict& d, const char* key, const char* ctx = "state") {
  if (!d.contains(key)) throw py::value_error(std::string(ctx) + " is missing key '" + key + "'");
  try {
    return d[key].cast<T>();
  } catch (const py::cast_error&) {
    throw py::type_error(std::string(ctx) + "['" + key + "'] has the wrong type");
  }
}

py::dict GetState(const VecEnv& vec, int i, bool needs_reset) {
  const GridEnv& e = vec.env(i);
  if (!e.task->SupportsState()) {
    throw py::value_error("get_state/set_state do not support " + e.task->id() +
                          " yet (BabyAI instruction trees are not serialised)");
  }
  py::dict s;
  s["version"] = kStateVersion;
  s["task"] = e.task->id();
  const int w = e.grid.width(), h = e.grid.height();
  py::array_t<uint8_t> grid({w, h, kCellBytes});
  auto g = grid.mutable_unchecked<3>();
  for (int x = 0; x < w; ++x) {
    for (int y = 0; y < h; ++y) {
      const Cell& c = e.grid.At(x, y);
      const uint8_t b[kCellBytes] = {c.type,       c.color,       c.state,
                                     c.inner_type, c.inner_color, c.inner_state};
      for (int k = 0; k < kCellBytes; ++k) g(x, y, k) = b[k];
    }
  }
  s["grid"] = grid;
  s["agent_pos"] = py::make_tuple(e.agent.x, e.agent.y);
  s["agent_dir"] = e.agent_dir;
  s["carrying"] = CellArray(e.carrying);
  s["step_count"] = e.step_count;
  s["max_steps"] = e.max_steps;
  s["mission"] = e.mission;
  py::dict instr;
  instr["kind"] = static_cast<int>(e.instr.kind);
  instr["obj_type"] = static_cast<int>(e.instr.obj_type);
  instr["obj_color"] = static_cast<int>(e.instr.obj_color);
  py::array_t<int64_t> targets({static_cast<py::ssize_t>(e.instr.targets.size()), py::ssize_t{2}});
  auto t = targets.mutable_unchecked<2>();
  for (size_t k = 0; k < e.instr.targets.size(); ++k) {
    t(k, 0) = e.instr.targets[k].x;
    t(k, 1) = e.instr.targets[k].y;
  }
  instr["targets"] = targets;
  s["instr"] = instr;
  s["episode_return"] = e.episode_return;
  s["needs_reset"] = needs_reset;
  const NumpyRngState r = e.rng.GetState();
  py::dict rng;
  rng["bit_generator"] = "PCG64";
  py::dict inner;
  inner["state"] = U128(r.state_hi, r.state_lo);
  inner["inc"] = U128(r.inc_hi, r.inc_lo);
  rng["state"] = inner;
  rng["has_uint32"] = static_cast<int>(r.has_uint32);
  rng["uinteger"] = static_cast<uint64_t>(r.uinteger);
  s["rng"] = rng;
  return s;
}

// Parses and validates a state dict into a new GridEnv; nothing is modified on error.
GridEnv ParseState(const VecEnv& vec, const py::object& obj, bool* needs_reset) {
  if (!py::isinstance<py::dict>(obj)) throw py::type_error("state must be a dict");
  const py::dict s = obj.cast<py::dict>();
  const int version = GetItem<int>(s, "version");
  if (version != kStateVersion) {
    throw py::value_error("state['version'] is " + std::to_string(version) + ", expected " +
                          std::to_string(kStateVersion));
  }
  const std::string task = GetItem<std::string>(s, "task");
  if (task != vec.task().id()) {
    throw py::value_error("state['task'] is '" + task + "' but this env runs '" +
                          vec.task().id() + "'");
  }
  GridEnv e(&vec.task());
  const int w = vec.task().width(), h = vec.task().height();
  py::array grid = GetItem<py::array>(s, "grid");
  CheckArray<uint8_t>(grid, "state['grid']", {w, h, kCellBytes}, false);
  e.grid = Grid(w, h);
  const auto* gd = static_cast<const uint8_t*>(grid.data());
  for (int x = 0; x < w; ++x) {
    for (int y = 0; y < h; ++y) {
      e.grid.At(x, y) = ParseCell(gd + (static_cast<size_t>(x) * h + y) * kCellBytes,
                                  "state['grid'][" + std::to_string(x) + ", " +
                                      std::to_string(y) + "]",
                                  true);
    }
  }
  const auto pos = GetItem<std::array<int, 2>>(s, "agent_pos");
  e.agent = {pos[0], pos[1]};
  if (!e.grid.InBounds(e.agent.x, e.agent.y)) throw py::value_error("state['agent_pos'] is outside the grid");
  if (!CanOverlap(e.grid.At(e.agent))) {
    throw py::value_error("state['agent_pos'] is on a cell the agent cannot stand on");
  }
  e.agent_dir = GetItem<int>(s, "agent_dir");
  if (e.agent_dir < 0 || e.agent_dir > 3) throw py::value_error("state['agent_dir'] must be in 0..3");
  // The front cell must exist: agents stand inside the outer walls.
  if (!e.grid.InBounds(e.FrontPos().x, e.FrontPos().y)) {
    throw py::value_error("state['agent_pos'] faces outside the grid");
  }
  py::array carrying = GetItem<py::array>(s, "carrying");
  CheckArray<uint8_t>(carrying, "state['carrying']", {kCellBytes}, false);
  e.carrying = ParseCell(static_cast<const uint8_t*>(carrying.data()), "state['carrying']", false);
  if (e.carrying.type != kEmpty && !CanPickup(e.carrying)) {
    throw py::value_error("state['carrying'] must be empty, a key, a ball or a box");
  }
  e.max_steps = GetItem<int>(s, "max_steps");
  if (e.max_steps < 1) throw py::value_error("state['max_steps'] must be >= 1");
  e.step_count = GetItem<int>(s, "step_count");
  if (e.step_count < 0 || e.step_count >= e.max_steps) {
    throw py::value_error("state['step_count'] must be in [0, max_steps)");
  }
  e.mission = GetItem<std::string>(s, "mission");
  if (e.mission.size() > static_cast<size_t>(kMissionBytes)) {
    throw py::value_error("state['mission'] is longer than " + std::to_string(kMissionBytes) +
                          " bytes");
  }
  const py::dict instr = GetItem<py::dict>(s, "instr");
  const int kind = GetItem<int>(instr, "kind", "state['instr']");
  if (kind != 0 && kind != 1) throw py::value_error("state['instr']['kind'] must be 0 or 1");
  e.instr.kind = static_cast<InstrKind>(kind);
  const int ot = GetItem<int>(instr, "obj_type", "state['instr']");
  const int oc = GetItem<int>(instr, "obj_color", "state['instr']");
  if (ot < 0 || ot >= kNumObjectTypes || oc < 0 || oc >= kNumColors) {
    throw py::value_error("state['instr'] object type or color out of range");
  }
  e.instr.obj_type = static_cast<uint8_t>(ot);
  e.instr.obj_color = static_cast<uint8_t>(oc);
  py::array targets = GetItem<py::array>(instr, "targets", "state['instr']");
  if (targets.ndim() != 2) throw py::value_error("state['instr']['targets'] must have shape (K, 2)");
  CheckArray<int64_t>(targets, "state['instr']['targets']", {targets.shape(0), 2}, false);
  const auto* td = static_cast<const int64_t*>(targets.data());
  for (py::ssize_t k = 0; k < targets.shape(0); ++k) {
    const Pos p{static_cast<int>(td[2 * k]), static_cast<int>(td[2 * k + 1])};
    if (!e.grid.InBounds(p.x, p.y)) throw py::value_error("state['instr']['targets'] outside the grid");
    e.instr.targets.push_back(p);
  }
  e.episode_return = GetItem<double>(s, "episode_return");
  *needs_reset = GetItem<bool>(s, "needs_reset");
  const py::dict rng = GetItem<py::dict>(s, "rng");
  if (GetItem<std::string>(rng, "bit_generator", "state['rng']") != "PCG64") {
    throw py::value_error("state['rng']['bit_generator'] must be 'PCG64'");
  }
  const py::dict inner = GetItem<py::dict>(rng, "state", "state['rng']");
  NumpyRngState r{};
  if (!inner.contains("state") || !inner.contains("inc")) {
    throw py::value_error("state['rng']['state'] must have keys 'state' and 'inc'");
  }
  SplitU128(inner["state"], "state", &r.state_hi, &r.state_lo);
  SplitU128(inner["inc"], "inc", &r.inc_hi, &r.inc_lo);
  if ((r.inc_lo & 1) == 0) throw py::value_error("state['rng']['state']['inc'] must be odd");
  const int has = GetItem<int>(rng, "has_uint32", "state['rng']");
  const int64_t uint = GetItem<int64_t>(rng, "uinteger", "state['rng']");
  if (has != 0 && has != 1) throw py::value_error("state['rng']['has_uint32'] must be 0 or 1");
  if (uint < 0 || uint > 0xFFFFFFFFLL) throw py::value_error("state['rng']['uinteger'] must fit in 32 bits");
  r.has_uint32 = static_cast<uint32_t>(has);
  r.uinteger = static_cast<uint32_t>(uint);
  e.rng.SetState(r);
  return e;
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
    vec_ = std::make_unique<VecEnv>(task, num_envs, num_threads,
                                    same_step ? AutoresetMode::kSameStep : AutoresetMode::kNextStep);
  }

  void BindBuffers(py::dict arrays) {
    const py::ssize_t n = vec_->num_envs();
    auto get = [&](const char* key) -> py::array {
      if (!arrays.contains(key)) throw py::value_error(std::string("missing buffer '") + key + "'");
      return arrays[key].cast<py::array>();
    };
    VecBuffers b;
    py::array a;
    a = get("image"), CheckArray<uint8_t>(a, "image", {n, 7, 7, 3}, true), b.image = static_cast<uint8_t*>(a.mutable_data());
    a = get("direction"), CheckArray<int64_t>(a, "direction", {n}, true), b.direction = static_cast<int64_t*>(a.mutable_data());
    a = get("mission"), CheckArray<uint8_t>(a, "mission", {n, kMissionBytes}, true), b.mission = static_cast<uint8_t*>(a.mutable_data());
    a = get("reward"), CheckArray<float>(a, "reward", {n}, true), b.reward = static_cast<float*>(a.mutable_data());
    a = get("terminated"), CheckArray<bool>(a, "terminated", {n}, true), b.terminated = static_cast<bool*>(a.mutable_data());
    a = get("truncated"), CheckArray<bool>(a, "truncated", {n}, true), b.truncated = static_cast<bool*>(a.mutable_data());
    a = get("episode_done"), CheckArray<bool>(a, "episode_done", {n}, true), b.episode_done = static_cast<bool*>(a.mutable_data());
    a = get("episode_return"), CheckArray<float>(a, "episode_return", {n}, true), b.episode_return = static_cast<float*>(a.mutable_data());
    a = get("episode_length"), CheckArray<int32_t>(a, "episode_length", {n}, true), b.episode_length = static_cast<int32_t*>(a.mutable_data());
    a = get("episode_success"), CheckArray<bool>(a, "episode_success", {n}, true), b.episode_success = static_cast<bool*>(a.mutable_data());
    a = get("final_image"), CheckArray<uint8_t>(a, "final_image", {n, 7, 7, 3}, true), b.final_image = static_cast<uint8_t*>(a.mutable_data());
    a = get("final_direction"), CheckArray<int64_t>(a, "final_direction", {n}, true), b.final_direction = static_cast<int64_t*>(a.mutable_data());
    a = get("final_mission"), CheckArray<uint8_t>(a, "final_mission", {n, kMissionBytes}, true), b.final_mission = static_cast<uint8_t*>(a.mutable_data());
    buffers_ = arrays;  // keep the arrays alive while we hold their pointers
    vec_->BindBuffers(b);
    bound_ = true;
  }

  void Reset(const py::object& seeds, const py::object& mask) {
    RequireBound();
    const py::ssize_t n = vec_->num_envs();
    const uint64_t* seed_ptr = nullptr;
    const bool* mask_ptr = nullptr;
    py::array seed_arr, mask_arr;
    if (!seeds.is_none()) {
      seed_arr = seeds.cast<py::array>();
      CheckArray<uint64_t>(seed_arr, "seeds", {n}, false);
      seed_ptr = static_cast<const uint64_t*>(seed_arr.data());
    }
    if (!mask.is_none()) {
      mask_arr = mask.cast<py::array>();
      CheckArray<bool>(mask_arr, "reset_mask", {n}, false);
      mask_ptr = static_cast<const bool*>(mask_arr.data());
    }
    py::gil_scoped_release release;
    vec_->Reset(seed_ptr, mask_ptr);
  }

  void Step(const py::array& actions) {
    RequireBound();
    CheckArray<int64_t>(actions, "actions", {vec_->num_envs()}, false);
    const auto* a = static_cast<const int64_t*>(actions.data());
    py::gil_scoped_release release;
    vec_->Step(a);
  }

  std::vector<std::string> Missions() const {
    std::vector<std::string> out;
    for (int i = 0; i < vec_->num_envs(); ++i) out.push_back(vec_->env(i).mission);
    return out;
  }

  std::vector<std::vector<std::string>> Descriptions() const {
    std::vector<std::vector<std::string>> out(static_cast<size_t>(vec_->num_envs()));
    {
      py::gil_scoped_release release;
      uint8_t image[kImageBytes];
      for (int i = 0; i < vec_->num_envs(); ++i) {
        WriteView(vec_->env(i), image);
        DescribeView(image, &out[i]);
      }
    }
    return out;
  }

  // Prompts of the envs in `indices` (an int64 array, or None for all envs).
  std::vector<std::string> Prompts(const py::object& indices) const {
    const int n = vec_->num_envs();
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
    std::vector<std::string> out(ids.size());
    py::gil_scoped_release release;
    for (size_t k = 0; k < ids.size(); ++k) out[k] = vec_->Prompt(ids[k]);
    return out;
  }

  // FNV-1a 64 of every env's prompt, written into `out` (uint64 (N,)) or a new array.
  py::array PromptHashes(const py::object& out) {
    const py::ssize_t n = vec_->num_envs();
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

  py::array_t<int64_t> ExpertActions() const {
    py::array_t<int64_t> out(vec_->num_envs());
    int64_t* d = out.mutable_data();
    py::gil_scoped_release release;
    for (int i = 0; i < vec_->num_envs(); ++i) d[i] = ExpertAction(vec_->env(i));
    return out;
  }

  py::array_t<int64_t> PlanLengths() const {
    py::array_t<int64_t> out(vec_->num_envs());
    int64_t* d = out.mutable_data();
    py::gil_scoped_release release;
    for (int i = 0; i < vec_->num_envs(); ++i) d[i] = PlanShortest(vec_->env(i)).length;
    return out;
  }

  py::dict State(int i) {
    CheckIndex(i);
    return GetState(*vec_, i, vec_->NeedsReset(i));
  }

  void SetState(int i, const py::object& state) {
    CheckIndex(i);
    RequireBound();
    if (!vec_->env(i).task->SupportsState()) {
      throw py::value_error("get_state/set_state do not support " + vec_->env(i).task->id() +
                            " yet (BabyAI instruction trees are not serialised)");
    }
    bool needs_reset = false;
    GridEnv e = ParseState(*vec_, state, &needs_reset);
    vec_->env(i) = std::move(e);
    vec_->SetNeedsReset(i, needs_reset);
    vec_->WriteObservation(i);
    vec_->WriteMission(i);
    vec_->RestartHistory(i);
  }

  std::string prompt_style() const {
    return vec_->prompt_style() == PromptStyle::kGlam ? "glam" : "short";
  }
  void set_prompt_style(const std::string& style) {
    if (style != "short" && style != "glam") {
      throw py::value_error("prompt_style must be 'short' or 'glam', got '" + style + "'");
    }
    vec_->SetPromptStyle(style == "glam" ? PromptStyle::kGlam : PromptStyle::kShort);
  }

  int num_envs() const { return vec_->num_envs(); }
  int num_threads() const { return vec_->num_threads(); }
  std::string task_id() const { return vec_->task().id(); }
  int width() const { return vec_->task().width(); }
  int height() const { return vec_->task().height(); }

 private:
  void CheckIndex(int i) const {
    if (i < 0 || i >= vec_->num_envs()) {
      throw py::index_error("env index " + std::to_string(i) + " is out of range [0, " +
                            std::to_string(vec_->num_envs()) + ")");
    }
  }
  void RequireBound() const {
    if (!bound_) throw std::logic_error("bind_buffers() must be called first");
  }

  std::unique_ptr<VecEnv> vec_;
  py::dict buffers_;
  bool bound_ = false;
};

}  // namespace

void BindEnv(py::module_& m) {
  m.def("list_tasks", &ListTaskIds, "The ids of all tasks, in registration order.");
  m.attr("MISSION_BYTES") = kMissionBytes;
  m.attr("NUM_ACTIONS") = kNumActions;
  py::class_<PyVecEnv>(m, "VecEnv", "Raw batched environments; use bidir_core.make_vec().")
      .def(py::init<const std::string&, int, int, bool>(), py::arg("task_id"),
           py::arg("num_envs"), py::arg("num_threads"), py::arg("same_step"))
      .def("bind_buffers", &PyVecEnv::BindBuffers, py::arg("arrays"),
           "Hands the output arrays (a dict of numpy arrays) to the envs, once.")
      .def("reset", &PyVecEnv::Reset, py::arg("seeds") = py::none(),
           py::arg("reset_mask") = py::none(), "Resets envs (all, or where reset_mask).")
      .def("step", &PyVecEnv::Step, py::arg("actions"), "Steps all envs with int64 actions.")
      .def("missions", &PyVecEnv::Missions, "Each env's mission string.")
      .def("descriptions", &PyVecEnv::Descriptions, "BabyAI-Text sentences for each env.")
      .def("prompts", &PyVecEnv::Prompts, py::arg("indices") = py::none(),
           "Teacher prompts (in prompt_style) of the envs in `indices` (int64 array; "
           "None: all).")
      .def("prompt_hashes", &PyVecEnv::PromptHashes, py::arg("out") = py::none(),
           "FNV-1a 64 hash of every env's prompt into `out` (uint64 (N,); None: a new "
           "array), without building Python strings.")
      .def("expert_actions", &PyVecEnv::ExpertActions, "The oracle planner's next action per env.")
      .def("plan_lengths", &PyVecEnv::PlanLengths, "Length of the oracle's plan per env (-1: none).")
      .def("get_state", &PyVecEnv::State, py::arg("index"), "Env `index`'s full state as a dict.")
      .def("set_state", &PyVecEnv::SetState, py::arg("index"), py::arg("state"),
           "Restores env `index` from a get_state() dict; rejects malformed states.")
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
