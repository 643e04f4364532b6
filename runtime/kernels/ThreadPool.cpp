#include "runtime/kernels/ThreadPool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace kiln::runtime {

namespace {

/// Whether this thread is running a task of some pool's parallel run: a run
/// started there is nested and runs on this thread.
thread_local bool insideTask = false;

/// This thread's number: 0 but in a pool's worker.
thread_local int threadIndex = 0;

int clampThreads(int threads) {
  if (threads <= 0)
    threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return threads;
}

/// Runs the tasks in order on the calling thread.
void runInline(int64_t tasks, const std::function<void(int64_t)> &fn) {
  for (int64_t i = 0; i < tasks; ++i)
    fn(i);
}

} // namespace

struct ThreadPool::State {
  std::mutex runMutex; // one parallel run at a time
  std::mutex mutex;    // everything below
  std::condition_variable wake, done;
  std::vector<std::thread> workers; // worker i + 1 is workers[i]
  int wanted = 1;
  bool stopping = false;

  // The current run: workers 1 ... helpers take part in it.
  uint64_t generation = 0;
  const std::function<void(int64_t)> *fn = nullptr;
  int64_t tasks = 0;
  int helpers = 0, remaining = 0;
  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;

  /// Takes tasks of the current run until none is left.
  void work(const std::function<void(int64_t)> &task, int64_t count) {
    insideTask = true;
    for (int64_t i; !failed.load(std::memory_order_relaxed) && (i = next.fetch_add(1)) < count;) {
      try {
        task(i);
      } catch (...) {
        std::unique_lock<std::mutex> lock(mutex);
        if (!error)
          error = std::current_exception();
        failed = true;
      }
    }
    insideTask = false;
  }

  void workerLoop(int id) {
    threadIndex = id;
    uint64_t seen = 0;
    while (true) {
      const std::function<void(int64_t)> *task;
      int64_t count;
      {
        std::unique_lock<std::mutex> lock(mutex);
        wake.wait(lock, [&] { return stopping || generation != seen; });
        if (stopping)
          return;
        seen = generation;
        if (id > helpers)
          continue;
        task = fn;
        count = tasks;
      }
      work(*task, count);
      std::unique_lock<std::mutex> lock(mutex);
      if (--remaining == 0)
        done.notify_one();
    }
  }
};

ThreadPool::ThreadPool(int threads) : state_(new State) {
  state_->wanted = clampThreads(threads);
}

ThreadPool::~ThreadPool() {
  {
    std::unique_lock<std::mutex> runLock(state_->runMutex);
    std::unique_lock<std::mutex> lock(state_->mutex);
    state_->stopping = true;
  }
  state_->wake.notify_all();
  for (std::thread &t : state_->workers)
    t.join();
}

void ThreadPool::setThreads(int threads) {
  std::unique_lock<std::mutex> lock(state_->mutex);
  state_->wanted = clampThreads(threads);
}

int ThreadPool::threads() const {
  std::unique_lock<std::mutex> lock(state_->mutex);
  return state_->wanted;
}

void ThreadPool::run(int64_t tasks, const std::function<void(int64_t)> &fn) {
  if (tasks <= 0)
    return;
  if (tasks == 1 || insideTask)
    return runInline(tasks, fn);
  State &s = *state_;
  std::unique_lock<std::mutex> runLock(s.runMutex);
  {
    std::unique_lock<std::mutex> lock(s.mutex);
    int threads = static_cast<int>(std::min<int64_t>(s.wanted, tasks));
    if (threads <= 1) {
      lock.unlock();
      runLock.unlock();
      return runInline(tasks, fn);
    }
    while (static_cast<int>(s.workers.size()) < threads - 1)
      s.workers.emplace_back(
          [&s, id = static_cast<int>(s.workers.size()) + 1] { s.workerLoop(id); });
    s.fn = &fn;
    s.tasks = tasks;
    s.helpers = s.remaining = threads - 1;
    s.next = 0;
    s.failed = false;
    s.error = nullptr;
    ++s.generation;
  }
  s.wake.notify_all();
  s.work(fn, tasks);
  std::unique_lock<std::mutex> lock(s.mutex);
  s.done.wait(lock, [&] { return s.remaining == 0; });
  s.fn = nullptr;
  if (s.error) {
    std::exception_ptr error = s.error;
    s.error = nullptr;
    std::rethrow_exception(error);
  }
}

ThreadPool &threadPool() {
  // Never destroyed: workers wait on it until the process exits.
  static ThreadPool *pool = new ThreadPool(1);
  return *pool;
}

int currentThreadIndex() { return threadIndex; }

void parallelFor(int64_t count, const std::function<void(int64_t)> &fn) {
  threadPool().run(count, fn);
}

} // namespace kiln::runtime
