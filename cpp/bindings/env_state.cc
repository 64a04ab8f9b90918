#include "bindings/env_state.h"

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "bindings/checks.h"
#include "env/babyai_instr.h"
#include "env/vec_env.h"

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

// d[key] as a T; dicts, lists and arrays must be exactly that (never converted).
template <typename T>
T GetItem(const py::dict& d, const char* key, const char* ctx = "state") {
  if (!d.contains(key)) throw py::value_error(std::string(ctx) + " is missing key '" + key + "'");
  if constexpr (std::is_base_of_v<py::object, T>) {
    if (!py::isinstance<T>(d[key])) {
      throw py::type_error(std::string(ctx) + "['" + key + "'] has the wrong type");
    }
  }
  try {
    return d[key].cast<T>();
  } catch (const py::cast_error&) {
    throw py::type_error(std::string(ctx) + "['" + key + "'] has the wrong type");
  }
}

py::array_t<int64_t> PosArray(const std::vector<Pos>& ps) {
  py::array_t<int64_t> a({static_cast<py::ssize_t>(ps.size()), py::ssize_t{2}});
  auto d = a.mutable_unchecked<2>();
  for (size_t k = 0; k < ps.size(); ++k) {
    d(k, 0) = ps[k].x;
    d(k, 1) = ps[k].y;
  }
  return a;
}

// An int64 (K, 2) array of positions inside the w x h grid (or (-1, -1) where allow_none),
// with K <= max_rows.
std::vector<Pos> ParsePositions(const py::array& arr, const std::string& name, int w, int h,
                                bool allow_none, py::ssize_t max_rows) {
  if (arr.ndim() != 2) throw py::value_error(name + " must have shape (K, 2)");
  CheckArray<int64_t>(arr, name.c_str(), {arr.shape(0), 2}, false);
  if (arr.shape(0) > max_rows) {
    throw py::value_error(name + " has more than " + std::to_string(max_rows) + " rows");
  }
  const auto* d = static_cast<const int64_t*>(arr.data());
  std::vector<Pos> out;
  out.reserve(static_cast<size_t>(arr.shape(0)));
  for (py::ssize_t k = 0; k < arr.shape(0); ++k) {
    const int64_t x = d[2 * k], y = d[2 * k + 1];
    const bool none = allow_none && x == -1 && y == -1;
    if (!none && (x < 0 || x >= w || y < 0 || y >= h)) {
      throw py::value_error(name + "[" + std::to_string(k) + "] is outside the grid" +
                            (allow_none ? " (and not (-1, -1))" : ""));
    }
    out.push_back({static_cast<int>(x), static_cast<int>(y)});
  }
  return out;
}

// Columns of state['instr']['tree']['nodes'], in InstrNode order.
constexpr const char* kNodeColumns[] = {"kind", "strict", "desc", "desc2", "a",
                                        "b",    "a_done", "b_done", "pre_carrying"};
constexpr int kNumNodeColumns = 9;
constexpr char kTreeCtx[] = "state['instr']['tree']";

int AttrToInt(uint8_t v) { return v == kAnyAttr ? -1 : v; }

// The instruction tree of a BabyAI level, its verification progress and the object ids.
py::dict TreeDict(const GridEnv& e) {
  const BabyAIState& st = e.babyai;
  py::dict t;
  py::array_t<int64_t> nodes({static_cast<py::ssize_t>(st.nodes.size()),
                              py::ssize_t{kNumNodeColumns}});
  auto nd = nodes.mutable_unchecked<2>();
  for (size_t k = 0; k < st.nodes.size(); ++k) {
    const InstrNode& n = st.nodes[k];
    const int64_t row[kNumNodeColumns] = {static_cast<int64_t>(n.kind), n.strict, n.desc, n.desc2,
                                          n.a, n.b, static_cast<int64_t>(n.a_done),
                                          static_cast<int64_t>(n.b_done), n.pre_carrying};
    for (int c = 0; c < kNumNodeColumns; ++c) nd(k, c) = row[c];
  }
  t["nodes"] = nodes;
  t["root"] = st.root;
  py::list descs;
  for (const ObjDesc& d : st.descs) {
    py::dict dd;
    dd["type"] = AttrToInt(d.type);
    dd["color"] = AttrToInt(d.color);
    dd["loc"] = static_cast<int>(d.loc);
    py::array_t<int64_t> set(static_cast<py::ssize_t>(d.obj_set.size()));
    std::copy(d.obj_set.begin(), d.obj_set.end(), set.mutable_data());
    dd["obj_set"] = set;
    dd["obj_poss"] = PosArray(d.obj_poss);
    descs.append(dd);
  }
  t["descs"] = descs;
  const int w = e.grid.width(), h = e.grid.height();
  py::array_t<int32_t> ids({w, h});
  auto id = ids.mutable_unchecked<2>();
  for (int x = 0; x < w; ++x) {
    for (int y = 0; y < h; ++y) id(x, y) = st.ids[static_cast<size_t>(y) * w + x];
  }
  t["ids"] = ids;
  t["cur_pos"] = PosArray(st.cur_pos);
  t["carried_id"] = st.carried_id;
  t["start_carrying"] = py::make_tuple(st.start_carrying.x, st.start_carrying.y);
  return t;
}

// v as an int in [lo, hi], else ValueError naming it.
int InRange(int64_t v, int64_t lo, int64_t hi, const std::string& name) {
  if (v < lo || v > hi) {
    throw py::value_error(name + " is " + std::to_string(v) + ", must be in [" +
                          std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return static_cast<int>(v);
}

uint8_t IntToAttr(int v) { return v < 0 ? kAnyAttr : static_cast<uint8_t>(v); }

// Parses state['instr']['tree'] into e->babyai, then checks the whole BabyAI state
// (CheckBabyAIState); e's grid, carrying and step_count are already parsed.
void ParseTree(const py::dict& t, int room_size, GridEnv* e) {
  BabyAIState& st = e->babyai;
  st = BabyAIState{};
  st.room_size = room_size;
  const int w = e->grid.width(), h = e->grid.height();
  const std::string ctx = kTreeCtx;
  constexpr int64_t kMaxInt = 0x7FFFFFFF;

  const py::array nodes = GetItem<py::array>(t, "nodes", kTreeCtx);
  if (nodes.ndim() != 2) throw py::value_error(ctx + "['nodes'] must have shape (K, 9)");
  CheckArray<int64_t>(nodes, (ctx + "['nodes']").c_str(), {nodes.shape(0), kNumNodeColumns},
                      false);
  if (nodes.shape(0) < 1 || nodes.shape(0) > kMaxInstrNodes) {
    throw py::value_error(ctx + "['nodes'] must hold 1.." + std::to_string(kMaxInstrNodes) +
                          " nodes");
  }
  const auto* nd = static_cast<const int64_t*>(nodes.data());
  for (py::ssize_t k = 0; k < nodes.shape(0); ++k) {
    const int64_t* r = nd + k * kNumNodeColumns;
    auto col = [&](int c, int64_t lo, int64_t hi) {
      return InRange(r[c], lo, hi,
                     ctx + "['nodes'][" + std::to_string(k) + "] (" + kNodeColumns[c] + ")");
    };
    InstrNode n;
    n.kind = static_cast<InstrNodeKind>(col(0, 0, static_cast<int>(InstrNodeKind::kAfter)));
    n.strict = col(1, 0, 1) != 0;
    n.desc = col(2, -1, kMaxInt);
    n.desc2 = col(3, -1, kMaxInt);
    n.a = col(4, -1, kMaxInt);
    n.b = col(5, -1, kMaxInt);
    n.a_done = static_cast<VerifyStatus>(col(6, 0, 2));
    n.b_done = static_cast<VerifyStatus>(col(7, 0, 2));
    n.pre_carrying = col(8, -1, kMaxInt);
    st.nodes.push_back(n);
  }
  st.root = InRange(GetItem<int64_t>(t, "root", kTreeCtx), 0, nodes.shape(0) - 1,
                    ctx + "['root']");

  const py::list descs = GetItem<py::list>(t, "descs", kTreeCtx);
  if (py::len(descs) > static_cast<size_t>(2 * kMaxInstrNodes)) {
    throw py::value_error(ctx + "['descs'] holds more than " + std::to_string(2 * kMaxInstrNodes) +
                          " descriptions");
  }
  const int cells = w * h;
  for (size_t k = 0; k < py::len(descs); ++k) {
    const std::string at = ctx + "['descs'][" + std::to_string(k) + "]";
    if (!py::isinstance<py::dict>(descs[k])) throw py::type_error(at + " must be a dict");
    const py::dict dd = descs[k].cast<py::dict>();
    const std::string c = at;
    ObjDesc d;
    d.type = IntToAttr(InRange(GetItem<int64_t>(dd, "type", c.c_str()), -1, 255, at + "['type']"));
    d.color = IntToAttr(InRange(GetItem<int64_t>(dd, "color", c.c_str()), -1, 255, at + "['color']"));
    d.loc = static_cast<DescLoc>(InRange(GetItem<int64_t>(dd, "loc", c.c_str()), -1, 3, at + "['loc']"));
    const py::array set = GetItem<py::array>(dd, "obj_set", c.c_str());
    if (set.ndim() != 1) throw py::value_error(at + "['obj_set'] must be one-dimensional");
    CheckArray<int64_t>(set, (at + "['obj_set']").c_str(), {set.shape(0)}, false);
    if (set.shape(0) > 2 * cells) throw py::value_error(at + "['obj_set'] is too long");
    const auto* sd = static_cast<const int64_t*>(set.data());
    for (py::ssize_t j = 0; j < set.shape(0); ++j) {
      d.obj_set.push_back(InRange(sd[j], 0, kMaxInt, at + "['obj_set'][" + std::to_string(j) + "]"));
    }
    d.obj_poss = ParsePositions(GetItem<py::array>(dd, "obj_poss", c.c_str()), at + "['obj_poss']",
                                w, h, false, cells);
    st.descs.push_back(std::move(d));
  }

  const py::array ids = GetItem<py::array>(t, "ids", kTreeCtx);
  CheckArray<int32_t>(ids, (ctx + "['ids']").c_str(), {w, h}, false);
  const auto* idd = static_cast<const int32_t*>(ids.data());
  st.ids.resize(static_cast<size_t>(cells));
  for (int x = 0; x < w; ++x) {
    for (int y = 0; y < h; ++y) st.ids[static_cast<size_t>(y) * w + x] = idd[x * h + y];
  }
  st.cur_pos = ParsePositions(GetItem<py::array>(t, "cur_pos", kTreeCtx), ctx + "['cur_pos']", w,
                              h, true, 2 * cells);
  st.carried_id = InRange(GetItem<int64_t>(t, "carried_id", kTreeCtx), -1, kMaxInt,
                          ctx + "['carried_id']");
  const auto sc = GetItem<std::array<int64_t, 2>>(t, "start_carrying", kTreeCtx);
  const bool none = sc[0] == -1 && sc[1] == -1;
  if (!none && (sc[0] < 0 || sc[0] >= w || sc[1] < 0 || sc[1] >= h)) {
    throw py::value_error(ctx + "['start_carrying'] must be (-1, -1) or inside the grid");
  }
  st.start_carrying = {static_cast<int>(sc[0]), static_cast<int>(sc[1])};
  CheckBabyAIState(*e);  // std::invalid_argument: ValueError
}

}  // namespace

py::dict StateDict(const GridEnv& e, bool needs_reset) {
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
  instr["targets"] = PosArray(e.instr.targets);
  if (e.instr.kind == InstrKind::kTree) {
    instr["tree"] = TreeDict(e);
  } else {
    instr["tree"] = py::none();
  }
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
GridEnv ParseState(const Task& task, const py::object& obj, bool* needs_reset) {
  if (!py::isinstance<py::dict>(obj)) throw py::type_error("state must be a dict");
  const py::dict s = obj.cast<py::dict>();
  const int version = GetItem<int>(s, "version");
  if (version != kStateVersion) {
    throw py::value_error("state['version'] is " + std::to_string(version) + ", expected " +
                          std::to_string(kStateVersion));
  }
  const std::string task_id = GetItem<std::string>(s, "task");
  if (task_id != task.id()) {
    throw py::value_error("state['task'] is '" + task_id + "' but this env runs '" + task.id() +
                          "'");
  }
  GridEnv e(&task);
  const int w = task.width(), h = task.height();
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
  *needs_reset = GetItem<bool>(s, "needs_reset");
  // max_steps itself only for the state get_state() gives of an episode just cut by its
  // time limit (it resets at its next step); any other would step past its limit.
  if (e.step_count < 0 || e.step_count > e.max_steps ||
      (e.step_count == e.max_steps && !*needs_reset)) {
    throw py::value_error(
        "state['step_count'] must be in [0, max_steps) (max_steps only with needs_reset)");
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
  const int room_size = task.instr_tree_room_size();
  if (room_size > 0 ? kind != 2 : kind != 0 && kind != 1) {
    throw py::value_error(std::string("state['instr']['kind'] must be ") +
                          (room_size > 0 ? "2 (an instruction tree) for " : "0 or 1 for ") +
                          task.id());
  }
  e.instr.kind = static_cast<InstrKind>(kind);
  const int ot = GetItem<int>(instr, "obj_type", "state['instr']");
  const int oc = GetItem<int>(instr, "obj_color", "state['instr']");
  if (ot < 0 || ot >= kNumObjectTypes || oc < 0 || oc >= kNumColors) {
    throw py::value_error("state['instr'] object type or color out of range");
  }
  e.instr.obj_type = static_cast<uint8_t>(ot);
  e.instr.obj_color = static_cast<uint8_t>(oc);
  e.instr.targets = ParsePositions(GetItem<py::array>(instr, "targets", "state['instr']"),
                                  "state['instr']['targets']", w, h, false, w * h);
  const py::object tree = instr.contains("tree") ? py::object(instr["tree"]) : py::none();
  if (room_size > 0) {
    if (!py::isinstance<py::dict>(tree)) {
      throw py::type_error("state['instr']['tree'] must be a dict for " + task.id());
    }
    ParseTree(tree.cast<py::dict>(), room_size, &e);
  } else if (!tree.is_none()) {
    throw py::value_error("state['instr']['tree'] must be None: " + task.id() +
                          " has no instruction tree");
  }
  e.episode_return = GetItem<double>(s, "episode_return");
  // Rewards are in [0, 1] and an episode earns at most one.
  if (!(e.episode_return >= 0.0 && e.episode_return <= 1.0)) {
    throw py::value_error("state['episode_return'] must be a finite number in [0, 1]");
  }
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


}  // namespace bidir
