#include "env/view.h"

#include <cstring>

#include "env/tasks/task.h"

namespace bidir {

void WriteView(const GridEnv& env, uint8_t* image) {
  constexpr int V = kViewSize;
  static const Cell kOutside = WallCell();
  const int fx = kDirDx[env.agent_dir], fy = kDirDy[env.agent_dir];
  const int rx = -fy, ry = fx;
  const Grid& grid = env.grid;

  const Cell* cells[V][V];
  bool see[V][V];
  for (int vx = 0; vx < V; ++vx) {
    for (int vy = 0; vy < V; ++vy) {
      const int x = env.agent.x + fx * (V - 1 - vy) + rx * (vx - V / 2);
      const int y = env.agent.y + fy * (V - 1 - vy) + ry * (vx - V / 2);
      const Cell* c = grid.InBounds(x, y) ? &grid.At(x, y) : &kOutside;
      cells[vx][vy] = c;
      see[vx][vy] = SeeBehind(*c);
    }
  }

  // Grid.process_vis, row by row from the agent's row outwards.
  bool mask[V][V] = {};
  mask[V / 2][V - 1] = true;
  const bool see_all = env.task->see_through_walls();
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

  for (int vx = 0; vx < V; ++vx) {
    for (int vy = 0; vy < V; ++vy) {
      uint8_t* out = image + (vx * V + vy) * 3;
      if (see_all || mask[vx][vy]) {
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
