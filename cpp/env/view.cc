#include "env/view.h"

#include <cstddef>
#include <cstring>

#include "env/tasks/task.h"

namespace bidir {
namespace {

// SeeBehind by (type, state): walls and closed or locked doors stop the light.
struct SeeTable {
  uint8_t light[16][4];
  constexpr SeeTable() : light() {
    for (int t = 0; t < 16; ++t) {
      for (int s = 0; s < 4; ++s) light[t][s] = t != kWall && (t != kDoor || s == kDoorOpen);
    }
  }
};
constexpr SeeTable kSee;

}  // namespace

void WriteView(const GridEnv& env, uint8_t* image) {
  constexpr int V = kViewSize;
  static const Cell kOutside = WallCell();
  const int fx = kDirDx[env.agent_dir], fy = kDirDy[env.agent_dir];
  const int rx = -fy, ry = fx;
  const Grid& grid = env.grid;
  const int w = grid.width(), h = grid.height();
  const Cell* cells = grid.cells().data();

  // Gather the first 4 bytes of every view cell (type, color, state and one more that is
  // never shown); see[vy] bit vx: light passes the cell. View cell (vx, vy) is world cell
  // origin + vx * R - vy * F.
  const int ox = env.agent.x + fx * (V - 1) - rx * (V / 2);
  const int oy = env.agent.y + fy * (V - 1) - ry * (V / 2);
  uint32_t word[V * V];
  uint8_t see[V] = {};
  auto put = [&](int vx, int vy, const Cell& c) {
    std::memcpy(&word[vx * V + vy], &c, 4);
    see[vy] |= kSee.light[c.type & 15][c.state & 3] << vx;
  };
  const int ex = ox + rx * (V - 1) - fx * (V - 1), ey = oy + ry * (V - 1) - fy * (V - 1);
  if (grid.InBounds(ox, oy) && grid.InBounds(ex, ey)) {
    // The whole window is inside the grid (the common case): walk it by pointer steps.
    const Cell* row = cells + static_cast<ptrdiff_t>(oy) * w + ox;
    const ptrdiff_t step_x = static_cast<ptrdiff_t>(ry) * w + rx;
    const ptrdiff_t step_y = -(static_cast<ptrdiff_t>(fy) * w + fx);
    for (int vx = 0; vx < V; ++vx, row += step_x) {
      const Cell* c = row;
      for (int vy = 0; vy < V; ++vy, c += step_y) put(vx, vy, *c);
    }
  } else {
    for (int vx = 0; vx < V; ++vx) {
      for (int vy = 0; vy < V; ++vy) {
        const int x = ox + rx * vx - fx * vy;
        const int y = oy + ry * vx - fy * vy;
        put(vx, vy, grid.InBounds(x, y) ? cells[static_cast<size_t>(y) * w + x] : kOutside);
      }
    }
  }

  // Grid.process_vis, row by row from the agent's row outwards; mask[vy] bit vx: visible.
  // In a row, light spreads right (then left) from every visible see-through cell, and
  // each such cell also lights the two cells of the next row beside it; each bit is final
  // when its pass reaches it, so whole rows are processed at once.
  constexpr unsigned kRow = (1u << V) - 1;
  uint8_t mask[V];
  if (env.task->see_through_walls()) {
    std::memset(mask, kRow, sizeof(mask));
  } else {
    unsigned next = 1u << (V / 2);  // the agent's cell
    for (int j = V - 1; j >= 0; --j) {
      const unsigned s = see[j];
      unsigned m = next;
      for (int k = 0; k < V - 1; ++k) m |= (m & s) << 1;
      m &= kRow;
      const unsigned right = m & s & (kRow >> 1);  // lit cells 0..V-2 that light rightwards
      for (int k = 0; k < V - 1; ++k) m |= (m & s) >> 1;
      const unsigned left = m & s & (kRow & ~1u);  // lit cells 1..V-1 that light leftwards
      mask[j] = static_cast<uint8_t>(m);
      next = (right | right << 1 | left | left >> 1) & kRow;
    }
  }

  // Visible cells show their encoding, hidden ones (0, 0, 0). Each 4-byte store spills
  // one byte into the next cell, which is written after it; the last cell is written
  // byte by byte.
  for (int vx = 0; vx < V; ++vx) {
    for (int vy = 0; vy < V; ++vy) {
      const int k = vx * V + vy;
      const uint32_t v = (mask[vy] >> vx & 1) ? word[k] : 0;
      if (k < V * V - 1) {
        std::memcpy(image + k * 3, &v, 4);
      } else {
        std::memcpy(image + k * 3, &v, 3);
      }
    }
  }
  uint8_t* self = image + ((V / 2) * V + (V - 1)) * 3;
  self[0] = env.carrying.type;
  self[1] = env.carrying.color;
  self[2] = env.carrying.state;
}

}  // namespace bidir
