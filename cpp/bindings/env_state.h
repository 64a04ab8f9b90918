// Env state for the bindings: get_state's picklable dict, set_state's validating parser,
// and EnvSnapshot, the opaque in-memory copy that snapshot()/restore() move between envs.
#ifndef BIDIR_BINDINGS_ENV_STATE_H_
#define BIDIR_BINDINGS_ENV_STATE_H_

#include <pybind11/pybind11.h>

#include "env/grid_env.h"
#include "env/tasks/task.h"

namespace bidir {
namespace py = pybind11;

// The full state of env e as a dict of Python values and numpy arrays (see
// BidirVecEnv.set_state's docstring for the keys).
py::dict StateDict(const GridEnv& e, bool needs_reset);
// Parses and validates a StateDict of `task` into a new GridEnv; raises ValueError or
// TypeError naming the bad field, and modifies nothing.
GridEnv ParseState(const Task& task, const py::object& obj, bool* needs_reset);

// One env's state copied in C++ (no dict): the episode and whether its next step resets.
struct EnvSnapshot {
  GridEnv env;
  bool needs_reset = false;
};

}  // namespace bidir

#endif  // BIDIR_BINDINGS_ENV_STATE_H_
