#include "env/view.h"

#include <cstring>

#include "env/tasks/task.h"

namespace bidir {

namespace {

// The world cells of the view ([vx][vy]; outside the grid: a wall) and which ones the agent
// sees.
void ViewCells(const GridEnv& env, const Cell* cells[kViewSize][kViewSize],
               bool mask[kViewSize][kViewSize]) {
  constexpr int V = kViewSize;
  static const Cell kOutside = WallCell();
  const Grid& grid = env.grid;

  bool see[V][V];
  for (int vx = 0; vx < V; ++vx) {
    for (int vy = 0; vy < V; ++vy) {
      const Pos p = ViewToWorld(env, vx, vy);
      const Cell* c = grid.InBounds(p.x, p.y) ? &grid.At(p) : &kOutside;
      cells[vx][vy] = c;
      see[vx][vy] = SeeBehind(*c);
    }
  }

  // Grid.process_vis, row by row from the agent's row outwards.
  const bool see_all = env.task->see_through_walls();
  for (int vx = 0; vx < V; ++vx) {
    for (int vy = 0; vy < V; ++vy) mask[vx][vy] = see_all;
  }
  mask[V / 2][V - 1] = true;
  for (int j = V - 1; j >= 0 && !see_all; --j) {
    for (int i = 0; i < V - 1; ++i) {
      if (!mask[i][j] || !see[i][j]) continue;
      mask[i + 1][j] = true;
      if (j > 0) {
        mask[i + 1][j - 1] = true;
        mask[i][j - 1] = true;
      }
    }
    for (int i = V - 1; i > 0; --i) {
      if (!mask[i][j] || !see[i][j]) continue;
      mask[i - 1][j] = true;
      if (j > 0) {
        mask[i - 1][j - 1] = true;
        mask[i][j - 1] = true;
      }
    }
  }
}

}  // namespace

void VisibilityMask(const GridEnv& env, bool mask[kViewSize][kViewSize]) {
  const Cell* cells[kViewSize][kViewSize];
  ViewCells(env, cells, mask);
}

void WriteView(const GridEnv& env, uint8_t* image) {
  constexpr int V = kViewSize;
  const Cell* cells[V][V];
  bool mask[V][V];
  ViewCells(env, cells, mask);
  for (int vx = 0; vx < V; ++vx) {
    for (int vy = 0; vy < V; ++vy) {
      uint8_t* out = image + (vx * V + vy) * 3;
      if (mask[vx][vy]) {
        const Cell* c = cells[vx][vy];
        out[0] = c->type;
        out[1] = c->color;
        out[2] = c->state;
      } else {
        out[0] = out[1] = out[2] = 0;
      }
    }
  }
  uint8_t* self = image + ((V / 2) * V + (V - 1)) * 3;
  self[0] = env.carrying.type;
  self[1] = env.carrying.color;
  self[2] = env.carrying.state;
}

}  // namespace bidir
