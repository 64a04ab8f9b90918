// Argument checks shared by the bindings: exact dtype, shape and layout, with messages
// that name the argument. Buffers we write to are never converted.
#ifndef BIDIR_BINDINGS_CHECKS_H_
#define BIDIR_BINDINGS_CHECKS_H_

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <limits>
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

// Returns obj as an ndarray; anything else is a TypeError naming `name` (never converted,
// so a buffer we write to is the caller's own memory).
inline py::array AsArray(const py::object& obj, const char* name) {
  if (!py::isinstance<py::array>(obj)) {
    throw py::type_error(std::string(name) + " must be a numpy.ndarray, got " +
                         std::string(py::str(py::type::handle_of(obj).attr("__name__"))));
  }
  return py::reinterpret_borrow<py::array>(obj);
}

// Returns x as a double if it is a real number (not bool, not complex); else TypeError
// naming `name`.
inline double RealNumber(const py::object& x, const char* name) {
  if (py::isinstance<py::bool_>(x) || !PyNumber_Check(x.ptr()) || PyComplex_Check(x.ptr())) {
    throw py::type_error(std::string(name) + " must be a float, got " +
                         std::string(py::str(py::type::handle_of(x).attr("__name__"))));
  }
  return x.cast<double>();
}

// Checks that x is a real number in [0, 1]; TypeError / ValueError naming `name`.
inline double UnitInterval(const py::object& x, const char* name) {
  const double v = RealNumber(x, name);
  if (!(v >= 0.0 && v <= 1.0)) {  // also rejects NaN
    throw py::value_error(std::string(name) + " must be in [0, 1], got " + std::string(py::str(x)));
  }
  return v;
}

// Checks that x is a finite real number > 0; TypeError / ValueError naming `name`.
inline double PositiveReal(const py::object& x, const char* name) {
  const double v = RealNumber(x, name);
  if (!(v > 0.0 && v < HUGE_VAL)) {  // also rejects NaN and inf
    throw py::value_error(std::string(name) + " must be a finite number > 0, got " +
                          std::string(py::str(x)));
  }
  return v;
}

// Checks that x is a finite real number >= 0; TypeError / ValueError naming `name`.
inline double NonNegativeReal(const py::object& x, const char* name) {
  const double v = RealNumber(x, name);
  if (!(v >= 0.0 && v < HUGE_VAL)) {  // also rejects NaN and inf
    throw py::value_error(std::string(name) + " must be a finite number >= 0, got " +
                          std::string(py::str(x)));
  }
  return v;
}

// Checks that x is an integer (not bool) in [lo, hi]; TypeError / ValueError naming `name`.
inline py::int_ Integer(const py::object& x, const char* name, const py::int_& lo, const py::int_& hi,
                 const char* range) {
  if (py::isinstance<py::bool_>(x) || !PyIndex_Check(x.ptr())) {
    throw py::type_error(std::string(name) + " must be an int, got " +
                         std::string(py::str(py::type::handle_of(x).attr("__name__"))));
  }
  py::int_ v = py::reinterpret_steal<py::int_>(PyNumber_Index(x.ptr()));
  if (!v) throw py::error_already_set();
  if (v < lo || v > hi) {
    throw py::value_error(std::string(name) + " must be in " + range + ", got " +
                          std::string(py::str(v)));
  }
  return v;
}

struct ByteRange {
  const char* begin;
  const char* end;
  const char* name;
};

inline ByteRange RangeOf(const py::array& a, const char* name) {
  const char* p = static_cast<const char*>(a.data());
  return {p, p + a.nbytes(), name};
}

// Raises ValueError if one of the last `num_outputs` ranges overlaps any other range: an
// output aliasing an input (e.g. GAE reading values[t + 1] after writing row t + 1) would
// corrupt results.
inline void CheckNoOverlap(const std::vector<ByteRange>& ranges, size_t num_outputs) {
  for (size_t i = ranges.size() - num_outputs; i < ranges.size(); ++i) {
    const ByteRange& o = ranges[i];
    for (size_t j = 0; j < ranges.size(); ++j) {
      const ByteRange& x = ranges[j];
      if (j == i || o.begin == o.end || x.begin == x.end) continue;
      if (o.begin < x.end && x.begin < o.end) {
        throw py::value_error(std::string(o.name) + " must not share memory with " + x.name);
      }
    }
  }
}

// The arrays of a rollout that GAE and the feedback aggregation both read, checked:
// float32 (T, N) rewards, values and final_values, bool (T, N) terminated and truncated,
// float32 (N,) next_values; T and N fit in a C int.
struct RolloutArrays {
  py::array rewards, values, terminated, truncated, final_values, next_values;
  py::ssize_t t = 0, n = 0;

  // Their byte ranges, for CheckNoOverlap (outputs are appended after them).
  std::vector<ByteRange> Ranges() const {
    return {RangeOf(rewards, "rewards"),       RangeOf(values, "values"),
            RangeOf(terminated, "terminated"), RangeOf(truncated, "truncated"),
            RangeOf(final_values, "final_values"), RangeOf(next_values, "next_values")};
  }
};

inline RolloutArrays CheckRolloutArrays(const py::object& rewards, const py::object& values,
                                        const py::object& terminated,
                                        const py::object& truncated,
                                        const py::object& final_values,
                                        const py::object& next_values) {
  RolloutArrays r{AsArray(rewards, "rewards"),       AsArray(values, "values"),
                  AsArray(terminated, "terminated"), AsArray(truncated, "truncated"),
                  AsArray(final_values, "final_values"), AsArray(next_values, "next_values")};
  if (r.rewards.ndim() != 2) {
    throw py::value_error("rewards must have shape (T, N), got " +
                          ShapeString({r.rewards.shape(), r.rewards.shape() + r.rewards.ndim()}));
  }
  r.t = r.rewards.shape(0);
  r.n = r.rewards.shape(1);
  if (r.t > std::numeric_limits<int>::max() || r.n > std::numeric_limits<int>::max()) {
    throw py::value_error("rewards is too large: T and N must each fit in a C int");
  }
  CheckArray<float>(r.rewards, "rewards", {r.t, r.n}, false);
  CheckArray<float>(r.values, "values", {r.t, r.n}, false);
  CheckArray<bool>(r.terminated, "terminated", {r.t, r.n}, false);
  CheckArray<bool>(r.truncated, "truncated", {r.t, r.n}, false);
  CheckArray<float>(r.final_values, "final_values", {r.t, r.n}, false);
  CheckArray<float>(r.next_values, "next_values", {r.n}, false);
  return r;
}

}  // namespace bidir

#endif  // BIDIR_BINDINGS_CHECKS_H_
