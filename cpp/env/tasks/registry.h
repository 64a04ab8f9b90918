// Registration hooks, one per task family file.
#ifndef BIDIR_ENV_TASKS_REGISTRY_H_
#define BIDIR_ENV_TASKS_REGISTRY_H_

#include <memory>
#include <vector>

#include "env/tasks/task.h"

namespace bidir {

using TaskList = std::vector<std::unique_ptr<Task>>;

void RegisterBabyAIGoToTasks(TaskList* tasks);  // babyai_goto.cc
void RegisterEmptyTasks(TaskList* tasks);       // empty.cc
void RegisterDoorKeyTasks(TaskList* tasks);     // door_key.cc

}  // namespace bidir

#endif  // BIDIR_ENV_TASKS_REGISTRY_H_
