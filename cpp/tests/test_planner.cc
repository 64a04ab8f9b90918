// The oracle planner against a brute-force breadth-first search over real env steps.
//
// The brute force copies the whole env and tries every one of the 7 actions, keyed by the
// full state (agent, direction, carried object, grid), so it shares nothing with the
// planner's model. On tasks without distractors it must find the same shortest length,
// and following the planner must succeed in exactly that many steps.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "env/grid_env.h"
#include "env/planner.h"
#include "env/tasks/task.h"

namespace bidir {
namespace {

std::string Key(const GridEnv& e) {
  std::string k;
  k.push_back(static_cast<char>(e.agent.x));
  k.push_back(static_cast<char>(e.agent.y));
  k.push_back(static_cast<char>(e.agent_dir));
  k.push_back(static_cast<char>(e.carrying.type));
  k.push_back(static_cast<char>(e.carrying.color));
  for (const Cell& c : e.grid.cells()) {
    k.push_back(static_cast<char>(c.type));
    k.push_back(static_cast<char>(c.state));
  }
  return k;
}

// Fewest actions to success from env, or -1 within `limit` steps.
int BruteForce(const GridEnv& start, int limit) {
  std::vector<GridEnv> frontier{start};
  std::map<std::string, bool> seen{{Key(start), true}};
  for (int depth = 1; depth <= limit; ++depth) {
    std::vector<GridEnv> next;
    for (const GridEnv& e : frontier) {
      for (int a = 0; a < kNumActions; ++a) {
        GridEnv c = e;
        const StepOutcome out = c.Step(a);
        if (out.success) return depth;
        if (out.terminated || out.truncated) continue;
        if (seen.emplace(Key(c), true).second) next.push_back(std::move(c));
      }
    }
    frontier = std::move(next);
  }
  return -1;
}

void CheckTask(const std::string& id, int seeds, int limit) {
  const Task* task = FindTask(id);
  ASSERT_NE(task, nullptr);
  for (int s = 0; s < seeds; ++s) {
    GridEnv env(task);
    env.Seed(s);
    env.Reset();
    const Plan plan = PlanShortest(env);
    const int brute = BruteForce(env, limit);
    ASSERT_GT(brute, 0) << id << " seed " << s;
    EXPECT_EQ(plan.length, brute) << id << " seed " << s;
    int steps = 0;
    StepOutcome out;
    while (!out.terminated && !out.truncated) {
      out = env.Step(ExpertAction(env));
      ++steps;
    }
    EXPECT_TRUE(out.success) << id << " seed " << s;
    EXPECT_EQ(steps, brute) << id << " seed " << s;
  }
}

TEST(Planner, OptimalOnGoToRedBallNoDists) { CheckTask("BabyAI-GoToRedBallNoDists-v0", 40, 30); }
TEST(Planner, OptimalOnGoToObj) { CheckTask("BabyAI-GoToObj-v0", 40, 30); }
TEST(Planner, OptimalOnEmpty) { CheckTask("MiniGrid-Empty-6x6-v0", 3, 30); }
TEST(Planner, OptimalOnDoorKey5x5) { CheckTask("MiniGrid-DoorKey-5x5-v0", 30, 40); }
TEST(Planner, OptimalOnDoorKey6x6) { CheckTask("MiniGrid-DoorKey-6x6-v0", 15, 40); }

TEST(Planner, SolvesEpisodesWithDistractors) {
  for (const char* id : {"BabyAI-GoToLocal-v0", "BabyAI-GoToRedBall-v0", "MiniGrid-DoorKey-16x16-v0"}) {
    const Task* task = FindTask(id);
    for (int s = 0; s < 30; ++s) {
      GridEnv env(task);
      env.Seed(s);
      env.Reset();
      const int length = PlanShortest(env).length;
      ASSERT_GT(length, 0) << id << " seed " << s;
      int steps = 0;
      StepOutcome out;
      while (!out.terminated && !out.truncated) {
        out = env.Step(ExpertAction(env));
        ++steps;
      }
      EXPECT_TRUE(out.success) << id << " seed " << s;
      EXPECT_EQ(steps, length) << id << " seed " << s;
    }
  }
}

TEST(Planner, NoPlanWhenTargetIsWalledIn) {
  GridEnv env(FindTask("BabyAI-GoToRedBallNoDists-v0"));
  env.Seed(0);
  env.Reset();
  const Pos ball = env.instr.targets.at(0);
  for (int d = 0; d < 4; ++d) {
    const int x = ball.x + kDirDx[d], y = ball.y + kDirDy[d];
    if (env.grid.At(x, y).IsEmpty() && !(env.agent == Pos{x, y})) env.grid.Set(x, y, WallCell());
  }
  if (std::abs(env.agent.x - ball.x) + std::abs(env.agent.y - ball.y) > 1) {
    EXPECT_EQ(PlanShortest(env).length, -1);
    EXPECT_EQ(ExpertAction(env), kDone);
  }
}

}  // namespace
}  // namespace bidir
