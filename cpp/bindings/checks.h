// Argument checks shared by the bindings: exact dtype, shape and layout, with messages
// that name the argument. Buffers we write to are never converted.
#ifndef BIDIR_BINDINGS_CHECKS_H_
#define BIDIR_BINDINGS_CHECKS_H_

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

namespace bidir {
namespace py = pybind11;

inline std::string ShapeString(const std::vector<py::ssize_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

// Checks that arr has exactly dtype T, the given shape and C-contiguous layout (and is
// writeable when `writeable`); throws TypeError / ValueError naming `name`.
template <typename T>
void CheckArray(const py::array& arr, const char* name, const std::vector<py::ssize_t>& shape,
                bool writeable) {
  // numpy's dtype equality (identity fails after pickling; byte order must match).
  if (!arr.dtype().attr("__eq__")(py::dtype::of<T>()).template cast<bool>()) {
    throw py::type_error(std::string(name) + " must have dtype " +
                         std::string(py::str(py::dtype::of<T>())) + ", got " +
                         std::string(py::str(arr.dtype())));
  }
  std::vector<py::ssize_t> got(arr.shape(), arr.shape() + arr.ndim());
  if (got != shape) {
    throw py::value_error(std::string(name) + " must have shape " + ShapeString(shape) +
                          ", got " + ShapeString(got));
  }
  if (!(arr.flags() & py::array::c_style)) {
    throw py::value_error(std::string(name) + " must be C-contiguous");
  }
  if (writeable && !arr.writeable()) {
    throw py::value_error(std::string(name) + " must be writeable");
  }
}

}  // namespace bidir

#endif  // BIDIR_BINDINGS_CHECKS_H_
