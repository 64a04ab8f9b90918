// The gradient of the student's PPO loss for one minibatch, through its MLP, in one call.
//
// The student (python/bidir_core/student/network.py) is a parameter-free feature map
// followed by dense layers with ReLU between them; its last layer outputs A policy logits
// and one value. Per minibatch, the PPO update needs the forward pass, the gradient of
// CleanRL's loss at the outputs and the backward pass into every weight and bias. Done
// with torch that is ~40 operator dispatches on 64-row matrices, where dispatch costs more
// than the arithmetic; here it is one call with no allocation after the first.
//
// The first layer's input is sparse (a one-hot encoding: ~15% of the features of a row
// are non-zero, and a minibatch uses ~30% of the features at all), so the first layer only
// touches the weight columns of the features the minibatch uses: its forward pass and
// weight gradient cost ~(used features) x hidden per row instead of (all features) x
// hidden. Columns of unused features get a zero gradient.
//
// The loss, per minibatch of n rows, with p = softmax(logits), r = p(a) / p_old(a) and Â
// the advantages (normalised to zero mean and unit std, ddof 1, when norm_adv and n > 1):
//   L = mean(max(-Â r, -Â clip(r, 1 - c, 1 + c)))                       policy
//     - ent_coef * mean(H(p))                                           entropy
//     + vf_coef * 0.5 * mean(max((v - R)^2, (v_old + clip(v - v_old, -c, c) - R)^2))
// (the plain squared error when !clip_vloss). This is ppo_loss in student/ppo.py; the
// closed-form gradient is derived in ppo_loss_grad's docstring there.
#ifndef BIDIR_STUDENT_MLP_PPO_H_
#define BIDIR_STUDENT_MLP_PPO_H_

#include <cstdint>
#include <vector>

namespace bidir {

// One dense layer, y = x W^T + b, in torch's layout: weight (out, in) and bias (out,),
// both C-contiguous. grad_weight / grad_bias (same shapes) are overwritten.
struct DenseLayer {
  int in = 0;
  int out = 0;
  const float* weight = nullptr;
  const float* bias = nullptr;
  float* grad_weight = nullptr;
  float* grad_bias = nullptr;
};

struct PpoLossConfig {
  float clip_coef = 0.2f;
  float ent_coef = 0.01f;
  float vf_coef = 0.5f;
  bool norm_adv = true;
  bool clip_vloss = true;
};

// The rollout fields of a minibatch of n rows.
struct PpoMinibatch {
  int n = 0;
  const int64_t* actions = nullptr;      // (n,) in [0, A)
  const float* old_logprobs = nullptr;   // (n,)
  const float* old_values = nullptr;     // (n,)
  const float* advantages = nullptr;     // (n,)
  const float* returns = nullptr;        // (n,)
};

// Order of the statistics MlpPpoGradients writes.
enum PpoStat { kPolicyLoss = 0, kValueLoss, kEntropy, kApproxKl, kClipFrac, kNumPpoStats };

// A float matrix (rows, features) stored by its non-zeros, row by row (CSR): row i's
// entries are index[start[i] .. start[i + 1]) with their values.
struct SparseRows {
  int num_rows = 0;
  int num_features = 0;
  std::vector<int32_t> start = {0};
  std::vector<int32_t> index;
  std::vector<float> value;

  // Rebuilds from the dense C-contiguous x (rows, features).
  void Assign(const float* x, int rows, int features);
};

// Reusable buffers of MlpPpoGradients (activations, gradients, the used-feature columns),
// so repeated calls allocate nothing once they have seen the largest shapes.
struct MlpPpoScratch {
  std::vector<std::vector<float>> acts;
  std::vector<float> grad, grad_prev, grad_out, wt, gw_used, nz_value, logp;
  std::vector<int32_t> used, mark, nz_index, row_start;
};

// Forward pass of the rows rows[0..n) of x (x.num_features == layers[0].in) through the layers (ReLU after all but the last;
// the last has A + 1 outputs: logits then value), the PPO loss above, and its gradient
// with respect to every weight and bias. Writes the five statistics into stats (as
// PpoStat). Throws std::invalid_argument when the layer shapes do not chain or an action
// is out of range.
void MlpPpoGradients(const SparseRows& x, const int64_t* rows,
                     const std::vector<DenseLayer>& layers, const PpoMinibatch& batch,
                     const PpoLossConfig& config, MlpPpoScratch& scratch, float* stats);

// The optimiser step of a PPO minibatch on one flat parameter vector of n floats: the
// gradient is scaled to L2 norm <= max_grad_norm (as torch.nn.utils.clip_grad_norm_, with
// its 1e-6), then torch.optim.Adam's update (no weight decay, no amsgrad) with the state
// exp_avg, exp_avg_sq and step (a float, incremented here) that torch keeps. Returns the
// gradient's norm before clipping.
struct AdamConfig {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float max_grad_norm = 0.5f;
};
float ClippedAdamStep(int64_t n, float* param, float* grad, float* exp_avg, float* exp_avg_sq,
                      float* step, const AdamConfig& config);

}  // namespace bidir

#endif  // BIDIR_STUDENT_MLP_PPO_H_
