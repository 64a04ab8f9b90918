// The non-parametric teacher correction (docs/method.md): a table of the student's running
// feedback per (prompt hash, action). A teacher that cannot be fine-tuned is corrected by
// adding alpha * table value to its action logits.
//
// Each entry is an exponential moving average: the first feedback f for (h, a) sets the
// value to f; later ones give value += rate * (f - value). Unseen (h, a) read as 0. The
// table holds at most `capacity` prompts; inserting one more evicts the prompt inserted
// earliest (first in, first out). All methods are thread-safe (one mutex).
#ifndef BIDIR_FEEDBACK_FEEDBACK_TABLE_H_
#define BIDIR_FEEDBACK_FEEDBACK_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace bidir {

class FeedbackTable {
 public:
  // num_actions >= 1, rate in (0, 1], capacity >= 1 (checked by the caller).
  FeedbackTable(int num_actions, double rate, size_t capacity);

  // Folds feedback[i] into entry (hashes[i], actions[i]) for i < n, in order; actions
  // must be in [0, num_actions).
  void Update(size_t n, const uint64_t* hashes, const int64_t* actions, const float* feedback);

  // out[i * num_actions + a] = value of (hashes[i], a) for i < n (0 where unseen).
  void Lookup(size_t n, const uint64_t* hashes, float* out) const;

  // The whole table, for checkpoints: keys in insertion order, (size, num_actions) values
  // and counts (number of updates of each entry).
  void Export(std::vector<uint64_t>* keys, std::vector<float>* values,
              std::vector<uint32_t>* counts) const;
  // Replaces the content with an Export()ed one (keys in insertion order).
  void Import(const std::vector<uint64_t>& keys, const std::vector<float>& values,
              const std::vector<uint32_t>& counts);
  void Clear();

  size_t size() const;
  int num_actions() const { return num_actions_; }
  double rate() const { return rate_; }
  size_t capacity() const { return capacity_; }

 private:
  struct Entry {
    std::vector<float> value;
    std::vector<uint32_t> count;
  };
  Entry& Insert(uint64_t key);  // caller holds mu_

  const int num_actions_;
  const double rate_;
  const size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, Entry> entries_;
  std::deque<uint64_t> order_;  // insertion order, for eviction
};

}  // namespace bidir

#endif  // BIDIR_FEEDBACK_FEEDBACK_TABLE_H_
