// The student's grounded judgement of the teacher's hints (docs/method.md, student -> teacher):
// per-step TD errors of the student's critic, aggregated over the window each teacher hint
// covered. No Python headers; the bindings live in bindings/bind_feedback.cc.
//
// Buffers are C-contiguous (T, N) arrays, T steps by N envs, laid out as in rollout/gae.h,
// and the bootstrap of step t follows gae.h's table exactly:
//
// | terminated | truncated | bootstrap value b_t    |
// |------------|-----------|------------------------|
// | false      | false     | values[t+1, n] (*)     |
// | false      | true      | final_values[t, n]     |
// | true       | any       | none (0)               |
//
// (*) next_values[n] at t = T-1.
//
//   delta_t = r_t + gamma * b_t - values[t, n]                          (the TD error)
//   rho_t   = min(rho_max, exp(teacher_logprobs[t, n] - behaviour_logprobs[t, n]))
//
// At a query step t, teacher_logprobs[t, n] is log piT(a_t | x_t), the teacher's
// log-probability of the action actually taken given the prompt x_t of that state, and
// behaviour_logprobs[t, n] is log mu(a_t | s_t) of the policy that chose a_t (the student,
// or the teacher/student mixture of guided exploration): rho_t is the truncated importance
// ratio of the teacher's suggestion. Both are read only at query steps. teacher_logprobs
// = -inf (an action the teacher never proposes) gives rho_t = 0; NaN or +inf would give
// rho_max, so the Python binding refuses them (and a non-finite behaviour_logprobs,
// reward or value) before calling AggregateFeedback.
//
// Windows. queries[t, n] marks the steps where a teacher hint was answered for env n. The
// window of the query at t covers steps t, t+1, ..., e, where e is the first step >= t that
// ends an episode (terminated or truncated), or the step before the next query, or T-1,
// whichever comes first. Its feedback is the lambda-discounted sum of the TD errors in the
// window (GAE over the window), weighted by the query's importance ratio:
//
//   advantages[t, n] = sum_{j=t..e} (gamma * lam)^(j-t) * delta_j
//   ratios[t, n] = rho_t
//   feedback[t, n] = rho_t * advantages[t, n]
//   window_lengths[t, n] = e - t + 1
//
// All four are 0 where queries[t, n] is false. Steps before an env's first query in the
// rollout belong to the previous rollout's window and are not counted.
#ifndef BIDIR_FEEDBACK_TD_FEEDBACK_H_
#define BIDIR_FEEDBACK_TD_FEEDBACK_H_

#include <cstdint>

namespace bidir {

// The inputs of AggregateFeedback, all (T, N) unless noted.
struct FeedbackInputs {
  int T = 0;
  int N = 0;
  const float* rewards = nullptr;
  const float* values = nullptr;
  const bool* terminated = nullptr;
  const bool* truncated = nullptr;
  const float* final_values = nullptr;  // read only where truncated && !terminated
  const float* next_values = nullptr;   // (N,): V of the observation after step T-1
  const bool* queries = nullptr;
  const float* teacher_logprobs = nullptr;
  const float* behaviour_logprobs = nullptr;
};

// The (T, N) outputs of AggregateFeedback (see the header comment).
struct FeedbackOutputs {
  float* deltas = nullptr;
  float* advantages = nullptr;
  float* ratios = nullptr;
  float* feedback = nullptr;
  int32_t* window_lengths = nullptr;
};

// Writes every output (see the header comment). gamma and lam in [0, 1], rho_max > 0.
// Sums are accumulated in double, rounded to float once per output. Outputs must not
// overlap the inputs or each other.
void AggregateFeedback(const FeedbackInputs& in, double gamma, double lam, double rho_max,
                       const FeedbackOutputs& out);

}  // namespace bidir

#endif  // BIDIR_FEEDBACK_TD_FEEDBACK_H_
