#include "env/view.h"

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "env/tasks/task.h"

namespace bidir {

namespace {

constexpr int V = kViewSize;
// The gather reads a cell's first bytes as one little-endian word (type in the low byte).
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "WriteView assumes little-endian");
static_assert(sizeof(Cell) >= sizeof(uint32_t), "WriteView reads four bytes of a Cell");

// The 7-bit reversals: bit i of k is bit 6 - i of kReverse7[k].
struct Reverse7Table {
  uint8_t v[128];
  constexpr Reverse7Table() : v() {
    for (int k = 0; k < 128; ++k) {
      for (int i = 0; i < V; ++i) v[k] |= static_cast<uint8_t>(((k >> i) & 1) << (V - 1 - i));
    }
  }
};
constexpr Reverse7Table kReverse7;

// The cells of `clear` that pass light on in a sweep towards higher bits: a lit clear cell
// lights the next one, and so on along a run of clear cells. Adding the lit clear cells to
// `clear` carries each through the rest of its run (a later one in the same run is its own
// bit), so the XOR marks the runs from their first lit cell on.
inline unsigned Emitters(unsigned lit, unsigned clear) {
  const unsigned seeds = lit & clear;
  return (((clear + seeds) ^ clear) | seeds) & clear;
}

// minigrid's view of a cell outside the grid: a wall. Its first four bytes, as stored.
uint32_t OutsideBytes() {
  const Cell wall = WallCell();
  uint32_t v;
  std::memcpy(&v, &wall, sizeof v);
  return v;
}

}  // namespace

unsigned ProcessVisRow(unsigned seen, unsigned clear, unsigned* below) {
  // Left to right: cells 0..5 pass light to their right neighbour.
  const unsigned right = Emitters(seen, clear & 0x3Fu);
  seen |= right << 1;
  // Right to left (as a left-to-right sweep on the reversed bits): cells 6..1 pass it left.
  const unsigned left = kReverse7.v[Emitters(kReverse7.v[seen], kReverse7.v[clear & 0x7Eu])];
  seen |= left >> 1;
  // Every cell that passed light on lights itself and its neighbour in the next row.
  *below |= (right | right << 1 | left | left >> 1) & 0x7Fu;
  return seen;
}

namespace {
// ProcessVisRow of every (seen, clear): entry clear << 7 | seen is visible | below << 7.
struct VisRowTable {
  uint16_t v[1 << (2 * V)];
  VisRowTable() {
    for (unsigned clear = 0; clear < (1u << V); ++clear) {
      for (unsigned seen = 0; seen < (1u << V); ++seen) {
        unsigned below = 0;
        const unsigned visible = ProcessVisRow(seen, clear, &below);
        v[clear << V | seen] = static_cast<uint16_t>(visible | below << V);
      }
    }
  }
};
}  // namespace

void WriteView(const GridEnv& env, uint8_t* image) {
  static const uint32_t kOutside = OutsideBytes();
  static const VisRowTable kVisRow;
  const int fx = kDirDx[env.agent_dir], fy = kDirDy[env.agent_dir];
  const int rx = -fy, ry = fx;
  const Grid& grid = env.grid;
  const int w = grid.width(), h = grid.height();
  const Cell* cells = grid.cells().data();

  // View cell (vx, vy) is world cell origin + vx * R - vy * F. Column vx is a line of the
  // world along -F: gather the part inside the grid by pointer steps, walls around it.
  const int ox = env.agent.x + fx * (V - 1) - rx * (V / 2);
  const int oy = env.agent.y + fy * (V - 1) - ry * (V / 2);
  const ptrdiff_t step_y = -(static_cast<ptrdiff_t>(fy) * w + fx);
  // bytes[vx * V + vy]: the cell's first four bytes (type, color, state, junk).
  uint32_t bytes[V * V];
  unsigned clear[V] = {};  // clear[vy] bit vx: light passes the cell (see_behind)
  for (int vx = 0; vx < V; ++vx) {
    const int cx = ox + rx * vx, cy = oy + ry * vx;  // the column's cell at vy = 0
    // Along the column only the coordinate of F changes: a = a0 - f * vy in [0, limit).
    const bool along_x = fx != 0;
    const int a0 = along_x ? cx : cy, across = along_x ? cy : cx;
    const int f = along_x ? fx : fy, limit = along_x ? w : h;
    int lo = 0, hi = -1;
    if (across >= 0 && across < (along_x ? h : w)) {
      lo = std::max(0, f > 0 ? a0 - limit + 1 : -a0);
      hi = std::min(V - 1, f > 0 ? a0 : limit - 1 - a0);
    }
    uint32_t* col = bytes + vx * V;
    int vy = 0;
    for (; vy < lo && vy < V; ++vy) col[vy] = kOutside;
    if (lo <= hi) {
      const Cell* c = cells + static_cast<ptrdiff_t>(cy) * w + cx + lo * step_y;
      for (; vy <= hi; ++vy, c += step_y) {
        std::memcpy(&col[vy], c, sizeof(uint32_t));
        const bool light = c->type != kWall && (c->type != kDoor || c->state == kDoorOpen);
        clear[vy] |= static_cast<unsigned>(light) << vx;
      }
    }
    for (; vy < V; ++vy) col[vy] = kOutside;
  }

  // Grid.process_vis, row by row from the agent's row outwards (bit vx of a row mask is
  // view column vx); light passes every cell but walls and closed or locked doors.
  uint8_t visible[V];
  if (env.task->see_through_walls()) {
    std::memset(visible, (1u << V) - 1, sizeof visible);
  } else {
    unsigned seen = 1u << (V / 2);
    for (int vy = V - 1; vy >= 0; --vy) {
      const unsigned row = kVisRow.v[clear[vy] << V | seen];
      visible[vy] = static_cast<uint8_t>(row & 0x7Fu);
      seen = row >> V;
    }
  }

  // The image: every visible cell's three bytes, zeros for a hidden one. Four-byte stores
  // in order, each overwriting the spare byte of the one before; the last one is three.
  for (int vx = 0; vx < V; ++vx) {
    for (int vy = 0; vy < V; ++vy) {
      const int k = vx * V + vy;
      const uint32_t keep = 0u - ((visible[vy] >> vx) & 1u);
      const uint32_t b = bytes[k] & keep;
      if (k + 1 < V * V) {
        std::memcpy(image + k * 3, &b, sizeof b);
      } else {
        std::memcpy(image + k * 3, &b, 3);
      }
    }
  }
  uint8_t* self = image + ((V / 2) * V + (V - 1)) * 3;
  self[0] = env.carrying.type;
  self[1] = env.carrying.color;
  self[2] = env.carrying.state;
}

// The visibility of WriteView, read back from its image: a visible cell never encodes as
// kUnseen (0), a hidden one always does; the agent's own cell is always visible.
void VisibilityMask(const GridEnv& env, bool mask[kViewSize][kViewSize]) {
  uint8_t image[V * V * 3];
  WriteView(env, image);
  for (int vx = 0; vx < V; ++vx) {
    for (int vy = 0; vy < V; ++vy) mask[vx][vy] = image[(vx * V + vy) * 3] != kUnseen;
  }
  mask[V / 2][V - 1] = true;
}

}  // namespace bidir
