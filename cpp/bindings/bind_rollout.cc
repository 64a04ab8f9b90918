// Bindings for rollout math over buffers that Python owns: GAE and minibatch permutations.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "bindings/checks.h"
#include "rollout/gae.h"

namespace bidir {
namespace {

void PyComputeGae(const py::object& rewards_obj, const py::object& values_obj,
                  const py::object& terminated_obj, const py::object& truncated_obj,
                  const py::object& final_values_obj, const py::object& next_values_obj,
                  const py::object& gamma_obj, const py::object& lam_obj,
                  const py::object& advantages_obj, const py::object& returns_obj) {
  const py::array rewards = AsArray(rewards_obj, "rewards");
  const py::array values = AsArray(values_obj, "values");
  const py::array terminated = AsArray(terminated_obj, "terminated");
  const py::array truncated = AsArray(truncated_obj, "truncated");
  const py::array final_values = AsArray(final_values_obj, "final_values");
  const py::array next_values = AsArray(next_values_obj, "next_values");
  py::array advantages = AsArray(advantages_obj, "advantages");
  py::array returns = AsArray(returns_obj, "returns");
  if (rewards.ndim() != 2) {
    throw py::value_error("rewards must have shape (T, N), got " +
                          ShapeString({rewards.shape(), rewards.shape() + rewards.ndim()}));
  }
  const py::ssize_t t = rewards.shape(0), n = rewards.shape(1);
  if (t > std::numeric_limits<int>::max() || n > std::numeric_limits<int>::max()) {
    throw py::value_error("rewards is too large: T and N must each fit in a C int");
  }
  CheckArray<float>(rewards, "rewards", {t, n}, false);
  CheckArray<float>(values, "values", {t, n}, false);
  CheckArray<bool>(terminated, "terminated", {t, n}, false);
  CheckArray<bool>(truncated, "truncated", {t, n}, false);
  CheckArray<float>(final_values, "final_values", {t, n}, false);
  CheckArray<float>(next_values, "next_values", {n}, false);
  CheckArray<float>(advantages, "advantages", {t, n}, true);
  CheckArray<float>(returns, "returns", {t, n}, true);
  const double gamma = UnitInterval(gamma_obj, "gamma");
  const double lam = UnitInterval(lam_obj, "lam");
  CheckNoOverlap({RangeOf(rewards, "rewards"), RangeOf(values, "values"),
                  RangeOf(terminated, "terminated"), RangeOf(truncated, "truncated"),
                  RangeOf(final_values, "final_values"), RangeOf(next_values, "next_values"),
                  RangeOf(advantages, "advantages"), RangeOf(returns, "returns")},
                 2);
  const auto* r = static_cast<const float*>(rewards.data());
  const auto* v = static_cast<const float*>(values.data());
  const auto* te = static_cast<const bool*>(terminated.data());
  const auto* tr = static_cast<const bool*>(truncated.data());
  const auto* fv = static_cast<const float*>(final_values.data());
  const auto* nv = static_cast<const float*>(next_values.data());
  auto* adv = static_cast<float*>(advantages.mutable_data());
  auto* ret = static_cast<float*>(returns.mutable_data());
  py::gil_scoped_release release;
  ComputeGae(static_cast<int>(t), static_cast<int>(n), r, v, te, tr, fv, nv,
             static_cast<float>(gamma), static_cast<float>(lam), adv, ret);
}

py::array_t<int64_t> PyShuffledIndices(const py::object& n_obj, const py::object& seed_obj) {
  const int64_t n =
      Integer(n_obj, "n", py::int_(0), py::int_(std::numeric_limits<int64_t>::max()), "[0, 2**63)")
          .cast<int64_t>();
  const uint64_t seed = Integer(seed_obj, "seed", py::int_(0),
                                py::int_(std::numeric_limits<uint64_t>::max()), "[0, 2**64)")
                            .cast<uint64_t>();
  py::array_t<int64_t> out(static_cast<py::ssize_t>(n));
  int64_t* d = out.mutable_data();
  py::gil_scoped_release release;
  ShuffledIndices(n, seed, d);
  return out;
}

}  // namespace

void BindRollout(py::module_& m) {
  m.def("compute_gae", &PyComputeGae, py::arg("rewards"), py::arg("values"), py::arg("terminated"),
        py::arg("truncated"), py::arg("final_values"), py::arg("next_values"), py::arg("gamma"),
        py::arg("lam"), py::arg("advantages"), py::arg("returns"),
        "Writes GAE advantages and returns (T, N) float32 in place from (T, N) rollout "
        "arrays, bootstrapping truncated episodes from final_values.");
  m.def("shuffled_indices", &PyShuffledIndices, py::arg("n"), py::arg("seed"),
        "A reproducible permutation of 0..n-1 (int64), from splitmix64 Fisher-Yates.");
}

}  // namespace bidir
