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

  // View cell (vx, vy) is world cell origin + vx * R - vy * F. Row vy is a line of the
  // world along R: its part inside the grid is gathered by pointer steps, walls around it.
  // Rows go from the agent's outwards, each followed by its row of Grid.process_vis, and
  // stop once a row passes no light on: everything further out is hidden.
  const int ox = env.agent.x + fx * (V - 1) - rx * (V / 2);
  const int oy = env.agent.y + fy * (V - 1) - ry * (V / 2);
  const ptrdiff_t step_x = static_cast<ptrdiff_t>(ry) * w + rx;
  const bool along_y = fx != 0;  // facing east or west, rows run along y
  const int r = along_y ? ry : rx;
  const int along_limit = along_y ? h : w, across_limit = along_y ? w : h;
  const bool see_all = env.task->see_through_walls();
  // bytes[vx * V + vy]: the cell's first four bytes (type, color, state, junk); visible[vy]
  // bit vx: the cell is visible.
  uint32_t bytes[V * V];
  uint8_t visible[V];
  unsigned seen = 1u << (V / 2);
  for (int vy = V - 1; vy >= 0; --vy) {
    if (seen == 0) {
      visible[vy] = 0;
      for (int vx = 0; vx < V; ++vx) bytes[vx * V + vy] = 0;
      continue;
    }
    const int x0 = ox - fx * vy, y0 = oy - fy * vy;  // the row's cell at vx = 0
    // Along the row only one coordinate changes: a = a0 + r * vx in [0, along_limit).
    const int a0 = along_y ? y0 : x0, across = along_y ? x0 : y0;
    int lo = 0, hi = -1;
    if (across >= 0 && across < across_limit) {
      lo = std::max(0, r > 0 ? -a0 : a0 - along_limit + 1);
      hi = std::min(V - 1, r > 0 ? along_limit - 1 - a0 : a0);
    }
    unsigned clear = 0;  // bit vx: light passes the cell (see_behind)
    int vx = 0;
    for (; vx < lo && vx < V; ++vx) bytes[vx * V + vy] = kOutside;
    if (lo <= hi) {
      const Cell* c = cells + static_cast<ptrdiff_t>(y0) * w + x0 + lo * step_x;
      for (; vx <= hi; ++vx, c += step_x) {
        std::memcpy(&bytes[vx * V + vy], c, sizeof(uint32_t));
        const bool light = c->type != kWall && (c->type != kDoor || c->state == kDoorOpen);
        clear |= static_cast<unsigned>(light) << vx;
      }
    }
    for (; vx < V; ++vx) bytes[vx * V + vy] = kOutside;
    if (see_all) {
      visible[vy] = (1u << V) - 1;
    } else {
      const unsigned row = kVisRow.v[clear << V | seen];
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
