#include "env/tasks/babyai_level.h"

#include <algorithm>
#include <memory>

namespace bidir {

RoomGrid::Added LevelCtx::AddObject(int i, int j, int kind, int color) {
  static constexpr uint8_t kKinds[3] = {kKey, kBall, kBox};
  if (kind < 0) kind = kKinds[RandIndex(env, 3)];
  if (color < 0) color = RandColor();
  const Pos pos = rg->AddObject(env, i, j, static_cast<uint8_t>(kind), static_cast<uint8_t>(color));
  return {static_cast<uint8_t>(kind), static_cast<uint8_t>(color), pos};
}

std::pair<RoomGrid::DoorAdded, int> LevelCtx::AddLockedRoomAndKey() {
  const int id = RandInt(0, rg->num_cols);
  const int jd = RandInt(0, rg->num_rows);
  const auto door = rg->AddDoor(env, id, jd, -1, -1, 1);
  const int ik = RandInt(0, rg->num_cols);
  const int jk = RandInt(0, rg->num_rows);
  AddObject(ik, jk, kKey, door.color);
  return {door, jd * rg->num_cols + id};
}

std::vector<int> LevelCtx::RandSubset(int len, int n) {
  std::vector<int> lst(len);
  for (int k = 0; k < len; ++k) lst[k] = k;
  std::vector<int> out;
  while (static_cast<int>(out.size()) < n) {
    const int idx = RandIndex(env, static_cast<int>(lst.size()));
    out.push_back(lst[idx]);
    lst.erase(lst.begin() + idx);
  }
  return out;
}

namespace {

// RoomGridLevel.validate_instrs: false where minigrid raises RejectSampling.
bool Validate(LevelCtx& c, const std::vector<uint8_t>& locked_colors, int idx) {
  BabyAIState* st = c.st;
  const InstrNode n = st->nodes[idx];
  if (n.kind == InstrNodeKind::kPutNext) {
    ResetVerifier(*c.env, st, idx);
    const ObjDesc& move = st->descs[n.desc];
    const ObjDesc& fixed = st->descs[n.desc2];
    for (int32_t a : move.obj_set) {
      if (std::find(fixed.obj_set.begin(), fixed.obj_set.end(), a) != fixed.obj_set.end()) {
        return false;  // there are objects that match both lhs and rhs of PutNext
      }
    }
    if (ObjsNext(*c.env, *st, st->nodes[idx])) return false;  // objs already next to each other
  }
  if (n.a < 0) {  // an action
    if (!c.unblocking) return true;
    for (int d : {n.desc, n.desc2}) {
      if (d < 0) continue;
      const ObjDesc& desc = st->descs[d];
      if (desc.type == kKey &&
          std::find(locked_colors.begin(), locked_colors.end(), desc.color) != locked_colors.end()) {
        return false;  // cannot do anything with/to a key that can be used to open a door
      }
    }
    return true;
  }
  return Validate(c, locked_colors, n.a) && Validate(c, locked_colors, n.b);
}

}  // namespace

void BabyAILevel::Generate(GridEnv* env) const {
  RoomGrid rooms(room_size_, num_rows_, num_cols_);
  BabyAIState* st = &env->babyai;
  while (true) {
    try {
      rooms.GenGrid(env);
      st->Clear();
      st->room_size = room_size_;
      LevelCtx c{env, &rooms, st, unblocking_};
      gen_(c);
      if (c.rejected) continue;
      std::vector<uint8_t> locked_colors;
      if (unblocking_) {
        for (int i = 0; i < num_cols_; ++i) {
          for (int j = 0; j < num_rows_; ++j) {
            const Room& room = rooms.GetRoom(i, j);
            for (int k = 0; k < 4; ++k) {
              if (room.doors[k] != 1) continue;
              const Cell& d = env->grid.At(room.door_pos[k]);
              if (d.type == kDoor && d.state == kDoorLocked) locked_colors.push_back(d.color);
            }
          }
        }
      }
      if (!Validate(c, locked_colors, st->root)) continue;
      break;
    } catch (const GenerationRetry&) {
      continue;
    }
  }
  env->mission = Surface(*env, st, st->root);
  StartTracking(env, st);
  ResetVerifier(*env, st, st->root, /*find_objs=*/false);  // Surface just found them
  env->instr.kind = InstrKind::kTree;
  env->max_steps = fixed_max_steps_ > 0 ? fixed_max_steps_
                                        : NumNavsNeeded(*st, st->root) * room_size_ * room_size_ *
                                              num_rows_ * num_cols_;
}

namespace {

constexpr uint8_t kObjTypes[4] = {kBox, kBall, kKey, kDoor};

struct LevelGenRun {
  LevelCtx& c;
  const LevelGenOptions& o;
  int locked_room = -1;

  int RandObj(const std::vector<uint8_t>& types, int max_tries = 100) {
    int num_tries = 0;
    while (true) {
      if (num_tries > max_tries) throw GenerationRetry{"failed to find suitable object"};
      ++num_tries;
      const int ci = c.RandInt(0, kNumColors + 1);
      const uint8_t color = ci == 0 ? kAnyAttr : kColorDrawOrder[ci - 1];
      const uint8_t type = types[RandIndex(c.env, static_cast<int>(types.size()))];
      DescLoc loc = DescLoc::kNone;
      if (o.locations && c.RandBool()) loc = static_cast<DescLoc>(c.RandInt(0, 4));
      ObjDesc d;
      d.type = type;
      d.color = color;
      d.loc = loc;
      FindMatchingObjs(*c.env, *c.st, &d);
      if (d.obj_set.empty()) continue;
      if (!o.implicit_unlock && locked_room >= 0) {
        const Room& lr = c.rg->rooms[locked_room];
        bool any = false;
        for (const Pos& p : d.obj_poss) any = any || !lr.PosInside(p);
        if (!any) continue;
      }
      c.st->descs.push_back(d);
      return static_cast<int>(c.st->descs.size()) - 1;
    }
  }

  int RandInstr(const std::vector<std::string>& kinds) {
    const std::string& kind = kinds[RandIndex(c.env, static_cast<int>(kinds.size()))];
    static const std::vector<uint8_t> kAll(kObjTypes, kObjTypes + 4);
    static const std::vector<uint8_t> kNotDoor(kObjTypes, kObjTypes + 3);
    static const std::vector<uint8_t> kDoorOnly(1, kDoor);
    if (kind == "action") {
      const std::string& action =
          o.action_kinds[RandIndex(c.env, static_cast<int>(o.action_kinds.size()))];
      if (action == "goto") return c.st->AddAction(InstrNodeKind::kGoTo, RandObj(kAll));
      if (action == "pickup") return c.st->AddAction(InstrNodeKind::kPickup, RandObj(kNotDoor));
      if (action == "open") return c.st->AddAction(InstrNodeKind::kOpen, RandObj(kDoorOnly));
      const int move = RandObj(kNotDoor);
      const int fixed = RandObj(kAll);
      return c.st->AddAction(InstrNodeKind::kPutNext, move, fixed);
    }
    if (kind == "and") {
      const int a = RandInstr({"action"});
      const int b = RandInstr({"action"});
      return c.st->AddSeq(InstrNodeKind::kAnd, a, b);
    }
    const int a = RandInstr({"action", "and"});
    const int b = RandInstr({"action", "and"});
    const bool before = c.RandInt(0, 2) == 0;
    return c.st->AddSeq(before ? InstrNodeKind::kBefore : InstrNodeKind::kAfter, a, b);
  }

  void AddLockedRoom() {
    RoomGrid::DoorAdded door{};
    while (true) {
      const int i = c.RandInt(0, c.rg->num_cols);
      const int j = c.RandInt(0, c.rg->num_rows);
      const int door_idx = c.RandInt(0, 4);
      locked_room = j * c.rg->num_cols + i;
      if (c.rg->rooms[locked_room].neighbor[door_idx] < 0) continue;
      door = c.rg->AddDoor(c.env, i, j, door_idx, -1, 1);
      break;
    }
    while (true) {
      const int i = c.RandInt(0, c.rg->num_cols);
      const int j = c.RandInt(0, c.rg->num_rows);
      if (j * c.rg->num_cols + i == locked_room) continue;
      c.AddObject(i, j, kKey, door.color);
      break;
    }
  }

  void GenMission() {
    locked_room = -1;
    if (c.env->rng.Uniform(0.0, 1.0) < o.locked_room_prob) AddLockedRoom();
    c.rg->ConnectAll(c.env, LevelCtx::AllColors());
    c.rg->AddDistractors(c.env, -1, -1, o.num_dists, false);
    c.PlaceAgentOutside(locked_room);
    if (!o.unblocking && !c.CheckObjsReachable()) return;
    c.SetRoot(RandInstr(o.instr_kinds));
  }
};

}  // namespace

std::unique_ptr<Task> MakeLevelGen(std::string id, LevelGenOptions opts) {
  const int rs = opts.room_size, rows = opts.num_rows, cols = opts.num_cols;
  const bool unblocking = opts.unblocking;
  return std::make_unique<BabyAILevel>(
      std::move(id), rs, rows, cols,
      [opts](LevelCtx& c) {
        LevelGenRun run{c, opts};
        run.GenMission();
      },
      0, unblocking);
}

}  // namespace bidir
