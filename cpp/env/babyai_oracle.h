// Oracle for the BabyAI levels with instruction trees (GridEnv::babyai).
//
// Like minigrid's BabyAIBot it works through the instruction as a stack of subgoals: the
// first unfinished action of the tree (Before: a then b; After: b then a; And: a then b),
// and for it: go to (face) the object, open the doors on the way, unlock a locked door on
// the way with its key (fetched first, from a box if it is in one), move blocking objects
// out of the way (pick up, drop where nothing is cut off), pick up with free hands, and
// for PutNext clear the route to the fixed object, fetch the moved one, go next to the
// fixed one and drop. Unlike BabyAIBot it sees the whole grid, so it never explores. It is
// stateless: every action is replanned from the current state alone (so it also advises
// from any state a student reaches), by Dijkstra over (position, direction) whose steps
// cost what they take in actions (a closed door: a toggle more; a blocking object: a lower
// bound of moving it aside). Returns kDone when the subgoal cannot be reached at all.
#ifndef BIDIR_ENV_BABYAI_ORACLE_H_
#define BIDIR_ENV_BABYAI_ORACLE_H_

namespace bidir {

class GridEnv;

int BabyAIExpertAction(const GridEnv& env);

}  // namespace bidir

#endif  // BIDIR_ENV_BABYAI_ORACLE_H_
