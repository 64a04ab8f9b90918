// BabyAI "Go to" levels (minigrid/envs/babyai/goto.py), single-room variants.
//
// | task id                        | room | distractors          | mission                      |
// |--------------------------------|------|----------------------|------------------------------|
// | BabyAI-GoToRedBallNoDists-v0   | 8x8  | none                 | go to the red ball           |
// | BabyAI-GoToRedBallGrey-v0      | 8x8  | 7, all recolored grey| go to the red ball           |
// | BabyAI-GoToRedBall-v0          | 8x8  | 7 random             | go to the/a red ball         |
// | BabyAI-GoToObj-v0              | 8x8  | none (one object)    | go to the {color} {type}     |
// | BabyAI-GoToLocal-v0            | 8x8  | 8 random, one target | go to the/a {color} {type}   |
//
// Actions: 7 (left, right, forward, pickup, drop, toggle, done); success when, after any
// action, the agent faces an object matching the mission (GoToInstr); reward
// 1 - 0.9 * step_count / max_steps; max_steps = room_size^2 = 64; truncation at max_steps.
// Generation follows RoomGridLevel._gen_grid: on a rejected sample (unreachable object,
// failed placement) the whole level is generated again from the current RNG state.
#include <string>

#include "env/grid_env.h"
#include "env/tasks/level_gen.h"
#include "env/tasks/registry.h"
#include "env/tasks/task.h"

namespace bidir {
namespace {

// RoomGridLevel: a RoomGrid whose mission is a BabyAI instruction.
class RoomGridLevel : public Task {
 public:
  RoomGridLevel(std::string id, int room_size, int num_rows, int num_cols)
      : Task(std::move(id), (room_size - 1) * num_cols + 1, (room_size - 1) * num_rows + 1),
        room_size_(room_size),
        num_rows_(num_rows),
        num_cols_(num_cols) {}

  void Generate(GridEnv* env) const final {
    RoomGrid rooms(room_size_, num_rows_, num_cols_);
    while (true) {
      try {
        rooms.GenGrid(env);
        if (GenMission(env, &rooms)) break;
      } catch (const GenerationRetry&) {
        continue;
      }
    }
    FinishGoTo(env);
    env->max_steps = room_size_ * room_size_ * num_rows_ * num_cols_;  // one navigation
  }

 protected:
  // gen_mission(): places the agent and objects and sets env->instr (kind, type, color);
  // false when the sample is rejected (unreachable objects: frequent, so not thrown).
  virtual bool GenMission(GridEnv* env, RoomGrid* rooms) const = 0;

 private:
  // ObjDesc.find_matching_objs + surface(): targets and "go to the/a {color} {type}".
  static void FinishGoTo(GridEnv* env) {
    Instr& instr = env->instr;
    instr.targets.clear();
    for (int x = 0; x < env->grid.width(); ++x) {
      for (int y = 0; y < env->grid.height(); ++y) {
        const Cell& c = env->grid.At(x, y);
        if (c.type == instr.obj_type && c.color == instr.obj_color) instr.targets.push_back({x, y});
      }
    }
    env->mission = "go to ";
    env->mission += instr.targets.size() > 1 ? "a " : "the ";
    env->mission += kColorNames[instr.obj_color];
    env->mission += ' ';
    env->mission += kObjectNames[instr.obj_type];
  }

  int room_size_;
  int num_rows_;
  int num_cols_;
};

void SetGoTo(GridEnv* env, uint8_t type, uint8_t color) {
  env->instr.kind = InstrKind::kGoTo;
  env->instr.obj_type = type;
  env->instr.obj_color = color;
}

// GoToRedBall / GoToRedBallGrey / GoToRedBallNoDists.
class GoToRedBall : public RoomGridLevel {
 public:
  GoToRedBall(std::string id, int num_dists, bool grey_dists)
      : RoomGridLevel(std::move(id), 8, 1, 1), num_dists_(num_dists), grey_(grey_dists) {}

 protected:
  bool GenMission(GridEnv* env, RoomGrid* rooms) const override {
    rooms->PlaceAgent(env);
    rooms->AddObject(env, 0, 0, kBall, kRed);
    const auto dists = rooms->AddDistractors(env, -1, -1, num_dists_, /*all_unique=*/false);
    if (grey_) {
      for (const auto& d : dists) env->grid.At(d.pos).color = kGrey;
    }
    if (!rooms->ObjsReachable(env)) return false;
    SetGoTo(env, kBall, kRed);
    return true;
  }

 private:
  int num_dists_;
  bool grey_;
};

// GoToObj: one random object, no distractors.
class GoToObj : public RoomGridLevel {
 public:
  GoToObj() : RoomGridLevel("BabyAI-GoToObj-v0", 8, 1, 1) {}

 protected:
  bool GenMission(GridEnv* env, RoomGrid* rooms) const override {
    rooms->PlaceAgent(env);
    const auto objs = rooms->AddDistractors(env, -1, -1, 1, /*all_unique=*/true);
    SetGoTo(env, objs[0].type, objs[0].color);
    return true;
  }
};

// GoToLocal: 8 random objects, the target drawn among them.
class GoToLocal : public RoomGridLevel {
 public:
  GoToLocal(std::string id, int room_size, int num_dists)
      : RoomGridLevel(std::move(id), room_size, 1, 1), num_dists_(num_dists) {}

 protected:
  bool GenMission(GridEnv* env, RoomGrid* rooms) const override {
    rooms->PlaceAgent(env);
    const auto objs = rooms->AddDistractors(env, -1, -1, num_dists_, /*all_unique=*/false);
    if (!rooms->ObjsReachable(env)) return false;
    const auto& obj = objs[RandIndex(env, static_cast<int>(objs.size()))];
    SetGoTo(env, obj.type, obj.color);
    return true;
  }

 private:
  int num_dists_;
};

}  // namespace

BIDIR_REGISTER_TASKS(babyai_goto) {
  tasks->push_back(std::make_unique<GoToRedBall>("BabyAI-GoToRedBallNoDists-v0", 0, false));
  tasks->push_back(std::make_unique<GoToRedBall>("BabyAI-GoToRedBallGrey-v0", 7, true));
  tasks->push_back(std::make_unique<GoToRedBall>("BabyAI-GoToRedBall-v0", 7, false));
  tasks->push_back(std::make_unique<GoToObj>());
  tasks->push_back(std::make_unique<GoToLocal>("BabyAI-GoToLocal-v0", 8, 8));
}

}  // namespace bidir
