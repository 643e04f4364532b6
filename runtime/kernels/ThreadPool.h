// The kernels' threads. A kernel splits its work into tasks and hands them to
// the process's pool (`parallelFor`), whose workers wait between calls; the
// calling thread runs tasks too. The command line sets its size (--threads,
// one per core by default). Kernels keep their results independent of it:
// each task computes its part in the order one thread would, and the split
// depends only on the problem and the task count (GEMM's column panels).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

namespace kiln::runtime {

class ThreadPool {
public:
  /// A pool of `threads` threads, the caller's included (0: one per core).
  /// Workers start when a run first needs them.
  explicit ThreadPool(int threads = 1);
  /// Stops and joins the workers; no run may be in progress.
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  /// Threads for the runs that start from now on (1 or more; 0 or less means
  /// one per core). Extra workers of a larger size stay parked.
  void setThreads(int threads);
  /// The current size (1 or more).
  int threads() const;

  /// Runs fn(0) ... fn(tasks - 1), each exactly once, on up to threads()
  /// threads (the caller's among them), and returns when all have finished.
  /// Tasks are handed out in index order as threads come free, so which thread
  /// runs a task is not fixed. One thread, a single task, or a call from inside
  /// a task of any pool (nested) runs the tasks in order on the calling thread.
  /// Runs from other threads wait their turn. If a task throws, tasks not yet
  /// started are skipped and the first exception is rethrown here.
  void run(int64_t tasks, const std::function<void(int64_t)> &fn);

private:
  struct State;
  std::unique_ptr<State> state_;
};

/// The process's pool, shared by every kernel (one thread until the command
/// line sizes it). Never destroyed: its workers wait until the process exits.
ThreadPool &threadPool();

/// The calling thread's number in the pool that runs it: 0 for a thread that
/// is not a worker (the one that calls run), i for worker i.
int currentThreadIndex();

/// threadPool().run(count, fn).
void parallelFor(int64_t count, const std::function<void(int64_t)> &fn);

} // namespace kiln::runtime
