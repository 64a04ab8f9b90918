// A fixed pool of worker threads that runs one function over shards, with the caller
// taking shard 0. Built for many short batched calls (a 64-env step takes ~10 us):
// workers and the caller spin briefly on atomics before sleeping on condition variables,
// so a call costs no kernel wake-up while calls come back to back.
#ifndef BIDIR_CORE_THREAD_POOL_H_
#define BIDIR_CORE_THREAD_POOL_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define BIDIR_CPU_RELAX() _mm_pause()
#else
#define BIDIR_CPU_RELAX() std::this_thread::yield()
#endif

namespace bidir {

class ThreadPool {
 public:
  // num_threads counts the calling thread: ThreadPool(1) starts no worker.
  // If a worker cannot be started (std::system_error under a thread or memory limit,
  // std::bad_alloc), the workers already started are stopped and joined and the error is
  // rethrown: a failed constructor leaves no thread behind.
  explicit ThreadPool(int num_threads) : num_threads_(num_threads < 1 ? 1 : num_threads) {
    try {
      workers_.reserve(static_cast<size_t>(num_threads_ - 1));
      for (int t = 1; t < num_threads_; ++t) {
        if (t == FailAtWorkerForTesting()) {
          throw std::system_error(std::make_error_code(std::errc::resource_unavailable_try_again),
                                  "injected thread start failure");
        }
        workers_.emplace_back([this, t] { WorkerLoop(t); });
      }
    } catch (...) {
      StopAndJoin();
      throw;
    }
  }
  ~ThreadPool() { StopAndJoin(); }

  // Test hook: when > 0, the constructor fails (std::system_error) instead of starting
  // worker number FailAtWorkerForTesting() (workers are numbered from 1). 0: off.
  static std::atomic<int>& FailAtWorkerForTesting() {
    static std::atomic<int> fail_at{0};
    return fail_at;
  }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return num_threads_; }

  // Runs fn(shard) for shard in [0, num_threads) and waits for all; rethrows the first
  // exception a shard raised. Not reentrant: one Run at a time.
  void Run(const std::function<void(int)>& fn) {
    if (num_threads_ == 1) {
      fn(0);
      return;
    }
    task_ = &fn;
    error_ = nullptr;
    pending_.store(num_threads_ - 1, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lock(mu_);
      generation_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    std::exception_ptr mine;
    try {
      fn(0);
    } catch (...) {
      mine = std::current_exception();
    }
    for (int spin = 0; spin < kSpins && pending_.load(std::memory_order_acquire) != 0; ++spin) {
      BIDIR_CPU_RELAX();
    }
    if (pending_.load(std::memory_order_acquire) != 0) {
      std::unique_lock<std::mutex> lock(mu_);
      done_cv_.wait(lock, [this] { return pending_.load(std::memory_order_acquire) == 0; });
    }
    task_ = nullptr;
    if (mine) std::rethrow_exception(mine);
    if (error_) std::rethrow_exception(error_);
  }

 private:
  static constexpr int kSpins = 20000;  // roughly 50-100 us of pause instructions

  void StopAndJoin() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      generation_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
  }

  void WorkerLoop(int shard) {
    uint64_t seen = 0;
    while (true) {
      for (int spin = 0; spin < kSpins && generation_.load(std::memory_order_acquire) == seen;
           ++spin) {
        BIDIR_CPU_RELAX();
      }
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
        seen = generation_.load(std::memory_order_acquire);
        if (stop_) return;
      }
      try {
        (*task_)(shard);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu_);
        if (!error_) error_ = std::current_exception();
      }
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(mu_);
        done_cv_.notify_one();
      }
    }
  }

  const int num_threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable done_cv_;
  const std::function<void(int)>* task_ = nullptr;
  std::atomic<int> pending_{0};
  std::atomic<uint64_t> generation_{0};
  std::exception_ptr error_;
  bool stop_ = false;
};

}  // namespace bidir

#endif  // BIDIR_CORE_THREAD_POOL_H_
