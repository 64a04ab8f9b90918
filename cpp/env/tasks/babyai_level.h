// RoomGridLevel (minigrid/envs/babyai/core/roomgrid_level.py) and LevelGen (levelgen.py):
// the generator shared by the BabyAI levels whose missions are instruction trees.
//
// Generate() replays RoomGridLevel._gen_grid: RoomGrid layout, the level's gen_mission,
// validate_instrs, retrying from the current RNG state on GenerationRetry (minigrid's
// RejectSampling / RecursionError); then the mission is the instruction's surface, the
// verifier is reset and max_steps is num_navs_needed * room_size^2 * rows * cols unless
// the level fixes it.
#ifndef BIDIR_ENV_TASKS_BABYAI_LEVEL_H_
#define BIDIR_ENV_TASKS_BABYAI_LEVEL_H_

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "env/babyai_instr.h"
#include "env/grid_env.h"
#include "env/tasks/level_gen.h"
#include "env/tasks/task.h"

namespace bidir {

// The state a gen_mission works on, with minigrid's helpers.
struct LevelCtx {
  GridEnv* env;
  RoomGrid* rg;
  BabyAIState* st;
  bool unblocking = false;
  // The sample was rejected (minigrid's RejectSampling): Generate draws the level again
  // once gen_mission returns. Rejections are frequent in crowded rooms, so the common ones
  // return instead of throwing GenerationRetry (which still works from any depth).
  bool rejected = false;

  void Reject() { rejected = true; }
  // RoomGridLevel.check_objs_reachable: false, and the sample rejected, if an object
  // cannot be reached from the agent without moving another one.
  bool CheckObjsReachable() {
    if (rg->ObjsReachable(env)) return true;
    Reject();
    return false;
  }

  int RandInt(int lo, int hi) { return bidir::RandInt(env, lo, hi); }
  bool RandBool() { return bidir::RandBool(env); }
  uint8_t RandColor() { return kColorDrawOrder[RandIndex(env, kNumColors)]; }
  // RoomGrid.add_object: kind (key/ball/box) then color drawn when < 0.
  RoomGrid::Added AddObject(int i, int j, int kind = -1, int color = -1);
  // A locked door in a random room, then its key in a random room (GoToImpUnlock and
  // Unlock). Minigrid compares the rooms with `is` against numpy integers, which never
  // holds, so the key may land in the locked room. Returns the door and the locked
  // room's index (j * num_cols + i).
  std::pair<RoomGrid::DoorAdded, int> AddLockedRoomAndKey();
  // _rand_subset of n distinct indices into a list of size len.
  std::vector<int> RandSubset(int len, int n);
  // All colors (COLOR_NAMES order).
  static std::vector<uint8_t> AllColors() {
    return {kColorDrawOrder.begin(), kColorDrawOrder.end()};
  }
  // RoomGrid.add_distractors(i, j, n, all_unique=False) in every room, columns outer.
  void AddDistractorsInEveryRoom(int n) {
    for (int i = 0; i < rg->num_cols; ++i) {
      for (int j = 0; j < rg->num_rows; ++j) rg->AddDistractors(env, i, j, n, false);
    }
  }
  // RoomGrid.place_agent, again until the agent is outside `room` (j * num_cols + i).
  void PlaceAgentOutside(int room) {
    do {
      rg->PlaceAgent(env);
    } while (rg->RoomIndexFromPos(env->agent) == room);
  }
  void SetRoot(int node) { st->root = node; }
  int Desc(int type, int color, DescLoc loc = DescLoc::kNone) {
    return st->AddDesc(static_cast<uint8_t>(type < 0 ? kAnyAttr : type),
                       static_cast<uint8_t>(color < 0 ? kAnyAttr : color), loc);
  }
};

using GenMissionFn = std::function<void(LevelCtx&)>;

class BabyAILevel : public Task {
 public:
  // fixed_max_steps > 0: RoomGridLevel's max_steps argument.
  BabyAILevel(std::string id, int room_size, int num_rows, int num_cols, GenMissionFn gen,
              int fixed_max_steps = 0, bool unblocking = false)
      : Task(std::move(id), (room_size - 1) * num_cols + 1, (room_size - 1) * num_rows + 1),
        room_size_(room_size),
        num_rows_(num_rows),
        num_cols_(num_cols),
        gen_(std::move(gen)),
        fixed_max_steps_(fixed_max_steps),
        unblocking_(unblocking) {}

  void Generate(GridEnv* env) const final;
  int instr_tree_room_size() const override { return room_size_; }

 private:
  int room_size_;
  int num_rows_;
  int num_cols_;
  GenMissionFn gen_;
  int fixed_max_steps_;
  bool unblocking_;
};

// LevelGen's parameters.
struct LevelGenOptions {
  int room_size = 8;
  int num_rows = 3;
  int num_cols = 3;
  int num_dists = 18;
  double locked_room_prob = 0.5;
  bool locations = true;
  bool unblocking = true;
  bool implicit_unlock = true;
  std::vector<std::string> action_kinds = {"goto", "pickup", "open", "putnext"};
  std::vector<std::string> instr_kinds = {"action", "and", "seq"};
};

std::unique_ptr<Task> MakeLevelGen(std::string id, LevelGenOptions opts);

}  // namespace bidir

#endif  // BIDIR_ENV_TASKS_BABYAI_LEVEL_H_
