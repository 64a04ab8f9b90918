// Running mean and variance of a stream of numbers, merged batch by batch (Chan, Golub and
// LeVeque's parallel update of Welford's algorithm), for normalising teacher feedback.
#ifndef BIDIR_FEEDBACK_RUNNING_STATS_H_
#define BIDIR_FEEDBACK_RUNNING_STATS_H_

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace bidir {

class RunningMeanStd {
 public:
  // Folds x[i] for every i < n with mask[i] (all of them if mask is null) into the stats.
  // Every such x[i] must be finite (one NaN or inf would poison the statistics for good;
  // the Python binding checks before calling).
  void Update(const float* x, const bool* mask, size_t n) {
    double b_count = 0.0, b_sum = 0.0;
    for (size_t i = 0; i < n; ++i) {
      if (mask && !mask[i]) continue;
      b_count += 1.0;
      b_sum += x[i];
    }
    if (b_count == 0.0) return;
    const double b_mean = b_sum / b_count;
    double b_m2 = 0.0;
    for (size_t i = 0; i < n; ++i) {
      if (mask && !mask[i]) continue;
      const double d = x[i] - b_mean;
      b_m2 += d * d;
    }
    const double total = count_ + b_count;
    const double delta = b_mean - mean_;
    mean_ += delta * b_count / total;
    m2_ += b_m2 + delta * delta * count_ * b_count / total;
    count_ = total;
  }

  // out[i] = clamp((x[i] - mean) / (std + eps), -clip, clip) where mask[i] (or everywhere
  // if mask is null), else 0. With no data yet, mean = 0 and std = 1. x and out may alias.
  void Normalize(const float* x, const bool* mask, size_t n, double eps, double clip,
                 float* out) const {
    const double m = count_ > 0.0 ? mean_ : 0.0;
    const double s = count_ > 0.0 ? std::sqrt(Variance()) : 1.0;
    for (size_t i = 0; i < n; ++i) {
      if (mask && !mask[i]) {
        out[i] = 0.0f;
        continue;
      }
      const double z = (static_cast<double>(x[i]) - m) / (s + eps);
      out[i] = static_cast<float>(std::clamp(z, -clip, clip));
    }
  }

  double count() const { return count_; }
  double mean() const { return mean_; }
  // Population variance (0 with fewer than two samples).
  double Variance() const { return count_ > 0.0 ? m2_ / count_ : 0.0; }
  double m2() const { return m2_; }
  void Set(double count, double mean, double m2) {
    count_ = count;
    mean_ = mean;
    m2_ = m2;
  }

 private:
  double count_ = 0.0;
  double mean_ = 0.0;
  double m2_ = 0.0;  // sum of squared deviations from the mean
};

}  // namespace bidir

#endif  // BIDIR_FEEDBACK_RUNNING_STATS_H_
