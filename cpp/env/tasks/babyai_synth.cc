// BabyAI synthesis levels (minigrid/envs/babyai/synth.py), all LevelGen: Synth*,
// SynthLoc, SynthSeq, MiniBossLevel, BossLevel and BossLevelNoUnlock. Random
// instructions of the whole baby language (GoTo, Pickup, Open, PutNext, and, then, after
// you), optionally a locked room whose key is elsewhere.
#include <string>

#include "env/tasks/babyai_level.h"
#include "env/tasks/registry.h"

namespace bidir {

BIDIR_REGISTER_TASKS(babyai_synth) {
  LevelGenOptions synth;
  synth.instr_kinds = {"action"};
  synth.locations = false;
  synth.unblocking = true;
  synth.implicit_unlock = false;
  tasks->push_back(MakeLevelGen("BabyAI-Synth-v0", synth));
  LevelGenOptions s5 = synth;
  s5.room_size = 5;
  s5.num_rows = 2;
  tasks->push_back(MakeLevelGen("BabyAI-SynthS5R2-v0", s5));
  LevelGenOptions loc = synth;
  loc.locations = true;
  tasks->push_back(MakeLevelGen("BabyAI-SynthLoc-v0", loc));
  LevelGenOptions seq = loc;
  seq.instr_kinds = {"action", "and", "seq"};
  tasks->push_back(MakeLevelGen("BabyAI-SynthSeq-v0", seq));
  LevelGenOptions mini;
  mini.num_cols = mini.num_rows = 2;
  mini.room_size = 5;
  mini.num_dists = 7;
  mini.locked_room_prob = 0.25;
  tasks->push_back(MakeLevelGen("BabyAI-MiniBossLevel-v0", mini));
  tasks->push_back(MakeLevelGen("BabyAI-BossLevel-v0", LevelGenOptions{}));
  LevelGenOptions nounlock;
  nounlock.locked_room_prob = 0;
  nounlock.implicit_unlock = false;
  tasks->push_back(MakeLevelGen("BabyAI-BossLevelNoUnlock-v0", nounlock));
}

}  // namespace bidir
