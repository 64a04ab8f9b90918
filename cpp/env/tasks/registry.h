// Self-registration of task families: adding a family is one file under env/tasks/.
//
// A family file defines its Task subclasses and registers them with
//
//   BIDIR_REGISTER_TASKS(my_family) { tasks->push_back(std::make_unique<MyTask>(...)); }
//
// CMake globs env/tasks/*.cc into an OBJECT library (no static archive), so the linker
// keeps every file's registrar. AllTasks() runs the registration functions in the order
// of their source file names, so list_tasks() is deterministic.
#ifndef BIDIR_ENV_TASKS_REGISTRY_H_
#define BIDIR_ENV_TASKS_REGISTRY_H_

#include <memory>
#include <vector>

#include "env/tasks/task.h"

namespace bidir {

using TaskList = std::vector<std::unique_ptr<Task>>;
using RegisterFn = void (*)(TaskList* tasks);

// Records fn; called during static initialisation (before AllTasks() may run).
struct TaskRegistrar {
  TaskRegistrar(const char* file, RegisterFn fn);
};

}  // namespace bidir

#define BIDIR_REGISTER_TASKS_CAT2(a, b) a##b
#define BIDIR_REGISTER_TASKS_CAT(a, b) BIDIR_REGISTER_TASKS_CAT2(a, b)
// Defines the registration function of a family (its body receives `TaskList* tasks`).
#define BIDIR_REGISTER_TASKS(name)                                                       \
  static void BIDIR_REGISTER_TASKS_CAT(RegisterTasks_, name)(::bidir::TaskList * tasks); \
  static const ::bidir::TaskRegistrar BIDIR_REGISTER_TASKS_CAT(task_registrar_, name)(  \
      __FILE__, &BIDIR_REGISTER_TASKS_CAT(RegisterTasks_, name));                       \
  static void BIDIR_REGISTER_TASKS_CAT(RegisterTasks_, name)(::bidir::TaskList * tasks)

#endif  // BIDIR_ENV_TASKS_REGISTRY_H_
