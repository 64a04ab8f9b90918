// Other BabyAI levels (minigrid/envs/babyai/other.py): ActionObjDoor, FindObjS5/6/7,
// KeyCorridor*, OneRoomS8/12/16/20 and MoveTwoAcross* (two put-next in sequence).
#include <string>

#include "env/tasks/babyai_level.h"
#include "env/tasks/registry.h"

namespace bidir {
namespace {

void ActionObjDoor(LevelCtx& c) {
  auto objs = c.rg->AddDistractors(c.env, 1, 1, 5, true);
  for (int k = 0; k < 4; ++k) {
    const auto d = c.rg->AddDoor(c.env, 1, 1, -1, -1, 0);
    objs.push_back({kDoor, d.color, d.pos});
  }
  c.rg->PlaceAgent(c.env, 1, 1);
  const auto& o = objs[RandIndex(c.env, static_cast<int>(objs.size()))];
  const int desc = c.Desc(o.type, o.color);
  InstrNodeKind kind;
  if (o.type == kDoor) {
    kind = c.RandBool() ? InstrNodeKind::kGoTo : InstrNodeKind::kOpen;
  } else {
    kind = c.RandBool() ? InstrNodeKind::kGoTo : InstrNodeKind::kPickup;
  }
  c.SetRoot(c.st->AddAction(kind, desc));
}

void FindObj(LevelCtx& c) {
  const int i = c.RandInt(0, c.rg->num_rows);
  const int j = c.RandInt(0, c.rg->num_cols);
  const auto obj = c.AddObject(i, j);
  c.rg->PlaceAgent(c.env, 1, 1);
  c.rg->ConnectAll(c.env, LevelCtx::AllColors());
  c.SetRoot(c.st->AddAction(InstrNodeKind::kPickup, c.Desc(obj.type, -1)));
}

void KeyCorridor(LevelCtx& c) {
  const int rows = c.rg->num_rows;
  for (int j = 1; j < rows; ++j) c.rg->RemoveWall(c.env, 1, j, 3);
  const int room_idx = c.RandInt(0, rows);
  const auto door = c.rg->AddDoor(c.env, 2, room_idx, 2, -1, 1);
  const auto obj = c.AddObject(2, room_idx, kBall);
  const int key_row = c.RandInt(0, rows);
  c.AddObject(0, key_row, kKey, door.color);
  c.rg->PlaceAgent(c.env, 1, rows / 2);
  c.rg->ConnectAll(c.env, LevelCtx::AllColors());
  c.SetRoot(c.st->AddAction(InstrNodeKind::kPickup, c.Desc(obj.type, -1)));
}

void OneRoom(LevelCtx& c) {
  c.AddObject(0, 0, kBall);
  c.rg->PlaceAgent(c.env);
  c.SetRoot(c.st->AddAction(InstrNodeKind::kPickup, c.Desc(kBall, -1)));
}

GenMissionFn MoveTwoAcross(int n) {
  return [n](LevelCtx& c) {
    c.rg->PlaceAgent(c.env, 0, 0);
    const auto objs_l = c.rg->AddDistractors(c.env, 0, 0, n, true);
    const auto objs_r = c.rg->AddDistractors(c.env, 1, 0, n, true);
    c.rg->RemoveWall(c.env, 0, 0, 0);
    const auto l = c.RandSubset(static_cast<int>(objs_l.size()), 2);
    const auto r = c.RandSubset(static_cast<int>(objs_r.size()), 2);
    const auto &a = objs_l[l[0]], &b = objs_r[r[0]], &cc = objs_r[r[1]], &d = objs_l[l[1]];
    const int da = c.Desc(a.type, a.color), db = c.Desc(b.type, b.color);
    const int first = c.st->AddAction(InstrNodeKind::kPutNext, da, db);
    const int dc = c.Desc(cc.type, cc.color), dd = c.Desc(d.type, d.color);
    const int second = c.st->AddAction(InstrNodeKind::kPutNext, dc, dd);
    c.SetRoot(c.st->AddSeq(InstrNodeKind::kBefore, first, second));
  };
}

}  // namespace

BIDIR_REGISTER_TASKS(babyai_other) {
  tasks->push_back(std::make_unique<BabyAILevel>("BabyAI-ActionObjDoor-v0", 7, 3, 3, ActionObjDoor));
  for (int rs : {5, 6, 7}) {
    tasks->push_back(std::make_unique<BabyAILevel>("BabyAI-FindObjS" + std::to_string(rs) + "-v0", rs, 3,
                                                   3, FindObj, 20 * rs * rs));
  }
  tasks->push_back(std::make_unique<BabyAILevel>("BabyAI-KeyCorridor-v0", 6, 3, 3, KeyCorridor, 30 * 36));
  for (auto [rs, rows] : std::vector<std::pair<int, int>>{{3, 1}, {3, 2}, {3, 3}, {4, 3}, {5, 3}, {6, 3}}) {
    tasks->push_back(std::make_unique<BabyAILevel>(
        "BabyAI-KeyCorridorS" + std::to_string(rs) + "R" + std::to_string(rows) + "-v0", rs, rows, 3,
        KeyCorridor, 30 * rs * rs));
  }
  for (int rs : {8, 12, 16, 20}) {
    tasks->push_back(std::make_unique<BabyAILevel>("BabyAI-OneRoomS" + std::to_string(rs) + "-v0", rs, 1,
                                                   1, OneRoom));
  }
  tasks->push_back(std::make_unique<BabyAILevel>("BabyAI-MoveTwoAcrossS5N2-v0", 5, 1, 2, MoveTwoAcross(2),
                                                 16 * 25));
  tasks->push_back(std::make_unique<BabyAILevel>("BabyAI-MoveTwoAcrossS8N9-v0", 8, 1, 2, MoveTwoAcross(9),
                                                 16 * 64));
}

}  // namespace bidir
