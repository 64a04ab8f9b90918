// The BabyAI instruction language and its verifier (minigrid/envs/babyai/core/verifier.py).
//
// An instruction is a tree of nodes: GoTo, Pickup, Open, PutNext (actions) and And,
// Before, After (sequences), each with minigrid's verify() semantics, strict modes
// included. Object descriptions (ObjDesc) hold the identities of the objects they matched
// at reset, as minigrid holds object references: every object of the grid (walls and
// doors included) gets an id at reset, and the env moves ids with the objects on pickup,
// drop and box opening. After a drop, as RoomGridLevel.step does, every description
// recomputes its positions (find_matching_objs(use_location=False)).
// BABYAI_DONE_ACTIONS is not supported (minigrid's default: the done action is ignored).
#ifndef BIDIR_ENV_BABYAI_INSTR_H_
#define BIDIR_ENV_BABYAI_INSTR_H_

#include <cstdint>
#include <string>
#include <vector>

#include "env/grid.h"

namespace bidir {

class GridEnv;

inline constexpr uint8_t kAnyAttr = 0xFF;  // ObjDesc type/color None

enum class DescLoc : int8_t { kNone = -1, kLeft = 0, kRight = 1, kFront = 2, kBehind = 3 };

struct ObjDesc {
  uint8_t type = kAnyAttr;
  uint8_t color = kAnyAttr;
  DescLoc loc = DescLoc::kNone;
  std::vector<int32_t> obj_set;  // object ids
  std::vector<Pos> obj_poss;
};

enum class InstrNodeKind : uint8_t { kGoTo, kPickup, kOpen, kPutNext, kAnd, kBefore, kAfter };
enum class VerifyStatus : uint8_t { kContinue, kSuccess, kFailure };

struct InstrNode {
  InstrNodeKind kind = InstrNodeKind::kGoTo;
  bool strict = false;
  int desc = -1;   // GoTo/Pickup/Open desc, PutNext desc_move (index into descs)
  int desc2 = -1;  // PutNext desc_fixed
  int a = -1;      // sequences: instr_a, instr_b (index into nodes)
  int b = -1;
  VerifyStatus a_done = VerifyStatus::kContinue;
  VerifyStatus b_done = VerifyStatus::kContinue;
  int32_t pre_carrying = -1;  // Pickup/PutNext preCarrying (object id, -1 = None)
};

// The instruction of a BabyAI level and the identities of the grid's objects.
struct BabyAIState {
  std::vector<InstrNode> nodes;
  std::vector<ObjDesc> descs;
  int root = -1;
  // Room geometry (RoomGrid.room_from_pos) for location-relative descriptions.
  int room_size = 0;
  // Object identity: id of the object in each cell (-1: empty). Empty while a level is
  // generated: ids are then the cell indices (nothing has moved yet).
  std::vector<int32_t> ids;
  std::vector<Pos> cur_pos;  // WorldObj.cur_pos by id ((-1,-1) while carried)
  int32_t carried_id = -1;
  // PutNext's start_carrying: minigrid lifts this object into the agent's hands after the
  // reset observation is made; it is lifted at the start of the first step here, so the
  // reset observation still shows it on the floor, as minigrid's does.
  Pos start_carrying{-1, -1};
  // An object left or entered the grid since the descriptions last computed their
  // positions (derived: a restored state sets it, which is always exact). A drop with
  // nothing moved leaves every position as it is, so the recomputation is skipped.
  bool objs_moved = true;

  bool tracking() const { return !ids.empty(); }
  // Back to a default-constructed state, keeping the vectors' storage (resets are hot).
  void Clear() {
    nodes.clear();
    descs.clear();
    root = -1;
    room_size = 0;
    ids.clear();
    cur_pos.clear();
    carried_id = -1;
    start_carrying = {-1, -1};
    objs_moved = true;
  }
  int32_t IdAt(const GridEnv& env, Pos p) const;

  // Builders (return the new index).
  int AddDesc(uint8_t type, uint8_t color, DescLoc loc = DescLoc::kNone);
  int AddAction(InstrNodeKind kind, int desc, int desc2 = -1, bool strict = false);
  int AddSeq(InstrNodeKind kind, int a, int b);
};

// ObjDesc.find_matching_objs.
void FindMatchingObjs(const GridEnv& env, const BabyAIState& st, ObjDesc* desc,
                      bool use_location = true);
// Instr.surface (resolves every description).
std::string Surface(const GridEnv& env, BabyAIState* st, int node);
// Instr.reset_verifier. find_objs false: the descriptions' objects were just found (by
// Surface, in the same state) and are kept.
void ResetVerifier(const GridEnv& env, BabyAIState* st, int node, bool find_objs = true);
// RoomGridLevel.num_navs_needed.
int NumNavsNeeded(const BabyAIState& st, int node);
// PutNextInstr.objs_next (generation time).
bool ObjsNext(const GridEnv& env, const BabyAIState& st, const InstrNode& n);
// Gives every non-empty cell its id (the cell index) once a level is generated.
void StartTracking(GridEnv* env, BabyAIState* st);
// Throws std::invalid_argument (naming the field) unless env.babyai is a state a BabyAI
// episode of env's grid can be in: a tree whose children precede their parents, every
// index and position in range, and object ids consistent with the grid and the carried
// object. env's grid, carrying and step_count must be set (and valid) first.
void CheckBabyAIState(const GridEnv& env);
// The most instruction nodes a state may hold (BossLevel's deepest tree has 7).
inline constexpr int kMaxInstrNodes = 64;

// Called by GridEnv::Step before the action when babyai.start_carrying is set.
void BabyAIStartCarrying(GridEnv* env);
// Called by GridEnv::Step after the action: moves object ids, updates positions after a
// drop and verifies the instruction (RoomGridLevel.step).
void BabyAIAfterAction(GridEnv* env, int action, Pos fwd, bool was_carrying,
                       bool fwd_was_box, double* reward, bool* terminated, bool* success);

}  // namespace bidir

#endif  // BIDIR_ENV_BABYAI_INSTR_H_
