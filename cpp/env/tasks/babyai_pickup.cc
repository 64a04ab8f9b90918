// BabyAI "Pick up" levels (minigrid/envs/babyai/pickup.py): Pickup, UnblockPickup,
// PickupLoc (LevelGen, locations), PickupDist* (by type, color or both; strict in Debug)
// and PickupAbove. Success on the pickup action that lifts a matching object.
#include <string>

#include "env/tasks/babyai_level.h"
#include "env/tasks/registry.h"

namespace bidir {
namespace {

GenMissionFn Pickup(int n, bool unblock) {
  return [n, unblock](LevelCtx& c) {
    c.rg->PlaceAgent(c.env);
    c.rg->ConnectAll(c.env, LevelCtx::AllColors());
    const auto objs = c.rg->AddDistractors(c.env, -1, -1, n, false);
    if (unblock) {
      if (c.rg->ObjsReachable(c.env)) return c.Reject();  // all objects reachable
    } else {
      if (!c.CheckObjsReachable()) return;
    }
    const auto& o = objs[RandIndex(c.env, static_cast<int>(objs.size()))];
    c.SetRoot(c.st->AddAction(InstrNodeKind::kPickup, c.Desc(o.type, o.color)));
  };
}

GenMissionFn PickupDist(bool debug) {
  return [debug](LevelCtx& c) {
    const auto objs = c.rg->AddDistractors(c.env, -1, -1, 5, true);
    c.rg->PlaceAgent(c.env, 0, 0);
    const auto& o = objs[RandIndex(c.env, static_cast<int>(objs.size()))];
    int type = o.type, color = o.color;
    const int select_by = c.RandInt(0, 3);  // type, color, both
    if (select_by == 1) type = -1;
    if (select_by == 0) color = -1;
    c.SetRoot(c.st->AddAction(InstrNodeKind::kPickup, c.Desc(type, color), -1, debug));
  };
}

void PickupAbove(LevelCtx& c) {
  const auto obj = c.AddObject(1, 0);
  c.rg->AddDoor(c.env, 1, 1, 3, -1, 0);
  c.rg->PlaceAgent(c.env, 1, 1);
  c.rg->ConnectAll(c.env, LevelCtx::AllColors());
  c.SetRoot(c.st->AddAction(InstrNodeKind::kPickup, c.Desc(obj.type, obj.color)));
}

}  // namespace

BIDIR_REGISTER_TASKS(babyai_pickup) {
  tasks->push_back(std::make_unique<BabyAILevel>("BabyAI-Pickup-v0", 8, 3, 3, Pickup(18, false)));
  tasks->push_back(std::make_unique<BabyAILevel>("BabyAI-UnblockPickup-v0", 8, 3, 3, Pickup(20, true)));
  LevelGenOptions loc;
  loc.action_kinds = {"pickup"};
  loc.instr_kinds = {"action"};
  loc.num_rows = loc.num_cols = 1;
  loc.num_dists = 8;
  loc.locked_room_prob = 0;
  loc.locations = true;
  loc.unblocking = false;
  tasks->push_back(MakeLevelGen("BabyAI-PickupLoc-v0", loc));
  tasks->push_back(std::make_unique<BabyAILevel>("BabyAI-PickupDist-v0", 7, 1, 1, PickupDist(false)));
  tasks->push_back(std::make_unique<BabyAILevel>("BabyAI-PickupDistDebug-v0", 7, 1, 1, PickupDist(true)));
  tasks->push_back(std::make_unique<BabyAILevel>("BabyAI-PickupAbove-v0", 6, 3, 3, PickupAbove, 8 * 36));
}

}  // namespace bidir
