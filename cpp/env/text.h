// BabyAI-Text: the sentences GLAM (Carta et al. 2023, "Grounding Large Language Models in
// Interactive Environments with Online Reinforcement Learning") gives its language agent
// instead of the 7x7 egocentric image. GLAM builds them in MiniGridEnv.gen_graph of the
// gym-minigrid fork inside its babyai-text package (returned as info["descriptions"]);
// DescribeView reproduces that English output from the encoded view alone.
//
// Input: minigrid's obs["image"], 7x7x3 bytes indexed [vx][vy][c] (offset
// (vx * 7 + vy) * 3 + c), c = (OBJECT_TO_IDX, COLOR_TO_IDX, state). The agent sits at
// (3, 6) facing vy = 0: forward is decreasing vy, left is decreasing vx. Its own cell holds
// the carried object, or (1, 0, 0) when it carries nothing. Hidden cells are (0, 0, 0).
//
// Rules, in the order the sentences are produced (GLAM's order):
//  1. Carrying: if cell (3, 6) is neither unseen nor empty,
//     "You carry a {color} {object}".
//  2. Walls, scanned straight ahead (vy = 5..0 at vx = 3), then left (vx = 2..0 at
//     vy = 6), then right (vx = 4..6 at vy = 6). Each scan skips unseen and empty cells
//     and stops at the first other cell; only if that cell is a wall is one sentence
//     produced: "You see a wall {n} step(s) forward|left|right", n its distance.
//     Anything else first in line (door, ball, floor, ...) hides the wall: no sentence.
//  3. Every visible cell that is not unseen, empty or wall, except the agent's own, in
//     column-major order (vx = 0..6 outer, vy = 0..6 inner: leftmost column first, far
//     cells before near ones). dx = vx - 3, dy = 6 - vy:
//       dx == 0: "You see a {color} {object} {dy} step(s) forward"
//       dy == 0: "You see a {color} {object} {|dx|} step(s) left|right"
//       else:    "You see a {color} {object} {|dx|} step(s) left|right and {dy} step(s)
//                forward"
//     Doors add their state: "You see an open {color} door ...",
//     "You see a closed {color} door ...", "You see a locked {color} door ...".
//     Floor, goal, lava (and agent) cells are objects like any other, e.g.
//     "You see a green goal 2 steps forward", "You see a red lava 1 step right".
//  4. "step" when the count is 1, "steps" otherwise (counts are always >= 1).
//  Names are minigrid's IDX_TO_OBJECT / IDX_TO_COLOR strings; states open/closed/locked.
//
// Deviations from GLAM's code:
//  * Door article. GLAM tests `IDX_TO_STATE[state] != 0`, comparing the state *name* to
//    the integer 0, which is always true, so it writes "You see a open ... door". That is
//    clearly a bug against its own intent (its else-branch writes "an"); we write
//    "an open".
//  * Carrying is read from cell (3, 6) instead of env.carrying. This is equivalent:
//    gen_obs_grid places exactly the carried object there.
//  * Encodings minigrid cannot produce (object index > 10; a color > 5 on a cell that is
//    neither unseen nor empty; a door state > 2) are read as unseen cells. GLAM would
//    raise KeyError on them; we must not crash on arbitrary bytes.
//
// Sentences carry no trailing punctuation. JoinSentences joins them with ", " as the
// teacher prompt needs.
//
// Teacher prompts use the Lamorel/GLAM format:
//
//   "Goal of the agent: {mission}\nObservation: {sentences joined by ", "}\nAction:"
//
// e.g. "Goal of the agent: go to the red ball\nObservation: You see a wall 2 steps
// forward, You see a red ball 1 step left\nAction:". With no sentences the observation
// is empty ("Observation: \nAction:"). PromptHash is the 64-bit FNV-1a (core/hash.h) of
// the prompt's UTF-8 bytes; the *PromptHash functions compute it from the pieces without
// building the text.
#ifndef BIDIR_ENV_TEXT_H_
#define BIDIR_ENV_TEXT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bidir {

class GridEnv;

inline constexpr std::string_view kPromptGoal = "Goal of the agent: ";
inline constexpr std::string_view kPromptObservation = "\nObservation: ";
inline constexpr std::string_view kPromptAction = "\nAction:";

// Appends the BabyAI-Text sentences describing one 7x7x3 egocentric view to *out (does
// not clear it). Thread-safe; allocates only the appended strings (and *out's growth).
void DescribeView(const uint8_t* image, std::vector<std::string>* out);

// Joins sentences the way the teacher prompt needs: ", "-separated.
std::string JoinSentences(const std::vector<std::string>& sentences);

// Writes the teacher prompt for a mission and the sentences of a view into *out
// (replacing its contents, reusing its capacity).
void BuildPrompt(std::string_view mission, const std::vector<std::string>& sentences,
                 std::string* out);

// The teacher prompt for a mission and a 7x7x3 egocentric view (see DescribeView).
std::string ViewPrompt(std::string_view mission, const uint8_t* image);

// Fnv1a64(ViewPrompt(mission, image)), computed without allocating.
uint64_t ViewPromptHash(std::string_view mission, const uint8_t* image);

// The hash of a prompt's text: Fnv1a64 of its bytes.
uint64_t PromptHash(std::string_view prompt);

// The teacher prompt for env's current state: its mission and the description of the
// view WriteView(env) gives.
std::string EnvPrompt(const GridEnv& env);

// Fnv1a64(EnvPrompt(env)), computed without allocating.
uint64_t EnvPromptHash(const GridEnv& env);

}  // namespace bidir

#endif  // BIDIR_ENV_TEXT_H_
