#include "runtime/kernels/ThreadPool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
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
  return std::min(threads, 1 << 16); // a run's helper count must stay below kRunStep
}

/// Runs the tasks in order on the calling thread.
void runInline(int64_t tasks, const std::function<void(int64_t)> &fn) {
  for (int64_t i = 0; i < tasks; ++i)
    fn(i);
}

} // namespace

/// Waits until `ready()` holds, spinning for up to kSpin before it gives up
/// (returns false). A run follows the last one within microseconds in a
/// train step (an RNN's time steps launch about 150 small runs a step), and a
/// thread parked on a condition variable takes tens of microseconds to wake on
/// a virtual machine: more than such a run's work. OpenMP runtimes spin too
/// (libgomp's GOMP_SPINCOUNT, LLVM's KMP_BLOCKTIME).
template <typename Ready> bool spinUntil(Ready ready) {
  constexpr auto kSpin = std::chrono::microseconds(500);
  auto deadline = std::chrono::steady_clock::now() + kSpin;
  while (true) {
    for (int i = 0; i < 64; ++i) {
      if (ready())
        return true;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
    if (std::chrono::steady_clock::now() > deadline)
      return ready();
    // With more threads than free cores, the thread this one waits for may
    // be waiting for this core.
    std::this_thread::yield();
  }
}

struct ThreadPool::State {
  std::mutex runMutex; // one parallel run at a time
  std::mutex mutex;    // guards the waits on the condition variables, error, wanted
  std::condition_variable wake, done;
  std::vector<std::thread> workers; // worker i + 1 is workers[i]
  int wanted = 1;
  std::atomic<bool> stopping{false};

  // The current run. The caller writes fn and tasks, then publishes the run
  // in `announced`: its number times kRunStep plus its helper count, one word
  // so that a worker reads both together. Workers 1 ... helpers take part; the
  // run ends when `remaining` of them have finished.
  static constexpr uint64_t kRunStep = uint64_t(1) << 20; // above any helper count
  std::atomic<uint64_t> announced{0};
  const std::function<void(int64_t)> *fn = nullptr;
  int64_t tasks = 0;
  std::atomic<int> remaining{0};
  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;

  // Threads blocked on `wake` (workers) and `done` (the caller): the other
  // side takes the mutex and notifies only when one may be blocked.
  std::atomic<int> parked{0};
  std::atomic<bool> callerParked{false};

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

  /// Worker `id`'s life; `seen`: the last run announced before it started.
  void workerLoop(int id, uint64_t seen) {
    threadIndex = id;
    while (true) {
      uint64_t run;
      auto ready = [&] {
        run = announced.load();
        return stopping.load() || run / kRunStep != seen / kRunStep;
      };
      if (!spinUntil(ready)) {
        std::unique_lock<std::mutex> lock(mutex);
        ++parked; // before the check: run() reads it after publishing
        wake.wait(lock, ready);
        --parked;
      }
      if (stopping)
        return;
      seen = run;
      if (id > static_cast<int>(run % kRunStep))
        continue;
      work(*fn, tasks);
      if (--remaining == 0 && callerParked) {
        std::unique_lock<std::mutex> lock(mutex);
        done.notify_one();
      }
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
  int threads;
  {
    std::unique_lock<std::mutex> lock(s.mutex);
    threads = static_cast<int>(std::min<int64_t>(s.wanted, tasks));
  }
  if (threads <= 1) {
    runLock.unlock();
    return runInline(tasks, fn);
  }
  while (static_cast<int>(s.workers.size()) < threads - 1)
    s.workers.emplace_back([&s, id = static_cast<int>(s.workers.size()) + 1,
                            seen = s.announced.load()] { s.workerLoop(id, seen); });
  s.fn = &fn;
  s.tasks = tasks;
  s.remaining = threads - 1;
  s.next = 0;
  s.failed = false;
  s.announced = (s.announced.load() / State::kRunStep + 1) * State::kRunStep +
                static_cast<uint64_t>(threads - 1);
  if (s.parked > 0) {
    std::unique_lock<std::mutex> lock(s.mutex); // a worker between its check and its wait holds it
    s.wake.notify_all();
  }
  s.work(fn, tasks);
  auto finished = [&] { return s.remaining.load() == 0; };
  if (!spinUntil(finished)) {
    std::unique_lock<std::mutex> lock(s.mutex);
    s.callerParked = true; // before the check: the last worker reads it after finishing
    s.done.wait(lock, finished);
    s.callerParked = false;
  }
  s.fn = nullptr;
  std::exception_ptr error;
  {
    std::unique_lock<std::mutex> lock(s.mutex);
    std::swap(error, s.error);
  }
  if (error)
    std::rethrow_exception(error);
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
