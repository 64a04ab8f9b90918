// BabyAI "Open" levels (minigrid/envs/babyai/open.py): Open, OpenRedDoor, OpenDoor*
// (by color or by location, strict in the Debug variant), OpenTwoDoors / OpenRedBlueDoors*
// (open one door, then the other) and OpenDoorsOrder* (one door, or two in a given order).
// Success on the toggle that opens a matching door; strict instructions fail on opening
// another door.
#include <string>

#include "env/tasks/babyai_level.h"
#include "env/tasks/registry.h"

namespace bidir {
namespace {

void Open(LevelCtx& c) {
  c.rg->PlaceAgent(c.env);
  c.rg->ConnectAll(c.env, LevelCtx::AllColors());
  c.rg->AddDistractors(c.env, -1, -1, 18, false);
  if (!c.CheckObjsReachable()) return;
  std::vector<uint8_t> colors;  // each door once per room it joins, as minigrid lists them
  for (int i = 0; i < c.rg->num_cols; ++i) {
    for (int j = 0; j < c.rg->num_rows; ++j) {
      const Room& room = c.rg->GetRoom(i, j);
      for (int k = 0; k < 4; ++k) {
        if (room.doors[k] == 1) colors.push_back(room.door_color[k]);
      }
    }
  }
  const uint8_t color = colors[RandIndex(c.env, static_cast<int>(colors.size()))];
  c.SetRoot(c.st->AddAction(InstrNodeKind::kOpen, c.Desc(kDoor, color)));
}

void OpenRedDoor(LevelCtx& c) {
  c.rg->AddDoor(c.env, 0, 0, 0, kRed, 0);
  c.rg->PlaceAgent(c.env, 0, 0);
  c.SetRoot(c.st->AddAction(InstrNodeKind::kOpen, c.Desc(kDoor, kRed)));
}

// select_by: 0 = None (drawn), 1 = color, 2 = loc.
GenMissionFn OpenDoor(bool debug, int select_by) {
  return [debug, select_by](LevelCtx& c) {
    const auto idx = c.RandSubset(kNumColors, 4);
    std::vector<uint8_t> colors;
    for (int k = 0; k < 4; ++k) {
      colors.push_back(kColorDrawOrder[idx[k]]);
      c.rg->AddDoor(c.env, 1, 1, k, colors[k], 0);
    }
    int sel = select_by;
    if (sel == 0) sel = c.RandInt(0, 2) == 0 ? 1 : 2;
    int desc;
    if (sel == 1) {
      desc = c.Desc(kDoor, colors[0]);
    } else {
      desc = c.Desc(kDoor, -1, static_cast<DescLoc>(c.RandInt(0, 4)));
    }
    c.rg->PlaceAgent(c.env, 1, 1);
    c.SetRoot(c.st->AddAction(InstrNodeKind::kOpen, desc, -1, debug));
  };
}

GenMissionFn OpenTwoDoors(int first, int second, bool strict) {
  return [first, second, strict](LevelCtx& c) {
    const auto idx = c.RandSubset(kNumColors, 2);
    const uint8_t c1 = first >= 0 ? first : kColorDrawOrder[idx[0]];
    const uint8_t c2 = second >= 0 ? second : kColorDrawOrder[idx[1]];
    c.rg->AddDoor(c.env, 1, 1, 2, c1, 0);
    c.rg->AddDoor(c.env, 1, 1, 0, c2, 0);
    c.rg->PlaceAgent(c.env, 1, 1);
    const int a = c.st->AddAction(InstrNodeKind::kOpen, c.Desc(kDoor, c1), -1, strict);
    const int b = c.st->AddAction(InstrNodeKind::kOpen, c.Desc(kDoor, c2));
    c.SetRoot(c.st->AddSeq(InstrNodeKind::kBefore, a, b));
  };
}

GenMissionFn OpenDoorsOrder(int n, bool debug) {
  return [n, debug](LevelCtx& c) {
    const auto idx = c.RandSubset(kNumColors, n);
    std::vector<uint8_t> colors;
    for (int k = 0; k < n; ++k) {
      colors.push_back(kColorDrawOrder[idx[k]]);
      c.rg->AddDoor(c.env, 1, 1, -1, colors[k], 0);
    }
    c.rg->PlaceAgent(c.env, 1, 1);
    const auto pick = c.RandSubset(n, 2);
    const uint8_t c1 = colors[pick[0]], c2 = colors[pick[1]];
    const int d1 = c.Desc(kDoor, c1);
    const int d2 = c.Desc(kDoor, c2);
    const int mode = c.RandInt(0, 3);
    if (mode == 0) {
      c.SetRoot(c.st->AddAction(InstrNodeKind::kOpen, d1, -1, debug));
      return;
    }
    const int a = c.st->AddAction(InstrNodeKind::kOpen, d1, -1, debug);
    const int b = c.st->AddAction(InstrNodeKind::kOpen, d2, -1, debug);
    c.SetRoot(c.st->AddSeq(mode == 1 ? InstrNodeKind::kBefore : InstrNodeKind::kAfter, a, b));
  };
}

}  // namespace

BIDIR_REGISTER_TASKS(babyai_open) {
  tasks->push_back(std::make_unique<BabyAILevel>("BabyAI-Open-v0", 8, 3, 3, Open));
  tasks->push_back(std::make_unique<BabyAILevel>("BabyAI-OpenRedDoor-v0", 5, 1, 2, OpenRedDoor));
  tasks->push_back(std::make_unique<BabyAILevel>("BabyAI-OpenDoor-v0", 8, 3, 3, OpenDoor(false, 0)));
  tasks->push_back(std::make_unique<BabyAILevel>("BabyAI-OpenDoorDebug-v0", 8, 3, 3, OpenDoor(true, 0)));
  tasks->push_back(std::make_unique<BabyAILevel>("BabyAI-OpenDoorColor-v0", 8, 3, 3, OpenDoor(false, 1)));
  tasks->push_back(std::make_unique<BabyAILevel>("BabyAI-OpenDoorLoc-v0", 8, 3, 3, OpenDoor(false, 2)));
  const int ms = 20 * 6 * 6;
  tasks->push_back(std::make_unique<BabyAILevel>("BabyAI-OpenTwoDoors-v0", 6, 3, 3,
                                                 OpenTwoDoors(-1, -1, false), ms));
  tasks->push_back(std::make_unique<BabyAILevel>("BabyAI-OpenRedBlueDoors-v0", 6, 3, 3,
                                                 OpenTwoDoors(kRed, kBlue, false), ms));
  tasks->push_back(std::make_unique<BabyAILevel>("BabyAI-OpenRedBlueDoorsDebug-v0", 6, 3, 3,
                                                 OpenTwoDoors(kRed, kBlue, true), ms));
  for (int n : {2, 4}) {
    for (bool debug : {false, true}) {
      tasks->push_back(std::make_unique<BabyAILevel>(
          "BabyAI-OpenDoorsOrderN" + std::to_string(n) + (debug ? "Debug" : "") + "-v0", 6, 3, 3,
          OpenDoorsOrder(n, debug), ms));
    }
  }
}

}  // namespace bidir
