// The agent's egocentric 7x7 view, encoded exactly as minigrid's gen_obs()["image"].
//
// View cell (vx, vy) shows world cell agent + F * (6 - vy) + R * (vx - 3), where F is the
// facing direction and R = (-F.y, F.x) its right; cells outside the grid are walls. The
// agent sits at (3, 6) looking towards vy = 0. Visibility follows Grid.process_vis
// (no seeing through walls or closed doors) unless the task sets see_through_walls;
// hidden cells encode as (0, 0, 0). The cell
// under the agent shows the carried object, or empty (1, 0, 0).
// Output layout: image[(vx * 7 + vy) * 3 + channel], minigrid's [vx, vy, c] indexing.
#ifndef BIDIR_ENV_VIEW_H_
#define BIDIR_ENV_VIEW_H_

#include <cstdint>

#include "env/grid_env.h"

namespace bidir {

inline constexpr int kViewSize = 7;
inline constexpr int kImageBytes = kViewSize * kViewSize * 3;

// The world position view cell (vx, vy) shows (possibly outside the grid).
inline Pos ViewToWorld(const GridEnv& env, int vx, int vy) {
  const int fx = kDirDx[env.agent_dir], fy = kDirDy[env.agent_dir];
  return {env.agent.x + fx * (kViewSize - 1 - vy) - fy * (vx - kViewSize / 2),
          env.agent.y + fy * (kViewSize - 1 - vy) + fx * (vx - kViewSize / 2)};
}

void WriteView(const GridEnv& env, uint8_t* image);
// One row of Grid.process_vis on bit masks, bit vx for view column vx: `seen` holds the row's
// cells made visible so far, `clear` those light passes (see_behind). Returns the row's
// visible cells after its left-to-right and right-to-left passes and adds to *below the
// cells those passes make visible in the next row away from the agent.
unsigned ProcessVisRow(unsigned seen, unsigned clear, unsigned* below);
// Which view cells ([vx][vy]) the agent sees: Grid.process_vis, or all of them when the task
// sees through walls (minigrid's vis_mask).
void VisibilityMask(const GridEnv& env, bool mask[kViewSize][kViewSize]);

}  // namespace bidir

#endif  // BIDIR_ENV_VIEW_H_
