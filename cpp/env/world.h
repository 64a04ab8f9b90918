// World objects of the grid world, encoded exactly as Farama minigrid encodes them.
//
// minigrid (minigrid/core/constants.py) encodes every cell of an observation as three
// bytes (OBJECT_TO_IDX, COLOR_TO_IDX, state). We store the grid in that same encoding so
// that writing an observation is a copy of three bytes per visible cell.
//
// | object | idx | can_overlap | can_pickup | see_behind |
// |--------|-----|-------------|------------|------------|
// | unseen | 0   | -           | -          | -          |
// | empty  | 1   | yes         | no         | yes        |
// | wall   | 2   | no          | no         | no         |
// | floor  | 3   | yes         | no         | yes        |
// | door   | 4   | if open     | no         | if open    |
// | key    | 5   | no          | yes        | yes        |
// | ball   | 6   | no          | yes        | yes        |
// | box    | 7   | no          | yes        | yes        |
// | goal   | 8   | yes         | no         | yes        |
// | lava   | 9   | yes         | no         | yes        |
// | agent  | 10  | (never stored in the grid)                |
#ifndef BIDIR_ENV_WORLD_H_
#define BIDIR_ENV_WORLD_H_

#include <array>
#include <cstdint>
#include <string_view>

namespace bidir {

enum ObjectType : uint8_t {
  kUnseen = 0,
  kEmpty = 1,
  kWall = 2,
  kFloor = 3,
  kDoor = 4,
  kKey = 5,
  kBall = 6,
  kBox = 7,
  kGoal = 8,
  kLava = 9,
  kAgent = 10,
};
inline constexpr int kNumObjectTypes = 11;

enum Color : uint8_t { kRed = 0, kGreen, kBlue, kPurple, kYellow, kGrey };
inline constexpr int kNumColors = 6;

// Door states; every other object has state 0.
enum DoorState : uint8_t { kDoorOpen = 0, kDoorClosed = 1, kDoorLocked = 2 };

// minigrid's Actions enum.
enum Action : int {
  kLeft = 0,
  kRight = 1,
  kForward = 2,
  kPickup = 3,
  kDrop = 4,
  kToggle = 5,
  kDone = 6,
};
inline constexpr int kNumActions = 7;

inline constexpr std::array<std::string_view, kNumObjectTypes> kObjectNames = {
    "unseen", "empty", "wall", "floor", "door", "key",
    "ball",   "box",   "goal", "lava",  "agent"};
// Color names in COLOR_TO_IDX order.
inline constexpr std::array<std::string_view, kNumColors> kColorNames = {
    "red", "green", "blue", "purple", "yellow", "grey"};
// minigrid's COLOR_NAMES = sorted(COLORS): the order in which _rand_elem draws colors.
inline constexpr std::array<Color, kNumColors> kColorDrawOrder = {kBlue,   kGreen, kGrey,
                                                                 kPurple, kRed,   kYellow};
inline constexpr std::array<std::string_view, kNumActions> kActionNames = {
    "turn left", "turn right", "go forward", "pick up", "drop", "toggle", "done"};

// DIR_TO_VEC: 0 = +x (east), 1 = +y (south), 2 = -x (west), 3 = -y (north).
inline constexpr int kDirDx[4] = {1, 0, -1, 0};
inline constexpr int kDirDy[4] = {0, 1, 0, -1};

// One grid cell. The first three bytes are minigrid's encoding of the object; a box
// additionally remembers what it contains (kEmpty when nothing).
struct Cell {
  uint8_t type = kEmpty;
  uint8_t color = 0;
  uint8_t state = 0;
  uint8_t inner_type = kEmpty;   // box contents: object type
  uint8_t inner_color = 0;       // box contents: color
  uint8_t inner_state = 0;       // box contents: state

  bool IsEmpty() const { return type == kEmpty; }
  bool operator==(const Cell& o) const {
    return type == o.type && color == o.color && state == o.state &&
           inner_type == o.inner_type && inner_color == o.inner_color &&
           inner_state == o.inner_state;
  }
};

inline Cell MakeObject(uint8_t type, uint8_t color, uint8_t state = 0) {
  Cell c;
  c.type = type;
  c.color = color;
  c.state = state;
  return c;
}
inline Cell EmptyCell() { return Cell{}; }
inline Cell WallCell() { return MakeObject(kWall, kGrey); }

// The agent may stand on this cell (minigrid: cell is None or cell.can_overlap()).
inline bool CanOverlap(const Cell& c) {
  switch (c.type) {
    case kEmpty:
    case kFloor:
    case kGoal:
    case kLava:
      return true;
    case kDoor:
      return c.state == kDoorOpen;
    default:
      return false;
  }
}
inline bool CanPickup(const Cell& c) {
  return c.type == kKey || c.type == kBall || c.type == kBox;
}
// Light passes through this cell (minigrid's see_behind; empty cells are see-through).
inline bool SeeBehind(const Cell& c) {
  if (c.type == kWall) return false;
  if (c.type == kDoor) return c.state == kDoorOpen;
  return true;
}

}  // namespace bidir

#endif  // BIDIR_ENV_WORLD_H_
