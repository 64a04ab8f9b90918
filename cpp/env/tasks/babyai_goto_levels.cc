// BabyAI "Go to" levels (minigrid/envs/babyai/goto.py) beyond the five of babyai_goto.cc:
// room-size variants of GoToObj and GoToLocal, the 3x3 mazes GoTo / GoToOpen /
// GoToObjMaze*, GoToImpUnlock, GoToSeq*, GoToRedBlueBall, GoToDoor and GoToObjDoor.
// Mission "go to the/a {color} {type}" (GoToSeq: sequences of them); success when the
// agent faces a matching object; max_steps = room_size^2 * rows * cols per navigation.
#include <string>

#include "env/tasks/babyai_level.h"
#include "env/tasks/registry.h"

namespace bidir {
namespace {

std::unique_ptr<Task> GoToObj(std::string id, int rs) {
  return std::make_unique<BabyAILevel>(std::move(id), rs, 1, 1, [](LevelCtx& c) {
    c.rg->PlaceAgent(c.env);
    const auto objs = c.rg->AddDistractors(c.env, -1, -1, 1, true);
    c.SetRoot(c.st->AddAction(InstrNodeKind::kGoTo, c.Desc(objs[0].type, objs[0].color)));
  });
}

std::unique_ptr<Task> GoToLocal(std::string id, int rs, int n) {
  return std::make_unique<BabyAILevel>(std::move(id), rs, 1, 1, [n](LevelCtx& c) {
    c.rg->PlaceAgent(c.env);
    const auto objs = c.rg->AddDistractors(c.env, -1, -1, n, false);
    if (!c.CheckObjsReachable()) return;
    const auto& o = objs[RandIndex(c.env, static_cast<int>(objs.size()))];
    c.SetRoot(c.st->AddAction(InstrNodeKind::kGoTo, c.Desc(o.type, o.color)));
  });
}

std::unique_ptr<Task> GoToMaze(std::string id, int rs, int rows, int cols, int n, bool open) {
  return std::make_unique<BabyAILevel>(std::move(id), rs, rows, cols, [n, open](LevelCtx& c) {
    c.rg->PlaceAgent(c.env);
    c.rg->ConnectAll(c.env, LevelCtx::AllColors());
    const auto objs = c.rg->AddDistractors(c.env, -1, -1, n, false);
    if (!c.CheckObjsReachable()) return;
    const auto& o = objs[RandIndex(c.env, static_cast<int>(objs.size()))];
    c.SetRoot(c.st->AddAction(InstrNodeKind::kGoTo, c.Desc(o.type, o.color)));
    if (open) {  // open_all_doors
      for (const Room& room : c.rg->rooms) {
        for (int k = 0; k < 4; ++k) {
          if (room.doors[k] == 1) c.env->grid.At(room.door_pos[k]).state = kDoorOpen;
        }
      }
    }
  });
}

void GoToImpUnlock(LevelCtx& c) {
  // (minigrid's `is` comparisons never hold: every room gets distractors, see
  // AddLockedRoomAndKey)
  const auto [door, locked_room] = c.AddLockedRoomAndKey();
  c.rg->ConnectAll(c.env, LevelCtx::AllColors());
  c.AddDistractorsInEveryRoom(2);
  c.PlaceAgentOutside(locked_room);
  if (!c.CheckObjsReachable()) return;
  const auto objs = c.rg->AddDistractors(c.env, locked_room % c.rg->num_cols,
                                         locked_room / c.rg->num_cols, 1, false);
  c.SetRoot(c.st->AddAction(InstrNodeKind::kGoTo, c.Desc(objs[0].type, objs[0].color)));
}

void GoToRedBlueBall(LevelCtx& c) {
  c.rg->PlaceAgent(c.env);
  const auto dists = c.rg->AddDistractors(c.env, -1, -1, 7, false);
  for (const auto& d : dists) {
    if (d.type == kBall && (d.color == kBlue || d.color == kRed)) {
      return c.Reject();  // can only have one blue or red ball
    }
  }
  const uint8_t color = c.RandInt(0, 2) == 0 ? kRed : kBlue;
  const auto obj = c.AddObject(0, 0, kBall, color);
  if (!c.CheckObjsReachable()) return;
  c.SetRoot(c.st->AddAction(InstrNodeKind::kGoTo, c.Desc(obj.type, obj.color)));
}

void GoToDoor(LevelCtx& c) {
  std::vector<uint8_t> colors;
  for (int k = 0; k < 4; ++k) colors.push_back(c.rg->AddDoor(c.env, 1, 1).color);
  c.rg->PlaceAgent(c.env, 1, 1);
  const uint8_t color = colors[RandIndex(c.env, 4)];
  c.SetRoot(c.st->AddAction(InstrNodeKind::kGoTo, c.Desc(kDoor, color)));
}

void GoToObjDoor(LevelCtx& c) {
  c.rg->PlaceAgent(c.env, 1, 1);
  auto objs = c.rg->AddDistractors(c.env, 1, 1, 8, false);
  for (int k = 0; k < 4; ++k) {
    const auto d = c.rg->AddDoor(c.env, 1, 1);
    objs.push_back({kDoor, d.color, d.pos});
  }
  if (!c.CheckObjsReachable()) return;
  const auto& o = objs[RandIndex(c.env, static_cast<int>(objs.size()))];
  c.SetRoot(c.st->AddAction(InstrNodeKind::kGoTo, c.Desc(o.type, o.color)));
}

LevelGenOptions GoToSeqOptions(int rs, int rows, int cols, int n) {
  LevelGenOptions o;
  o.room_size = rs;
  o.num_rows = rows;
  o.num_cols = cols;
  o.num_dists = n;
  o.action_kinds = {"goto"};
  o.locked_room_prob = 0;
  o.locations = false;
  o.unblocking = false;
  return o;
}

}  // namespace

BIDIR_REGISTER_TASKS(babyai_goto_levels) {
  tasks->push_back(GoToObj("BabyAI-GoToObjS4-v0", 4));
  tasks->push_back(GoToObj("BabyAI-GoToObjS6-v1", 6));
  for (auto [rs, n] : std::vector<std::pair<int, int>>{{5, 2}, {6, 2}, {6, 3}, {6, 4}, {7, 4}, {7, 5},
                                                       {8, 2}, {8, 3}, {8, 4}, {8, 5}, {8, 6}, {8, 7}}) {
    tasks->push_back(GoToLocal("BabyAI-GoToLocalS" + std::to_string(rs) + "N" + std::to_string(n) + "-v0",
                               rs, n));
  }
  tasks->push_back(GoToMaze("BabyAI-GoTo-v0", 8, 3, 3, 18, false));
  tasks->push_back(GoToMaze("BabyAI-GoToOpen-v0", 8, 3, 3, 18, true));
  tasks->push_back(GoToMaze("BabyAI-GoToObjMaze-v0", 8, 3, 3, 1, false));
  tasks->push_back(GoToMaze("BabyAI-GoToObjMazeOpen-v0", 8, 3, 3, 1, true));
  tasks->push_back(GoToMaze("BabyAI-GoToObjMazeS4R2-v0", 4, 2, 2, 1, false));
  for (int rs : {4, 5, 6, 7}) {
    tasks->push_back(GoToMaze("BabyAI-GoToObjMazeS" + std::to_string(rs) + "-v0", rs, 3, 3, 1, false));
  }
  tasks->push_back(std::make_unique<BabyAILevel>("BabyAI-GoToImpUnlock-v0", 8, 3, 3, GoToImpUnlock));
  tasks->push_back(MakeLevelGen("BabyAI-GoToSeq-v0", GoToSeqOptions(8, 3, 3, 18)));
  tasks->push_back(MakeLevelGen("BabyAI-GoToSeqS5R2-v0", GoToSeqOptions(5, 2, 2, 4)));
  tasks->push_back(std::make_unique<BabyAILevel>("BabyAI-GoToRedBlueBall-v0", 8, 1, 1, GoToRedBlueBall));
  tasks->push_back(std::make_unique<BabyAILevel>("BabyAI-GoToDoor-v0", 7, 3, 3, GoToDoor));
  tasks->push_back(std::make_unique<BabyAILevel>("BabyAI-GoToObjDoor-v0", 8, 3, 3, GoToObjDoor));
}

}  // namespace bidir
