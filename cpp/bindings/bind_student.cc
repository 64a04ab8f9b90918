// Bindings for the student's PPO minibatch gradient (student/mlp_ppo.h).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "bindings/checks.h"
#include "student/mlp_ppo.h"

namespace bidir {
namespace {

// Holds the network's parameter and gradient arrays (checked once) and the scratch
// buffers; compute() runs one minibatch. Not thread-safe: one object per learner.
class PyMlpPpoGradient {
 public:
  PyMlpPpoGradient(const py::list& weights, const py::list& biases, const py::list& grad_weights,
                   const py::list& grad_biases, const py::object& clip_coef,
                   const py::object& ent_coef, const py::object& vf_coef, bool norm_adv,
                   bool clip_vloss) {
    const size_t num_layers = weights.size();
    if (num_layers == 0) throw py::value_error("weights must hold at least one layer");
    if (biases.size() != num_layers || grad_weights.size() != num_layers ||
        grad_biases.size() != num_layers) {
      throw py::value_error("weights, biases, grad_weights and grad_biases must have one entry per layer");
    }
    for (size_t l = 0; l < num_layers; ++l) {
      const std::string at = "[" + std::to_string(l) + "]";
      py::array w = AsArray(weights[l], ("weights" + at).c_str());
      if (w.ndim() != 2) throw py::value_error("weights" + at + " must be 2-D (out, in)");
      const py::ssize_t out = w.shape(0), in = w.shape(1);
      CheckArray<float>(w, ("weights" + at).c_str(), {out, in}, false);
      py::array b = AsArray(biases[l], ("biases" + at).c_str());
      CheckArray<float>(b, ("biases" + at).c_str(), {out}, false);
      py::array gw = AsArray(grad_weights[l], ("grad_weights" + at).c_str());
      CheckArray<float>(gw, ("grad_weights" + at).c_str(), {out, in}, true);
      py::array gb = AsArray(grad_biases[l], ("grad_biases" + at).c_str());
      CheckArray<float>(gb, ("grad_biases" + at).c_str(), {out}, true);
      DenseLayer d;
      d.in = static_cast<int>(in);
      d.out = static_cast<int>(out);
      d.weight = static_cast<const float*>(w.data());
      d.bias = static_cast<const float*>(b.data());
      d.grad_weight = static_cast<float*>(gw.mutable_data());
      d.grad_bias = static_cast<float*>(gb.mutable_data());
      layers_.push_back(d);
      keep_.insert(keep_.end(), {w, b, gw, gb});
      ranges_.push_back(RangeOf(w, "weights"));
      ranges_.push_back(RangeOf(b, "biases"));
    }
    for (size_t l = 0; l < num_layers; ++l) {
      ranges_.push_back(RangeOf(keep_[4 * l + 2], "grad_weights"));
      ranges_.push_back(RangeOf(keep_[4 * l + 3], "grad_biases"));
    }
    CheckNoOverlap(ranges_, 2 * num_layers);
    for (size_t l = 0; l + 1 < num_layers; ++l) {
      if (layers_[l + 1].in != layers_[l].out) {
        throw py::value_error("weights[" + std::to_string(l + 1) + "] takes " +
                              std::to_string(layers_[l + 1].in) + " inputs, weights[" +
                              std::to_string(l) + "] gives " + std::to_string(layers_[l].out));
      }
    }
    if (layers_.back().out < 2) {
      throw py::value_error("the last layer needs at least one logit and the value");
    }
    config_.clip_coef = static_cast<float>(PositiveReal(clip_coef, "clip_coef"));
    config_.ent_coef = static_cast<float>(NonNegativeReal(ent_coef, "ent_coef"));
    config_.vf_coef = static_cast<float>(NonNegativeReal(vf_coef, "vf_coef"));
    config_.norm_adv = norm_adv;
    config_.clip_vloss = clip_vloss;
  }

  // Keeps the non-zeros of the rollout's inputs x (B, features) float32 for compute().
  void SetInputs(const py::object& x_obj) {
    py::array x = AsArray(x_obj, "x");
    if (x.ndim() != 2) throw py::value_error("x must be 2-D (batch, features)");
    const py::ssize_t b = x.shape(0);
    CheckArray<float>(x, "x", {b, layers_[0].in}, false);
    if (b > std::numeric_limits<int32_t>::max() / std::max(1, layers_[0].in)) {
      throw py::value_error("x is too large");
    }
    const float* xp = static_cast<const float*>(x.data());
    py::gil_scoped_release release;
    inputs_.Assign(xp, static_cast<int>(b), layers_[0].in);
  }

  py::array_t<float> Compute(const py::object& rows_obj, const py::object& actions_obj,
                             const py::object& old_logprobs_obj, const py::object& old_values_obj,
                             const py::object& advantages_obj, const py::object& returns_obj) {
    py::array rows_arr = AsArray(rows_obj, "rows");
    if (rows_arr.ndim() != 1) throw py::value_error("rows must be 1-D");
    const py::ssize_t n = rows_arr.shape(0);
    if (n < 1) throw py::value_error("rows must hold at least one row");
    CheckArray<int64_t>(rows_arr, "rows", {n}, false);
    py::array actions = AsArray(actions_obj, "actions");
    CheckArray<int64_t>(actions, "actions", {n}, false);
    const char* names[4] = {"old_logprobs", "old_values", "advantages", "returns"};
    const py::object* objs[4] = {&old_logprobs_obj, &old_values_obj, &advantages_obj, &returns_obj};
    py::array fields[4];
    for (int k = 0; k < 4; ++k) {
      fields[k] = AsArray(*objs[k], names[k]);
      CheckArray<float>(fields[k], names[k], {n}, false);
    }
    std::vector<ByteRange> ranges = {RangeOf(rows_arr, "rows"), RangeOf(actions, "actions")};
    for (int k = 0; k < 4; ++k) ranges.push_back(RangeOf(fields[k], names[k]));
    const size_t num_grads = 2 * layers_.size();
    ranges.insert(ranges.end(), ranges_.end() - num_grads, ranges_.end());
    CheckNoOverlap(ranges, num_grads);
    PpoMinibatch batch;
    batch.n = static_cast<int>(n);
    batch.actions = static_cast<const int64_t*>(actions.data());
    batch.old_logprobs = static_cast<const float*>(fields[0].data());
    batch.old_values = static_cast<const float*>(fields[1].data());
    batch.advantages = static_cast<const float*>(fields[2].data());
    batch.returns = static_cast<const float*>(fields[3].data());
    py::array_t<float> stats(kNumPpoStats);
    float* out = stats.mutable_data();
    const int64_t* rows = static_cast<const int64_t*>(rows_arr.data());
    try {
      py::gil_scoped_release release;
      MlpPpoGradients(inputs_, rows, layers_, batch, config_, scratch_, out);
    } catch (const std::invalid_argument& e) {
      throw py::value_error(e.what());
    }
    return stats;
  }

 private:
  std::vector<DenseLayer> layers_;
  std::vector<py::array> keep_;  // keeps the parameter and gradient memory alive
  std::vector<ByteRange> ranges_;
  PpoLossConfig config_;
  SparseRows inputs_;
  MlpPpoScratch scratch_;
};

float PyClippedAdamStep(const py::object& param_obj, const py::object& grad_obj,
                        const py::object& exp_avg_obj, const py::object& exp_avg_sq_obj,
                        const py::object& step_obj, const py::object& lr, const py::object& beta1,
                        const py::object& beta2, const py::object& eps,
                        const py::object& max_grad_norm) {
  py::array param = AsArray(param_obj, "param");
  if (param.ndim() != 1) throw py::value_error("param must be 1-D");
  const py::ssize_t n = param.shape(0);
  const char* names[4] = {"param", "grad", "exp_avg", "exp_avg_sq"};
  py::array arrays[4] = {param, AsArray(grad_obj, "grad"), AsArray(exp_avg_obj, "exp_avg"),
                         AsArray(exp_avg_sq_obj, "exp_avg_sq")};
  for (int k = 0; k < 4; ++k) CheckArray<float>(arrays[k], names[k], {n}, true);
  py::array step = AsArray(step_obj, "step");
  CheckArray<float>(step, "step", {}, true);
  std::vector<ByteRange> ranges;
  for (int k = 0; k < 4; ++k) ranges.push_back(RangeOf(arrays[k], names[k]));
  ranges.push_back(RangeOf(step, "step"));
  CheckNoOverlap(ranges, ranges.size());
  AdamConfig c;
  c.lr = static_cast<float>(NonNegativeReal(lr, "lr"));
  c.beta1 = static_cast<float>(UnitInterval(beta1, "beta1"));
  c.beta2 = static_cast<float>(UnitInterval(beta2, "beta2"));
  c.eps = static_cast<float>(PositiveReal(eps, "eps"));
  c.max_grad_norm = static_cast<float>(PositiveReal(max_grad_norm, "max_grad_norm"));
  if (c.beta1 >= 1.0f || c.beta2 >= 1.0f) throw py::value_error("beta1 and beta2 must be < 1");
  float* p[4];
  for (int k = 0; k < 4; ++k) p[k] = static_cast<float*>(arrays[k].mutable_data());
  float* s = static_cast<float*>(step.mutable_data());
  py::gil_scoped_release release;
  return ClippedAdamStep(n, p[0], p[1], p[2], p[3], s, c);
}

}  // namespace

void BindStudent(py::module_& m) {
  m.def("clipped_adam_step", &PyClippedAdamStep, py::arg("param"), py::arg("grad"),
        py::arg("exp_avg"), py::arg("exp_avg_sq"), py::arg("step"), py::arg("lr"),
        py::arg("beta1"), py::arg("beta2"), py::arg("eps"), py::arg("max_grad_norm"),
        "One optimiser step on flat float32 (n,) arrays, in place: grad scaled to L2 norm\n"
        "<= max_grad_norm (as torch.nn.utils.clip_grad_norm_), then torch.optim.Adam's\n"
        "update with its state exp_avg, exp_avg_sq and step (a float32 0-d array, incremented).\n"
        "Returns the gradient norm before clipping.");
  py::class_<PyMlpPpoGradient>(
      m, "MlpPpoGradient",
      "The PPO loss gradient of one minibatch through the student's MLP (ReLU between\n"
      "layers; the last layer gives the logits and the value), written into the gradient\n"
      "arrays given at construction. The first layer's input may be sparse: only the\n"
      "weight columns of features a minibatch uses are touched. Not thread-safe.")
      .def(py::init<const py::list&, const py::list&, const py::list&, const py::list&,
                    const py::object&, const py::object&, const py::object&, bool, bool>(),
           py::arg("weights"), py::arg("biases"), py::arg("grad_weights"), py::arg("grad_biases"),
           py::arg("clip_coef"), py::arg("ent_coef"), py::arg("vf_coef"), py::arg("norm_adv"),
           py::arg("clip_vloss"),
           "weights[l] float32 (out, in) and biases[l] (out,) per layer, in torch's layout;\n"
           "grad_weights / grad_biases the same shapes, overwritten by compute().")
      .def("set_inputs", &PyMlpPpoGradient::SetInputs, py::arg("x"),
           "Keeps the non-zeros of the rollout's network inputs x (B, features) float32;\n"
           "compute() reads its rows from them.")
      .def("compute", &PyMlpPpoGradient::Compute, py::arg("rows"), py::arg("actions"),
           py::arg("old_logprobs"), py::arg("old_values"), py::arg("advantages"),
           py::arg("returns"),
           "Writes the gradients of the minibatch of rows (n,) int64 of set_inputs' x, with\n"
           "int64 actions and float32 old log-probs, old values, advantages and returns (n,)\n"
           "of those rows; returns the\n"
           "statistics (policy_loss, value_loss, entropy, approx_kl, clipfrac) float32 (5,).");
}

}  // namespace bidir
