// Bindings for the student -> teacher feedback: window aggregation of TD errors, running
// normalisation statistics and the non-parametric feedback table.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/typing.h>

#include <cstdint>
#include <limits>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bindings/checks.h"
#include "feedback/feedback_table.h"
#include "feedback/running_stats.h"
#include "feedback/td_feedback.h"

namespace bidir {
namespace {

// AsArray, and a TypeError for a numpy masked array (its buffer keeps the values hidden
// under the mask, which the core would read as data): bidir_core._checks.reject_masked.
py::array FeedbackArray(const py::object& obj, const char* name) {
  py::module_::import("bidir_core._checks").attr("reject_masked")(name, obj);
  return AsArray(obj, name);
}

// ValueError naming the first index i < n (of a (T, N) array when n_cols > 0) where
// ok(x[i]) is false (and mask[i], if a mask is given).
template <typename Ok>
void CheckValues(const float* x, const bool* mask, size_t n, const char* name, const char* what,
                 Ok ok, py::ssize_t n_cols = 0) {
  for (size_t i = 0; i < n; ++i) {
    if (mask && !mask[i]) continue;
    if (ok(x[i])) continue;
    std::string at = n_cols > 0 ? std::to_string(i / n_cols) + ", " + std::to_string(i % n_cols)
                                : std::to_string(i);
    throw py::value_error(std::string(name) + "[" + at + "] is " +
                          std::string(py::str(py::float_(x[i]))) + "; " + what);
  }
}

bool IsFinite(float v) { return std::isfinite(v); }

void PyAggregateFeedback(const py::object& rewards_obj, const py::object& values_obj,
                         const py::object& terminated_obj, const py::object& truncated_obj,
                         const py::object& final_values_obj, const py::object& next_values_obj,
                         const py::object& queries_obj, const py::object& teacher_obj,
                         const py::object& behaviour_obj, const py::object& gamma_obj,
                         const py::object& lam_obj, const py::object& rho_max_obj,
                         const py::object& deltas_obj, const py::object& advantages_obj,
                         const py::object& ratios_obj, const py::object& feedback_obj,
                         const py::object& window_lengths_obj) {
  for (const auto& [obj, name] :
       {std::pair<const py::object&, const char*>{rewards_obj, "rewards"},
        {values_obj, "values"}, {terminated_obj, "terminated"}, {truncated_obj, "truncated"},
        {final_values_obj, "final_values"}, {next_values_obj, "next_values"}}) {
    FeedbackArray(obj, name);
  }
  const RolloutArrays r = CheckRolloutArrays(rewards_obj, values_obj, terminated_obj,
                                             truncated_obj, final_values_obj, next_values_obj);
  const py::array queries = FeedbackArray(queries_obj, "queries");
  const py::array teacher = FeedbackArray(teacher_obj, "teacher_logprobs");
  const py::array behaviour = FeedbackArray(behaviour_obj, "behaviour_logprobs");
  py::array deltas = FeedbackArray(deltas_obj, "deltas");
  py::array advantages = FeedbackArray(advantages_obj, "advantages");
  py::array ratios = FeedbackArray(ratios_obj, "ratios");
  py::array feedback = FeedbackArray(feedback_obj, "feedback");
  py::array window_lengths = FeedbackArray(window_lengths_obj, "window_lengths");
  const py::ssize_t t = r.t, n = r.n;
  CheckArray<bool>(queries, "queries", {t, n}, false);
  CheckArray<float>(teacher, "teacher_logprobs", {t, n}, false);
  CheckArray<float>(behaviour, "behaviour_logprobs", {t, n}, false);
  CheckArray<float>(deltas, "deltas", {t, n}, true);
  CheckArray<float>(advantages, "advantages", {t, n}, true);
  CheckArray<float>(ratios, "ratios", {t, n}, true);
  CheckArray<float>(feedback, "feedback", {t, n}, true);
  CheckArray<int32_t>(window_lengths, "window_lengths", {t, n}, true);
  const double gamma = UnitInterval(gamma_obj, "gamma");
  const double lam = UnitInterval(lam_obj, "lam");
  const double rho_max = PositiveReal(rho_max_obj, "rho_max");
  std::vector<ByteRange> ranges = r.Ranges();
  for (const ByteRange& x :
       {RangeOf(queries, "queries"), RangeOf(teacher, "teacher_logprobs"),
        RangeOf(behaviour, "behaviour_logprobs"), RangeOf(deltas, "deltas"),
        RangeOf(advantages, "advantages"), RangeOf(ratios, "ratios"),
        RangeOf(feedback, "feedback"), RangeOf(window_lengths, "window_lengths")}) {
    ranges.push_back(x);
  }
  CheckNoOverlap(ranges, 5);
  // Bad values are refused here, where they enter: a NaN or +inf log-probability would
  // make exp(log ratio) NaN or inf, which min(rho_max, .) turns into the largest weight.
  // teacher_logprobs = -inf is legitimate (the teacher gives the action taken probability
  // 0, e.g. an action it never proposes): the ratio is 0 and so is the feedback. The
  // behaviour policy chose the action, so its log-probability must be finite. Only query
  // steps are read (and checked).
  const auto* q = static_cast<const bool*>(queries.data());
  const size_t cells = static_cast<size_t>(t * n);
  CheckValues(static_cast<const float*>(teacher.data()), q, cells, "teacher_logprobs",
              "it must be a log-probability (finite, or -inf for an action the teacher never "
              "proposes) at every query step",
              [](float v) { return v == -HUGE_VALF || std::isfinite(v); }, n);
  CheckValues(static_cast<const float*>(behaviour.data()), q, cells, "behaviour_logprobs",
              "it must be the finite log-probability of the action taken at every query step",
              IsFinite, n);
  CheckValues(static_cast<const float*>(r.rewards.data()), nullptr, cells, "rewards",
              "rewards must be finite", IsFinite, n);
  CheckValues(static_cast<const float*>(r.values.data()), nullptr, cells, "values",
              "the critic's values must be finite", IsFinite, n);
  CheckValues(static_cast<const float*>(r.next_values.data()), nullptr,
              static_cast<size_t>(n), "next_values", "the critic's values must be finite",
              IsFinite);
  {
    const auto* term = static_cast<const bool*>(r.terminated.data());
    const auto* trunc = static_cast<const bool*>(r.truncated.data());
    std::vector<char> read(cells);  // final_values is read where truncated && !terminated
    for (size_t i = 0; i < cells; ++i) read[i] = trunc[i] && !term[i];
    CheckValues(static_cast<const float*>(r.final_values.data()),
                reinterpret_cast<const bool*>(read.data()), cells, "final_values",
                "the critic's values must be finite where an episode was truncated", IsFinite,
                n);
  }
  FeedbackInputs in;
  in.T = static_cast<int>(t);
  in.N = static_cast<int>(n);
  in.rewards = static_cast<const float*>(r.rewards.data());
  in.values = static_cast<const float*>(r.values.data());
  in.terminated = static_cast<const bool*>(r.terminated.data());
  in.truncated = static_cast<const bool*>(r.truncated.data());
  in.final_values = static_cast<const float*>(r.final_values.data());
  in.next_values = static_cast<const float*>(r.next_values.data());
  in.queries = static_cast<const bool*>(queries.data());
  in.teacher_logprobs = static_cast<const float*>(teacher.data());
  in.behaviour_logprobs = static_cast<const float*>(behaviour.data());
  FeedbackOutputs out;
  out.deltas = static_cast<float*>(deltas.mutable_data());
  out.advantages = static_cast<float*>(advantages.mutable_data());
  out.ratios = static_cast<float*>(ratios.mutable_data());
  out.feedback = static_cast<float*>(feedback.mutable_data());
  out.window_lengths = static_cast<int32_t*>(window_lengths.mutable_data());
  py::gil_scoped_release release;
  AggregateFeedback(in, gamma, lam, rho_max, out);
}

// A float32 array of any shape (C-contiguous) and an optional bool mask of the same shape.
struct Masked {
  py::array x;
  py::object mask;  // None or a bool array
  const bool* mask_data = nullptr;
};

Masked CheckMasked(const py::object& x_obj, const py::object& mask_obj) {
  Masked m{FeedbackArray(x_obj, "x"), mask_obj};
  std::vector<py::ssize_t> shape(m.x.shape(), m.x.shape() + m.x.ndim());
  CheckArray<float>(m.x, "x", shape, false);
  if (!mask_obj.is_none()) {
    py::array mask = FeedbackArray(mask_obj, "mask");
    CheckArray<bool>(mask, "mask", shape, false);
    m.mask = mask;
    m.mask_data = static_cast<const bool*>(mask.data());
  }
  return m;
}

// state() dicts: typed so that the stub says dict[str, typing.Any].
using StateDict = py::typing::Dict<py::str, py::object>;

StateDict StatsState(const RunningMeanStd& s) {
  StateDict d;
  d["count"] = s.count();
  d["mean"] = s.mean();
  d["m2"] = s.m2();
  return d;
}

void LoadStatsState(RunningMeanStd& s, const py::object& state) {
  if (!py::isinstance<py::dict>(state)) throw py::type_error("state must be a dict");
  const py::dict d = state.cast<py::dict>();
  double v[3];
  const char* keys[3] = {"count", "mean", "m2"};
  for (int i = 0; i < 3; ++i) {
    if (!d.contains(keys[i])) throw py::value_error(std::string("state lacks '") + keys[i] + "'");
    try {
      v[i] = d[keys[i]].cast<double>();
    } catch (const py::cast_error&) {
      throw py::type_error(std::string("state['") + keys[i] + "'] must be a float");
    }
  }
  if (!(v[0] >= 0.0) || !(v[2] >= 0.0) || !std::isfinite(v[0]) || !std::isfinite(v[1]) ||
      !std::isfinite(v[2])) {
    throw py::value_error("state must have finite count >= 0, mean and m2 >= 0");
  }
  s.Set(v[0], v[1], v[2]);
}

py::array_t<uint64_t> CheckHashes(const py::object& obj) {
  py::array a = FeedbackArray(obj, "hashes");
  if (a.ndim() != 1) throw py::value_error("hashes must be 1-D");
  CheckArray<uint64_t>(a, "hashes", {a.shape(0)}, false);
  return py::reinterpret_borrow<py::array_t<uint64_t>>(a);
}

void PyTableUpdate(FeedbackTable& table, const py::object& hashes_obj,
                   const py::object& actions_obj, const py::object& feedback_obj) {
  py::array_t<uint64_t> hashes = CheckHashes(hashes_obj);
  const py::ssize_t n = hashes.shape(0);
  py::array actions = FeedbackArray(actions_obj, "actions");
  py::array feedback = FeedbackArray(feedback_obj, "feedback");
  CheckArray<int64_t>(actions, "actions", {n}, false);
  CheckArray<float>(feedback, "feedback", {n}, false);
  const auto* a = static_cast<const int64_t*>(actions.data());
  for (py::ssize_t i = 0; i < n; ++i) {
    if (a[i] < 0 || a[i] >= table.num_actions()) {
      throw py::value_error("actions[" + std::to_string(i) + "] = " + std::to_string(a[i]) +
                            " is out of range [0, " + std::to_string(table.num_actions()) + ")");
    }
  }
  const auto* f = static_cast<const float*>(feedback.data());
  for (py::ssize_t i = 0; i < n; ++i) {
    if (!std::isfinite(f[i])) {
      throw py::value_error("feedback[" + std::to_string(i) + "] is not finite");
    }
  }
  const uint64_t* h = hashes.data();
  py::gil_scoped_release release;
  table.Update(static_cast<size_t>(n), h, a, f);
}

py::array_t<float> PyTableLookup(const FeedbackTable& table, const py::object& hashes_obj,
                                 const py::object& out_obj) {
  py::array_t<uint64_t> hashes = CheckHashes(hashes_obj);
  const py::ssize_t n = hashes.shape(0);
  py::array_t<float> out;
  if (out_obj.is_none()) {
    out = py::array_t<float>({n, static_cast<py::ssize_t>(table.num_actions())});
  } else {
    py::array o = FeedbackArray(out_obj, "out");
    CheckArray<float>(o, "out", {n, table.num_actions()}, true);
    out = py::reinterpret_borrow<py::array_t<float>>(o);
  }
  const uint64_t* h = hashes.data();
  float* d = out.mutable_data();
  {
    py::gil_scoped_release release;
    table.Lookup(static_cast<size_t>(n), h, d);
  }
  return out;
}

StateDict TableState(const FeedbackTable& table) {
  std::vector<uint64_t> keys;
  std::vector<float> values;
  std::vector<uint32_t> counts;
  table.Export(&keys, &values, &counts);
  const auto k = static_cast<py::ssize_t>(keys.size());
  const auto a = static_cast<py::ssize_t>(table.num_actions());
  py::array_t<uint64_t> keys_arr(k);
  py::array_t<float> values_arr({k, a});
  py::array_t<uint32_t> counts_arr({k, a});
  std::copy(keys.begin(), keys.end(), keys_arr.mutable_data());
  std::copy(values.begin(), values.end(), values_arr.mutable_data());
  std::copy(counts.begin(), counts.end(), counts_arr.mutable_data());
  StateDict d;
  d["num_actions"] = table.num_actions();
  d["rate"] = table.rate();
  d["capacity"] = table.capacity();
  d["keys"] = keys_arr;
  d["values"] = values_arr;
  d["counts"] = counts_arr;
  return d;
}

void LoadTableState(FeedbackTable& table, const py::object& state) {
  if (!py::isinstance<py::dict>(state)) throw py::type_error("state must be a dict");
  const py::dict d = state.cast<py::dict>();
  for (const char* key : {"num_actions", "keys", "values", "counts"}) {
    if (!d.contains(key)) throw py::value_error(std::string("state lacks '") + key + "'");
  }
  // An int (not a str such as '7', a float or a bool), equal to this table's.
  const int64_t num_actions =
      Integer(d["num_actions"], "state['num_actions']", py::int_(1), py::int_(1024), "[1, 1024]")
          .cast<int64_t>();
  if (num_actions != table.num_actions()) {
    throw py::value_error("state['num_actions'] = " + std::to_string(num_actions) +
                          " does not match this table's num_actions (" +
                          std::to_string(table.num_actions()) + ")");
  }
  py::array keys = FeedbackArray(d["keys"], "state['keys']");
  if (keys.ndim() != 1) throw py::value_error("state['keys'] must be 1-D");
  const py::ssize_t k = keys.shape(0);
  CheckArray<uint64_t>(keys, "state['keys']", {k}, false);
  py::array values = FeedbackArray(d["values"], "state['values']");
  py::array counts = FeedbackArray(d["counts"], "state['counts']");
  CheckArray<float>(values, "state['values']", {k, table.num_actions()}, false);
  CheckArray<uint32_t>(counts, "state['counts']", {k, table.num_actions()}, false);
  const auto* kp = static_cast<const uint64_t*>(keys.data());
  const auto* vp = static_cast<const float*>(values.data());
  const auto* cp = static_cast<const uint32_t*>(counts.data());
  const size_t cells = static_cast<size_t>(k) * table.num_actions();
  for (size_t i = 0; i < cells; ++i) {
    if (!std::isfinite(vp[i])) throw py::value_error("state['values'] must be finite");
  }
  // Import() would merge the rows of a repeated key (the last one wins, the first keeps
  // its place in the eviction order) and evict keys past the capacity: both mean a state
  // that was not written by state(), refused instead.
  if (static_cast<size_t>(k) > table.capacity()) {
    throw py::value_error("state holds " + std::to_string(k) + " keys, more than this table's "
                          "capacity (" + std::to_string(table.capacity()) + ")");
  }
  {
    std::unordered_map<uint64_t, py::ssize_t> seen;
    seen.reserve(static_cast<size_t>(k));
    for (py::ssize_t i = 0; i < k; ++i) {
      auto [it, fresh] = seen.emplace(kp[i], i);
      if (!fresh) {
        throw py::value_error("state['keys'] repeats key " + std::to_string(kp[i]) +
                              " (at " + std::to_string(it->second) + " and " +
                              std::to_string(i) + "); keys must be unique");
      }
    }
  }
  table.Import(std::vector<uint64_t>(kp, kp + k), std::vector<float>(vp, vp + cells),
               std::vector<uint32_t>(cp, cp + cells));
}

}  // namespace

void BindFeedback(py::module_& m) {
  m.def("aggregate_feedback", &PyAggregateFeedback, py::arg("rewards"), py::arg("values"),
        py::arg("terminated"), py::arg("truncated"), py::arg("final_values"),
        py::arg("next_values"), py::arg("queries"), py::arg("teacher_logprobs"),
        py::arg("behaviour_logprobs"), py::arg("gamma"), py::arg("lam"), py::arg("rho_max"),
        py::arg("deltas"), py::arg("advantages"), py::arg("ratios"), py::arg("feedback"),
        py::arg("window_lengths"),
        "Writes (T, N) TD errors and, at query steps, the window sums of TD errors "
        "(advantages), the truncated importance ratios, their product (feedback) and the "
        "window lengths, in place; see feedback/td_feedback.h.");

  py::class_<RunningMeanStd>(m, "RunningMeanStd",
                             "Running mean and variance (Chan et al.'s parallel Welford).")
      .def(py::init<>())
      .def(
          "update",
          [](RunningMeanStd& s, const py::object& x, const py::object& mask) {
            Masked mx = CheckMasked(x, mask);
            const auto* p = static_cast<const float*>(mx.x.data());
            const size_t n = static_cast<size_t>(mx.x.size());
            // A NaN or inf would poison the statistics for good (and their state() could
            // not be loaded back from a checkpoint): refused before anything is folded in.
            CheckValues(p, mx.mask_data, n, "x",
                        "RunningMeanStd.update takes finite values only (index into x.ravel())",
                        IsFinite);
            py::gil_scoped_release release;
            s.Update(p, mx.mask_data, n);
          },
          py::arg("x"), py::arg("mask") = py::none(),
          "Folds the float32 values of x (where mask, if given) into the statistics.")
      .def(
          "normalize",
          [](const RunningMeanStd& s, const py::object& x, const py::object& mask,
             const py::object& eps, const py::object& clip) {
            Masked mx = CheckMasked(x, mask);
            const double e = PositiveReal(eps, "eps");
            const double c = PositiveReal(clip, "clip");
            std::vector<py::ssize_t> shape(mx.x.shape(), mx.x.shape() + mx.x.ndim());
            py::array_t<float> out(shape);
            const auto* p = static_cast<const float*>(mx.x.data());
            float* o = out.mutable_data();
            const size_t n = static_cast<size_t>(mx.x.size());
            {
              py::gil_scoped_release release;
              s.Normalize(p, mx.mask_data, n, e, c, o);
            }
            return out;
          },
          py::arg("x"), py::arg("mask") = py::none(), py::arg("eps") = 1e-8,
          py::arg("clip") = 5.0,
          "clip((x - mean) / (std + eps)) as a new float32 array (0 where not mask).")
      .def_property_readonly("count", &RunningMeanStd::count)
      .def_property_readonly("mean", &RunningMeanStd::mean)
      .def_property_readonly("var", &RunningMeanStd::Variance)
      .def("state", &StatsState, "The statistics as a dict (for checkpoints).")
      .def("load_state", &LoadStatsState, py::arg("state"), "Restores a state() dict.");

  py::class_<FeedbackTable>(m, "FeedbackTable",
                            "Running (EMA) feedback per (prompt hash, action); "
                            "see feedback/feedback_table.h.")
      .def(py::init([](const py::object& num_actions, const py::object& rate,
                       const py::object& capacity) {
             const int a = Integer(num_actions, "num_actions", py::int_(1), py::int_(1024),
                                   "[1, 1024]")
                               .cast<int>();
             const double r = PositiveReal(rate, "rate");
             if (r > 1.0) throw py::value_error("rate must be in (0, 1], got " + std::to_string(r));
             const auto c = Integer(capacity, "capacity", py::int_(1),
                                    py::int_(std::numeric_limits<int64_t>::max()), ">= 1")
                                .cast<int64_t>();
             return new FeedbackTable(a, r, static_cast<size_t>(c));
           }),
           py::arg("num_actions"), py::arg("rate") = 0.1, py::arg("capacity") = 1 << 20)
      .def("update", &PyTableUpdate, py::arg("hashes"), py::arg("actions"), py::arg("feedback"),
           "Folds feedback (n,) float32 into entries (hashes (n,) uint64, actions (n,) int64).")
      .def("lookup", &PyTableLookup, py::arg("hashes"), py::arg("out") = py::none(),
           "(n, num_actions) float32 table values for hashes (0 where unseen).")
      .def("clear", &FeedbackTable::Clear)
      .def("__len__", &FeedbackTable::size)
      .def_property_readonly("num_actions", &FeedbackTable::num_actions)
      .def_property_readonly("rate", &FeedbackTable::rate)
      .def_property_readonly("capacity", &FeedbackTable::capacity)
      .def("state", &TableState, "The table as a dict of arrays (for checkpoints).")
      .def("load_state", &LoadTableState, py::arg("state"),
           "Replaces the content with a state() dict of a table with the same num_actions.");
}

}  // namespace bidir
