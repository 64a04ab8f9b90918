// MiniGrid DoorKey (minigrid/envs/doorkey.py).
//
// | task id                    | size  | max_steps |
// |----------------------------|-------|-----------|
// | MiniGrid-DoorKey-5x5-v0    | 5x5   | 250       |
// | MiniGrid-DoorKey-6x6-v0    | 6x6   | 360       |
// | MiniGrid-DoorKey-8x8-v0    | 8x8   | 640       |
// | MiniGrid-DoorKey-16x16-v0  | 16x16 | 2560      |
//
// A vertical wall at a random column splits the room; it has a locked yellow door at a
// random row. The agent and a yellow key start left of the wall, the green goal is in the
// bottom-right corner. Pick up the key, toggle the door open, reach the goal. Mission
// "use the key to open the door and then get to the goal"; reward
// 1 - 0.9 * step_count / max_steps on reaching the goal.
#include <string>

#include "env/grid_env.h"
#include "env/tasks/level_gen.h"
#include "env/tasks/registry.h"

namespace bidir {
namespace {

class DoorKey : public Task {
 public:
  explicit DoorKey(int size)
      : Task("MiniGrid-DoorKey-" + std::to_string(size) + "x" + std::to_string(size) + "-v0",
             size, size) {}

  void Generate(GridEnv* env) const override {
    const int w = width(), h = height();
    env->grid.Reset(w, h);
    env->grid.WallRect(0, 0, w, h);
    env->grid.Set(w - 2, h - 2, MakeObject(kGoal, kGreen));
    const int split = RandInt(env, 2, w - 2);
    env->grid.VertWall(split, 0, h);
    PlaceAgent(env, {0, 0}, {split, h});
    const int door_row = RandInt(env, 1, h - 2);
    env->grid.Set(split, door_row, MakeObject(kDoor, kYellow, kDoorLocked));
    const Cell key = MakeObject(kKey, kYellow);
    PlaceObj(env, &key, {0, 0}, {split, h});
    env->mission = "use the key to open the door and then get to the goal";
    env->max_steps = 10 * w * h;
  }
};

}  // namespace

BIDIR_REGISTER_TASKS(door_key) {
  for (int size : {5, 6, 8, 16}) tasks->push_back(std::make_unique<DoorKey>(size));
}

}  // namespace bidir
