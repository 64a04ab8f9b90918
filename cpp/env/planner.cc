#include "env/planner.h"

#include <vector>

namespace bidir {
namespace {

struct Node {
  int x, y, dir, key, door;
};

}  // namespace

Plan PlanShortest(const GridEnv& env) {
  const Grid& grid = env.grid;
  const int w = grid.width(), h = grid.height();

  // The task's door (the first door cell) and the key that opens it, if on the grid.
  Pos door{-1, -1}, key{-1, -1};
  for (int y = 0; y < h && door.x < 0; ++y) {
    for (int x = 0; x < w; ++x) {
      if (grid.At(x, y).type == kDoor) {
        door = {x, y};
        break;
      }
    }
  }
  bool door_open0 = true, door_needs_key = false, has_key0 = false;
  uint8_t door_color = 0;
  if (door.x >= 0) {
    const Cell& d = grid.At(door);
    door_color = d.color;
    door_open0 = d.state == kDoorOpen;
    door_needs_key = d.state == kDoorLocked;
    has_key0 = env.carrying.type == kKey && env.carrying.color == door_color;
    for (int y = 0; y < h && key.x < 0; ++y) {
      for (int x = 0; x < w; ++x) {
        const Cell& c = grid.At(x, y);
        if (c.type == kKey && c.color == door_color) {
          key = {x, y};
          break;
        }
      }
    }
  }
  const bool hands_free = !env.Carrying();

  auto index = [&](const Node& n) {
    return ((((n.key * 2 + n.door) * h + n.y) * w + n.x) * 4) + n.dir;
  };
  auto passable = [&](int x, int y, const Node& n) {
    if (!grid.InBounds(x, y)) return false;
    if (x == door.x && y == door.y) return n.door == 1;
    if (x == key.x && y == key.y && n.key == 1 && !has_key0) return true;
    const Cell& c = grid.At(x, y);
    return CanOverlap(c) && c.type != kLava;
  };
  auto faces_target = [&](const Node& n) {
    if (env.instr.kind != InstrKind::kGoTo) return false;
    const Pos f{n.x + kDirDx[n.dir], n.y + kDirDy[n.dir]};
    for (const Pos& t : env.instr.targets) {
      if (t == f) return true;
    }
    return false;
  };

  const Node start{env.agent.x, env.agent.y, env.agent_dir, has_key0 ? 1 : 0,
                   door_open0 ? 1 : 0};
  std::vector<int> dist(static_cast<size_t>(w) * h * 16, -1);
  std::vector<int8_t> first(dist.size(), -1);
  std::vector<Node> queue;
  queue.reserve(dist.size());
  queue.push_back(start);
  dist[index(start)] = 0;

  static constexpr int kPlanActions[5] = {kLeft, kRight, kForward, kPickup, kToggle};
  for (size_t head = 0; head < queue.size(); ++head) {
    const Node n = queue[head];
    const int ni = index(n);
    const int fx = n.x + kDirDx[n.dir], fy = n.y + kDirDy[n.dir];
    for (int action : kPlanActions) {
      Node m = n;
      bool reached_goal_tile = false;
      switch (action) {
        case kLeft:
          m.dir = (n.dir + 3) & 3;
          break;
        case kRight:
          m.dir = (n.dir + 1) & 3;
          break;
        case kForward:
          if (!passable(fx, fy, n)) continue;
          m.x = fx;
          m.y = fy;
          reached_goal_tile = grid.At(fx, fy).type == kGoal;
          break;
        case kPickup:
          if (n.key || !hands_free || fx != key.x || fy != key.y) continue;
          m.key = 1;
          break;
        case kToggle:
          if (n.door || fx != door.x || fy != door.y || (door_needs_key && !n.key)) continue;
          m.door = 1;
          break;
      }
      const int first_action = ni == index(start) ? action : first[ni];
      if (reached_goal_tile || faces_target(m)) return {first_action, dist[ni] + 1};
      const int mi = index(m);
      if (dist[mi] >= 0) continue;
      dist[mi] = dist[ni] + 1;
      first[mi] = static_cast<int8_t>(first_action);
      queue.push_back(m);
    }
  }
  return {};
}

}  // namespace bidir
