#include "core/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <dirent.h>
#include <stdexcept>
#include <system_error>

namespace bidir {
namespace {

// Threads of this process (Linux: entries of /proc/self/task); -1 if unknown.
int NumThreads() {
  DIR* d = opendir("/proc/self/task");
  if (d == nullptr) return -1;
  int n = 0;
  while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

TEST(ThreadPool, RunsEveryShardAndRethrows) {
  ThreadPool pool(4);
  std::atomic<int> mask{0};
  pool.Run([&](int s) { mask |= 1 << s; });
  EXPECT_EQ(mask.load(), 0xF);
  EXPECT_THROW(pool.Run([](int s) {
                 if (s == 2) throw std::runtime_error("shard 2");
               }),
               std::runtime_error);
  mask = 0;
  pool.Run([&](int s) { mask |= 1 << s; });  // still usable
  EXPECT_EQ(mask.load(), 0xF);
}

TEST(ThreadPool, FailedStartJoinsTheStartedWorkersAndThrows) {
  const int before = NumThreads();
  ThreadPool::FailAtWorkerForTesting() = 5;
  EXPECT_THROW(ThreadPool pool(16), std::system_error);  // used to hang or terminate
  ThreadPool::FailAtWorkerForTesting() = 0;
  EXPECT_EQ(NumThreads(), before);
  {
    ThreadPool pool(16);
    std::atomic<int> count{0};
    pool.Run([&](int) { ++count; });
    EXPECT_EQ(count.load(), 16);
  }
  EXPECT_EQ(NumThreads(), before);
}

}  // namespace
}  // namespace bidir
