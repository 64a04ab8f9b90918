#include "env/tasks/registry.h"

namespace bidir {

const std::vector<std::unique_ptr<Task>>& AllTasks() {
  static const TaskList* tasks = [] {
    auto* list = new TaskList();
    RegisterBabyAIGoToTasks(list);
    RegisterEmptyTasks(list);
    RegisterDoorKeyTasks(list);
    return list;
  }();
  return *tasks;
}

const Task* FindTask(const std::string& id) {
  for (const auto& t : AllTasks()) {
    if (t->id() == id) return t.get();
  }
  return nullptr;
}

std::vector<std::string> ListTaskIds() {
  std::vector<std::string> ids;
  for (const auto& t : AllTasks()) ids.push_back(t->id());
  return ids;
}

}  // namespace bidir
