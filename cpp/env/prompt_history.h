// GLAM's teacher prompt: the prompt Lamorel's PPO example (the GLAM baseline) builds from
// each env's last observations and actions, with the candidate actions as a header.
//
//   "Possible action of the agent: turn left, turn right, go forward, pick up, drop, toggle"
//   " \n Goal of the agent: {mission}"
//   then for each kept observation i = 0, 1, ... (at most 3, oldest first):
//   " \n Observation {i}: " + every BabyAI-Text sentence followed by ", " (the last too)
//   "\n Action {i}: " + the action taken after observation i, if any (at most 2 kept;
//   the current observation's action is empty: the LM continues from there).
//
// Both queues are emptied when an episode starts and the first observation of the new
// episode is pushed; every step then pushes its action and the observation it led to.
#ifndef BIDIR_ENV_PROMPT_HISTORY_H_
#define BIDIR_ENV_PROMPT_HISTORY_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "env/view.h"

namespace bidir {

// Which teacher prompt an env builds (VecEnv::Prompt).
enum class PromptStyle {
  kShort = 0,  // "Goal of the agent: ...\nObservation: ...\nAction:" (env/text.h)
  kGlam = 1,   // GLAM's header + goal + the last 3 observations and 2 actions
};

inline constexpr int kGlamObservations = 3;  // observations a GLAM prompt keeps
inline constexpr int kGlamActions = 2;       // actions a GLAM prompt keeps
inline constexpr int kPromptActions = 6;     // candidate actions: turn left .. toggle

// One env's last kGlamObservations views (7x7x3 encodings) and kGlamActions actions.
class PromptHistory {
 public:
  // Starts an episode: forgets everything and keeps `image` as observation 0.
  void Start(const uint8_t* image);
  // Records one step: the action taken and the view it led to (oldest entries drop out).
  void Push(int action, const uint8_t* image);

  int num_observations() const { return num_obs_; }
  int num_actions() const { return num_acts_; }
  // Observation k (0 = oldest kept), a kImageBytes encoding.
  const uint8_t* observation(int k) const { return obs_[k]; }
  int action(int k) const { return acts_[k]; }

 private:
  uint8_t obs_[kGlamObservations][kImageBytes] = {};
  int acts_[kGlamActions] = {};
  int num_obs_ = 0;
  int num_acts_ = 0;
};

// Writes GLAM's prompt for the given mission, observations (each a list of BabyAI-Text
// sentences, oldest first) and actions taken after them (action strings) into *out.
// Throws std::invalid_argument unless actions.size() is observations.size() - 1 or
// observations.size() (the last observation's action, if given, is written too).
void BuildGlamPrompt(std::string_view mission,
                     const std::vector<std::vector<std::string>>& observations,
                     const std::vector<std::string>& actions, std::string* out);

// GLAM's prompt of an env's history (its views described with DescribeView).
std::string GlamPrompt(std::string_view mission, const PromptHistory& history);

}  // namespace bidir

#endif  // BIDIR_ENV_PROMPT_HISTORY_H_
