// The vocabularies the Python side tokenises with, defined once beside the text they cover.
//
// kMissionWords is the student's mission vocabulary: a word's position is the id its
// network embeds it with (0 pads, 1 is any unknown word), so the order is frozen.
// PromptWords() is the word set of the embedded `tiny` teacher's tokenizer: every word a
// prompt can contain (the prompt frame, BabyAI-Text sentences, missions, action strings,
// step counts), sorted, so the ids are the same on every machine.
#pragma once

#include <algorithm>
#include <array>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "env/world.h"

namespace bidir {

inline constexpr std::string_view kMissionWords[] = {
    "<pad>", "<unk>",  "go",     "to",    "get",    "pick", "up",    "open",  "put",
    "next",  "use",    "unlock", "avoid", "the",    "a",    "an",    "and",   "then",
    "after", "you",    ",",      "red",   "green",  "blue", "purple", "yellow", "grey",
    "door",  "ball",   "box",    "key",   "object", "goal", "square", "wall",  "lava",
    "on",    "your",   "left",   "right", "in",     "front", "of",   "behind"};

// Word groups of the prompts beyond the object, colour and action names of world.h.
inline constexpr std::string_view kPromptFrameWords = "goal of the agent : observation , action";
inline constexpr std::string_view kDoorStateWords = "open closed locked";
inline constexpr std::string_view kSentenceWords =
    "you see a an carry step steps left right and forward";
inline constexpr std::string_view kMissionGrammarWords =
    "go to the a pick up put next open use key and then get goal square after "
    "in front of behind your it object";
inline constexpr int kMaxStepCount = 20;  // BabyAI-Text says "N steps" for N < 20

inline std::vector<std::string> PromptWords() {
  std::vector<std::string> words;
  auto add_words = [&](std::string_view text) {
    std::istringstream in{std::string(text)};
    for (std::string w; in >> w;) words.push_back(w);
  };
  add_words(kPromptFrameWords);
  for (auto name : kObjectNames) add_words(name);
  for (auto name : kColorNames) add_words(name);
  add_words(kDoorStateWords);
  add_words(kSentenceWords);
  add_words(kMissionGrammarWords);
  for (auto name : kActionNames) add_words(name);
  for (int n = 0; n < kMaxStepCount; ++n) words.push_back(std::to_string(n));
  std::sort(words.begin(), words.end());
  words.erase(std::unique(words.begin(), words.end()), words.end());
  return words;
}

}  // namespace bidir
