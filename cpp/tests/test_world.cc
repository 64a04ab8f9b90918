// Unit tests for the grid world: step semantics and the egocentric view on hand-built grids.
#include <set>
#include <string>
#include <gtest/gtest.h>

#include "env/grid_env.h"
#include "env/tasks/task.h"
#include "env/view.h"

namespace bidir {
namespace {

// An 8x8 walled room with the agent at (3, 3) facing east and nothing else. DoorKey-8x8 is
// used for its size and because its view is occluded (the Empty tasks see through walls).
GridEnv MakeRoom() {
  GridEnv env(FindTask("MiniGrid-DoorKey-8x8-v0"));
  env.Seed(0);
  env.Reset();
  env.grid = Grid(8, 8);
  env.grid.WallRect(0, 0, 8, 8);
  env.agent = {3, 3};
  env.agent_dir = 0;
  env.max_steps = 100;
  return env;
}

const uint8_t* ViewCell(const uint8_t* image, int vx, int vy) { return image + (vx * 7 + vy) * 3; }

TEST(TaskRegistry, ListsTasksAndFindsThem) {
  EXPECT_NE(FindTask("BabyAI-GoToRedBallNoDists-v0"), nullptr);
  EXPECT_EQ(FindTask("BabyAI-NoSuchTask-v0"), nullptr);
  // 96 BabyAI levels (minigrid 3.2.0) + 4 Empty + 4 DoorKey, each once, every family
  // file's self-registration linked in.
  const auto ids = ListTaskIds();
  EXPECT_EQ(ids.size(), 104u);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
  EXPECT_NE(FindTask("BabyAI-BossLevel-v0"), nullptr);
  EXPECT_NE(FindTask("MiniGrid-DoorKey-8x8-v0"), nullptr);
}

TEST(Step, TurnsAndMoves) {
  GridEnv env = MakeRoom();
  env.Step(kLeft);
  EXPECT_EQ(env.agent_dir, 3);
  env.Step(kRight);
  env.Step(kRight);
  EXPECT_EQ(env.agent_dir, 1);
  env.Step(kForward);
  EXPECT_EQ(env.agent, (Pos{3, 4}));
  EXPECT_EQ(env.step_count, 4);
}

TEST(Step, WallsAndObjectsBlock) {
  GridEnv env = MakeRoom();
  env.grid.Set(4, 3, MakeObject(kBall, kBlue));
  env.Step(kForward);
  EXPECT_EQ(env.agent, (Pos{3, 3}));
  env.agent = {6, 3};
  env.Step(kForward);
  EXPECT_EQ(env.agent, (Pos{6, 3}));
}

TEST(Step, PickupAndDrop) {
  GridEnv env = MakeRoom();
  env.grid.Set(4, 3, MakeObject(kKey, kYellow));
  env.Step(kPickup);
  EXPECT_EQ(env.carrying.type, kKey);
  EXPECT_TRUE(env.grid.At(4, 3).IsEmpty());
  env.grid.Set(4, 3, MakeObject(kBall, kRed));
  env.Step(kPickup);  // hands full: nothing happens
  EXPECT_EQ(env.grid.At(4, 3).type, kBall);
  env.Step(kDrop);  // front not empty: nothing happens
  EXPECT_EQ(env.carrying.type, kKey);
  env.Step(kLeft);
  env.Step(kDrop);
  EXPECT_EQ(env.grid.At(3, 2).type, kKey);
  EXPECT_FALSE(env.Carrying());
}

TEST(Step, LockedDoorNeedsKeyOfItsColor) {
  GridEnv env = MakeRoom();
  env.grid.Set(4, 3, MakeObject(kDoor, kYellow, kDoorLocked));
  env.Step(kToggle);
  EXPECT_EQ(env.grid.At(4, 3).state, kDoorLocked);
  env.carrying = MakeObject(kKey, kBlue);
  env.Step(kToggle);
  EXPECT_EQ(env.grid.At(4, 3).state, kDoorLocked);
  env.carrying = MakeObject(kKey, kYellow);
  env.Step(kToggle);
  EXPECT_EQ(env.grid.At(4, 3).state, kDoorOpen);
  env.Step(kForward);
  EXPECT_EQ(env.agent, (Pos{4, 3}));  // open doors can be walked through
  env.agent = {3, 3};
  env.Step(kToggle);
  EXPECT_EQ(env.grid.At(4, 3).state, kDoorClosed);
  env.Step(kForward);
  EXPECT_EQ(env.agent, (Pos{3, 3}));
}

TEST(Step, BoxToggleRevealsContents) {
  GridEnv env = MakeRoom();
  Cell box = MakeObject(kBox, kPurple);
  box.inner_type = kBall;
  box.inner_color = kGreen;
  env.grid.Set(4, 3, box);
  env.Step(kToggle);
  EXPECT_EQ(env.grid.At(4, 3), MakeObject(kBall, kGreen));
}

TEST(Step, GoalRewardAndTruncation) {
  GridEnv env = MakeRoom();
  env.grid.Set(4, 3, MakeObject(kGoal, kGreen));
  env.step_count = 49;
  StepOutcome out = env.Step(kForward);
  EXPECT_TRUE(out.terminated);
  EXPECT_TRUE(out.success);
  EXPECT_DOUBLE_EQ(out.reward, 1.0 - 0.9 * (50.0 / 100.0));
  GridEnv env2 = MakeRoom();
  env2.step_count = 99;
  out = env2.Step(kLeft);
  EXPECT_TRUE(out.truncated);
  EXPECT_FALSE(out.terminated);
}

TEST(View, EmptyRoomFacingEast) {
  GridEnv env = MakeRoom();
  uint8_t image[kImageBytes];
  WriteView(env, image);
  // Agent at (3,3) facing east: the wall x=7 is 4 cells ahead, at vy = 6 - 4 = 2.
  EXPECT_EQ(ViewCell(image, 3, 2)[0], kWall);
  EXPECT_EQ(ViewCell(image, 3, 3)[0], kEmpty);
  // Beyond the wall is hidden.
  EXPECT_EQ(ViewCell(image, 3, 1)[0], kUnseen);
  // The cell under the agent shows nothing carried.
  EXPECT_EQ(ViewCell(image, 3, 6)[0], kEmpty);
  // Left of the agent (north, y=0 is 3 cells away): wall at vx = 0.
  EXPECT_EQ(ViewCell(image, 0, 6)[0], kWall);
}

TEST(View, ObjectPositionRotatesWithDirection) {
  GridEnv env = MakeRoom();
  env.grid.Set(3, 1, MakeObject(kBall, kRed));  // two cells north of the agent
  uint8_t image[kImageBytes];
  env.agent_dir = 3;  // facing north: ball straight ahead, 2 steps
  WriteView(env, image);
  EXPECT_EQ(ViewCell(image, 3, 4)[0], kBall);
  EXPECT_EQ(ViewCell(image, 3, 4)[1], kRed);
  env.agent_dir = 0;  // facing east: ball 2 steps to the left
  WriteView(env, image);
  EXPECT_EQ(ViewCell(image, 1, 6)[0], kBall);
}

TEST(View, ClosedDoorBlocksSightOpenDoorDoesNot) {
  GridEnv env = MakeRoom();
  env.grid.VertWall(5, 0, 8);
  env.grid.Set(5, 3, MakeObject(kDoor, kBlue, kDoorClosed));
  env.grid.Set(6, 3, MakeObject(kKey, kGreen));
  uint8_t image[kImageBytes];
  WriteView(env, image);
  EXPECT_EQ(ViewCell(image, 3, 4)[0], kDoor);
  EXPECT_EQ(ViewCell(image, 3, 4)[2], kDoorClosed);
  EXPECT_EQ(ViewCell(image, 3, 3)[0], kUnseen);
  env.grid.At(5, 3).state = kDoorOpen;
  WriteView(env, image);
  EXPECT_EQ(ViewCell(image, 3, 3)[0], kKey);
}

TEST(View, SeeThroughWallsTasksAreNotOccluded) {
  GridEnv env(FindTask("MiniGrid-Empty-8x8-v0"));
  env.Seed(0);
  env.Reset();
  env.grid = Grid(8, 8);
  env.grid.WallRect(0, 0, 8, 8);
  env.grid.VertWall(5, 0, 8);
  env.grid.Set(6, 3, MakeObject(kKey, kGreen));
  env.agent = {3, 3};
  env.agent_dir = 0;
  uint8_t image[kImageBytes];
  WriteView(env, image);
  EXPECT_EQ(ViewCell(image, 3, 4)[0], kWall);
  EXPECT_EQ(ViewCell(image, 3, 3)[0], kKey);  // behind the wall, still seen
}

// ProcessVisRow against minigrid's process_vis loops over one row, for every row content.
TEST(View, ProcessVisRowMatchesMinigridsLoopsOnEveryRow) {
  constexpr int V = kViewSize;
  for (unsigned clear = 0; clear < (1u << V); ++clear) {
    for (unsigned seen = 0; seen < (1u << V); ++seen) {
      bool mask[V], below_mask[V] = {};
      for (int i = 0; i < V; ++i) mask[i] = (seen >> i) & 1;
      auto see = [&](int i) { return ((clear >> i) & 1) != 0; };
      for (int i = 0; i < V - 1; ++i) {  // for i in range(0, width - 1)
        if (!mask[i] || !see(i)) continue;
        mask[i + 1] = below_mask[i + 1] = below_mask[i] = true;
      }
      for (int i = V - 1; i > 0; --i) {  // for i in reversed(range(1, width))
        if (!mask[i] || !see(i)) continue;
        mask[i - 1] = below_mask[i - 1] = below_mask[i] = true;
      }
      unsigned want = 0, want_below = 0;
      for (int i = 0; i < V; ++i) {
        want |= static_cast<unsigned>(mask[i]) << i;
        want_below |= static_cast<unsigned>(below_mask[i]) << i;
      }
      unsigned below = 0;
      ASSERT_EQ(ProcessVisRow(seen, clear, &below), want) << "seen " << seen << " clear " << clear;
      ASSERT_EQ(below, want_below) << "seen " << seen << " clear " << clear;
    }
  }
}

TEST(View, CarriedObjectShownUnderAgent) {
  GridEnv env = MakeRoom();
  env.carrying = MakeObject(kBox, kYellow);
  uint8_t image[kImageBytes];
  WriteView(env, image);
  EXPECT_EQ(ViewCell(image, 3, 6)[0], kBox);
  EXPECT_EQ(ViewCell(image, 3, 6)[1], kYellow);
}

TEST(Reset, SeededResetIsReproducible) {
  const Task* task = FindTask("BabyAI-GoToLocal-v0");
  GridEnv a(task), b(task);
  a.Seed(42);
  b.Seed(42);
  for (int k = 0; k < 5; ++k) {
    a.Reset();
    b.Reset();
    EXPECT_EQ(a.agent, b.agent);
    EXPECT_EQ(a.mission, b.mission);
    EXPECT_EQ(a.grid.cells(), b.grid.cells());
  }
}

}  // namespace
}  // namespace bidir
