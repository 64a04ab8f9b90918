// BabyAI-Text descriptions of an egocentric view and the teacher prompts built from them;
// the rules are listed in text.h.
//
// Every sentence is one of a few hundred prefixes ("You see a red ball ") followed by one
// of 49 position suffixes ("1 step left and 2 steps forward"), so both are built once into
// tables and a sentence costs one allocation and two copies. Prompt hashes stream those
// table entries through FNV-1a and allocate nothing.
#include "env/text.h"

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/hash.h"
#include "env/grid_env.h"
#include "env/view.h"
#include "env/world.h"

namespace bidir {
namespace {

constexpr int kAgentVx = kViewSize / 2;  // 3
constexpr int kAgentVy = kViewSize - 1;  // 6
constexpr int kNumDoorStates = 3;
constexpr std::array<std::string_view, kNumDoorStates> kDoorStateNames = {"open", "closed",
                                                                         "locked"};
// Wall scan directions, in the order GLAM reports them.
enum WallDir { kWallForward = 0, kWallLeft = 1, kWallRight = 2 };
constexpr std::array<std::string_view, 3> kWallDirNames = {"forward", "left", "right"};

static_assert(kObjectNames.size() == 11 && kObjectNames[kDoor] == "door" &&
                  kObjectNames[kAgent] == "agent",
              "object names must follow minigrid's IDX_TO_OBJECT");
static_assert(kColorNames.size() == 6 && kColorNames[kRed] == "red" &&
                  kColorNames[kGrey] == "grey",
              "color names must follow minigrid's IDX_TO_COLOR");

// "1 step" / "3 steps".
std::string Steps(int n) { return std::to_string(n) + (n == 1 ? " step" : " steps"); }

struct Tables {
  // "You carry a {color} {object}", by [object][color].
  std::string carry[kNumObjectTypes][kNumColors];
  // "You see a {color} {object} " (doors: "You see a(n) {state} {color} door "), by
  // [object][color][state]; the state index is only meaningful for doors.
  std::string see[kNumObjectTypes][kNumColors][kNumDoorStates];
  // Position of view cell (vx, vy) relative to the agent, e.g. "2 steps left and 1 step
  // forward"; empty for the agent's own cell.
  std::string where[kViewSize][kViewSize];
  // "You see a wall {n} step(s) {dir}", by [dir][n].
  std::string wall[3][kViewSize];
};

Tables BuildTables() {
  Tables t;
  for (int obj = 0; obj < kNumObjectTypes; ++obj) {
    const std::string name(kObjectNames[obj]);
    for (int color = 0; color < kNumColors; ++color) {
      const std::string color_name(kColorNames[color]);
      t.carry[obj][color] = "You carry a " + color_name + " " + name;
      for (int state = 0; state < kNumDoorStates; ++state) {
        if (obj == kDoor) {
          // GLAM always writes "a" here (see text.h); "open" takes "an".
          const char* article = state == kDoorOpen ? "You see an " : "You see a ";
          t.see[obj][color][state] = article + std::string(kDoorStateNames[state]) + " " +
                                     color_name + " " + name + " ";
        } else {
          t.see[obj][color][state] = "You see a " + color_name + " " + name + " ";
        }
      }
    }
  }
  for (int vx = 0; vx < kViewSize; ++vx) {
    for (int vy = 0; vy < kViewSize; ++vy) {
      const int dx = vx - kAgentVx;
      const int dy = kAgentVy - vy;
      std::string& w = t.where[vx][vy];
      if (dx == 0) {
        if (dy > 0) w = Steps(dy) + " forward";
      } else {
        w = Steps(dx < 0 ? -dx : dx) + (dx < 0 ? " left" : " right");
        if (dy > 0) w += " and " + Steps(dy) + " forward";
      }
    }
  }
  for (int dir = 0; dir < 3; ++dir) {
    for (int n = 1; n < kViewSize; ++n) {
      t.wall[dir][n] = "You see a wall " + Steps(n) + " " + std::string(kWallDirNames[dir]);
    }
  }
  return t;
}

const Tables& GetTables() {
  static const Tables tables = BuildTables();
  return tables;
}

// The object index of an encoded cell, with encodings minigrid cannot produce read as
// unseen (see text.h).
inline int ObjectAt(const uint8_t* cell) {
  const int obj = cell[0];
  if (obj <= kEmpty) return obj;
  if (obj >= kNumObjectTypes || cell[1] >= kNumColors) return kUnseen;
  if (obj == kDoor && cell[2] >= kNumDoorStates) return kUnseen;
  return obj;
}

inline const uint8_t* CellAt(const uint8_t* image, int vx, int vy) {
  return image + (vx * kViewSize + vy) * 3;
}

// The distance to the first cell that is neither unseen nor empty along a scan from the
// agent, if that cell is a wall; 0 otherwise.
inline int WallDistance(const uint8_t* image, int step_vx, int step_vy) {
  int vx = kAgentVx + step_vx;
  int vy = kAgentVy + step_vy;
  for (int n = 1; vx >= 0 && vx < kViewSize && vy >= 0; ++n, vx += step_vx, vy += step_vy) {
    const int obj = ObjectAt(CellAt(image, vx, vy));
    if (obj > kEmpty) return obj == kWall ? n : 0;
  }
  return 0;
}

// A sentence to be made: head followed by tail.
struct Pending {
  const std::string* head;
  const std::string* tail;
};

// Collects the sentences of a view, in order, as (head, tail) pairs into pending (room
// for kMaxSentences); returns their count.
constexpr int kMaxSentences = 1 + 3 + kViewSize * kViewSize;  // carry + 3 walls + cells

int CollectSentences(const uint8_t* image, Pending* pending) {
  const Tables& t = GetTables();
  static const std::string kNone;
  int count = 0;

  const uint8_t* agent_cell = CellAt(image, kAgentVx, kAgentVy);
  const int carried = ObjectAt(agent_cell);
  if (carried > kEmpty) pending[count++] = {&t.carry[carried][agent_cell[1]], &kNone};

  const int wall_steps[3][2] = {{0, -1}, {-1, 0}, {1, 0}};  // forward, left, right
  for (int dir = 0; dir < 3; ++dir) {
    const int n = WallDistance(image, wall_steps[dir][0], wall_steps[dir][1]);
    if (n > 0) pending[count++] = {&t.wall[dir][n], &kNone};
  }

  // Column-major: the image is laid out [vx][vy], so this walks it in memory order.
  const uint8_t* cell = image;
  for (int vx = 0; vx < kViewSize; ++vx) {
    for (int vy = 0; vy < kViewSize; ++vy, cell += 3) {
      const int obj = ObjectAt(cell);
      if (obj <= kWall || (vx == kAgentVx && vy == kAgentVy)) continue;
      const int state = obj == kDoor ? cell[2] : 0;
      pending[count++] = {&t.see[obj][cell[1]][state], &t.where[vx][vy]};
    }
  }
  return count;
}

}  // namespace

void DescribeView(const uint8_t* image, std::vector<std::string>* out) {
  Pending pending[kMaxSentences];
  const int count = CollectSentences(image, pending);
  out->reserve(out->size() + count);
  for (int i = 0; i < count; ++i) {
    const std::string& head = *pending[i].head;
    const std::string& tail = *pending[i].tail;
    std::string& s = out->emplace_back();
    s.reserve(head.size() + tail.size());
    s.append(head).append(tail);
  }
}

std::string JoinSentences(const std::vector<std::string>& sentences) {
  constexpr std::string_view kSep = ", ";
  if (sentences.empty()) return std::string();
  size_t total = kSep.size() * (sentences.size() - 1);
  for (const std::string& s : sentences) total += s.size();
  std::string joined;
  joined.reserve(total);
  for (size_t i = 0; i < sentences.size(); ++i) {
    if (i > 0) joined.append(kSep);
    joined.append(sentences[i]);
  }
  return joined;
}

void BuildPrompt(std::string_view mission, const std::vector<std::string>& sentences,
                 std::string* out) {
  constexpr std::string_view kSep = ", ";
  size_t total = kPromptGoal.size() + mission.size() + kPromptObservation.size() +
                 kPromptAction.size();
  for (const std::string& s : sentences) total += s.size() + kSep.size();
  out->clear();
  out->reserve(total);
  out->append(kPromptGoal).append(mission).append(kPromptObservation);
  for (size_t i = 0; i < sentences.size(); ++i) {
    if (i > 0) out->append(kSep);
    out->append(sentences[i]);
  }
  out->append(kPromptAction);
}

std::string ViewPrompt(std::string_view mission, const uint8_t* image) {
  std::vector<std::string> sentences;
  DescribeView(image, &sentences);
  std::string prompt;
  BuildPrompt(mission, sentences, &prompt);
  return prompt;
}

uint64_t ViewPromptHash(std::string_view mission, const uint8_t* image) {
  Pending pending[kMaxSentences];
  const int count = CollectSentences(image, pending);
  Fnv1a64Hasher h;
  h.Update(kPromptGoal).Update(mission).Update(kPromptObservation);
  for (int i = 0; i < count; ++i) {
    if (i > 0) h.Update(", ");
    h.Update(*pending[i].head).Update(*pending[i].tail);
  }
  h.Update(kPromptAction);
  return h.digest();
}

uint64_t PromptHash(std::string_view prompt) { return Fnv1a64(prompt); }

std::string EnvPrompt(const GridEnv& env) {
  uint8_t image[kImageBytes];
  WriteView(env, image);
  return ViewPrompt(env.mission, image);
}

uint64_t EnvPromptHash(const GridEnv& env) {
  uint8_t image[kImageBytes];
  WriteView(env, image);
  return ViewPromptHash(env.mission, image);
}

}  // namespace bidir
