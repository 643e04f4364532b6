// The kernels' thread pool: every task runs exactly once, on at most the
// pool's threads; zero and one task, one thread, nested runs, resizing,
// exceptions, and runs from several threads at once.
#include "runtime/kernels/ThreadPool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

using kiln::runtime::ThreadPool;

namespace {

/// Runs `tasks` tasks and checks that each ran exactly once; returns the most
/// that ran at the same time and the threads that ran them.
struct RunStats {
  int maxConcurrent = 0;
  std::set<std::thread::id> threads;
};

RunStats runCounted(ThreadPool &pool, int64_t tasks) {
  std::vector<std::atomic<int>> runs(static_cast<size_t>(tasks));
  for (auto &r : runs)
    r = 0;
  std::atomic<int> active{0}, maxActive{0};
  std::mutex mutex;
  RunStats stats;
  pool.run(tasks, [&](int64_t i) {
    int now = ++active;
    int seen = maxActive.load();
    while (now > seen && !maxActive.compare_exchange_weak(seen, now)) {
    }
    {
      std::lock_guard<std::mutex> lock(mutex);
      stats.threads.insert(std::this_thread::get_id());
    }
    std::this_thread::sleep_for(std::chrono::microseconds(50));
    ++runs[static_cast<size_t>(i)];
    --active;
  });
  for (int64_t i = 0; i < tasks; ++i)
    EXPECT_EQ(runs[static_cast<size_t>(i)], 1) << "task " << i << " of " << tasks;
  stats.maxConcurrent = maxActive;
  return stats;
}

/// True when `n` tasks of one run all get to run at the same time: each
/// waits (up to 10 s, so a broken pool fails rather than hangs) for the others.
bool allAtOnce(ThreadPool &pool, int n) {
  std::mutex mutex;
  std::condition_variable cv;
  int arrived = 0;
  std::atomic<int> met{0};
  pool.run(n, [&](int64_t) {
    std::unique_lock<std::mutex> lock(mutex);
    if (++arrived == n)
      cv.notify_all();
    if (cv.wait_for(lock, std::chrono::seconds(10), [&] { return arrived == n; }))
      ++met;
  });
  return met == n;
}

} // namespace

TEST(ThreadPoolTest, EveryTaskRunsExactlyOnce) {
  for (int threads : {1, 2, 3, 8})
    for (int64_t tasks : {0, 1, 2, 5, 100, 1000}) {
      ThreadPool pool(threads);
      RunStats stats = runCounted(pool, tasks);
      EXPECT_LE(stats.maxConcurrent, threads);
      EXPECT_LE(static_cast<int>(stats.threads.size()), std::min<int64_t>(threads, tasks));
    }
}

TEST(ThreadPoolTest, ZeroAndNegativeTaskCountsRunNothing) {
  ThreadPool pool(4);
  int calls = 0;
  pool.run(0, [&](int64_t) { ++calls; });
  pool.run(-5, [&](int64_t) { ++calls; });
  EXPECT_EQ(calls, 0);
}

TEST(ThreadPoolTest, OneThreadRunsInOrderOnTheCaller) {
  ThreadPool pool(1);
  std::vector<int64_t> order;
  std::set<std::thread::id> threads;
  pool.run(50, [&](int64_t i) {
    order.push_back(i);
    threads.insert(std::this_thread::get_id());
  });
  ASSERT_EQ(order.size(), 50u);
  for (int64_t i = 0; i < 50; ++i)
    EXPECT_EQ(order[static_cast<size_t>(i)], i);
  EXPECT_EQ(threads, std::set<std::thread::id>{std::this_thread::get_id()});
}

TEST(ThreadPoolTest, OneTaskRunsOnTheCaller) {
  ThreadPool pool(4);
  std::thread::id ran;
  pool.run(1, [&](int64_t) { ran = std::this_thread::get_id(); });
  EXPECT_EQ(ran, std::this_thread::get_id());
}

TEST(ThreadPoolTest, RunsOnAllItsThreadsAtOnce) {
  ThreadPool pool(4);
  EXPECT_TRUE(allAtOnce(pool, 4));
  EXPECT_TRUE(allAtOnce(pool, 4)); // the same workers, woken again
}

TEST(ThreadPoolTest, NestedRunsRunOnTheTasksThread) {
  ThreadPool pool(3);
  std::vector<std::atomic<int>> runs(6 * 10);
  for (auto &r : runs)
    r = 0;
  std::atomic<int> elsewhere{0};
  pool.run(6, [&](int64_t outer) {
    std::thread::id self = std::this_thread::get_id();
    pool.run(10, [&](int64_t inner) {
      if (std::this_thread::get_id() != self)
        ++elsewhere;
      ++runs[static_cast<size_t>(outer * 10 + inner)];
    });
    // Another pool's run nested here also stays on this thread.
    ThreadPool other(2);
    other.run(3, [&](int64_t) {
      if (std::this_thread::get_id() != self)
        ++elsewhere;
    });
  });
  for (auto &r : runs)
    EXPECT_EQ(r, 1);
  EXPECT_EQ(elsewhere, 0);
}

TEST(ThreadPoolTest, Resizing) {
  ThreadPool pool(2);
  EXPECT_EQ(pool.threads(), 2);
  EXPECT_LE(runCounted(pool, 200).maxConcurrent, 2);

  pool.setThreads(5);
  EXPECT_EQ(pool.threads(), 5);
  EXPECT_TRUE(allAtOnce(pool, 5));
  EXPECT_LE(runCounted(pool, 200).maxConcurrent, 5);

  pool.setThreads(2); // the extra workers stay parked
  EXPECT_EQ(pool.threads(), 2);
  RunStats two = runCounted(pool, 200);
  EXPECT_LE(two.maxConcurrent, 2);
  EXPECT_LE(two.threads.size(), 2u);

  pool.setThreads(1);
  RunStats one = runCounted(pool, 20);
  EXPECT_EQ(one.threads, std::set<std::thread::id>{std::this_thread::get_id()});

  pool.setThreads(6);
  EXPECT_TRUE(allAtOnce(pool, 6));

  int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  pool.setThreads(0);
  EXPECT_EQ(pool.threads(), cores);
  pool.setThreads(-3);
  EXPECT_EQ(pool.threads(), cores);
  EXPECT_EQ(ThreadPool(0).threads(), cores);
}

TEST(ThreadPoolTest, ATaskThrowsToTheCaller) {
  ThreadPool pool(3);
  for (int64_t bad : {0, 1, 7}) {
    EXPECT_THROW(pool.run(8,
                          [&](int64_t i) {
                            if (i == bad)
                              throw std::runtime_error("task failed");
                          }),
                 std::runtime_error);
  }
  runCounted(pool, 100); // still usable
}

TEST(ThreadPoolTest, RunsFromSeveralThreadsTakeTurns) {
  ThreadPool pool(3);
  std::atomic<int> wrong{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c)
    callers.emplace_back([&] {
      for (int round = 0; round < 50; ++round) {
        std::vector<std::atomic<int>> runs(37);
        for (auto &r : runs)
          r = 0;
        pool.run(37, [&](int64_t i) { ++runs[static_cast<size_t>(i)]; });
        for (auto &r : runs)
          if (r != 1)
            ++wrong;
      }
    });
  for (std::thread &t : callers)
    t.join();
  EXPECT_EQ(wrong, 0);
}

TEST(ThreadPoolTest, TheSharedPool) {
  ThreadPool &pool = kiln::runtime::threadPool();
  EXPECT_EQ(&pool, &kiln::runtime::threadPool());
  int before = pool.threads();
  pool.setThreads(3);
  std::vector<std::atomic<int>> runs(64);
  for (auto &r : runs)
    r = 0;
  kiln::runtime::parallelFor(64, [&](int64_t i) { ++runs[static_cast<size_t>(i)]; });
  for (auto &r : runs)
    EXPECT_EQ(r, 1);
  pool.setThreads(before);
}

// Runs follow each other both while the workers still spin and after they
// have parked on the condition variable (a pause longer than their spin):
// no run is lost or waits forever either way.
TEST(ThreadPoolTest, RunsAfterSpinningAndAfterParkedWorkers) {
  ThreadPool pool(3);
  std::atomic<int64_t> ran{0};
  for (int round = 0; round < 2000; ++round) {
    if (round % 200 == 199)
      std::this_thread::sleep_for(std::chrono::milliseconds(3));
    pool.run(5, [&](int64_t i) { ran += i + 1; });
  }
  EXPECT_EQ(ran, 2000 * 15);
}
