#include "env/babyai_oracle.h"

#include <cstdlib>
#include <vector>

#include "env/grid_env.h"

namespace bidir {
namespace {

// The first unfinished action node of the tree rooted at idx.
int ActiveLeaf(const BabyAIState& st, int idx) {
  const InstrNode& n = st.nodes[idx];
  switch (n.kind) {
    case InstrNodeKind::kBefore:
      return ActiveLeaf(st, n.a_done == VerifyStatus::kSuccess ? n.b : n.a);
    case InstrNodeKind::kAfter:
      return ActiveLeaf(st, n.b_done == VerifyStatus::kSuccess ? n.a : n.b);
    case InstrNodeKind::kAnd:
      return ActiveLeaf(st, n.a_done == VerifyStatus::kSuccess ? n.b : n.a);
    default:
      return idx;
  }
}

// Current positions (in the grid) of the objects of a description.
std::vector<Pos> CurrentPositions(const GridEnv& env, const ObjDesc& d) {
  std::vector<Pos> out;
  const int w = env.grid.width(), h = env.grid.height();
  for (int32_t id : d.obj_set) {
    for (int k = 0; k < w * h; ++k) {
      if (env.babyai.ids[k] == id) out.push_back({k % w, k / w});
    }
  }
  return out;
}

struct Search {
  const GridEnv& env;
  bool use_key = true;  // whether the carried key opens locked doors on the way
  // Door cells may be crossed when closed (toggled first) or locked with its key in hand.
  bool Passable(int x, int y) const {
    if (!env.grid.InBounds(x, y)) return false;
    const Cell& c = env.grid.At(x, y);
    if (c.type == kDoor) {
      if (c.state != kDoorLocked) return true;
      return use_key && env.carrying.type == kKey && env.carrying.color == c.color;
    }
    return CanOverlap(c) && c.type != kLava;
  }
  // First action of a shortest path to a state satisfying goal(x, y, dir); -1 if none.
  template <typename Goal>
  int FirstAction(Goal goal) const {
    const int w = env.grid.width(), h = env.grid.height();
    const int start = (env.agent.y * w + env.agent.x) * 4 + env.agent_dir;
    if (goal(env.agent.x, env.agent.y, env.agent_dir)) return -2;  // already there
    std::vector<int8_t> first(static_cast<size_t>(w) * h * 4, -1);
    std::vector<uint8_t> seen(first.size(), 0);
    std::vector<int> queue{start};
    seen[start] = 1;
    for (size_t head = 0; head < queue.size(); ++head) {
      const int s = queue[head];
      const int dir = s & 3, cell = s >> 2, x = cell % w, y = cell / w;
      for (int action : {kLeft, kRight, kForward}) {
        int nx = x, ny = y, nd = dir;
        if (action == kLeft) nd = (dir + 3) & 3;
        if (action == kRight) nd = (dir + 1) & 3;
        if (action == kForward) {
          nx = x + kDirDx[dir];
          ny = y + kDirDy[dir];
          if (!Passable(nx, ny)) continue;
        }
        const int ns = (ny * w + nx) * 4 + nd;
        if (seen[ns]) continue;
        seen[ns] = 1;
        first[ns] = static_cast<int8_t>(s == start ? action : first[s]);
        if (goal(nx, ny, nd)) return first[ns];
        queue.push_back(ns);
      }
    }
    return -1;
  }
};

bool Adjacent(Pos a, Pos b) { return std::abs(a.x - b.x) + std::abs(a.y - b.y) == 1; }

// Go to face one of targets; on arrival `arrive` is the action. Doors on the way are
// toggled open first.
int GoFace(const GridEnv& env, const std::vector<Pos>& targets, int arrive) {
  Search s{env};
  const int a = s.FirstAction([&](int x, int y, int d) {
    const Pos f{x + kDirDx[d], y + kDirDy[d]};
    for (const Pos& t : targets) {
      if (t == f) return true;
    }
    return false;
  });
  if (a == -2) return arrive;
  if (a < 0) return kDone;
  if (a == kForward) {
    const Cell& front = env.grid.At(env.FrontPos());
    if (front.type == kDoor && front.state != kDoorOpen) return kToggle;
  }
  return a;
}

// Free the hands: drop in front if possible, else turn towards a free cell.
int DropSomewhere(const GridEnv& env) {
  if (env.grid.At(env.FrontPos()).IsEmpty()) return kDrop;
  Search s{env};
  const int a = s.FirstAction([&](int x, int y, int d) {
    const int fx = x + kDirDx[d], fy = y + kDirDy[d];
    return env.grid.InBounds(fx, fy) && env.grid.At(fx, fy).IsEmpty() &&
           !(fx == env.agent.x && fy == env.agent.y);
  });
  if (a == -2) return kDrop;
  return a < 0 ? kDone : a;
}

bool Reachable(const GridEnv& env, const std::vector<Pos>& targets, bool use_key) {
  Search s{env, use_key};
  return s.FirstAction([&](int x, int y, int d) {
    const Pos f{x + kDirDx[d], y + kDirDy[d]};
    for (const Pos& t : targets) {
      if (t == f) return true;
    }
    return false;
  }) != -1;
}

// Unlocking: with a key in hand, open a reachable locked door of its color; else fetch a
// key of a locked door (or, when none lies in the open, open the boxes).
int FetchKey(const GridEnv& env) {
  std::vector<Pos> keys, boxes, doors;
  for (int x = 0; x < env.grid.width(); ++x) {
    for (int y = 0; y < env.grid.height(); ++y) {
      const Cell& c = env.grid.At(x, y);
      if (c.type == kBox) boxes.push_back({x, y});
      if (c.type != kDoor || c.state != kDoorLocked) continue;
      if (env.carrying.type == kKey && env.carrying.color == c.color) doors.push_back({x, y});
      for (int kx = 0; kx < env.grid.width(); ++kx) {
        for (int ky = 0; ky < env.grid.height(); ++ky) {
          const Cell& k = env.grid.At(kx, ky);
          if (k.type == kKey && k.color == c.color) keys.push_back({kx, ky});
        }
      }
    }
  }
  if (!doors.empty() && Reachable(env, doors, false)) return GoFace(env, doors, kToggle);
  if (env.Carrying()) return DropSomewhere(env);
  if (!keys.empty() && Reachable(env, keys, false)) return GoFace(env, keys, kPickup);
  return GoFace(env, boxes, kToggle);
}

// Go face one of targets and do `arrive` there with empty hands (pickup) or any hands;
// a locked door on the way is opened with the carried key or a fetched one.
int Reach(const GridEnv& env, const std::vector<Pos>& targets, int arrive, bool hands_free) {
  if (Reachable(env, targets, false)) {
    if (hands_free && env.Carrying()) return DropSomewhere(env);
    return GoFace(env, targets, arrive);
  }
  if (env.carrying.type == kKey && Reachable(env, targets, true)) return GoFace(env, targets, kDone);
  return FetchKey(env);
}

int PickUp(const GridEnv& env, const std::vector<Pos>& targets) {
  return Reach(env, targets, kPickup, true);
}

}  // namespace

int BabyAIExpertAction(const GridEnv& env) {
  const BabyAIState& st = env.babyai;
  if (st.root < 0 || !st.tracking()) return kDone;
  const InstrNode& n = st.nodes[ActiveLeaf(st, st.root)];
  const ObjDesc& desc = st.descs[n.desc];
  switch (n.kind) {
    case InstrNodeKind::kGoTo:
      return Reach(env, desc.obj_poss, kDone, false);
    case InstrNodeKind::kOpen: {
      std::vector<Pos> closed;
      for (const Pos& p : CurrentPositions(env, desc)) {
        if (env.grid.At(p).state != kDoorOpen) closed.push_back(p);
      }
      if (closed.empty()) return GoFace(env, CurrentPositions(env, desc), kToggle);  // re-close
      // A locked target door needs its key in hand.
      const Cell& d0 = env.grid.At(closed[0]);
      if (d0.state == kDoorLocked && !(env.carrying.type == kKey && env.carrying.color == d0.color)) {
        return FetchKey(env);
      }
      return Reach(env, closed, kToggle, false);
    }
    case InstrNodeKind::kPickup: {
      if (env.Carrying()) {
        for (int32_t id : desc.obj_set) {
          if (id == st.carried_id) return DropSomewhere(env);  // picked earlier: again
        }
      }
      return PickUp(env, CurrentPositions(env, desc));
    }
    case InstrNodeKind::kPutNext: {
      bool holding = false;
      for (int32_t id : desc.obj_set) holding = holding || id == st.carried_id;
      if (!holding) return PickUp(env, CurrentPositions(env, desc));
      const std::vector<Pos> fixed = CurrentPositions(env, st.descs[n.desc2]);
      std::vector<Pos> spots;  // free cells next to a fixed object
      for (int x = 0; x < env.grid.width(); ++x) {
        for (int y = 0; y < env.grid.height(); ++y) {
          if (!env.grid.At(x, y).IsEmpty()) continue;
          for (const Pos& f : fixed) {
            if (Adjacent({x, y}, f)) {
              spots.push_back({x, y});
              break;
            }
          }
        }
      }
      return Reach(env, spots, kDrop, false);
    }
    default:
      return kDone;
  }
}

}  // namespace bidir
