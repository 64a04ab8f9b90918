#include "feedback/feedback_table.h"

#include <algorithm>

namespace bidir {

FeedbackTable::FeedbackTable(int num_actions, double rate, size_t capacity)
    : num_actions_(num_actions), rate_(rate), capacity_(capacity) {}

FeedbackTable::Entry& FeedbackTable::Insert(uint64_t key) {
  auto it = entries_.find(key);
  if (it != entries_.end()) return it->second;
  if (entries_.size() >= capacity_) {
    entries_.erase(order_.front());
    order_.pop_front();
  }
  order_.push_back(key);
  Entry& e = entries_[key];
  e.value.assign(num_actions_, 0.0f);
  e.count.assign(num_actions_, 0);
  return e;
}

void FeedbackTable::Update(size_t n, const uint64_t* hashes, const int64_t* actions,
                           const float* feedback) {
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < n; ++i) {
    Entry& e = Insert(hashes[i]);
    const int64_t a = actions[i];
    if (e.count[a] == 0) {
      e.value[a] = feedback[i];
    } else {
      e.value[a] += static_cast<float>(rate_ * (static_cast<double>(feedback[i]) - e.value[a]));
    }
    if (e.count[a] < UINT32_MAX) ++e.count[a];
  }
}

void FeedbackTable::Lookup(size_t n, const uint64_t* hashes, float* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < n; ++i) {
    float* row = out + i * num_actions_;
    auto it = entries_.find(hashes[i]);
    if (it == entries_.end()) {
      std::fill(row, row + num_actions_, 0.0f);
    } else {
      std::copy(it->second.value.begin(), it->second.value.end(), row);
    }
  }
}

void FeedbackTable::Export(std::vector<uint64_t>* keys, std::vector<float>* values,
                           std::vector<uint32_t>* counts) const {
  std::lock_guard<std::mutex> lock(mu_);
  keys->assign(order_.begin(), order_.end());
  values->clear();
  counts->clear();
  for (uint64_t k : order_) {
    const Entry& e = entries_.at(k);
    values->insert(values->end(), e.value.begin(), e.value.end());
    counts->insert(counts->end(), e.count.begin(), e.count.end());
  }
}

void FeedbackTable::Import(const std::vector<uint64_t>& keys, const std::vector<float>& values,
                           const std::vector<uint32_t>& counts) {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.clear();
  order_.clear();
  for (size_t i = 0; i < keys.size(); ++i) {
    Entry& e = Insert(keys[i]);
    const size_t at = i * num_actions_;
    e.value.assign(values.begin() + at, values.begin() + at + num_actions_);
    e.count.assign(counts.begin() + at, counts.begin() + at + num_actions_);
  }
}

void FeedbackTable::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.clear();
  order_.clear();
}

size_t FeedbackTable::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

}  // namespace bidir
