#include "env/prompt_history.h"

#include <cstring>
#include <stdexcept>

#include "env/text.h"
#include "env/world.h"

namespace bidir {

void PromptHistory::Start(const uint8_t* image) {
  std::memcpy(obs_[0], image, kImageBytes);
  num_obs_ = 1;
  num_acts_ = 0;
}

void PromptHistory::Push(int action, const uint8_t* image) {
  if (num_acts_ == kGlamActions) {
    std::memmove(acts_, acts_ + 1, sizeof(int) * (kGlamActions - 1));
    --num_acts_;
  }
  acts_[num_acts_++] = action;
  if (num_obs_ == kGlamObservations) {
    std::memmove(obs_[0], obs_[1], static_cast<size_t>(kImageBytes) * (kGlamObservations - 1));
    --num_obs_;
  }
  std::memcpy(obs_[num_obs_++], image, kImageBytes);
}

void BuildGlamPrompt(std::string_view mission,
                     const std::vector<std::vector<std::string>>& observations,
                     const std::vector<std::string>& actions, std::string* out) {
  const size_t n = observations.size();
  if (actions.size() + 1 != n && actions.size() != n) {
    throw std::invalid_argument("a GLAM prompt needs one action per observation but the last "
                                "(or one per observation): got " +
                                std::to_string(n) + " observations and " +
                                std::to_string(actions.size()) + " actions");
  }
  out->clear();
  out->append("Possible action of the agent:");
  for (int a = 0; a < kPromptActions; ++a) {
    out->append(" ").append(kActionNames[a]);
    if (a + 1 < kPromptActions) out->append(",");
  }
  out->append(" \n Goal of the agent: ").append(mission);
  for (size_t i = 0; i < n; ++i) {
    out->append(" \n Observation ").append(std::to_string(i)).append(": ");
    for (const std::string& s : observations[i]) out->append(s).append(", ");
    out->append("\n Action ").append(std::to_string(i)).append(": ");
    if (i < actions.size()) out->append(actions[i]);
  }
}

std::string GlamPrompt(std::string_view mission, const PromptHistory& history) {
  std::vector<std::vector<std::string>> observations(
      static_cast<size_t>(history.num_observations()));
  for (int k = 0; k < history.num_observations(); ++k) {
    DescribeView(history.observation(k), &observations[k]);
  }
  std::vector<std::string> actions;
  for (int k = 0; k < history.num_actions(); ++k) {
    actions.emplace_back(kActionNames[history.action(k)]);
  }
  std::string out;
  BuildGlamPrompt(mission, observations, actions, &out);
  return out;
}

}  // namespace bidir
