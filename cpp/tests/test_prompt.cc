// Teacher prompts and their hashes: FNV-1a 64 against the published test vectors, the
// prompt template on a hand-built room, and the allocation-free hash paths against
// hashing the built text.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/hash.h"
#include "env/grid_env.h"
#include "env/tasks/task.h"
#include "env/text.h"
#include "env/vec_env.h"
#include "env/view.h"

namespace bidir {
namespace {

// Test vectors of the FNV reference code (draft-eastlake-fnv, FNV1A_64 column).
TEST(Fnv1a64, KnownAnswers) {
  EXPECT_EQ(Fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(Fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(Fnv1a64("b"), 0xaf63df4c8601f1a5ULL);
  EXPECT_EQ(Fnv1a64("foobar"), 0x85944171f73967e8ULL);
  // Bytes above 0x7f are hashed unsigned: "\xff" = (basis ^ 0xff) * prime.
  EXPECT_EQ(Fnv1a64("\xff"), (0xcbf29ce484222325ULL ^ 0xffULL) * 0x100000001b3ULL);
}

TEST(Fnv1a64, PiecesHashLikeTheirConcatenation) {
  const std::string text = "Goal of the agent: go to the red ball\nObservation: \nAction:";
  for (size_t cut1 = 0; cut1 <= text.size(); cut1 += 7) {
    for (size_t cut2 = cut1; cut2 <= text.size(); cut2 += 11) {
      Fnv1a64Hasher h;
      h.Update(std::string_view(text).substr(0, cut1))
          .Update(std::string_view(text).substr(cut1, cut2 - cut1))
          .Update(std::string_view(text).substr(cut2));
      EXPECT_EQ(h.digest(), Fnv1a64(text)) << cut1 << " " << cut2;
    }
  }
}

TEST(Fnv1a64, DistinguishesNearbyPrompts) {
  EXPECT_NE(Fnv1a64("You see a wall 1 step forward"), Fnv1a64("You see a wall 2 steps forward"));
  EXPECT_NE(Fnv1a64("ab"), Fnv1a64("ba"));
}

TEST(BuildPrompt, FollowsTheTemplate) {
  std::string out = "left over";
  BuildPrompt("go to the red ball", {"You see a wall 2 steps forward", "You carry a blue key"},
              &out);
  EXPECT_EQ(out,
            "Goal of the agent: go to the red ball\nObservation: You see a wall 2 steps "
            "forward, You carry a blue key\nAction:");
  BuildPrompt("go to the red ball", {}, &out);
  EXPECT_EQ(out, "Goal of the agent: go to the red ball\nObservation: \nAction:");
}

// An 8x8 walled room (DoorKey-8x8: occluded view), agent at (3, 3) facing east, a red
// ball two cells ahead. Forward the ball comes first (no wall sentence); the wall to the
// left (north, y = 0) is 3 steps away; to the right the wall (y = 7) is 4 steps away,
// beyond the 3 cells the scan covers.
GridEnv MakeRoomWithBall() {
  GridEnv env(FindTask("MiniGrid-DoorKey-8x8-v0"));
  env.Seed(0);
  env.Reset();
  env.grid = Grid(8, 8);
  env.grid.WallRect(0, 0, 8, 8);
  env.grid.Set(5, 3, MakeObject(kBall, kRed));
  env.agent = {3, 3};
  env.agent_dir = 0;
  env.carrying = Cell();
  env.mission = "go to the red ball";
  return env;
}

TEST(EnvPrompt, HandBuiltRoom) {
  const GridEnv env = MakeRoomWithBall();
  const std::string expected =
      "Goal of the agent: go to the red ball\nObservation: You see a wall 3 steps left, "
      "You see a red ball 2 steps forward\nAction:";
  EXPECT_EQ(EnvPrompt(env), expected);
  EXPECT_EQ(EnvPromptHash(env), Fnv1a64(expected));
  EXPECT_EQ(PromptHash(expected), Fnv1a64(expected));
}

TEST(EnvPrompt, WallsOnly) {
  GridEnv env = MakeRoomWithBall();
  env.grid.Set(5, 3, Cell());  // remove the ball: only the far walls remain
  env.agent = {3, 3};
  // Facing east from (3, 3): forward wall at x = 7 is 4 steps, left wall 3 steps.
  EXPECT_EQ(EnvPrompt(env),
            "Goal of the agent: go to the red ball\nObservation: You see a wall 4 steps "
            "forward, You see a wall 3 steps left\nAction:");
}

TEST(ViewPrompt, AnEmptyViewGivesAnEmptyObservation) {
  uint8_t image[kImageBytes];
  for (int c = 0; c < kViewSize * kViewSize; ++c) {
    image[3 * c] = kEmpty, image[3 * c + 1] = 0, image[3 * c + 2] = 0;
  }
  EXPECT_EQ(ViewPrompt("", image), "Goal of the agent: \nObservation: \nAction:");
  EXPECT_EQ(ViewPromptHash("", image), Fnv1a64("Goal of the agent: \nObservation: \nAction:"));
}

// ViewPromptHash streams the description tables; it must equal hashing the built text on
// arbitrary bytes too (including encodings minigrid cannot produce).
TEST(ViewPromptHash, EqualsHashOfBuiltPromptOnRandomViews) {
  std::mt19937 gen(7);
  std::uniform_int_distribution<int> obj(0, 12), color(0, 6), state(0, 3);
  uint8_t image[kImageBytes];
  for (int trial = 0; trial < 2000; ++trial) {
    for (int c = 0; c < kViewSize * kViewSize; ++c) {
      image[3 * c] = static_cast<uint8_t>(obj(gen));
      image[3 * c + 1] = static_cast<uint8_t>(color(gen));
      image[3 * c + 2] = static_cast<uint8_t>(state(gen));
    }
    const std::string mission = trial % 2 ? "go to the red ball" : "pick up the blue key";
    const std::string prompt = ViewPrompt(mission, image);
    ASSERT_EQ(ViewPromptHash(mission, image), Fnv1a64(prompt)) << prompt;
    std::vector<std::string> sentences;
    DescribeView(image, &sentences);
    ASSERT_EQ(prompt, std::string(kPromptGoal) + mission + std::string(kPromptObservation) +
                          JoinSentences(sentences) + std::string(kPromptAction));
  }
}

// VecEnv::PromptHashes (sharded over 3 threads) against EnvPrompt + Fnv1a64 per env, along
// a random trajectory with automatic resets.
TEST(VecEnvPrompts, HashesMatchPromptsAlongATrajectory) {
  for (const char* task : {"BabyAI-GoToRedBallNoDists-v0", "MiniGrid-DoorKey-8x8-v0"}) {
    const int n = 13;
    VecEnv vec(FindTask(task), n, 3, AutoresetMode::kSameStep);
    std::vector<uint8_t> image(n * kImageBytes), final_image(n * kImageBytes);
    std::vector<int64_t> direction(n), final_direction(n), actions(n);
    std::vector<uint8_t> mission(n * kMissionBytes), final_mission(n * kMissionBytes);
    std::vector<float> reward(n), episode_return(n);
    std::vector<int32_t> episode_length(n);
    std::vector<double> episode_time(n);
    std::unique_ptr<bool[]> flags(new bool[4 * n]);
    VecBuffers b;
    b.image = image.data();
    b.direction = direction.data();
    b.mission = mission.data();
    b.reward = reward.data();
    b.terminated = flags.get();
    b.truncated = flags.get() + n;
    b.episode_done = flags.get() + 2 * n;
    b.episode_return = episode_return.data();
    b.episode_length = episode_length.data();
    b.episode_success = flags.get() + 3 * n;
    b.episode_time = episode_time.data();
    b.final_image = final_image.data();
    b.final_direction = final_direction.data();
    b.final_mission = final_mission.data();
    vec.BindBuffers(b);
    std::vector<uint64_t> seeds(n);
    for (int i = 0; i < n; ++i) seeds[i] = 100 + i;
    vec.Reset(seeds.data(), nullptr);
    std::mt19937 gen(3);
    std::uniform_int_distribution<int> action(0, 6);
    std::vector<uint64_t> hashes(n);
    for (int step = 0; step < 200; ++step) {
      vec.PromptHashes(hashes.data());
      for (int i = 0; i < n; ++i) {
        const std::string prompt = vec.Prompt(i);
        ASSERT_EQ(prompt.rfind("Goal of the agent: " + vec.env(i).mission + "\nObservation: ", 0),
                  0u);
        ASSERT_EQ(hashes[i], Fnv1a64(prompt)) << task << " step " << step << " env " << i;
      }
      for (int i = 0; i < n; ++i) actions[i] = action(gen);
      vec.Step(actions.data());
    }
  }
}

}  // namespace
}  // namespace bidir
