// BabyAI "Put next" levels (minigrid/envs/babyai/putnext.py): PutNextLocal* (one room)
// and PutNextS*N* (two rooms joined by a removed wall). Success on the drop that puts the
// object to move next to (4-adjacent) an object of the fixed description.
// In the *Carrying variants the agent starts holding the object to move (minigrid's
// first observation of them still shows it on the floor; see BabyAIState::start_carrying).
#include <string>

#include "env/tasks/babyai_level.h"
#include "env/tasks/registry.h"

namespace bidir {
namespace {

GenMissionFn PutNextLocal(int n) {
  return [n](LevelCtx& c) {
    c.rg->PlaceAgent(c.env);
    const auto objs = c.rg->AddDistractors(c.env, -1, -1, n, true);
    if (!c.CheckObjsReachable()) return;
    const auto pick = c.RandSubset(static_cast<int>(objs.size()), 2);
    const auto& o1 = objs[pick[0]];
    const auto& o2 = objs[pick[1]];
    const int move = c.Desc(o1.type, o1.color);
    const int fixed = c.Desc(o2.type, o2.color);
    c.SetRoot(c.st->AddAction(InstrNodeKind::kPutNext, move, fixed));
  };
}

GenMissionFn PutNext(int n, bool start_carrying) {
  return [n, start_carrying](LevelCtx& c) {
    c.rg->PlaceAgent(c.env, 0, 0);
    const auto objs_l = c.rg->AddDistractors(c.env, 0, 0, n, true);
    const auto objs_r = c.rg->AddDistractors(c.env, 1, 0, n, true);
    c.rg->RemoveWall(c.env, 0, 0, 0);
    auto a = objs_l[RandIndex(c.env, static_cast<int>(objs_l.size()))];
    auto b = objs_r[RandIndex(c.env, static_cast<int>(objs_r.size()))];
    if (c.RandBool()) std::swap(a, b);
    if (start_carrying) c.st->start_carrying = a.pos;
    const int move = c.Desc(a.type, a.color);
    const int fixed = c.Desc(b.type, b.color);
    c.SetRoot(c.st->AddAction(InstrNodeKind::kPutNext, move, fixed));
  };
}

}  // namespace

BIDIR_REGISTER_TASKS(babyai_putnext) {
  tasks->push_back(std::make_unique<BabyAILevel>("BabyAI-PutNextLocal-v0", 8, 1, 1, PutNextLocal(8)));
  tasks->push_back(std::make_unique<BabyAILevel>("BabyAI-PutNextLocalS5N3-v0", 5, 1, 1, PutNextLocal(3)));
  tasks->push_back(std::make_unique<BabyAILevel>("BabyAI-PutNextLocalS6N4-v0", 6, 1, 1, PutNextLocal(4)));
  for (auto [rs, n] : std::vector<std::pair<int, int>>{{4, 1}, {5, 2}, {5, 1}, {6, 3}, {7, 4}}) {
    tasks->push_back(std::make_unique<BabyAILevel>(
        "BabyAI-PutNextS" + std::to_string(rs) + "N" + std::to_string(n) + "-v0", rs, 1, 2,
        PutNext(n, false), 8 * rs * rs));
  }
  for (auto [rs, n] : std::vector<std::pair<int, int>>{{5, 2}, {6, 3}, {7, 4}}) {
    tasks->push_back(std::make_unique<BabyAILevel>(
        "BabyAI-PutNextS" + std::to_string(rs) + "N" + std::to_string(n) + "Carrying-v0", rs, 1, 2,
        PutNext(n, true), 8 * rs * rs));
  }
}

}  // namespace bidir
