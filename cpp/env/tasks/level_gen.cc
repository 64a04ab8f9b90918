#include "env/tasks/level_gen.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

namespace bidir {

Pos PlaceObj(GridEnv* env, const Cell* obj, Pos top, Pos size, Reject reject,
             int64_t max_tries) {
  top = {std::max(top.x, 0), std::max(top.y, 0)};
  const int hi_x = std::min(top.x + size.x, env->grid.width());
  const int hi_y = std::min(top.y + size.y, env->grid.height());
  int64_t num_tries = 0;
  Pos pos;
  while (true) {
    if (num_tries > max_tries) throw GenerationRetry{"rejection sampling failed in place_obj"};
    ++num_tries;
    pos.x = RandInt(env, top.x, hi_x);
    pos.y = RandInt(env, top.y, hi_y);
    if (!env->grid.At(pos).IsEmpty()) continue;
    if (pos == env->agent) continue;
    if (reject == Reject::kNextToAgent &&
        std::abs(env->agent.x - pos.x) + std::abs(env->agent.y - pos.y) < 2) {
      continue;
    }
    break;
  }
  if (obj != nullptr) env->grid.At(pos) = *obj;
  return pos;
}

Pos PlaceObjAnywhere(GridEnv* env, const Cell* obj) {
  return PlaceObj(env, obj, {0, 0}, {env->grid.width(), env->grid.height()});
}

Pos PlaceAgent(GridEnv* env, Pos top, Pos size, bool rand_dir, int64_t max_tries) {
  env->agent = {-1, -1};
  const Pos pos = PlaceObj(env, nullptr, top, size, Reject::kNone, max_tries);
  env->agent = pos;
  if (rand_dir) env->agent_dir = RandInt(env, 0, 4);
  return pos;
}

void RoomGrid::GenGrid(GridEnv* env) {
  env->grid.Reset(Width(), Height());
  rooms.assign(static_cast<size_t>(num_rows) * num_cols, Room{});
  for (int j = 0; j < num_rows; ++j) {
    for (int i = 0; i < num_cols; ++i) {
      Room& room = GetRoom(i, j);
      room.top = {i * (room_size - 1), j * (room_size - 1)};
      room.size = {room_size, room_size};
      env->grid.WallRect(room.top.x, room.top.y, room.size.x, room.size.y);
    }
  }
  for (int j = 0; j < num_rows; ++j) {
    for (int i = 0; i < num_cols; ++i) {
      Room& room = GetRoom(i, j);
      const int x_l = room.top.x + 1, y_l = room.top.y + 1;
      const int x_m = room.top.x + room.size.x - 1, y_m = room.top.y + room.size.y - 1;
      if (i < num_cols - 1) {
        room.neighbor[0] = j * num_cols + i + 1;
        room.door_pos[0] = {x_m, RandInt(env, y_l, y_m)};
        room.has_door_pos[0] = true;
      }
      if (j < num_rows - 1) {
        room.neighbor[1] = (j + 1) * num_cols + i;
        room.door_pos[1] = {RandInt(env, x_l, x_m), y_m};
        room.has_door_pos[1] = true;
      }
      if (i > 0) {
        room.neighbor[2] = j * num_cols + i - 1;
        room.door_pos[2] = rooms[room.neighbor[2]].door_pos[0];
        room.has_door_pos[2] = true;
      }
      if (j > 0) {
        room.neighbor[3] = (j - 1) * num_cols + i;
        room.door_pos[3] = rooms[room.neighbor[3]].door_pos[1];
        room.has_door_pos[3] = true;
      }
    }
  }
  env->agent = {(num_cols / 2) * (room_size - 1) + room_size / 2,
                (num_rows / 2) * (room_size - 1) + room_size / 2};
  env->agent_dir = 0;
}

namespace {
// Whether RoomGrid.place_agent's loop can end in `room`: some empty cell of it faces an
// empty cell or a wall in a direction place_agent may draw (all four, or `dir`).
bool CanPlaceAgent(const GridEnv& env, const Room& room, bool rand_dir, int dir) {
  const Grid& grid = env.grid;
  const int x0 = std::max(room.top.x, 0), y0 = std::max(room.top.y, 0);
  const int x1 = std::min(room.top.x + room.size.x, grid.width());
  const int y1 = std::min(room.top.y + room.size.y, grid.height());
  for (int y = y0; y < y1; ++y) {
    for (int x = x0; x < x1; ++x) {
      if (!grid.At(x, y).IsEmpty()) continue;
      for (int d = rand_dir ? 0 : dir; d < (rand_dir ? 4 : dir + 1); ++d) {
        const int fx = x + kDirDx[d], fy = y + kDirDy[d];
        if (!grid.InBounds(fx, fy)) continue;
        const Cell& front = grid.At(fx, fy);
        if (front.IsEmpty() || front.type == kWall) return true;
      }
    }
  }
  return false;
}
}  // namespace

Pos RoomGrid::PlaceAgent(GridEnv* env, int i, int j, bool rand_dir) {
  if (i < 0) i = RandInt(env, 0, num_cols);
  if (j < 0) j = RandInt(env, 0, num_rows);
  const Room& room = GetRoom(i, j);
  // minigrid loops here forever when every free cell of the room faces an object or a
  // door in every direction it can draw (e.g. BabyAI-SynthS5R2 with crowded 5x5 rooms);
  // after a few failed draws we check for that case and generate the level again instead
  // of hanging. Otherwise the loop ends (with probability 1) exactly where minigrid's does.
  const int dir = env->agent_dir;
  for (int tries = 0;; ++tries) {
    if (tries == 64 && !CanPlaceAgent(*env, room, rand_dir, dir)) {
      throw GenerationRetry{"place_agent: no cell facing empty or wall"};
    }
    bidir::PlaceAgent(env, room.top, room.size, rand_dir, 1000);
    const Cell& front = env->grid.At(env->FrontPos());
    if (front.IsEmpty() || front.type == kWall) break;
  }
  return env->agent;
}

Pos RoomGrid::AddObject(GridEnv* env, int i, int j, uint8_t type, uint8_t color) {
  Room& room = GetRoom(i, j);
  const Cell obj = MakeObject(type, color);
  const Pos pos = PlaceObj(env, &obj, room.top, room.size, Reject::kNextToAgent, 1000);
  room.objs.emplace_back(type, color);
  return pos;
}

std::vector<RoomGrid::Added> RoomGrid::AddDistractors(GridEnv* env, int i, int j,
                                                      int num_distractors, bool all_unique) {
  static constexpr uint8_t kKinds[3] = {kKey, kBall, kBox};
  std::vector<std::pair<uint8_t, uint8_t>> objs;
  for (const Room& room : rooms) objs.insert(objs.end(), room.objs.begin(), room.objs.end());
  std::vector<Added> dists;
  while (static_cast<int>(dists.size()) < num_distractors) {
    const uint8_t color = kColorDrawOrder[RandIndex(env, kNumColors)];
    const uint8_t type = kKinds[RandIndex(env, 3)];
    const std::pair<uint8_t, uint8_t> obj(type, color);
    if (all_unique && std::find(objs.begin(), objs.end(), obj) != objs.end()) continue;
    const int room_i = i >= 0 ? i : RandInt(env, 0, num_cols);
    const int room_j = j >= 0 ? j : RandInt(env, 0, num_rows);
    const Pos pos = AddObject(env, room_i, room_j, type, color);
    objs.push_back(obj);
    dists.push_back({type, color, pos});
  }
  return dists;
}

Pos RoomGrid::PlaceInRoom(GridEnv* env, int i, int j, const Cell& obj) {
  Room& room = GetRoom(i, j);
  const Pos pos = PlaceObj(env, &obj, room.top, room.size, Reject::kNextToAgent, 1000);
  room.objs.emplace_back(obj.type, obj.color);
  return pos;
}

RoomGrid::DoorAdded RoomGrid::AddDoor(GridEnv* env, int i, int j, int door_idx, int color,
                                      int locked) {
  Room& room = GetRoom(i, j);
  if (door_idx < 0) {
    while (true) {
      door_idx = RandInt(env, 0, 4);
      if (room.neighbor[door_idx] >= 0 && room.doors[door_idx] == 0) break;
    }
  }
  if (color < 0) color = kColorDrawOrder[RandIndex(env, kNumColors)];
  if (locked < 0) locked = RandBool(env) ? 1 : 0;
  room.locked = locked != 0;
  const Pos pos = room.door_pos[door_idx];
  env->grid.At(pos) = MakeObject(kDoor, static_cast<uint8_t>(color),
                                 locked ? kDoorLocked : kDoorClosed);
  Room& nb = rooms[room.neighbor[door_idx]];
  room.doors[door_idx] = 1;
  room.door_color[door_idx] = static_cast<uint8_t>(color);
  nb.doors[(door_idx + 2) % 4] = 1;
  nb.door_color[(door_idx + 2) % 4] = static_cast<uint8_t>(color);
  return {door_idx, pos, static_cast<uint8_t>(color)};
}

void RoomGrid::RemoveWall(GridEnv* env, int i, int j, int wall_idx) {
  Room& room = GetRoom(i, j);
  const int tx = room.top.x, ty = room.top.y, w = room.size.x, h = room.size.y;
  if (wall_idx == 0) {
    for (int k = 1; k < h - 1; ++k) env->grid.Clear(tx + w - 1, ty + k);
  } else if (wall_idx == 1) {
    for (int k = 1; k < w - 1; ++k) env->grid.Clear(tx + k, ty + h - 1);
  } else if (wall_idx == 2) {
    for (int k = 1; k < h - 1; ++k) env->grid.Clear(tx, ty + k);
  } else {
    for (int k = 1; k < w - 1; ++k) env->grid.Clear(tx + k, ty);
  }
  room.doors[wall_idx] = 2;
  rooms[room.neighbor[wall_idx]].doors[(wall_idx + 2) % 4] = 2;
}

void RoomGrid::ConnectAll(GridEnv* env, const std::vector<uint8_t>& door_colors, int max_itrs) {
  const int start = RoomIndexFromPos(env->agent);
  const size_t n = rooms.size();
  int num_itrs = 0;
  std::vector<uint8_t> reach(n);
  std::vector<int> stack;
  while (true) {
    if (num_itrs > max_itrs) throw GenerationRetry{"connect_all failed"};
    ++num_itrs;
    std::fill(reach.begin(), reach.end(), 0);
    size_t count = 0;
    stack.assign(1, start);
    while (!stack.empty()) {
      const int r = stack.back();
      stack.pop_back();
      if (reach[r]) continue;
      reach[r] = 1;
      ++count;
      for (int k = 0; k < 4; ++k) {
        if (rooms[r].doors[k]) stack.push_back(rooms[r].neighbor[k]);
      }
    }
    if (count == n) break;
    const int i = RandInt(env, 0, num_cols);
    const int j = RandInt(env, 0, num_rows);
    const int k = RandInt(env, 0, 4);
    Room& room = GetRoom(i, j);
    if (!room.has_door_pos[k] || room.doors[k]) continue;
    if (room.locked || rooms[room.neighbor[k]].locked) continue;
    const uint8_t color = door_colors[RandIndex(env, static_cast<int>(door_colors.size()))];
    AddDoor(env, i, j, k, color, 0);
  }
}

bool RoomGrid::ObjsReachable(GridEnv* env) const {
  // Flood fill from the agent through empty cells and doors (it reaches the objects next
  // to them); buffers are reused across calls, as rejection sampling calls this often.
  const Grid& grid = env->grid;
  const int w = grid.width(), h = grid.height();
  const Cell* cells = grid.cells().data();
  thread_local std::vector<uint8_t> reachable;
  thread_local std::vector<int> stack;
  reachable.assign(static_cast<size_t>(w) * h, 0);
  stack.clear();
  if (grid.InBounds(env->agent.x, env->agent.y)) stack.push_back(env->agent.y * w + env->agent.x);
  while (!stack.empty()) {
    const int k = stack.back();
    stack.pop_back();
    if (reachable[k]) continue;
    reachable[k] = 1;
    const Cell& cell = cells[k];
    if (!cell.IsEmpty() && cell.type != kDoor) continue;
    const int x = k % w, y = k / w;
    if (x + 1 < w) stack.push_back(k + 1);
    if (x > 0) stack.push_back(k - 1);
    if (y + 1 < h) stack.push_back(k + w);
    if (y > 0) stack.push_back(k - w);
  }
  const int n = w * h;
  for (int k = 0; k < n; ++k) {
    const Cell& cell = cells[k];
    if (cell.IsEmpty() || cell.type == kWall) continue;
    if (!reachable[k]) return false;
  }
  return true;
}

}  // namespace bidir
