// Bindings for the batched environments: task list, VecEnv, state save/load, planner.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

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
  py::int_ h(hi), l(lo), shift(64);
  // Every new reference is owned by an object: the shifted intermediate used to leak.
  py::object shifted = py::reinterpret_steal<py::object>(PyNumber_Lshift(h.ptr(), shift.ptr()));
  if (!shifted) throw py::error_already_set();
  py::object v = py::reinterpret_steal<py::object>(PyNumber_Or(shifted.ptr(), l.ptr()));
  if (!v) throw py::error_already_set();
  return py::reinterpret_steal<py::int_>(v.release());
}

// True if s is well-formed UTF-8 (no overlong forms, surrogates or code points > U+10FFFF).
bool IsValidUtf8(const std::string& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
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
  // The outer walls keep the agent (and every cell it can face) inside the grid.
  for (int x = 0; x < w; ++x) {
    for (int y = 0; y < h; ++y) {
      if ((x == 0 || y == 0 || x == w - 1 || y == h - 1) && e.grid.At(x, y).type != kWall) {
        throw py::value_error("state['grid'][" + std::to_string(x) + ", " + std::to_string(y) +
                              "] is on the outer wall and must be a wall (type 2)");
      }
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
  // Bounded so that step_count (<= max_steps) + 1 cannot overflow.
  if (e.max_steps < 1 || e.max_steps > (1 << 30)) {
    throw py::value_error("state['max_steps'] must be in [1, 2**30]");
  }
  e.step_count = GetItem<int>(s, "step_count");
  // max_steps itself: the state get_state() gives of an episode just cut by its time limit.
  if (e.step_count < 0 || e.step_count > e.max_steps) {
    throw py::value_error("state['step_count'] must be in [0, max_steps]");
  }
  e.mission = GetItem<std::string>(s, "mission");
  if (e.mission.size() > static_cast<size_t>(kMissionBytes)) {
    throw py::value_error("state['mission'] is longer than " + std::to_string(kMissionBytes) +
                          " bytes");
  }
  if (!IsValidUtf8(e.mission) || e.mission.find('\0') != std::string::npos) {
    throw py::value_error("state['mission'] must be valid UTF-8 without NUL bytes");
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
    if (td[2 * k] < 0 || td[2 * k] >= w || td[2 * k + 1] < 0 || td[2 * k + 1] >= h) {
      throw py::value_error("state['instr']['targets'] outside the grid");
    }
    const Pos p{static_cast<int>(td[2 * k]), static_cast<int>(td[2 * k + 1])};
    e.instr.targets.push_back(p);
  }
  e.episode_return = GetItem<double>(s, "episode_return");
  // Rewards are in [0, 1] and an episode earns at most one.
  if (!(e.episode_return >= 0.0 && e.episode_return <= 1.0)) {
    throw py::value_error("state['episode_return'] must be a finite number in [0, 1]");
  }
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

// The output buffers bind_buffers() takes, in VecBuffers order: (key, dtype check, shape).
constexpr const char* kBufferKeys[] = {
    "image",          "direction",      "mission",         "reward",      "terminated",
    "truncated",      "episode_done",   "episode_return",  "episode_length",
    "episode_success", "final_image",   "final_direction", "final_mission"};

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
    std::vector<py::array> held;
    held.reserve(std::size(kBufferKeys));
    // Never converted: each buffer must be the caller's own writeable array.
    auto get = [&](const char* key) -> py::array {
      if (!arrays.contains(key)) throw py::value_error(std::string("missing buffer '") + key + "'");
      py::array a = AsArray(arrays[key], key);
      held.push_back(a);
      return a;
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
    std::vector<ByteRange> ranges;
    for (size_t k = 0; k < held.size(); ++k) ranges.push_back(RangeOf(held[k], kBufferKeys[k]));
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

  void Step(const py::array& actions) {
    BusyGuard busy(&busy_, "step");
    RequireReady("step");
    CheckArray<int64_t>(actions, "actions", {num_envs_}, false);
    // A copy, so that the values validated are the values stepped with.
    std::memcpy(actions_.data(), actions.data(), sizeof(int64_t) * actions_.size());
    py::gil_scoped_release release;
    vec_->Step(actions_.data());
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
    BusyGuard busy(&busy_, "expert_actions");
    RequireReady("expert_actions");
    py::array_t<int64_t> out(num_envs_);
    int64_t* d = out.mutable_data();
    py::gil_scoped_release release;
    for (int i = 0; i < num_envs_; ++i) d[i] = ExpertAction(vec_->env(i));
    return out;
  }

  py::array_t<int64_t> PlanLengths() {
    BusyGuard busy(&busy_, "plan_lengths");
    RequireReady("plan_lengths");
    py::array_t<int64_t> out(num_envs_);
    int64_t* d = out.mutable_data();
    py::gil_scoped_release release;
    for (int i = 0; i < num_envs_; ++i) d[i] = PlanShortest(vec_->env(i)).length;
    return out;
  }

  py::dict State(int i) {
    BusyGuard busy(&busy_, "get_state");
    RequireOpen("get_state");
    CheckIndex(i);
    if (!started_[i]) {
      throw std::runtime_error("VecEnv.get_state: env " + std::to_string(i) +
                               " has no state yet: call reset() (or set_state) first");
    }
    return GetState(*vec_, i, vec_->NeedsReset(i));
  }

  void SetState(int i, const py::object& state) {
    BusyGuard busy(&busy_, "set_state");
    RequireBound("set_state");
    CheckIndex(i);
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
  m.def(
      "_fail_thread_start_for_testing",
      [](int worker) {
        if (worker < 0) throw py::value_error("worker must be >= 0");
        ThreadPool::FailAtWorkerForTesting().store(worker);
      },
      py::arg("worker"),
      "Test hook: new envs fail to start thread pool worker `worker` (1-based; 0: off).");
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
