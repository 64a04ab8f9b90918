#include "env/babyai_oracle.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "env/grid_env.h"

namespace bidir {
namespace {

// Extra cost of stepping through a cell with an object: lifting it, turning, dropping it
// and turning back, and more when the hands must be freed first. Set above BabyAIBot's
// lower bound (4; 7 with full hands), which gave longer episodes (MoveTwoAcrossS8N9).
constexpr int kBlockerCost = 8;
constexpr int kBlockerCarryingCost = 11;
// Extra cost of a locked door whose key is not in hand (only in the kAnyLock search that
// finds which locked door is in the way).
constexpr int kLockedCost = 50;
// Buckets of the search's queue: more than the largest step cost.
constexpr int kBuckets = 64;
// Nesting bound of "open this locked door first" (chains of locked doors and keys).
constexpr int kMaxDepth = 8;

enum class Locks { kHeldKey, kAny };

bool Movable(const Cell& c) { return c.type == kKey || c.type == kBall || c.type == kBox; }

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

struct Path {
  bool found = false;
  bool at_goal = false;      // the start state already satisfies the goal
  int first_action = -1;
  int goal_cell = -1;        // the cell faced at the end
  std::vector<int> cells;    // cells entered by the path's forward steps, in order
};

using Mask = std::vector<uint8_t>;  // one flag per cell (y * width + x)

class Planner {
 public:
  explicit Planner(const GridEnv& env)
      : env_(env),
        w_(env.grid.width()),
        h_(env.grid.height()),
        leaf_(env.babyai.nodes[ActiveLeaf(env.babyai, env.babyai.root)]),
        strict_(leaf_.strict && leaf_.kind == InstrNodeKind::kPickup) {}

  int Decide() const;

 private:
  int Cell(Pos p) const { return p.y * w_ + p.x; }
  const bidir::Cell& At(int c) const { return env_.grid.At(c % w_, c / w_); }
  Mask Empty() const { return Mask(static_cast<size_t>(w_) * h_, 0); }
  bool HoldsKeyOf(const bidir::Cell& door) const {
    return env_.carrying.type == kKey && env_.carrying.color == door.color;
  }
  bool Facing(int c) const { return Cell(env_.FrontPos()) == c; }

  // Cells of the objects of d (only keys, balls and boxes with liftable).
  std::vector<int> Positions(const ObjDesc& d, bool liftable = false) const;
  Mask MaskOf(const std::vector<int>& cells) const;

  // Cost of stepping into cell c (toggling a door first), -1 when impassable.
  int EnterCost(int c, bool blockers, Locks locks, const Mask* ignore) const;
  // Cheapest path to a state whose front cell satisfies goal(front cell).
  // With any_dir the search starts from every direction of the agent's cell: its cells
  // do not depend on where the agent looks (the way a drop must keep free).
  template <typename Goal>
  Path Search(const Goal& goal, bool blockers, Locks locks, const Mask* ignore = nullptr,
              bool any_dir = false) const;
  Path SearchFacing(const Mask& targets, bool blockers, Locks locks,
                    const Mask* ignore = nullptr, bool any_dir = false) const {
    return Search([&](int c) { return targets[c] != 0; }, blockers, locks, ignore, any_dir);
  }
  // exclude plus the cells of the way to targets (a direction-free search).
  Mask WithWay(Mask exclude, const Mask& targets, Locks locks,
               const Mask* ignore = nullptr) const {
    const Path way = SearchFacing(targets, true, locks, ignore, true);
    for (int c : way.cells) exclude[c] = 1;
    if (way.goal_cell >= 0) exclude[way.goal_cell] = 1;
    return exclude;
  }
  int FirstBlocker(const Path& p) const;
  int Step(const Path& p) const;
  // Whether an object dropped on c leaves its neighbourhood connected (BabyAIBot's rule).
  bool DropKeepsWayFree(int c) const;
  // With stay, a cell next to the agent (reached by turning only) off the way comes first.
  // With `advance` (the path being cleared), when no free cell is off the way, the agent
  // first carries the object along it while its next cell is free: the cells it leaves
  // behind are off the way then (a room packed with objects).
  int DropOff(const Mask& exclude, bool stay = false, const Path* advance = nullptr) const;
  int DropOffAvoiding(const Mask& exclude, bool stay, const Path* advance,
                      const Mask& banned) const;
  // Whether an object dropped on the agent's neighbour in direction d is lifted again at
  // once: the plan from the state after that drop starts with a pickup.
  bool LiftedBack(int d) const;
  int ClearOrStep(const Path& p, int blocker, const Mask& exclude) const;
  int Follow(const Path& p, int arrive, bool free_hands, const Mask& exclude) const;
  int Achieve(const Mask& targets, int arrive, bool free_hands, const Mask& exclude,
              int depth) const;
  int OpenLocked(int door, const Mask& exclude, int depth) const;
  int FirstLockedInTheWay(const Path& p) const;
  // Whether the carried key opens a locked door p goes through.
  bool UnlocksOnTheWay(const Path& p) const;

  int GoTo(const InstrNode& n) const;
  int Open(const InstrNode& n) const;
  int Pickup(const InstrNode& n) const;
  int PutNext(const InstrNode& n) const;

  const GridEnv& env_;
  const int w_, h_;
  const InstrNode& leaf_;  // the subgoal: the first unfinished action of the instruction
  // A strict Pickup fails on lifting anything else: no blocker is moved then.
  const bool strict_;
};

std::vector<int> Planner::Positions(const ObjDesc& d, bool liftable) const {
  std::vector<int> out;
  const std::vector<int32_t>& ids = env_.babyai.ids;
  for (int32_t id : d.obj_set) {
    for (int k = 0; k < w_ * h_; ++k) {
      // A description without a type matches the walls and doors of its color too
      // (minigrid's find_matching_objs): fine to go to (facing a grey wall completes
      // "go to a grey object"), never to pick up.
      if (ids[k] != id || (liftable && !Movable(At(k)))) continue;
      out.push_back(k);
    }
  }
  return out;
}

Mask Planner::MaskOf(const std::vector<int>& cells) const {
  Mask m = Empty();
  for (int c : cells) m[c] = 1;
  return m;
}

int Planner::EnterCost(int c, bool blockers, Locks locks, const Mask* ignore) const {
  if (ignore != nullptr && (*ignore)[c]) return 1;
  const bidir::Cell& cell = At(c);
  switch (cell.type) {
    case kEmpty:
    case kFloor:
    case kGoal:
      return 1;
    case kDoor:
      if (cell.state == kDoorOpen) return 1;
      if (cell.state == kDoorClosed || HoldsKeyOf(cell)) return 2;
      return locks == Locks::kAny ? 2 + kLockedCost : -1;
    case kKey:
    case kBall:
    case kBox:
      if (!blockers || strict_) return -1;
      return 1 + (env_.Carrying() ? kBlockerCarryingCost : kBlockerCost);
    default:
      return -1;  // wall, lava
  }
}

template <typename Goal>
Path Planner::Search(const Goal& goal, bool blockers, Locks locks, const Mask* ignore,
                     bool any_dir) const {
  Path out;
  auto front_of = [&](int s) {
    const int c = s >> 2, d = s & 3;
    const int fx = c % w_ + kDirDx[d], fy = c / w_ + kDirDy[d];
    return env_.grid.InBounds(fx, fy) ? fy * w_ + fx : -1;
  };
  const int start = Cell(env_.agent) * 4 + env_.agent_dir;
  const int f0 = front_of(start);
  if (!any_dir && f0 >= 0 && goal(f0)) {
    out.found = out.at_goal = true;
    out.goal_cell = f0;
    return out;
  }
  // Dial's algorithm: edge costs are small integers, so a ring of FIFO buckets is the
  // priority queue. Ties leave in insertion order, which follows the action order left,
  // right, forward, so the answer is deterministic.
  static thread_local std::vector<int> dist, prev, enter;
  static thread_local std::vector<int8_t> how;
  static thread_local std::vector<std::vector<int>> buckets(kBuckets);
  const int cells = w_ * h_;
  const size_t n = static_cast<size_t>(cells) * 4;
  dist.assign(n, -1);
  prev.assign(n, -1);
  how.assign(n, -1);
  enter.resize(cells);
  for (int c = 0; c < cells; ++c) enter[c] = EnterCost(c, blockers, locks, ignore);
  for (auto& b : buckets) b.clear();
  size_t queued = 0;
  for (int d = 0; d < 4; ++d) {
    const int s = any_dir ? Cell(env_.agent) * 4 + d : start;
    if (dist[s] == 0) continue;
    dist[s] = 0;
    buckets[0].push_back(s);
    ++queued;
  }
  int end = -1;
  for (int cost = 0; queued > 0 && end < 0; ++cost) {
    std::vector<int>& bucket = buckets[cost % kBuckets];
    for (size_t i = 0; i < bucket.size() && end < 0; ++i) {
      const int s = bucket[i];
      --queued;
      if (dist[s] != cost) continue;
      const int f = front_of(s);
      if ((s != start || any_dir) && f >= 0 && goal(f)) {
        end = s;
        out.goal_cell = f;
        break;
      }
      const int c = s >> 2, d = s & 3;
      for (int action : {kLeft, kRight, kForward}) {
        int ns, step;
        if (action == kForward) {
          if (f < 0 || enter[f] < 0) continue;
          step = enter[f];
          ns = f * 4 + d;
        } else {
          ns = c * 4 + (action == kLeft ? (d + 3) & 3 : (d + 1) & 3);
          step = 1;
        }
        const int nc = cost + step;
        if (dist[ns] >= 0 && dist[ns] <= nc) continue;
        dist[ns] = nc;
        prev[ns] = s;
        how[ns] = static_cast<int8_t>(action);
        buckets[nc % kBuckets].push_back(ns);
        ++queued;
      }
    }
    bucket.clear();
  }
  if (end < 0) return out;
  out.found = true;
  for (int s = end; prev[s] >= 0; s = prev[s]) {
    if (how[s] == kForward) out.cells.push_back(s >> 2);
    out.first_action = how[s];
  }
  std::reverse(out.cells.begin(), out.cells.end());
  return out;
}

int Planner::FirstBlocker(const Path& p) const {
  for (int c : p.cells) {
    if (Movable(At(c))) return c;
  }
  return -1;
}

// The path's first action; a closed (or, key in hand, locked) door in front is toggled.
int Planner::Step(const Path& p) const {
  if (p.first_action == kForward) {
    const bidir::Cell& front = env_.grid.At(env_.FrontPos());
    if (front.type == kDoor && front.state != kDoorOpen) return kToggle;
  }
  return p.first_action;
}

bool Planner::DropKeepsWayFree(int c) const {
  static constexpr int kRing[8][2] = {{-1, -1}, {0, -1}, {1, -1}, {1, 0},
                                      {1, 1},   {0, 1},  {-1, 1}, {-1, 0}};
  const int x = c % w_, y = c / w_;
  int cls[8];
  for (int i = 0; i < 8; ++i) {
    const int nx = x + kRing[i][0], ny = y + kRing[i][1];
    if (!env_.grid.InBounds(nx, ny)) {
      cls[i] = 1;
      continue;
    }
    const bidir::Cell& nb = env_.grid.At(nx, ny);
    const bool agent = nx == env_.agent.x && ny == env_.agent.y;
    if (nb.type == kWall) {
      cls[i] = 1;
    } else if (nb.IsEmpty() || (nb.type == kDoor && nb.state == kDoorOpen) || agent) {
      cls[i] = 0;
    } else {
      cls[i] = 2;
    }
  }
  int changes = 0;
  for (int i = 0; i < 8; ++i) changes += (cls[(i + 1) % 8] != 0) != (cls[i] != 0);
  for (int i = 0; i < 8; ++i) {
    if (cls[i] == 2 && cls[(i + 7) % 8] != 0 && cls[(i + 1) % 8] != 0) return false;
  }
  return changes <= 2;
}

// Go face the nearest cell where the carried object can go without blocking anything
// (outside `exclude`, the cells a plan still has to cross) and drop it there.
bool Planner::LiftedBack(int d) const {
  GridEnv after = env_;
  after.agent_dir = d;
  const StepOutcome out = after.Step(kDrop);
  if (out.terminated || out.truncated) return false;
  return Planner(after).Decide() == kPickup;
}

// The neighbours where a drop would be lifted back at once are avoided (a drop-and-lift
// loop: the plan after the drop takes another way, through that cell); when every place
// is such a neighbour, the drop goes there anyway.
int Planner::DropOff(const Mask& exclude, bool stay, const Path* advance) const {
  Mask banned = Empty();
  bool any = false;
  for (int d = 0; d < 4; ++d) {
    const int x = env_.agent.x + kDirDx[d], y = env_.agent.y + kDirDy[d];
    if (!env_.grid.InBounds(x, y) || !env_.grid.At(x, y).IsEmpty()) continue;
    if (LiftedBack(d)) banned[y * w_ + x] = 1, any = true;
  }
  const int action = DropOffAvoiding(exclude, stay, advance, banned);
  return any && action == kDone ? DropOffAvoiding(exclude, stay, advance, Empty()) : action;
}

int Planner::DropOffAvoiding(const Mask& exclude, bool stay, const Path* advance,
                             const Mask& banned) const {
  const int agent = Cell(env_.agent);
  auto free_cell = [&](int c) { return c != agent && At(c).IsEmpty() && !banned[c]; };
  // Tier 0: off the way, nothing cut off; 1: off the way; 2: any free cell.
  auto goal = [&](int tier) {
    return [&, tier](int c) {
      return free_cell(c) && (tier == 2 || !exclude[c]) && (tier > 0 || DropKeepsWayFree(c));
    };
  };
  if (stay) {
    // Only turning: front, left, right, behind (a turn is left or right).
    const int d = env_.agent_dir;
    const int order[4] = {d, (d + 3) & 3, (d + 1) & 3, (d + 2) & 3};
    const int action[4] = {kDrop, kLeft, kRight, kLeft};
    for (int tier = 0; tier < 2; ++tier) {
      for (int i = 0; i < 4; ++i) {
        const int x = env_.agent.x + kDirDx[order[i]], y = env_.agent.y + kDirDy[order[i]];
        if (env_.grid.InBounds(x, y) && goal(tier)(y * w_ + x)) return action[i];
      }
    }
  }
  for (int tier = 0; tier < 3; ++tier) {
    if (tier == 2 && advance != nullptr && !advance->cells.empty() &&
        !Movable(At(advance->cells[0]))) {
      return Step(*advance);
    }
    const Path p = Search(goal(tier), false, Locks::kHeldKey);
    if (p.found) return p.at_goal ? kDrop : Step(p);
  }
  return kDone;
}

// Along p, up to the blocker: facing it, free the hands (dropping off the way) or lift it.
// The way p is blocked by an object: free the hands first (dropping what they hold off
// the way), then go up to the object and lift it. Freeing the hands depends only on the
// hands, not on where the agent stands or looks, so walking off to drop never undoes
// itself.
int Planner::ClearOrStep(const Path& p, int blocker, const Mask& exclude) const {
  if (env_.Carrying()) {
    // A carried key that unlocks a door before the object is used first.
    for (int c : p.cells) {
      if (c == blocker) break;
      const bidir::Cell& cell = At(c);
      if (cell.type == kDoor && cell.state == kDoorLocked && HoldsKeyOf(cell)) return Step(p);
    }
    return DropOff(exclude, true, &p);
  }
  if (p.cells[0] == blocker && Facing(blocker)) return kPickup;
  return Step(p);
}

int Planner::Follow(const Path& p, int arrive, bool free_hands, const Mask& exclude) const {
  if (p.at_goal) {
    if (free_hands && env_.Carrying()) return DropOff(exclude);
    return arrive;
  }
  const int blocker = FirstBlocker(p);
  if (blocker >= 0) return ClearOrStep(p, blocker, exclude);
  if (free_hands && env_.Carrying() && !UnlocksOnTheWay(p)) return DropOff(exclude, false, &p);
  return Step(p);
}

bool Planner::UnlocksOnTheWay(const Path& p) const {
  for (int c : p.cells) {
    const bidir::Cell& cell = At(c);
    if (cell.type == kDoor && cell.state == kDoorLocked && HoldsKeyOf(cell)) return true;
  }
  return false;
}

int Planner::FirstLockedInTheWay(const Path& p) const {
  for (int c : p.cells) {
    const bidir::Cell& cell = At(c);
    if (cell.type == kDoor && cell.state == kDoorLocked && !HoldsKeyOf(cell)) return c;
  }
  return -1;
}

// Face one of targets and do `arrive` (with empty hands when free_hands); a locked door
// in the way is opened first.
int Planner::Achieve(const Mask& targets, int arrive, bool free_hands, const Mask& exclude,
                     int depth) const {
  const Path p = SearchFacing(targets, true, Locks::kHeldKey);
  if (p.found) {
    // Only a carried object is ever dropped, so the way to keep free is only needed then.
    if (!env_.Carrying()) return Follow(p, arrive, free_hands, exclude);
    return Follow(p, arrive, free_hands, WithWay(exclude, targets, Locks::kHeldKey));
  }
  const Path q = SearchFacing(targets, true, Locks::kAny);
  const int door = q.found ? FirstLockedInTheWay(q) : -1;
  if (door < 0) return kDone;
  return OpenLocked(door, exclude, depth);
}

// Unlock `door`: clear the way to it, fetch its key (from a box if need be), go toggle it.
int Planner::OpenLocked(int door, const Mask& exclude, int depth) const {
  if (depth > kMaxDepth) return kDone;
  const Mask target = MaskOf({door});
  const Path p = SearchFacing(target, true, Locks::kHeldKey);
  if (!p.found) {
    const Path q = SearchFacing(target, true, Locks::kAny);
    const int other = q.found ? FirstLockedInTheWay(q) : -1;
    return other < 0 ? kDone : OpenLocked(other, exclude, depth + 1);
  }
  const Mask keep = env_.Carrying() ? WithWay(exclude, target, Locks::kHeldKey) : exclude;
  if (HoldsKeyOf(At(door))) return Follow(p, kToggle, false, keep);
  std::vector<int> keys, boxes;
  const uint8_t color = At(door).color;
  for (int c = 0; c < w_ * h_; ++c) {
    const bidir::Cell& cell = At(c);
    if (cell.type == kKey && cell.color == color) keys.push_back(c);
    if (cell.type == kBox && cell.inner_type == kKey && cell.inner_color == color) {
      boxes.push_back(c);
    }
  }
  const bidir::Cell& held = env_.carrying;
  if (held.type == kBox && held.inner_type == kKey && held.inner_color == color) {
    return DropOff(keep);  // lifted out of the way: put down, to be opened
  }
  // A key in a box is let out first (the box may be what blocks the way).
  if (keys.empty() && !boxes.empty()) {
    return Achieve(MaskOf(boxes), kToggle, false, keep, depth + 1);
  }
  // Clear the way to the door before fetching the key, so the key is carried only once.
  const int blocker = FirstBlocker(p);
  if (blocker >= 0) return ClearOrStep(p, blocker, keep);
  if (!keys.empty()) return Achieve(MaskOf(keys), kPickup, true, keep, depth + 1);
  return kDone;
}

int Planner::GoTo(const InstrNode& n) const {
  const ObjDesc& desc = env_.babyai.descs[n.desc];
  const std::vector<int> targets = Positions(desc);
  if (targets.empty()) {
    // The only match is in the hands: put it down to face it.
    for (int32_t id : desc.obj_set) {
      if (id == env_.babyai.carried_id) return DropOff(Empty());
    }
    return kDone;
  }
  return Achieve(MaskOf(targets), kDone, false, Empty(), 0);
}

int Planner::Open(const InstrNode& n) const {
  const std::vector<int> doors = Positions(env_.babyai.descs[n.desc]);
  std::vector<int> closed, locked;
  for (int c : doors) {
    const bidir::Cell& d = At(c);
    if (d.state == kDoorClosed || (d.state == kDoorLocked && HoldsKeyOf(d))) closed.push_back(c);
    if (d.state == kDoorLocked && !HoldsKeyOf(d)) locked.push_back(c);
  }
  if (!closed.empty() && SearchFacing(MaskOf(closed), true, Locks::kAny).found) {
    return Achieve(MaskOf(closed), kToggle, false, Empty(), 0);
  }
  if (!locked.empty()) {
    const Path q = SearchFacing(MaskOf(locked), true, Locks::kAny);
    return q.found ? OpenLocked(q.goal_cell, Empty(), 0) : kDone;
  }
  // Every match is open already: close one, to open it again.
  return Achieve(MaskOf(doors), kToggle, false, Empty(), 0);
}

int Planner::Pickup(const InstrNode& n) const {
  const ObjDesc& desc = env_.babyai.descs[n.desc];
  if (env_.Carrying()) {
    for (int32_t id : desc.obj_set) {
      if (id == env_.babyai.carried_id) return DropOff(Empty());  // picked earlier: again
    }
  }
  return Achieve(MaskOf(Positions(desc, true)), kPickup, true, Empty(), 0);
}

int Planner::PutNext(const InstrNode& n) const {
  const BabyAIState& st = env_.babyai;
  bool holding = false;
  for (int32_t id : st.descs[n.desc].obj_set) holding = holding || id == st.carried_id;
  const std::vector<int> fixed = Positions(st.descs[n.desc2]);
  Mask spots = Empty();     // free cells next to a fixed object
  Mask occupied = Empty();  // cells next to a fixed object with an object on them
  bool any_spot = false;
  std::vector<int> lift;
  for (int f : fixed) {
    const int fx = f % w_, fy = f / w_;
    for (int d = 0; d < 4; ++d) {
      const int x = fx + kDirDx[d], y = fy + kDirDy[d];
      if (!env_.grid.InBounds(x, y)) continue;
      const bidir::Cell& c = env_.grid.At(x, y);
      if (c.IsEmpty()) spots[y * w_ + x] = 1, any_spot = true;
      if (Movable(c)) lift.push_back(y * w_ + x), occupied[y * w_ + x] = 1;
    }
  }
  if (!any_spot && !lift.empty()) {
    // Every cell next to the fixed objects is taken: free one (hands first).
    if (env_.Carrying()) return DropOff(occupied);
    return Achieve(MaskOf(lift), kPickup, true, Empty(), 0);
  }
  if (holding) return Achieve(spots, kDrop, false, Empty(), 0);
  // Clear the route to the fixed object while the hands are free, then fetch the object.
  const Mask moves = MaskOf(Positions(st.descs[n.desc], true));
  const Path route = SearchFacing(spots, true, Locks::kHeldKey, &moves);
  // Nothing is dropped on a spot or on the way to one.
  const Mask keep = env_.Carrying() ? WithWay(spots, spots, Locks::kHeldKey, &moves) : Empty();
  if (route.found) {
    for (int c : route.cells) {
      // The route passes an object to move: fetch that one (not another one, which would
      // then be dropped again to lift this one out of the way).
      if (moves[c]) return Achieve(MaskOf({c}), kPickup, true, keep, 0);
      if (Movable(At(c))) return ClearOrStep(route, c, keep);
      // The key in hand opens a locked door on the route: before it is put down.
      if (At(c).type == kDoor && At(c).state == kDoorLocked) return OpenLocked(c, keep, 0);
    }
  } else {
    // A locked door on the route is opened first too: fetching its key with the object
    // in hand would drop the object, to be fetched again before the key.
    const Path q = SearchFacing(spots, true, Locks::kAny, &moves);
    const int door = q.found ? FirstLockedInTheWay(q) : -1;
    if (door >= 0) return OpenLocked(door, keep, 0);
  }
  return Achieve(moves, kPickup, true, keep, 0);
}

int Planner::Decide() const {
  const InstrNode& n = leaf_;
  switch (n.kind) {
    case InstrNodeKind::kGoTo:
      return GoTo(n);
    case InstrNodeKind::kOpen:
      return Open(n);
    case InstrNodeKind::kPickup:
      return Pickup(n);
    case InstrNodeKind::kPutNext:
      return PutNext(n);
    default:
      return kDone;
  }
}

}  // namespace

int BabyAIExpertAction(const GridEnv& env) {

  const BabyAIState& st = env.babyai;
  if (st.root < 0 || !st.tracking()) return kDone;
  if (st.start_carrying.x >= 0) {
    // The first step lifts this object into the hands before the action: plan from there.
    GridEnv lifted = env;
    BabyAIStartCarrying(&lifted);
    return Planner(lifted).Decide();
  }
  return Planner(env).Decide();
}

}  // namespace bidir
