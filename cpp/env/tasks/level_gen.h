// Level-generation helpers that replay minigrid's random draws exactly.
//
// These mirror MiniGridEnv._rand_int/_rand_elem/place_obj/place_agent (minigrid_env.py)
// and RoomGrid (core/roomgrid.py) together with RoomGridLevel's check_objs_reachable.
// Every helper makes the same np_random.integers calls in the same order as the Python
// code, so a task built from them stays seed-exact. Rejection sampling that minigrid
// signals with RecursionError or RejectSampling throws GenerationRetry here (the
// frequent rejections, unreachable objects and invalid instructions, are return values
// instead: an exception costs microseconds); BabyAI levels generate again from the
// current RNG state, as minigrid does.
#ifndef BIDIR_ENV_TASKS_LEVEL_GEN_H_
#define BIDIR_ENV_TASKS_LEVEL_GEN_H_

#include <array>
#include <cstdint>
#include <limits>
#include <vector>

#include "env/grid_env.h"

namespace bidir {

struct GenerationRetry {
  const char* reason;
};

inline constexpr int64_t kUnlimitedTries = std::numeric_limits<int64_t>::max();

// np_random.integers(lo, hi).
inline int RandInt(GridEnv* env, int lo, int hi) {
  return static_cast<int>(env->rng.Integers(lo, hi));
}
// _rand_elem over n choices: the index drawn.
inline int RandIndex(GridEnv* env, int n) { return RandInt(env, 0, n); }
// _rand_bool: integers(0, 2) == 0.
inline bool RandBool(GridEnv* env) { return RandInt(env, 0, 2) == 0; }

enum class Reject { kNone, kNextToAgent };

// MiniGridEnv.place_obj: draws x then y uniformly in [top, top+size) clipped to the grid
// until the cell is empty, not the agent's and not rejected; places obj (nullptr places
// nothing, as place_agent does). Throws GenerationRetry after max_tries failed draws.
Pos PlaceObj(GridEnv* env, const Cell* obj, Pos top, Pos size, Reject reject = Reject::kNone,
             int64_t max_tries = kUnlimitedTries);
// PlaceObj over the whole grid.
Pos PlaceObjAnywhere(GridEnv* env, const Cell* obj);
// MiniGridEnv.place_agent: agent = (-1,-1), PlaceObj(nullptr), then a random direction.
Pos PlaceAgent(GridEnv* env, Pos top, Pos size, bool rand_dir = true,
               int64_t max_tries = kUnlimitedTries);

// RoomGrid's layout of rooms (room_grid[j][i]) and its generation helpers.
struct Room {
  Pos top;
  Pos size;
  std::array<Pos, 4> door_pos{};       // right, down, left, up
  std::array<bool, 4> has_door_pos{};  // door_pos[k] is set
  std::array<int, 4> neighbor{-1, -1, -1, -1};  // index into RoomGrid::rooms
  std::vector<std::pair<uint8_t, uint8_t>> objs;  // (type, color) of objects added
  // Room.doors: 0 = None, 1 = a Door (color in door_color), 2 = True (wall removed).
  std::array<uint8_t, 4> doors{};
  std::array<uint8_t, 4> door_color{};
  bool locked = false;  // Room.locked (set by every add_door on this room)
  bool PosInside(Pos p) const {
    return p.x >= top.x && p.y >= top.y && p.x < top.x + size.x && p.y < top.y + size.y;
  }
};

class RoomGrid {
 public:
  RoomGrid(int room_size, int num_rows, int num_cols)
      : room_size(room_size), num_rows(num_rows), num_cols(num_cols) {}
  int Width() const { return (room_size - 1) * num_cols + 1; }
  int Height() const { return (room_size - 1) * num_rows + 1; }
  Room& GetRoom(int i, int j) { return rooms[static_cast<size_t>(j) * num_cols + i]; }

  // RoomGrid._gen_grid: new walled grid, door positions drawn, agent at the centre.
  void GenGrid(GridEnv* env);
  // RoomGrid.place_agent: random room (draws even with one room), then place_agent until
  // the agent does not face an object.
  Pos PlaceAgent(GridEnv* env, int i = -1, int j = -1, bool rand_dir = true);
  // RoomGrid.add_object with a given kind and color (place_in_room, reject_next_to).
  Pos AddObject(GridEnv* env, int i, int j, uint8_t type, uint8_t color);
  struct Added {
    uint8_t type;
    uint8_t color;
    Pos pos;
  };
  // RoomGrid.add_distractors in room (i, j), or a random room for -1.
  std::vector<Added> AddDistractors(GridEnv* env, int i, int j, int num_distractors,
                                    bool all_unique);
  // RoomGridLevel.check_objs_reachable(raise_exc=False): every object can be reached from
  // the agent without moving another one (the levels reject the sample when not).
  bool ObjsReachable(GridEnv* env) const;
  // Index into rooms of RoomGrid.room_from_pos.
  int RoomIndexFromPos(Pos p) const {
    return (p.y / (room_size - 1)) * num_cols + p.x / (room_size - 1);
  }
  struct DoorAdded {
    int idx;
    Pos pos;
    uint8_t color;
  };
  // RoomGrid.add_door: door_idx / color / locked < 0 are drawn as minigrid draws them.
  DoorAdded AddDoor(GridEnv* env, int i, int j, int door_idx = -1, int color = -1,
                    int locked = -1);
  // RoomGrid.remove_wall.
  void RemoveWall(GridEnv* env, int i, int j, int wall_idx);
  // RoomGrid.connect_all with door colors drawn from door_colors (COLOR_NAMES order).
  void ConnectAll(GridEnv* env, const std::vector<uint8_t>& door_colors, int max_itrs = 5000);
  // RoomGrid.place_in_room for an existing object (a box with contents).
  Pos PlaceInRoom(GridEnv* env, int i, int j, const Cell& obj);

  int room_size;
  int num_rows;
  int num_cols;
  std::vector<Room> rooms;
};

}  // namespace bidir

#endif  // BIDIR_ENV_TASKS_LEVEL_GEN_H_
