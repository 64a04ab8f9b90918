#include "feedback/td_feedback.h"

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace bidir {

void AggregateFeedback(const FeedbackInputs& in, double gamma, double lam, double rho_max,
                       const FeedbackOutputs& out) {
  const int T = in.T, N = in.N;
  const double gl = gamma * lam;
  for (int n = 0; n < N; ++n) {
    // Backwards over the column: acc is the window sum from step t to its window's end.
    double acc = 0.0;
    int32_t len = 0;
    for (int t = T - 1; t >= 0; --t) {
      const size_t i = static_cast<size_t>(t) * N + n;
      const bool term = in.terminated[i], trunc = in.truncated[i];
      double bootstrap;
      if (term) {
        bootstrap = 0.0;
      } else if (trunc) {
        bootstrap = in.final_values[i];
      } else {
        bootstrap = t + 1 < T ? in.values[i + N] : in.next_values[n];
      }
      const double delta = static_cast<double>(in.rewards[i]) + gamma * bootstrap -
                           static_cast<double>(in.values[i]);
      // The window of step t continues into t+1 unless t ends an episode, t+1 starts a
      // new query, or t is the last step.
      const bool continues = !term && !trunc && t + 1 < T && !in.queries[i + N];
      acc = delta + (continues ? gl * acc : 0.0);
      len = 1 + (continues ? len : 0);
      out.deltas[i] = static_cast<float>(delta);
      if (in.queries[i]) {
        const double log_ratio = static_cast<double>(in.teacher_logprobs[i]) -
                                 static_cast<double>(in.behaviour_logprobs[i]);
        // exp overflows to inf for huge log ratios; min() then gives rho_max.
        const double rho = std::min(rho_max, std::exp(log_ratio));
        out.advantages[i] = static_cast<float>(acc);
        out.ratios[i] = static_cast<float>(rho);
        out.feedback[i] = static_cast<float>(rho * acc);
        out.window_lengths[i] = len;
      } else {
        out.advantages[i] = out.ratios[i] = out.feedback[i] = 0.0f;
        out.window_lengths[i] = 0;
      }
    }
  }
}

}  // namespace bidir
