#include "env/tasks/registry.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <utility>

namespace bidir {
namespace {

std::vector<std::pair<std::string, RegisterFn>>& Registrars() {
  static auto* registrars = new std::vector<std::pair<std::string, RegisterFn>>();
  return *registrars;
}

}  // namespace

TaskRegistrar::TaskRegistrar(const char* file, RegisterFn fn) {
  std::string name(file);
  const size_t slash = name.find_last_of("/\\");
  if (slash != std::string::npos) name = name.substr(slash + 1);
  Registrars().emplace_back(std::move(name), fn);
}

const std::vector<std::unique_ptr<Task>>& AllTasks() {
  static const TaskList* tasks = [] {
    auto regs = Registrars();
    std::stable_sort(regs.begin(), regs.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    auto* list = new TaskList();
    for (const auto& r : regs) r.second(list);
    std::unordered_set<std::string> seen;
    for (const auto& t : *list) {
      if (!seen.insert(t->id()).second) {
        throw std::logic_error("task id registered twice: " + t->id());
      }
    }
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
