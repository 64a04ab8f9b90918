// Oracle for the BabyAI levels with instruction trees (GridEnv::babyai).
//
// Like minigrid's BabyAIBot it works through the instruction as a stack of subgoals:
// the first unfinished action of the tree (Before: a then b; After: b then a; And: a then
// b), and for it: drop what is in the way of the hands, go to (face) the object, open
// doors on the way (fetching the key of a locked door when needed), pick up, and for
// PutNext go next to the fixed object and drop. Unlike BabyAIBot it sees the whole grid
// (no exploration) and it does not move blocking objects: when no path exists it returns
// kDone. Replanned from the current state at every step (stateless), by breadth-first
// search over (position, direction) with forward, left and right, closed doors passable
// (toggled first) and locked doors passable only with their key.
#ifndef BIDIR_ENV_BABYAI_ORACLE_H_
#define BIDIR_ENV_BABYAI_ORACLE_H_

namespace bidir {

class GridEnv;

int BabyAIExpertAction(const GridEnv& env);

}  // namespace bidir

#endif  // BIDIR_ENV_BABYAI_ORACLE_H_
