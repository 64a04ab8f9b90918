// The private extension module bidir_core._core: one Bind*() per area.
#include <pybind11/pybind11.h>

namespace bidir {
void BindEnv(pybind11::module_& m);
void BindText(pybind11::module_& m);
void BindRollout(pybind11::module_& m);
void BindFeedback(pybind11::module_& m);
void BindStudent(pybind11::module_& m);
}  // namespace bidir

PYBIND11_MODULE(_core, m) {
  m.doc() = "bidir_core C++ core: batched grid worlds, text descriptions, planner, GAE, feedback,"
             " the student's PPO gradient.";
  bidir::BindEnv(m);
  bidir::BindText(m);
  bidir::BindRollout(m);
  bidir::BindFeedback(m);
  bidir::BindStudent(m);
}
