#include "student/mlp_ppo.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace bidir {
namespace {

// y += a * x over n floats (the compiler vectorises this loop).
inline void Axpy(int n, float a, const float* __restrict x, float* __restrict y) {
  for (int k = 0; k < n; ++k) y[k] += a * x[k];
}

void CheckShapes(const std::vector<DenseLayer>& layers, const PpoMinibatch& batch) {
  if (layers.empty()) throw std::invalid_argument("the network needs at least one layer");
  for (size_t l = 0; l < layers.size(); ++l) {
    const DenseLayer& d = layers[l];
    if (d.in < 1 || d.out < 1) {
      throw std::invalid_argument("layer " + std::to_string(l) + " has an empty shape");
    }
    if (l + 1 < layers.size() && layers[l + 1].in != d.out) {
      throw std::invalid_argument("layer " + std::to_string(l + 1) + " takes " +
                                  std::to_string(layers[l + 1].in) + " inputs, layer " +
                                  std::to_string(l) + " gives " + std::to_string(d.out));
    }
  }
  if (layers.back().out < 2) {
    throw std::invalid_argument("the last layer needs at least one logit and the value");
  }
  if (batch.n < 1) throw std::invalid_argument("the minibatch is empty");
  const int num_actions = layers.back().out - 1;
  for (int i = 0; i < batch.n; ++i) {
    if (batch.actions[i] < 0 || batch.actions[i] >= num_actions) {
      throw std::invalid_argument("action " + std::to_string(batch.actions[i]) + " at row " +
                                  std::to_string(i) + " is outside [0, " +
                                  std::to_string(num_actions) + ")");
    }
  }
}

// Writes d loss / d out (n, A + 1) into grad and the statistics into stats.
// logp is scratch of num_actions floats.
void PpoLossGradient(const float* out, int num_actions, const PpoMinibatch& b,
                     const PpoLossConfig& c, float* logp, float* grad, float* stats) {
  const int n = b.n, width = num_actions + 1;
  const float inv_n = 1.0f / static_cast<float>(n);
  const float eps = c.clip_coef;
  double adv_mean = 0.0, adv_scale = 1.0;
  if (c.norm_adv && n > 1) {
    for (int i = 0; i < n; ++i) adv_mean += b.advantages[i];
    adv_mean /= n;
    double ss = 0.0;
    for (int i = 0; i < n; ++i) ss += (b.advantages[i] - adv_mean) * (b.advantages[i] - adv_mean);
    adv_scale = 1.0 / (std::sqrt(ss / (n - 1)) + 1e-8);
  }
  double policy = 0.0, value = 0.0, entropy = 0.0, kl = 0.0, clipped_count = 0.0;
  for (int i = 0; i < n; ++i) {
    const float* z = out + static_cast<size_t>(i) * width;
    float* g = grad + static_cast<size_t>(i) * width;
    float zmax = z[0];
    for (int a = 1; a < num_actions; ++a) zmax = std::max(zmax, z[a]);
    float total = 0.0f;
    for (int a = 0; a < num_actions; ++a) total += std::exp(z[a] - zmax);
    const float log_total = std::log(total);
    float h = 0.0f;
    for (int a = 0; a < num_actions; ++a) {
      logp[a] = z[a] - zmax - log_total;
      h -= std::exp(logp[a]) * logp[a];
    }
    const int act = static_cast<int>(b.actions[i]);
    const float log_ratio = logp[act] - b.old_logprobs[i];
    const float ratio = std::exp(log_ratio);
    const float adv =
        c.norm_adv && n > 1
            ? static_cast<float>((b.advantages[i] - adv_mean) * adv_scale)
            : b.advantages[i];
    const float unclipped = -adv * ratio;
    const float clipped = -adv * std::clamp(ratio, 1.0f - eps, 1.0f + eps);
    const float g_logp_a = (unclipped >= clipped ? unclipped : 0.0f) * inv_n;
    for (int a = 0; a < num_actions; ++a) {
      const float p = std::exp(logp[a]);
      g[a] = p * ((logp[a] + h) * (c.ent_coef * inv_n) - g_logp_a);
    }
    g[act] += g_logp_a;
    const float v = z[num_actions];
    const float diff = v - b.returns[i];
    float v_term, g_value;
    if (c.clip_vloss) {
      const float delta = v - b.old_values[i];
      const float diff_clip = b.old_values[i] + std::clamp(delta, -eps, eps) - b.returns[i];
      const float sq = diff * diff, sq_clip = diff_clip * diff_clip;
      v_term = std::max(sq, sq_clip);
      g_value = sq >= sq_clip ? diff : (std::fabs(delta) < eps ? diff_clip : 0.0f);
    } else {
      v_term = diff * diff;
      g_value = diff;
    }
    g[num_actions] = g_value * (c.vf_coef * inv_n);
    policy += std::max(unclipped, clipped);
    value += v_term;
    entropy += h;
    kl += (ratio - 1.0f) - log_ratio;
    clipped_count += std::fabs(ratio - 1.0f) > eps ? 1.0 : 0.0;
  }
  stats[kPolicyLoss] = static_cast<float>(policy / n);
  stats[kValueLoss] = static_cast<float>(0.5 * value / n);
  stats[kEntropy] = static_cast<float>(entropy / n);
  stats[kApproxKl] = static_cast<float>(kl / n);
  stats[kClipFrac] = static_cast<float>(clipped_count / n);
}

// The arithmetic is axpy loops over the hidden width; an AVX2/FMA clone (chosen at load
// time on CPUs that have it) runs them 8 floats at a time.
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define BIDIR_TARGET_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define BIDIR_TARGET_CLONES
#endif

BIDIR_TARGET_CLONES
void Run(const SparseRows& x, const int64_t* rows, const std::vector<DenseLayer>& layers,
         const PpoMinibatch& batch, const PpoLossConfig& config, MlpPpoScratch& s,
         float* stats) {
  const int n = batch.n;
  const int num_layers = static_cast<int>(layers.size());
  const DenseLayer& first = layers[0];
  const int num_features = first.in;

  // The features this minibatch uses (U of them), and each row's non-zeros as (position
  // in the used list, value), rows delimited by row_start.
  s.mark.assign(num_features, -1);
  s.used.clear();
  s.nz_index.clear();
  s.nz_value.clear();
  s.row_start.assign(1, 0);
  for (int i = 0; i < n; ++i) {
    const int64_t r = rows[i];
    for (int e = x.start[r]; e < x.start[r + 1]; ++e) {
      const int32_t j = x.index[e];
      if (s.mark[j] < 0) {
        s.mark[j] = static_cast<int32_t>(s.used.size());
        s.used.push_back(j);
      }
      s.nz_index.push_back(s.mark[j]);
      s.nz_value.push_back(x.value[e]);
    }
    s.row_start.push_back(static_cast<int32_t>(s.nz_index.size()));
  }
  const int num_used = static_cast<int>(s.used.size());

  // Forward. acts[l] is layer l's output (after its ReLU, except the last layer).
  s.acts.resize(num_layers);
  for (int l = 0; l < num_layers; ++l) {
    const DenseLayer& d = layers[l];
    const bool sparse_input = l == 0;
    const int in = sparse_input ? num_used : d.in;
    // wt (in, out): the transposed weight (of the used columns only, for the first layer).
    s.wt.resize(static_cast<size_t>(in) * d.out);
    for (int o = 0; o < d.out; ++o) {
      const float* w_row = d.weight + static_cast<size_t>(o) * d.in;
      for (int k = 0; k < in; ++k) {
        s.wt[static_cast<size_t>(k) * d.out + o] = w_row[sparse_input ? s.used[k] : k];
      }
    }
    std::vector<float>& y = s.acts[l];
    y.resize(static_cast<size_t>(n) * d.out);
    for (int i = 0; i < n; ++i) {
      float* y_row = y.data() + static_cast<size_t>(i) * d.out;
      std::copy(d.bias, d.bias + d.out, y_row);
      if (sparse_input) {
        for (int e = s.row_start[i]; e < s.row_start[i + 1]; ++e) {
          Axpy(d.out, s.nz_value[e], s.wt.data() + static_cast<size_t>(s.nz_index[e]) * d.out, y_row);
        }
      } else {
        const float* x_row = s.acts[l - 1].data() + static_cast<size_t>(i) * in;
        for (int k = 0; k < in; ++k) {
          if (x_row[k] != 0.0f) Axpy(d.out, x_row[k], s.wt.data() + static_cast<size_t>(k) * d.out, y_row);
        }
      }
      if (l + 1 < num_layers) {
        for (int o = 0; o < d.out; ++o) y_row[o] = std::max(y_row[o], 0.0f);
      }
    }
  }

  // The loss gradient at the outputs.
  const int width = layers.back().out;
  s.grad_out.resize(static_cast<size_t>(n) * width);
  s.logp.resize(width - 1);
  PpoLossGradient(s.acts.back().data(), width - 1, batch, config, s.logp.data(),
                  s.grad_out.data(), stats);

  // Backward.
  s.grad.assign(s.grad_out.begin(), s.grad_out.end());
  for (int l = num_layers - 1; l >= 0; --l) {
    const DenseLayer& d = layers[l];
    const float* g = s.grad.data();
    std::fill(d.grad_bias, d.grad_bias + d.out, 0.0f);
    for (int i = 0; i < n; ++i) Axpy(d.out, 1.0f, g + static_cast<size_t>(i) * d.out, d.grad_bias);
    if (l == 0) {
      // Weight gradient of the used columns, transposed (U, out), from each row's
      // non-zeros; then scattered into the full (out, in), other columns zero.
      s.gw_used.assign(static_cast<size_t>(num_used) * d.out, 0.0f);
      for (int i = 0; i < n; ++i) {
        const float* g_row = g + static_cast<size_t>(i) * d.out;
        for (int e = s.row_start[i]; e < s.row_start[i + 1]; ++e) {
          Axpy(d.out, s.nz_value[e], g_row, s.gw_used.data() + static_cast<size_t>(s.nz_index[e]) * d.out);
        }
      }
      std::fill(d.grad_weight, d.grad_weight + static_cast<size_t>(d.out) * d.in, 0.0f);
      for (int u = 0; u < num_used; ++u) {
        const float* src = s.gw_used.data() + static_cast<size_t>(u) * d.out;
        float* dst = d.grad_weight + s.used[u];
        for (int o = 0; o < d.out; ++o) dst[static_cast<size_t>(o) * d.in] = src[o];
      }
      break;
    }
    const std::vector<float>& input = s.acts[l - 1];
    std::fill(d.grad_weight, d.grad_weight + static_cast<size_t>(d.out) * d.in, 0.0f);
    s.grad_prev.assign(static_cast<size_t>(n) * d.in, 0.0f);
    for (int i = 0; i < n; ++i) {
      const float* x_row = input.data() + static_cast<size_t>(i) * d.in;
      float* gp_row = s.grad_prev.data() + static_cast<size_t>(i) * d.in;
      for (int o = 0; o < d.out; ++o) {
        const float gv = g[static_cast<size_t>(i) * d.out + o];
        if (gv == 0.0f) continue;
        Axpy(d.in, gv, x_row, d.grad_weight + static_cast<size_t>(o) * d.in);
        Axpy(d.in, gv, d.weight + static_cast<size_t>(o) * d.in, gp_row);
      }
      // ReLU: the gradient passes where the layer's output was positive.
      for (int k = 0; k < d.in; ++k) {
        if (!(x_row[k] > 0.0f)) gp_row[k] = 0.0f;
      }
    }
    s.grad.swap(s.grad_prev);
  }
}

}  // namespace

void SparseRows::Assign(const float* x, int rows, int features) {
  num_rows = rows;
  num_features = features;
  start.assign(1, 0);
  index.clear();
  value.clear();
  for (int i = 0; i < rows; ++i) {
    const float* row = x + static_cast<size_t>(i) * features;
    for (int j = 0; j < features; ++j) {
      if (row[j] != 0.0f) {
        index.push_back(j);
        value.push_back(row[j]);
      }
    }
    start.push_back(static_cast<int32_t>(index.size()));
  }
}

void MlpPpoGradients(const SparseRows& x, const int64_t* rows,
                     const std::vector<DenseLayer>& layers, const PpoMinibatch& batch,
                     const PpoLossConfig& config, MlpPpoScratch& scratch, float* stats) {
  CheckShapes(layers, batch);
  if (x.num_features != layers[0].in) {
    throw std::invalid_argument("x has " + std::to_string(x.num_features) +
                                " features, the first layer takes " +
                                std::to_string(layers[0].in));
  }
  for (int i = 0; i < batch.n; ++i) {
    if (rows[i] < 0 || rows[i] >= x.num_rows) {
      throw std::invalid_argument("row " + std::to_string(rows[i]) + " is outside [0, " +
                                  std::to_string(x.num_rows) + ")");
    }
  }
  Run(x, rows, layers, batch, config, scratch, stats);
}

namespace {

BIDIR_TARGET_CLONES
float ClippedAdam(int64_t n, float* __restrict param, float* __restrict grad,
                  float* __restrict m, float* __restrict v, float step, const AdamConfig& c) {
  // Eight running sums, so the loop vectorises (a single float sum is a serial chain).
  float partial[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t k = 0;
  for (; k + 8 <= n; k += 8) {
    for (int j = 0; j < 8; ++j) partial[j] += grad[k + j] * grad[k + j];
  }
  double sq = 0.0;
  for (; k < n; ++k) sq += static_cast<double>(grad[k]) * grad[k];
  for (float p : partial) sq += p;
  const float norm = static_cast<float>(std::sqrt(sq));
  const float scale = std::min(1.0f, c.max_grad_norm / (norm + 1e-6f));
  const double bias1 = 1.0 - std::pow(static_cast<double>(c.beta1), step);
  const double bias2 = 1.0 - std::pow(static_cast<double>(c.beta2), step);
  const float step_size = static_cast<float>(c.lr / bias1);
  const float bias2_sqrt = static_cast<float>(std::sqrt(bias2));
  const float one_minus_b1 = 1.0f - c.beta1, one_minus_b2 = 1.0f - c.beta2;
  for (k = 0; k < n; ++k) {
    const float g = grad[k] * scale;
    grad[k] = g;
    m[k] += one_minus_b1 * (g - m[k]);
    v[k] = c.beta2 * v[k] + one_minus_b2 * g * g;
    param[k] -= step_size * m[k] / (std::sqrt(v[k]) / bias2_sqrt + c.eps);
  }
  return norm;
}

}  // namespace

float ClippedAdamStep(int64_t n, float* param, float* grad, float* exp_avg, float* exp_avg_sq,
                      float* step, const AdamConfig& config) {
  *step += 1.0f;
  return ClippedAdam(n, param, grad, exp_avg, exp_avg_sq, *step, config);
}

}  // namespace bidir
