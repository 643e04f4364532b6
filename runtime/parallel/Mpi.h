// Data parallelism across processes with MPI, found at run time.
//
// Under an MPI launcher (mpirun, srun: recognized by its environment) the
// executable dlopens Open MPI's libmpi.so.40 and becomes one rank of the
// run; otherwise nothing here touches MPI and one process is the whole run
// (rank 0 of 1). There is no link-time dependency on MPI.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace kiln::runtime {

/// This process's place in the run: rank 0 of 1 without a launcher.
struct Processes {
  int rank = 0, size = 1;
  /// The default thread count of this rank: 0 (every core) alone, else the
  /// cores shared among the ranks on this machine.
  int threads = 0;
};
const Processes &processes();

/// Joins the run when a launcher started this process (MPI_Init); a usage
/// error when MPI cannot be loaded. Ranks other than 0 send stdout to
/// /dev/null: rank 0 alone reports.
void startProcesses();
/// MPI_Finalize, when started.
void finishProcesses();
/// Ends every rank of a started run of more than one process with `status`
/// (MPI_Abort), after this rank printed why.
[[noreturn]] void abortProcesses(int status);

/// In-place sums over the ranks (nothing with one process).
void allReduceSum(double *data, int64_t n);
/// Whether any rank has a stop request (SIGINT/SIGTERM), so that all stop
/// after the same step.
bool anyStopRequested();
/// Rank 0 receives the bitwise OR of every rank's `bytes` (each rank fills
/// its own part and leaves zeros elsewhere): a gather in place.
void gatherByOr(void *data, size_t bytes);

/// Seconds spent in the train step's all-reduce so far (the communication
/// a step costs, waiting for the slowest rank included).
double allReduceSeconds();

} // namespace kiln::runtime
