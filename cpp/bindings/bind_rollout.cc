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
  const RolloutArrays r = CheckRolloutArrays(rewards_obj, values_obj, terminated_obj,
                                             truncated_obj, final_values_obj, next_values_obj);
  py::array advantages = AsArray(advantages_obj, "advantages");
  py::array returns = AsArray(returns_obj, "returns");
  CheckArray<float>(advantages, "advantages", {r.t, r.n}, true);
  CheckArray<float>(returns, "returns", {r.t, r.n}, true);
  const double gamma = UnitInterval(gamma_obj, "gamma");
  const double lam = UnitInterval(lam_obj, "lam");
  std::vector<ByteRange> ranges = r.Ranges();
  ranges.push_back(RangeOf(advantages, "advantages"));
  ranges.push_back(RangeOf(returns, "returns"));
  CheckNoOverlap(ranges, 2);
  const auto* rw = static_cast<const float*>(r.rewards.data());
  const auto* v = static_cast<const float*>(r.values.data());
  const auto* te = static_cast<const bool*>(r.terminated.data());
  const auto* tr = static_cast<const bool*>(r.truncated.data());
  const auto* fv = static_cast<const float*>(r.final_values.data());
  const auto* nv = static_cast<const float*>(r.next_values.data());
  auto* adv = static_cast<float*>(advantages.mutable_data());
  auto* ret = static_cast<float*>(returns.mutable_data());
  py::gil_scoped_release release;
  ComputeGae(static_cast<int>(r.t), static_cast<int>(r.n), rw, v, te, tr, fv, nv,
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
