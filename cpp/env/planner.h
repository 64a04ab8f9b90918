// Oracle planner: the optimal next action for an env, by breadth-first search.
//
// The search runs over (position, direction, key in hand, door open) with the actions
// left, right, forward, pickup (of the key that opens the task's door) and toggle (of that
// door), on the current grid. Goals: facing a GoTo target after an action (BabyAI GoTo
// levels), or stepping onto a goal tile (MiniGrid tasks). Lava and closed doors block.
// The plan is the shortest within that model; actions that only move other objects
// (picking up a distractor to clear a path) are not part of it. Ties are broken in the
// order left, right, forward, pickup, toggle, so the answer is deterministic.
#ifndef BIDIR_ENV_PLANNER_H_
#define BIDIR_ENV_PLANNER_H_

#include "env/babyai_oracle.h"
#include "env/grid_env.h"

namespace bidir {

struct Plan {
  int first_action = kDone;  // kDone when no plan exists in the planner's model
  int length = -1;           // number of actions to success; -1 when no plan exists
};

Plan PlanShortest(const GridEnv& env);

// BabyAI levels with instruction trees use the subgoal oracle of env/babyai_oracle.h.
inline int ExpertAction(const GridEnv& env) {
  if (env.instr.kind == InstrKind::kTree) return BabyAIExpertAction(env);
  return PlanShortest(env).first_action;
}

}  // namespace bidir

#endif  // BIDIR_ENV_PLANNER_H_
