// A task generates episodes: the grid layout, agent start, mission and step limit.
//
// Each task family lives in one file under env/tasks/ and mirrors one minigrid class; its
// Generate() makes exactly the random draws that minigrid's _gen_grid / gen_mission make,
// in the same order, from the env's numpy-exact RNG. Adding a task family is one
// file with a BIDIR_REGISTER_TASKS block (env/tasks/registry.h).
#ifndef BIDIR_ENV_TASKS_TASK_H_
#define BIDIR_ENV_TASKS_TASK_H_

#include <memory>
#include <string>
#include <vector>

namespace bidir {

class GridEnv;

class Task {
 public:
  // see_through_walls: minigrid's flag of the same name (the view then has no occlusion).
  Task(std::string id, int width, int height, bool see_through_walls = false)
      : id_(std::move(id)), width_(width), height_(height), see_through_walls_(see_through_walls) {}
  virtual ~Task() = default;

  const std::string& id() const { return id_; }
  int width() const { return width_; }
  int height() const { return height_; }
  bool see_through_walls() const { return see_through_walls_; }

  // Fills env->grid, agent, agent_dir, mission, max_steps and instr for a new episode,
  // drawing from env->rng. Called by GridEnv::Reset with agent = (-1, -1).
  virtual void Generate(GridEnv* env) const = 0;
  // The size of the rooms of a BabyAI level whose missions are instruction trees
  // (InstrKind::kTree, BabyAIState.room_size); 0 for every other task.
  virtual int instr_tree_room_size() const { return 0; }

 private:
  std::string id_;
  int width_;
  int height_;
  bool see_through_walls_;
};

// All registered tasks, in registration order.
const std::vector<std::unique_ptr<Task>>& AllTasks();
// The task with this minigrid id, or nullptr.
const Task* FindTask(const std::string& id);
std::vector<std::string> ListTaskIds();

}  // namespace bidir

#endif  // BIDIR_ENV_TASKS_TASK_H_
