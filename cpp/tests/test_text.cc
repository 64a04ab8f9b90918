// DescribeView and JoinSentences on hand-built views whose sentences are worked out from
// the rules in env/text.h.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "env/text.h"
#include "env/world.h"

namespace bidir {
namespace {

using Sentences = std::vector<std::string>;

// A 7x7x3 view, [vx][vy][c]; starts as a fully visible empty room with nothing carried.
class View {
 public:
  View() {
    for (int vx = 0; vx < 7; ++vx) {
      for (int vy = 0; vy < 7; ++vy) Set(vx, vy, kEmpty);
    }
  }
  View& Set(int vx, int vy, uint8_t obj, uint8_t color = 0, uint8_t state = 0) {
    uint8_t* c = &bytes_[(vx * 7 + vy) * 3];
    c[0] = obj;
    c[1] = color;
    c[2] = state;
    return *this;
  }
  View& Wall(int vx, int vy) { return Set(vx, vy, kWall, kGrey); }
  View& Unseen(int vx, int vy) { return Set(vx, vy, kUnseen); }
  // A wall row at distance n ahead (vy = 6 - n) with everything beyond it unseen.
  View& WallAhead(int n) {
    for (int vx = 0; vx < 7; ++vx) {
      Wall(vx, 6 - n);
      for (int vy = 0; vy < 6 - n; ++vy) Unseen(vx, vy);
    }
    return *this;
  }
  View& Carry(uint8_t obj, uint8_t color) { return Set(3, 6, obj, color); }

  const uint8_t* data() const { return bytes_.data(); }
  Sentences Describe() const {
    Sentences out;
    DescribeView(bytes_.data(), &out);
    return out;
  }

 private:
  std::array<uint8_t, 7 * 7 * 3> bytes_{};
};

TEST(DescribeViewTest, EmptyRoomSaysNothing) { EXPECT_EQ(View().Describe(), Sentences{}); }

TEST(DescribeViewTest, AllUnseenSaysNothing) {
  View v;
  for (int vx = 0; vx < 7; ++vx) {
    for (int vy = 0; vy < 7; ++vy) v.Unseen(vx, vy);
  }
  v.Set(3, 6, kEmpty);
  EXPECT_EQ(v.Describe(), Sentences{});
}

TEST(DescribeViewTest, FacingWallAtEachDistance) {
  EXPECT_EQ(View().WallAhead(1).Describe(), Sentences{"You see a wall 1 step forward"});
  EXPECT_EQ(View().WallAhead(2).Describe(), Sentences{"You see a wall 2 steps forward"});
  EXPECT_EQ(View().WallAhead(3).Describe(), Sentences{"You see a wall 3 steps forward"});
  EXPECT_EQ(View().WallAhead(6).Describe(), Sentences{"You see a wall 6 steps forward"});
}

TEST(DescribeViewTest, WallsLeftAndRight) {
  View v;
  for (int vy = 0; vy < 7; ++vy) v.Wall(1, vy).Unseen(0, vy).Wall(6, vy);
  EXPECT_EQ(v.Describe(),
            (Sentences{"You see a wall 2 steps left", "You see a wall 3 steps right"}));

  View adjacent;
  for (int vy = 0; vy < 7; ++vy) adjacent.Wall(2, vy).Wall(4, vy);
  EXPECT_EQ(adjacent.Describe(),
            (Sentences{"You see a wall 1 step left", "You see a wall 1 step right"}));
}

TEST(DescribeViewTest, CornerGivesForwardThenLeft) {
  View v;
  v.WallAhead(2);
  for (int vy = 0; vy < 7; ++vy) v.Wall(0, vy);
  EXPECT_EQ(v.Describe(),
            (Sentences{"You see a wall 2 steps forward", "You see a wall 3 steps left"}));
}

TEST(DescribeViewTest, ObjectStraightAheadHasOnlyForwardPart) {
  View v;
  v.Set(3, 5, kBall, kRed);
  EXPECT_EQ(v.Describe(), Sentences{"You see a red ball 1 step forward"});
  View far;
  far.Set(3, 2, kBox, kPurple);
  EXPECT_EQ(far.Describe(), Sentences{"You see a purple box 4 steps forward"});
}

TEST(DescribeViewTest, ObjectBeforeWallHidesTheWall) {
  View v;
  v.WallAhead(4).Set(3, 4, kKey, kBlue);
  EXPECT_EQ(v.Describe(), Sentences{"You see a blue key 2 steps forward"});
}

TEST(DescribeViewTest, ObjectToTheSideOnlyHasSidePart) {
  View v;
  for (int vy = 0; vy < 7; ++vy) v.Wall(0, vy).Wall(6, vy);
  v.Set(1, 6, kBall, kGreen).Set(4, 6, kKey, kYellow);
  // Both objects also hide the side walls.
  EXPECT_EQ(v.Describe(), (Sentences{"You see a green ball 2 steps left",
                                     "You see a yellow key 1 step right"}));
}

TEST(DescribeViewTest, ObjectWithBothParts) {
  View v;
  v.Set(5, 3, kKey, kYellow).Set(2, 5, kBall, kBlue);
  EXPECT_EQ(v.Describe(), (Sentences{"You see a blue ball 1 step left and 1 step forward",
                                     "You see a yellow key 2 steps right and 3 steps forward"}));
}

TEST(DescribeViewTest, OneStepVersusSteps) {
  View v;
  v.Set(4, 5, kBox, kGrey).Set(6, 0, kBox, kRed);
  EXPECT_EQ(v.Describe(), (Sentences{"You see a grey box 1 step right and 1 step forward",
                                     "You see a red box 3 steps right and 6 steps forward"}));
}

TEST(DescribeViewTest, CarryingComesFirst) {
  View v;
  v.Carry(kKey, kYellow).WallAhead(1).Set(0, 3, kBall, kRed);
  EXPECT_EQ(v.Describe(),
            (Sentences{"You carry a yellow key", "You see a wall 1 step forward",
                       "You see a red ball 3 steps left and 3 steps forward"}));
  EXPECT_EQ(View().Carry(kBox, kPurple).Describe(), Sentences{"You carry a purple box"});
  EXPECT_EQ(View().Carry(kBall, kGrey).Describe(), Sentences{"You carry a grey ball"});
}

TEST(DescribeViewTest, DoorsWithStateAndArticle) {
  EXPECT_EQ(View().Set(3, 5, kDoor, kRed, kDoorOpen).Describe(),
            Sentences{"You see an open red door 1 step forward"});
  EXPECT_EQ(View().Set(3, 5, kDoor, kGreen, kDoorClosed).Describe(),
            Sentences{"You see a closed green door 1 step forward"});
  EXPECT_EQ(View().Set(1, 2, kDoor, kYellow, kDoorLocked).Describe(),
            Sentences{"You see a locked yellow door 2 steps left and 4 steps forward"});
}

TEST(DescribeViewTest, DoorInWallAheadHidesWallSentence) {
  View v;
  v.WallAhead(3).Set(3, 3, kDoor, kBlue, kDoorClosed);
  EXPECT_EQ(v.Describe(), Sentences{"You see a closed blue door 3 steps forward"});
}

TEST(DescribeViewTest, ObjectsBehindWallsAreNotSeen) {
  // Wall two steps ahead; the ball behind it is unseen, so only the wall is described.
  View v;
  v.WallAhead(2);
  EXPECT_EQ(v.Describe(), Sentences{"You see a wall 2 steps forward"});
  // Unseen cells in front of a wall are skipped by the scan, as GLAM does.
  View gap;
  gap.WallAhead(3).Unseen(3, 5).Unseen(3, 4);
  EXPECT_EQ(gap.Describe(), Sentences{"You see a wall 3 steps forward"});
}

TEST(DescribeViewTest, GoalLavaAndFloorAreObjects) {
  View v;
  v.Set(3, 2, kGoal, kGreen).Set(4, 6, kLava, kRed).Set(0, 0, kFloor, kBlue);
  EXPECT_EQ(v.Describe(), (Sentences{"You see a blue floor 3 steps left and 6 steps forward",
                                     "You see a green goal 4 steps forward",
                                     "You see a red lava 1 step right"}));
}

TEST(DescribeViewTest, SeveralObjectsInColumnMajorOrder) {
  View v;
  v.WallAhead(5);
  for (int vy = 1; vy < 7; ++vy) v.Wall(0, vy);
  v.Set(5, 4, kBall, kPurple)
      .Set(1, 5, kKey, kRed)
      .Set(5, 2, kBox, kGreen)
      .Set(1, 3, kDoor, kGrey, kDoorLocked)
      .Set(3, 3, kBall, kYellow)
      .Carry(kKey, kBlue);
  EXPECT_EQ(v.Describe(), (Sentences{
                              "You carry a blue key",
                              // No forward wall: the yellow ball stands in front of it.
                              "You see a wall 3 steps left",
                              "You see a locked grey door 2 steps left and 3 steps forward",
                              "You see a red key 2 steps left and 1 step forward",
                              "You see a yellow ball 3 steps forward",
                              "You see a green box 2 steps right and 4 steps forward",
                              "You see a purple ball 2 steps right and 2 steps forward",
                          }));
}

TEST(DescribeViewTest, AppendsWithoutClearing) {
  View v;
  v.Set(3, 5, kBall, kRed);
  Sentences out{"keep me"};
  DescribeView(v.data(), &out);
  DescribeView(v.data(), &out);
  EXPECT_EQ(out, (Sentences{"keep me", "You see a red ball 1 step forward",
                            "You see a red ball 1 step forward"}));
}

TEST(DescribeViewTest, ImpossibleEncodingsReadAsUnseen) {
  View v;
  v.WallAhead(3)
      .Set(3, 5, 200)                       // unknown object: skipped by the wall scan
      .Set(1, 1, kBall, 9)                  // unknown color
      .Set(5, 5, kDoor, kRed, 7)            // unknown door state
      .Set(0, 6, kWall, 77);                // wall of unknown color
  EXPECT_EQ(v.Describe(), Sentences{"You see a wall 3 steps forward"});
  EXPECT_EQ(View().Carry(kKey, 6).Describe(), Sentences{});
}

TEST(JoinSentencesTest, CommaSeparated) {
  EXPECT_EQ(JoinSentences({}), "");
  EXPECT_EQ(JoinSentences({"You carry a red key"}), "You carry a red key");
  EXPECT_EQ(JoinSentences({"You see a wall 1 step forward", "You see a red ball 1 step left"}),
            "You see a wall 1 step forward, You see a red ball 1 step left");
}

}  // namespace
}  // namespace bidir
