#include "env/babyai_instr.h"

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

#include "env/grid_env.h"

namespace bidir {
namespace {

bool Contains(const std::vector<int32_t>& v, int32_t id) {
  return std::find(v.begin(), v.end(), id) != v.end();
}

bool PosNextTo(Pos a, Pos b) { return std::abs(a.x - b.x) + std::abs(a.y - b.y) == 1; }

std::string DescSurface(const GridEnv& env, const BabyAIState& st, ObjDesc* d) {
  FindMatchingObjs(env, st, d);
  std::string s = d->type != kAnyAttr ? std::string(kObjectNames[d->type]) : "object";
  if (d->color != kAnyAttr) s = std::string(kColorNames[d->color]) + " " + s;
  switch (d->loc) {
    case DescLoc::kFront: s += " in front of you"; break;
    case DescLoc::kBehind: s += " behind you"; break;
    case DescLoc::kLeft: s += " on your left"; break;
    case DescLoc::kRight: s += " on your right"; break;
    default: break;
  }
  return (d->obj_set.size() > 1 ? "a " : "the ") + s;
}

VerifyStatus Verify(GridEnv* env, BabyAIState* st, int idx, int action);

// RoomGridLevel.step after a drop: every node's descriptions recompute their positions
// (find_matching_objs(use_location=False)). The same result as FindMatchingObjs scanning
// the grid per description, from one pass over the ids: each description then looks up
// its own objects and sorts their positions into minigrid's scan order (x, then y).
void RelocateObjs(const GridEnv& env, BabyAIState* st) {
  thread_local std::vector<int32_t> where;  // cell index of each object id, -1: not on the grid
  where.assign(st->cur_pos.size(), -1);
  const int w = env.grid.width();
  const int cells = static_cast<int>(st->ids.size());
  for (int k = 0; k < cells; ++k) {
    if (st->ids[k] >= 0) where[st->ids[k]] = k;
  }
  const std::vector<Cell>& grid = env.grid.cells();
  auto relocate = [&](ObjDesc& d) {
    d.obj_poss.clear();
    for (int32_t id : d.obj_set) {
      const int k = where[id];
      if (k < 0) continue;
      const Cell& cell = grid[k];
      if (d.type != kAnyAttr && cell.type != d.type) continue;
      if (d.color != kAnyAttr && cell.color != d.color) continue;
      d.obj_poss.push_back({k % w, k / w});
    }
    std::sort(d.obj_poss.begin(), d.obj_poss.end(),
              [](Pos a, Pos b) { return a.x != b.x ? a.x < b.x : a.y < b.y; });
  };
  for (const InstrNode& n : st->nodes) {
    if (n.desc >= 0) relocate(st->descs[n.desc]);
    if (n.desc2 >= 0) relocate(st->descs[n.desc2]);
  }
}

VerifyStatus VerifyAction(GridEnv* env, BabyAIState* st, InstrNode& n, int action) {
  switch (n.kind) {
    case InstrNodeKind::kOpen: {
      if (action != kToggle) return VerifyStatus::kContinue;
      const Pos f = env->FrontPos();
      const Cell& front = env->grid.At(f);
      const int32_t fid = st->IdAt(*env, f);
      if (!front.IsEmpty() && Contains(st->descs[n.desc].obj_set, fid) &&
          front.type == kDoor && front.state == kDoorOpen) {
        return VerifyStatus::kSuccess;
      }
      if (n.strict && front.type == kDoor) return VerifyStatus::kFailure;
      return VerifyStatus::kContinue;
    }
    case InstrNodeKind::kGoTo: {
      const Pos f = env->FrontPos();
      for (const Pos& p : st->descs[n.desc].obj_poss) {
        if (p == f) return VerifyStatus::kSuccess;
      }
      return VerifyStatus::kContinue;
    }
    case InstrNodeKind::kPickup: {
      const int32_t pre = n.pre_carrying;
      n.pre_carrying = st->carried_id;
      if (action != kPickup) return VerifyStatus::kContinue;
      if (pre < 0 && st->carried_id >= 0 && Contains(st->descs[n.desc].obj_set, st->carried_id)) {
        return VerifyStatus::kSuccess;
      }
      if (n.strict && st->carried_id >= 0) return VerifyStatus::kFailure;
      n.pre_carrying = st->carried_id;
      return VerifyStatus::kContinue;
    }
    case InstrNodeKind::kPutNext: {
      const int32_t pre = n.pre_carrying;
      n.pre_carrying = st->carried_id;
      if (n.strict && action == kPickup && st->carried_id >= 0) return VerifyStatus::kFailure;
      if (action != kDrop) return VerifyStatus::kContinue;
      for (int32_t a : st->descs[n.desc].obj_set) {
        if (pre != a) continue;
        const Pos pa = st->cur_pos[a];
        for (const Pos& pb : st->descs[n.desc2].obj_poss) {
          if (PosNextTo(pa, pb)) return VerifyStatus::kSuccess;
        }
      }
      return VerifyStatus::kContinue;
    }
    default:
      return VerifyStatus::kContinue;
  }
}

VerifyStatus Verify(GridEnv* env, BabyAIState* st, int idx, int action);

// The sequence node idx, "first, then second" (kBefore: a then b; kAfter: b then a), as
// minigrid's BeforeInstr and AfterInstr verify it; *_done are the node's a_done / b_done.
VerifyStatus VerifyInOrder(GridEnv* env, BabyAIState* st, int idx, int action, bool strict,
                           int first, VerifyStatus* first_done, int second,
                           VerifyStatus* second_done) {
  if (*first_done == VerifyStatus::kSuccess) {
    *second_done = Verify(env, st, second, action);
    return *second_done;  // kFailure, kSuccess or kContinue
  }
  *first_done = Verify(env, st, first, action);
  if (*first_done == VerifyStatus::kFailure) return VerifyStatus::kFailure;
  if (*first_done == VerifyStatus::kSuccess) return Verify(env, st, idx, action);
  if (strict && Verify(env, st, second, action) == VerifyStatus::kSuccess) {
    return VerifyStatus::kFailure;
  }
  return VerifyStatus::kContinue;
}

VerifyStatus Verify(GridEnv* env, BabyAIState* st, int idx, int action) {
  InstrNode& n = st->nodes[idx];
  switch (n.kind) {
    case InstrNodeKind::kBefore:
      return VerifyInOrder(env, st, idx, action, n.strict, n.a, &n.a_done, n.b, &n.b_done);
    case InstrNodeKind::kAfter:
      return VerifyInOrder(env, st, idx, action, n.strict, n.b, &n.b_done, n.a, &n.a_done);
    case InstrNodeKind::kAnd: {
      if (n.a_done != VerifyStatus::kSuccess) n.a_done = Verify(env, st, n.a, action);
      if (n.b_done != VerifyStatus::kSuccess) n.b_done = Verify(env, st, n.b, action);
      if (n.a_done == VerifyStatus::kSuccess && n.b_done == VerifyStatus::kSuccess) {
        return VerifyStatus::kSuccess;
      }
      return VerifyStatus::kContinue;
    }
    default:
      return VerifyAction(env, st, n, action);
  }
}

}  // namespace

int32_t BabyAIState::IdAt(const GridEnv& env, Pos p) const {
  const size_t k = static_cast<size_t>(p.y) * env.grid.width() + p.x;
  if (tracking()) return ids[k];
  return env.grid.At(p).IsEmpty() ? -1 : static_cast<int32_t>(k);
}

int BabyAIState::AddDesc(uint8_t type, uint8_t color, DescLoc loc) {
  ObjDesc d;
  d.type = type;
  d.color = color;
  d.loc = loc;
  descs.push_back(d);
  return static_cast<int>(descs.size()) - 1;
}

int BabyAIState::AddAction(InstrNodeKind kind, int desc, int desc2, bool strict) {
  InstrNode n;
  n.kind = kind;
  n.desc = desc;
  n.desc2 = desc2;
  n.strict = strict;
  nodes.push_back(n);
  return static_cast<int>(nodes.size()) - 1;
}

int BabyAIState::AddSeq(InstrNodeKind kind, int a, int b) {
  InstrNode n;
  n.kind = kind;
  n.a = a;
  n.b = b;
  nodes.push_back(n);
  return static_cast<int>(nodes.size()) - 1;
}

void FindMatchingObjs(const GridEnv& env, const BabyAIState& st, ObjDesc* d, bool use_location) {
  if (use_location) d->obj_set.clear();
  d->obj_poss.clear();
  const int rs1 = st.room_size - 1;
  const int ax = env.agent.x, ay = env.agent.y;
  const int room_x = (ax / rs1) * rs1, room_y = (ay / rs1) * rs1;
  const int w = env.grid.width(), h = env.grid.height();
  const Cell* cells = env.grid.cells().data();
  for (int i = 0; i < w; ++i) {
    for (int j = 0; j < h; ++j) {
      const Cell& cell = cells[static_cast<size_t>(j) * w + i];
      if (cell.IsEmpty()) continue;
      // The cheap tests first (the conditions are independent).
      if (d->type != kAnyAttr && cell.type != d->type) continue;
      if (d->color != kAnyAttr && cell.color != d->color) continue;
      const int32_t id = st.IdAt(env, {i, j});
      if (!use_location && !Contains(d->obj_set, id)) continue;
      if (use_location && d->loc != DescLoc::kNone) {
        if (i < room_x || j < room_y || i >= room_x + st.room_size || j >= room_y + st.room_size) {
          continue;
        }
        const int vx = i - ax, vy = j - ay;
        const int d1x = kDirDx[env.agent_dir], d1y = kDirDy[env.agent_dir];
        const int d2x = -d1y, d2y = d1x;
        const int p2 = vx * d2x + vy * d2y, p1 = vx * d1x + vy * d1y;
        bool ok = false;
        switch (d->loc) {
          case DescLoc::kLeft: ok = p2 < 0; break;
          case DescLoc::kRight: ok = p2 > 0; break;
          case DescLoc::kFront: ok = p1 > 0; break;
          case DescLoc::kBehind: ok = p1 < 0; break;
          default: break;
        }
        if (!ok) continue;
      }
      if (use_location) d->obj_set.push_back(id);
      d->obj_poss.push_back({i, j});
    }
  }
}

std::string Surface(const GridEnv& env, BabyAIState* st, int idx) {
  const InstrNode n = st->nodes[idx];
  switch (n.kind) {
    case InstrNodeKind::kOpen: return "open " + DescSurface(env, *st, &st->descs[n.desc]);
    case InstrNodeKind::kGoTo: return "go to " + DescSurface(env, *st, &st->descs[n.desc]);
    case InstrNodeKind::kPickup: return "pick up " + DescSurface(env, *st, &st->descs[n.desc]);
    case InstrNodeKind::kPutNext: {
      std::string s = "put " + DescSurface(env, *st, &st->descs[n.desc]);
      return s + " next to " + DescSurface(env, *st, &st->descs[n.desc2]);
    }
    case InstrNodeKind::kBefore: {
      std::string s = Surface(env, st, n.a);
      return s + ", then " + Surface(env, st, n.b);
    }
    case InstrNodeKind::kAfter: {
      std::string s = Surface(env, st, n.a);
      return s + " after you " + Surface(env, st, n.b);
    }
    case InstrNodeKind::kAnd: {
      std::string s = Surface(env, st, n.a);
      return s + " and " + Surface(env, st, n.b);
    }
  }
  return "";
}

void ResetVerifier(const GridEnv& env, BabyAIState* st, int idx, bool find_objs) {
  InstrNode& n = st->nodes[idx];
  n.a_done = n.b_done = VerifyStatus::kContinue;
  n.pre_carrying = -1;
  if (n.a >= 0) ResetVerifier(env, st, n.a, find_objs);
  if (n.b >= 0) ResetVerifier(env, st, n.b, find_objs);
  if (!find_objs) return;
  if (n.desc >= 0) FindMatchingObjs(env, *st, &st->descs[n.desc]);
  if (n.desc2 >= 0) FindMatchingObjs(env, *st, &st->descs[n.desc2]);
}

int NumNavsNeeded(const BabyAIState& st, int idx) {
  const InstrNode& n = st.nodes[idx];
  if (n.kind == InstrNodeKind::kPutNext) return 2;
  if (n.a >= 0) return NumNavsNeeded(st, n.a) + NumNavsNeeded(st, n.b);
  return 1;
}

bool ObjsNext(const GridEnv& env, const BabyAIState& st, const InstrNode& n) {
  const int w = env.grid.width();
  for (int32_t a : st.descs[n.desc].obj_set) {
    const Pos pa = st.tracking() ? st.cur_pos[a] : Pos{a % w, a / w};
    for (const Pos& pb : st.descs[n.desc2].obj_poss) {
      if (PosNextTo(pa, pb)) return true;
    }
  }
  return false;
}

void StartTracking(GridEnv* env, BabyAIState* st) {
  const int w = env->grid.width(), h = env->grid.height();
  st->ids.assign(static_cast<size_t>(w) * h, -1);
  st->cur_pos.assign(static_cast<size_t>(w) * h, Pos{-1, -1});
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const size_t k = static_cast<size_t>(y) * w + x;
      if (!env->grid.At(x, y).IsEmpty()) {
        st->ids[k] = static_cast<int32_t>(k);
        st->cur_pos[k] = {x, y};
      }
    }
  }
  st->carried_id = -1;
}

void CheckBabyAIState(const GridEnv& env) {
  const BabyAIState& st = env.babyai;
  auto bad = [](const std::string& what) { throw std::invalid_argument("state['instr']['tree']" + what); };
  const int w = env.grid.width(), h = env.grid.height();
  const int cells = w * h;
  auto in_grid = [&](Pos p) { return env.grid.InBounds(p.x, p.y); };
  if (st.room_size < 2) bad(": room size must be >= 2");
  // Object ids: every non-empty cell has one (walls included), nothing else does; box
  // openings add at most one id per cell.
  if (static_cast<int>(st.ids.size()) != cells) bad("['ids'] must have one id per cell");
  const int num_ids = static_cast<int>(st.cur_pos.size());
  if (num_ids < cells || num_ids > 2 * cells) {
    bad("['cur_pos'] must have between W*H and 2*W*H rows (one per object id)");
  }
  for (int k = 0; k < num_ids; ++k) {
    const Pos p = st.cur_pos[k];
    if (!(p == Pos{-1, -1}) && !in_grid(p)) {
      bad("['cur_pos'][" + std::to_string(k) + "] must be (-1, -1) or inside the grid");
    }
  }
  std::vector<uint8_t> used(static_cast<size_t>(num_ids), 0);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const int32_t id = st.ids[static_cast<size_t>(y) * w + x];
      const std::string at = "['ids'][" + std::to_string(x) + ", " + std::to_string(y) + "]";
      if (env.grid.At(x, y).IsEmpty()) {
        if (id != -1) bad(at + " must be -1: the cell is empty");
        continue;
      }
      if (id < 0 || id >= num_ids) bad(at + " must be an object id in [0, len(cur_pos))");
      if (used[id]) bad(at + ": object id " + std::to_string(id) + " is used twice");
      used[id] = 1;
      const Pos p = st.cur_pos[id];
      if (!(p == Pos{-1, -1}) && !(p == Pos{x, y})) {
        bad("['cur_pos'][" + std::to_string(id) + "] must be (-1, -1) or the cell holding it");
      }
    }
  }
  if (env.Carrying() != (st.carried_id >= 0)) {
    bad("['carried_id'] must be -1 exactly when nothing is carried");
  }
  if (st.carried_id >= num_ids) bad("['carried_id'] must be an object id");
  if (st.carried_id >= 0 && used[st.carried_id]) {
    bad("['carried_id'] is also the id of an object on the grid");
  }
  if (!(st.start_carrying == Pos{-1, -1})) {
    if (!in_grid(st.start_carrying) || !CanPickup(env.grid.At(st.start_carrying))) {
      bad("['start_carrying'] must be (-1, -1) or a cell with an object to pick up");
    }
    if (env.step_count != 0 || env.Carrying()) {
      bad("['start_carrying'] is only set before the first step, with empty hands");
    }
  }
  // Descriptions.
  const int num_descs = static_cast<int>(st.descs.size());
  for (int d = 0; d < num_descs; ++d) {
    const ObjDesc& desc = st.descs[d];
    const std::string at = "['descs'][" + std::to_string(d) + "]";
    if (desc.type != kAnyAttr && desc.type != kDoor && desc.type != kKey && desc.type != kBall &&
        desc.type != kBox) {
      bad(at + "['type'] must be -1 (any), 4 (door), 5 (key), 6 (ball) or 7 (box)");
    }
    if (desc.color != kAnyAttr && desc.color >= kNumColors) bad(at + "['color'] must be -1 or 0..5");
    if (desc.loc < DescLoc::kNone || desc.loc > DescLoc::kBehind) bad(at + "['loc'] must be in -1..3");
    if (static_cast<int>(desc.obj_set.size()) > num_ids) bad(at + "['obj_set'] is too long");
    std::vector<uint8_t> in_set(static_cast<size_t>(num_ids), 0);
    for (int32_t id : desc.obj_set) {
      if (id < 0 || id >= num_ids) bad(at + "['obj_set'] must hold object ids");
      if (in_set[id]) bad(at + "['obj_set'] holds object id " + std::to_string(id) + " twice");
      in_set[id] = 1;
    }
    if (static_cast<int>(desc.obj_poss.size()) > cells) bad(at + "['obj_poss'] is too long");
    for (const Pos& p : desc.obj_poss) {
      if (!in_grid(p)) bad(at + "['obj_poss'] must be inside the grid");
    }
  }
  // The tree: children precede their parents, so verification always terminates.
  const int num_nodes = static_cast<int>(st.nodes.size());
  if (num_nodes < 1 || num_nodes > kMaxInstrNodes) {
    bad("['nodes'] must hold 1.." + std::to_string(kMaxInstrNodes) + " nodes");
  }
  if (st.root < 0 || st.root >= num_nodes) bad("['root'] must index a node");
  for (int k = 0; k < num_nodes; ++k) {
    const InstrNode& n = st.nodes[k];
    const std::string at = "['nodes'][" + std::to_string(k) + "]";
    if (n.kind > InstrNodeKind::kAfter) bad(at + ": kind must be in 0..6");
    if (n.a_done > VerifyStatus::kFailure || n.b_done > VerifyStatus::kFailure) {
      bad(at + ": a_done and b_done must be in 0..2");
    }
    if (n.pre_carrying < -1 || n.pre_carrying >= num_ids) {
      bad(at + ": pre_carrying must be -1 or an object id");
    }
    const bool seq = n.kind >= InstrNodeKind::kAnd;
    if (seq) {
      if (n.a < 0 || n.a >= k || n.b < 0 || n.b >= k) {
        bad(at + ": a sequence's a and b must index earlier nodes");
      }
      if (n.desc != -1 || n.desc2 != -1 || n.pre_carrying != -1) {
        bad(at + ": a sequence has desc = desc2 = pre_carrying = -1");
      }
      continue;
    }
    if (n.a != -1 || n.b != -1) bad(at + ": an action has a = b = -1");
    if (n.desc < 0 || n.desc >= num_descs) bad(at + ": desc must index a description");
    if (n.kind == InstrNodeKind::kPutNext) {
      if (n.desc2 < 0 || n.desc2 >= num_descs) bad(at + ": desc2 must index a description");
    } else if (n.desc2 != -1) {
      bad(at + ": only put-next actions have a desc2");
    }
    if ((n.kind == InstrNodeKind::kGoTo || n.kind == InstrNodeKind::kOpen) &&
        n.pre_carrying != -1) {
      bad(at + ": only pick-up and put-next actions have a pre_carrying");
    }
  }
}

void BabyAIStartCarrying(GridEnv* env) {
  BabyAIState* st = &env->babyai;
  const Pos p = st->start_carrying;
  const size_t k = static_cast<size_t>(p.y) * env->grid.width() + p.x;
  env->carrying = env->grid.At(p);
  env->grid.At(p) = EmptyCell();
  st->carried_id = st->ids[k];
  st->ids[k] = -1;
  st->start_carrying = {-1, -1};
  st->objs_moved = true;
}

void BabyAIAfterAction(GridEnv* env, int action, Pos fwd, bool was_carrying,
                       bool fwd_was_box, double* reward, bool* terminated, bool* success) {
  BabyAIState* st = &env->babyai;
  const size_t k = static_cast<size_t>(fwd.y) * env->grid.width() + fwd.x;
  if (action == kPickup && !was_carrying && env->Carrying()) {
    st->objs_moved = true;
    st->carried_id = st->ids[k];
    st->ids[k] = -1;
    if (st->carried_id >= 0) st->cur_pos[st->carried_id] = {-1, -1};
  } else if (action == kDrop && was_carrying && !env->Carrying()) {
    st->objs_moved = true;
    st->ids[k] = st->carried_id;
    if (st->carried_id >= 0) st->cur_pos[st->carried_id] = fwd;
    st->carried_id = -1;
  } else if (action == kToggle && fwd_was_box) {
    // Box.toggle: the box leaves the grid, its contents (a new object) take its place.
    st->objs_moved = true;
    if (env->grid.At(fwd).IsEmpty()) {
      st->ids[k] = -1;
    } else {
      st->ids[k] = static_cast<int32_t>(st->cur_pos.size());
      st->cur_pos.push_back({-1, -1});
    }
  }
  if (action == kDrop && st->objs_moved) {
    RelocateObjs(*env, st);
    st->objs_moved = false;
  }
  const VerifyStatus status = Verify(env, st, st->root, action);
  if (status == VerifyStatus::kSuccess) {
    *terminated = true;
    *success = true;
    *reward = 1.0 - 0.9 * (static_cast<double>(env->step_count) / env->max_steps);
  } else if (status == VerifyStatus::kFailure) {
    *terminated = true;
    *reward = 0.0;
  }
}

}  // namespace bidir
