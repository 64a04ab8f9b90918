// MiniGrid Empty rooms (minigrid/envs/empty.py).
//
// | task id                  | size  | max_steps |
// |--------------------------|-------|-----------|
// | MiniGrid-Empty-5x5-v0    | 5x5   | 100       |
// | MiniGrid-Empty-6x6-v0    | 6x6   | 144       |
// | MiniGrid-Empty-8x8-v0    | 8x8   | 256       |
// | MiniGrid-Empty-16x16-v0  | 16x16 | 1024      |
//
// The agent starts at (1, 1) facing east; a green goal is in the bottom-right corner.
// Mission "get to the green goal square"; reward 1 - 0.9 * step_count / max_steps on
// reaching the goal. No random draws: every episode is the same. As in minigrid, the
// view is not occluded (see_through_walls=True).
#include <string>

#include "env/grid_env.h"
#include "env/tasks/registry.h"

namespace bidir {
namespace {

class EmptyRoom : public Task {
 public:
  explicit EmptyRoom(int size)
      : Task("MiniGrid-Empty-" + std::to_string(size) + "x" + std::to_string(size) + "-v0",
             size, size, /*see_through_walls=*/true) {}

  void Generate(GridEnv* env) const override {
    const int w = width(), h = height();
    env->grid.Reset(w, h);
    env->grid.WallRect(0, 0, w, h);
    env->grid.Set(w - 2, h - 2, MakeObject(kGoal, kGreen));
    env->agent = {1, 1};
    env->agent_dir = 0;
    env->mission = "get to the green goal square";
    env->max_steps = 4 * w * h;
  }
};

}  // namespace

BIDIR_REGISTER_TASKS(empty) {
  for (int size : {5, 6, 8, 16}) tasks->push_back(std::make_unique<EmptyRoom>(size));
}

}  // namespace bidir
