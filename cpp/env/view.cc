#include "env/view.h"

#include <cstddef>
#include <cstring>

#include "env/tasks/task.h"

namespace bidir {

void WriteView(const GridEnv& env, uint8_t* image) {
  constexpr int V = kViewSize;
  static const Cell kOutside = WallCell();
  const int fx = kDirDx[env.agent_dir], fy = kDirDy[env.agent_dir];
  const int rx = -fy, ry = fx;
  const Grid& grid = env.grid;
  const int w = grid.width();
  const Cell* cells = grid.cells().data();

  // Gather every view cell's encoding into the image; see[vy] bit vx: light passes it.
  // View cell (vx, vy) is world cell origin + vx * R - vy * F.
  const int ox = env.agent.x + fx * (V - 1) - rx * (V / 2);
  const int oy = env.agent.y + fy * (V - 1) - ry * (V / 2);
  uint8_t see[V] = {};
  auto put = [&](int vx, int vy, const Cell& c) {
    uint8_t* out = image + (vx * V + vy) * 3;
    out[0] = c.type;
    out[1] = c.color;
    out[2] = c.state;
    const bool light = c.type != kWall && (c.type != kDoor || c.state == kDoorOpen);  // SeeBehind
    see[vy] |= static_cast<uint8_t>(light) << vx;
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
  if (!env.task->see_through_walls()) {
    uint8_t mask[V] = {};
    mask[V - 1] = 1 << (V / 2);
    for (int j = V - 1; j >= 0; --j) {
      unsigned m = mask[j], below = 0;
      for (int i = 0; i < V - 1; ++i) {
        if ((m & see[j]) >> i & 1) {
          m |= 2u << i;
          below |= 3u << i;
        }
      }
      for (int i = V - 1; i > 0; --i) {
        if ((m & see[j]) >> i & 1) {
          m |= 1u << (i - 1);
          below |= 3u << (i - 1);
        }
      }
      mask[j] = static_cast<uint8_t>(m);
      if (j > 0) mask[j - 1] |= static_cast<uint8_t>(below);
    }
    for (int vy = 0; vy < V; ++vy) {
      for (unsigned hidden = ~mask[vy] & ((1u << V) - 1); hidden != 0; hidden &= hidden - 1) {
        const int vx = __builtin_ctz(hidden);
        std::memset(image + (vx * V + vy) * 3, 0, 3);
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
  constexpr int V = kViewSize;
  uint8_t image[V * V * 3];
  WriteView(env, image);
  for (int vx = 0; vx < V; ++vx) {
    for (int vy = 0; vy < V; ++vy) mask[vx][vy] = image[(vx * V + vy) * 3] != kUnseen;
  }
  mask[V / 2][V - 1] = true;
}

}  // namespace bidir
