// Unit tests for the renderer: tile keys, a few tiles worked out by hand, the highlight of
// the agent's view and the frame layout. Pixel equality with minigrid itself is checked in
// tests/test_render.py.
#include <cstdint>
#include <stdexcept>
#include <vector>
#include <gtest/gtest.h>

#include "env/grid_env.h"
#include "env/render.h"
#include "env/tasks/task.h"

namespace bidir {
namespace {

std::vector<uint8_t> Tile(const Cell& cell, int agent_dir, bool highlight, int size) {
  std::vector<uint8_t> out(static_cast<size_t>(size) * size * 3);
  RenderTile(TileKey(cell, agent_dir, highlight), size, out.data());
  return out;
}

uint8_t Px(const std::vector<uint8_t>& tile, int size, int x, int y, int ch = 0) {
  return tile[(static_cast<size_t>(y) * size + x) * 3 + ch];
}

TEST(TileKey, RejectsCellsMinigridNeverDrawsAndSharesTheEmptyKey) {
  EXPECT_THROW(TileKey(MakeObject(kUnseen, 0), -1, false), std::invalid_argument);
  EXPECT_THROW(TileKey(MakeObject(kAgent, 0), -1, false), std::invalid_argument);
  EXPECT_THROW(TileKey(MakeObject(kBall, kNumColors), -1, false), std::invalid_argument);
  EXPECT_THROW(TileKey(MakeObject(kDoor, kRed, 3), -1, false), std::invalid_argument);
  EXPECT_THROW(TileKey(EmptyCell(), 4, false), std::invalid_argument);
  EXPECT_EQ(TileKey(EmptyCell(), -1, false), TileKey(MakeObject(kEmpty, kBlue, 1), -1, false));
  EXPECT_NE(TileKey(EmptyCell(), -1, false), TileKey(EmptyCell(), -1, true));
  EXPECT_LT(TileKey(MakeObject(kLava, kGrey, kDoorLocked), 3, true), kNumTileKeys);
}

TEST(RenderTile, GridLinesWallsAndHighlightByHand) {
  // 32 px: supersampled columns 0..2 have centres <= 0.031, so tile column 0 (and row 0) is
  // the grey grid line (100) and the inside of an empty tile is black.
  const auto empty = Tile(EmptyCell(), -1, false, 32);
  EXPECT_EQ(Px(empty, 32, 0, 0), 100);
  EXPECT_EQ(Px(empty, 32, 5, 0), 100);
  EXPECT_EQ(Px(empty, 32, 0, 5), 100);
  EXPECT_EQ(Px(empty, 32, 5, 5), 0);
  // At 1 px the centres are 1/6, 1/2, 5/6: no grid line.
  EXPECT_EQ(Px(Tile(EmptyCell(), -1, false, 1), 1, 0, 0), 0);
  // A wall is grey everywhere; highlighted: trunc(100 + 0.3 * 155) = 146.
  EXPECT_EQ(Px(Tile(WallCell(), -1, false, 32), 32, 20, 20), 100);
  EXPECT_EQ(Px(Tile(WallCell(), -1, true, 32), 32, 20, 20), 146);
  // A floor's colour is COLORS / 2, truncated: blue (0, 0, 255) -> (0, 0, 127).
  const auto floor = Tile(MakeObject(kFloor, kBlue), -1, false, 32);
  EXPECT_EQ(Px(floor, 32, 16, 16, 2), 127);
  EXPECT_EQ(Px(floor, 32, 16, 16, 0), 0);
  // The agent facing east: red at the centre, black near the right-hand tip's corners.
  const auto agent = Tile(EmptyCell(), 0, false, 32);
  EXPECT_EQ(Px(agent, 32, 16, 16, 0), 255);
  EXPECT_EQ(Px(agent, 32, 30, 3, 0), 0);
  // Facing south, the tip points down: red below the centre, black above its sides.
  const auto south = Tile(EmptyCell(), 1, false, 32);
  EXPECT_EQ(Px(south, 32, 16, 20, 0), 255);
  EXPECT_EQ(Px(south, 32, 4, 27, 0), 0);
}

TEST(FrameTileKeys, HighlightsTheVisibleCellsAndBlitsTilesInPlace) {
  GridEnv env(FindTask("MiniGrid-DoorKey-8x8-v0"));
  env.Seed(0);
  env.Reset();
  env.grid = Grid(8, 8);
  env.grid.WallRect(0, 0, 8, 8);
  env.grid.VertWall(5, 1, 6);  // a wall across the room, with a closed door in it
  env.grid.Set(5, 3, MakeObject(kDoor, kYellow, kDoorClosed));
  env.agent = {3, 3};
  env.agent_dir = 0;  // east
  std::vector<uint16_t> keys(64);
  FrameTileKeys(env, true, keys.data());
  auto highlighted = [&](int x, int y) { return (keys[y * 8 + x] & 1) != 0; };
  EXPECT_TRUE(highlighted(3, 3));   // the agent's cell
  EXPECT_TRUE(highlighted(4, 3));   // in front
  EXPECT_TRUE(highlighted(5, 3));   // the closed door itself
  EXPECT_FALSE(highlighted(6, 3));  // behind the closed door
  EXPECT_TRUE(highlighted(4, 1));   // beside the agent's path, in the view cone
  EXPECT_FALSE(highlighted(2, 3));  // behind the agent
  EXPECT_EQ(keys[3 * 8 + 3], TileKey(EmptyCell(), 0, true));
  FrameTileKeys(env, false, keys.data());
  EXPECT_FALSE(highlighted(4, 3));

  TileCache cache;
  cache.Prepare(4, keys.data(), keys.size(), [](int n, const auto& fn) {
    for (int k = 0; k < n; ++k) fn(k);
  });
  std::vector<uint8_t> frame(32 * 32 * 3);
  BlitFrame(cache, keys.data(), 8, 8, 4, frame.data());
  const uint8_t* door = cache.Tile(4, keys[3 * 8 + 5]);
  for (int ty = 0; ty < 4; ++ty) {
    for (int tx = 0; tx < 12; ++tx) {
      EXPECT_EQ(frame[((3 * 4 + ty) * 32 + 5 * 4) * 3 + tx], door[ty * 12 + tx]);
    }
  }
}

}  // namespace
}  // namespace bidir
