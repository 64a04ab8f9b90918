// One grid-world environment: the state of an episode and minigrid's step semantics.
//
// GridEnv reproduces minigrid 3.2.0's MiniGridEnv.step (and RoomGridLevel.step for BabyAI
// levels) bit for bit: actions, movement, pickup/drop/toggle, rewards
// 1 - 0.9 * step_count / max_steps (computed in float64), termination and truncation.
// Episode layouts come from a Task, which draws from the env's own numpy-exact RNG, so a
// seeded env replays exactly the episodes of gymnasium.make(task).reset(seed=...).
#ifndef BIDIR_ENV_GRID_ENV_H_
#define BIDIR_ENV_GRID_ENV_H_

#include <cstdint>
#include <string>
#include <vector>

#include "core/numpy_rng.h"
#include "env/babyai_instr.h"
#include "env/grid.h"
#include "env/world.h"

namespace bidir {

class Task;

// The BabyAI instruction an episode is verified against (minigrid's verifier.py).
enum class InstrKind : uint8_t {
  kNone = 0,  // plain MiniGrid task: success only by reaching a goal tile
  kGoTo = 1,  // GoToInstr: success when the agent faces a target object after an action
  kTree = 2,  // any BabyAI instruction, verified by GridEnv::babyai (env/babyai_instr.h)
};

struct Instr {
  InstrKind kind = InstrKind::kNone;
  uint8_t obj_type = kEmpty;   // ObjDesc.type
  uint8_t obj_color = 0;       // ObjDesc.color
  // Positions of the objects that matched the description at reset (ObjDesc.obj_poss).
  // GoTo targets can never move: picking one up needs the agent to face it first, which
  // already ends the episode, so these stay valid for the whole episode.
  std::vector<Pos> targets;
};

struct StepOutcome {
  double reward = 0.0;  // minigrid's Python float; stored as float32 in batched outputs
  bool terminated = false;
  bool truncated = false;
  bool success = false;  // the episode ended by completing its mission
};

class GridEnv {
 public:
  explicit GridEnv(const Task* task);

  // Reseeds the RNG exactly as gymnasium's Env.reset(seed=seed) does.
  void Seed(uint64_t seed) { rng.Seed(seed); }
  // Starts a new episode, continuing the RNG stream (minigrid's reset() without a seed).
  void Reset();
  // Applies one action (0..6); the caller validates the range.
  StepOutcome Step(int action);

  Pos FrontPos() const { return {agent.x + kDirDx[agent_dir], agent.y + kDirDy[agent_dir]}; }
  bool Carrying() const { return carrying.type != kEmpty; }

  const Task* task;
  NumpyRng rng;
  Grid grid;
  Pos agent{-1, -1};
  int agent_dir = 0;
  Cell carrying;  // kEmpty when nothing is carried
  int step_count = 0;
  int max_steps = 0;
  std::string mission;
  Instr instr;
  // Running statistics of the current episode (reported when it ends).
  double episode_return = 0.0;
  // BabyAI levels (instr.kind == kTree): the instruction tree and object identities.
  BabyAIState babyai;
};

}  // namespace bidir

#endif  // BIDIR_ENV_GRID_ENV_H_
