#include "env/grid_env.h"

#include "env/tasks/task.h"

namespace bidir {

GridEnv::GridEnv(const Task* task) : task(task) {}

void GridEnv::Reset() {
  agent = {-1, -1};
  agent_dir = 0;
  instr = Instr{};
  babyai.Clear();
  task->Generate(this);
  carrying = EmptyCell();
  step_count = 0;
  episode_return = 0.0;
}

StepOutcome GridEnv::Step(int action) {
  if (babyai.start_carrying.x >= 0) BabyAIStartCarrying(this);
  StepOutcome out;
  ++step_count;
  const Pos fwd = FrontPos();
  Cell& fwd_cell = grid.At(fwd);
  const bool was_carrying = Carrying();
  const bool fwd_was_box = fwd_cell.type == kBox;

  switch (action) {
    case kLeft:
      agent_dir = (agent_dir + 3) & 3;
      break;
    case kRight:
      agent_dir = (agent_dir + 1) & 3;
      break;
    case kForward:
      if (CanOverlap(fwd_cell)) agent = fwd;
      if (fwd_cell.type == kGoal) {
        out.terminated = true;
        out.success = true;
        out.reward = 1.0 - 0.9 * (static_cast<double>(step_count) / max_steps);
      } else if (fwd_cell.type == kLava) {
        out.terminated = true;
      }
      break;
    case kPickup:
      if (CanPickup(fwd_cell) && !Carrying()) {
        carrying = fwd_cell;
        fwd_cell = EmptyCell();
      }
      break;
    case kDrop:
      if (fwd_cell.IsEmpty() && Carrying()) {
        fwd_cell = carrying;
        carrying = EmptyCell();
      }
      break;
    case kToggle:
      if (fwd_cell.type == kDoor) {
        if (fwd_cell.state == kDoorLocked) {
          if (carrying.type == kKey && carrying.color == fwd_cell.color) {
            fwd_cell.state = kDoorOpen;
          }
        } else {
          fwd_cell.state = fwd_cell.state == kDoorOpen ? kDoorClosed : kDoorOpen;
        }
      } else if (fwd_cell.type == kBox) {
        // Box.toggle replaces the box with its contents (or nothing).
        fwd_cell = MakeObject(fwd_cell.inner_type, fwd_cell.inner_color, fwd_cell.inner_state);
      }
      break;
    default:  // kDone: nothing happens
      break;
  }
  if (step_count >= max_steps) out.truncated = true;

  // RoomGridLevel.step: the verifier runs after every action. GoTo targets never move
  // (see Instr), so the update of object positions after a drop is a no-op here.
  if (instr.kind == InstrKind::kGoTo) {
    const Pos front = FrontPos();
    for (const Pos& t : instr.targets) {
      if (t == front) {
        out.terminated = true;
        out.success = true;
        out.reward = 1.0 - 0.9 * (static_cast<double>(step_count) / max_steps);
        break;
      }
    }
  }
  if (instr.kind == InstrKind::kTree) {
    BabyAIAfterAction(this, action, fwd, was_carrying, fwd_was_box, &out.reward, &out.terminated,
                      &out.success);
  }
  episode_return += out.reward;
  return out;
}

}  // namespace bidir
