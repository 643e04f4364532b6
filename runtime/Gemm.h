// The runtime's matrix product (Gemm.cpp), which generated code calls for
// every linalg.matmul; the command line sets how many threads it uses.
#pragma once

namespace kiln::runtime {

/// Threads for matrix products from now on (1 or more; 0 means one per core).
/// Results do not depend on it: each thread computes whole columns of C in
/// the same order one thread would.
void setMatmulThreads(int threads);

} // namespace kiln::runtime
