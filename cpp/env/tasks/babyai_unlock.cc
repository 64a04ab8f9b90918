// BabyAI "Unlock" levels (minigrid/envs/babyai/unlock.py): Unlock, UnlockLocal*,
// KeyInBox (the key is inside a box), UnlockPickup*, BlockedUnlockPickup (a ball blocks
// the locked door) and UnlockToUnlock. Locked doors open with a key of their color.
#include <string>

#include "env/tasks/babyai_level.h"
#include "env/tasks/registry.h"

namespace bidir {
namespace {

void Unlock(LevelCtx& c) {
  // (minigrid's `is` comparisons never hold: every room gets distractors, see
  // AddLockedRoomAndKey)
  const auto [door, locked_room] = c.AddLockedRoomAndKey();
  if (c.RandBool()) {
    std::vector<uint8_t> colors;
    for (uint8_t col : kColorDrawOrder) {
      if (col != door.color) colors.push_back(col);
    }
    c.rg->ConnectAll(c.env, colors);
  } else {
    c.rg->ConnectAll(c.env, LevelCtx::AllColors());
  }
  c.AddDistractorsInEveryRoom(3);
  c.PlaceAgentOutside(locked_room);
  if (!c.CheckObjsReachable()) return;
  c.SetRoot(c.st->AddAction(InstrNodeKind::kOpen, c.Desc(kDoor, door.color)));
}

GenMissionFn UnlockLocal(bool distractors) {
  return [distractors](LevelCtx& c) {
    const auto door = c.rg->AddDoor(c.env, 1, 1, -1, -1, 1);
    c.AddObject(1, 1, kKey, door.color);
    if (distractors) c.rg->AddDistractors(c.env, 1, 1, 3, true);
    c.rg->PlaceAgent(c.env, 1, 1);
    c.SetRoot(c.st->AddAction(InstrNodeKind::kOpen, c.Desc(kDoor, -1)));
  };
}

void KeyInBox(LevelCtx& c) {
  const auto door = c.rg->AddDoor(c.env, 1, 1, -1, -1, 1);
  Cell box = MakeObject(kBox, c.RandColor());
  box.inner_type = kKey;
  box.inner_color = door.color;
  c.rg->PlaceInRoom(c.env, 1, 1, box);
  c.rg->PlaceAgent(c.env, 1, 1);
  c.SetRoot(c.st->AddAction(InstrNodeKind::kOpen, c.Desc(kDoor, -1)));
}

GenMissionFn UnlockPickup(bool distractors) {
  return [distractors](LevelCtx& c) {
    const auto obj = c.AddObject(1, 0, kBox);
    const auto door = c.rg->AddDoor(c.env, 0, 0, 0, -1, 1);
    c.AddObject(0, 0, kKey, door.color);
    if (distractors) c.rg->AddDistractors(c.env, -1, -1, 4, true);
    c.rg->PlaceAgent(c.env, 0, 0);
    c.SetRoot(c.st->AddAction(InstrNodeKind::kPickup, c.Desc(obj.type, obj.color)));
  };
}

void BlockedUnlockPickup(LevelCtx& c) {
  c.AddObject(1, 0, kBox);
  const auto door = c.rg->AddDoor(c.env, 0, 0, 0, -1, 1);
  const uint8_t color = c.RandColor();
  c.env->grid.Set(door.pos.x - 1, door.pos.y, MakeObject(kBall, color));
  c.AddObject(0, 0, kKey, door.color);
  c.rg->PlaceAgent(c.env, 0, 0);
  c.SetRoot(c.st->AddAction(InstrNodeKind::kPickup, c.Desc(kBox, -1)));
}

void UnlockToUnlock(LevelCtx& c) {
  const auto idx = c.RandSubset(kNumColors, 2);
  const uint8_t c0 = kColorDrawOrder[idx[0]], c1 = kColorDrawOrder[idx[1]];
  c.rg->AddDoor(c.env, 0, 0, 0, c0, 1);
  c.AddObject(2, 0, kKey, c0);
  c.rg->AddDoor(c.env, 1, 0, 0, c1, 1);
  c.AddObject(1, 0, kKey, c1);
  c.AddObject(0, 0, kBall);
  c.rg->PlaceAgent(c.env, 1, 0);
  c.SetRoot(c.st->AddAction(InstrNodeKind::kPickup, c.Desc(kBall, -1)));
}

}  // namespace

BIDIR_REGISTER_TASKS(babyai_unlock) {
  tasks->push_back(std::make_unique<BabyAILevel>("BabyAI-Unlock-v0", 8, 3, 3, Unlock));
  tasks->push_back(std::make_unique<BabyAILevel>("BabyAI-UnlockLocal-v0", 8, 3, 3, UnlockLocal(false)));
  tasks->push_back(std::make_unique<BabyAILevel>("BabyAI-UnlockLocalDist-v0", 8, 3, 3, UnlockLocal(true)));
  tasks->push_back(std::make_unique<BabyAILevel>("BabyAI-KeyInBox-v0", 8, 3, 3, KeyInBox));
  // UnlockPickup's max_steps argument is dropped by minigrid (`if max is None`).
  tasks->push_back(std::make_unique<BabyAILevel>("BabyAI-UnlockPickup-v0", 6, 1, 2, UnlockPickup(false)));
  tasks->push_back(std::make_unique<BabyAILevel>("BabyAI-UnlockPickupDist-v0", 6, 1, 2, UnlockPickup(true)));
  tasks->push_back(std::make_unique<BabyAILevel>("BabyAI-BlockedUnlockPickup-v0", 6, 1, 2,
                                                 BlockedUnlockPickup, 16 * 36));
  tasks->push_back(std::make_unique<BabyAILevel>("BabyAI-UnlockToUnlock-v0", 6, 1, 3, UnlockToUnlock,
                                                 30 * 36));
}

}  // namespace bidir
