// The BLAS every CPU matrix product goes through: OpenBLAS, loaded on first use with the kernels
// this CPU's instruction sets call for. Debian 12's OpenBLAS picks its kernels by CPU model and
// falls back to generic SSE3 code on CPUs newer than itself (3-6x slower on a Sapphire Rapids);
// choosing by features instead keeps the fast kernels on every CPU, whatever OPENBLAS_CORETYPE
// says.
#pragma once

#include <string>

namespace moescope::blas {

struct Kernels {
  std::string name;     // OpenBLAS's name of the kernels in use: "Cooperlake"
  std::string reason;   // why these: "chosen from the CPU's features"
  std::string library;  // OpenBLAS's build line: "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY ..."
  int threads = 1;      // threads one product uses
};

// Loads OpenBLAS on the first call (thread-safe); throws Error naming the library when it cannot
// be loaded. Call it early in main, before other threads start, so that its environment change
// (OPENBLAS_CORETYPE, set while it loads and restored after) races with nobody.
const Kernels& kernels();

// "Cooperlake kernels, 2 threads": what a run's machine line says of the BLAS.
std::string kernels_brief();

// c[m, n] = a[m, k] . b[n, k]^T + beta * c, all row-major fp32 with leading dimensions lda, ldb,
// ldc (beta 0: c is only written).
void multiply_transposed(int m, int n, int k, const float* a, int lda, const float* b, int ldb,
                         float beta, float* c, int ldc);

// The same on the calling thread alone: for products beside timed work on other libraries'
// threads, which OpenBLAS's threads, spinning for a while after each product, would slow.
void multiply_transposed_on_this_thread(int m, int n, int k, const float* a, int lda,
                                        const float* b, int ldb, float beta, float* c, int ldc);

// Threads a product uses; the CPU backend's own loops use as many.
int threads();
// Sets them (ranks run one thread each by default). Call it before products run on other threads.
void set_threads(int threads);

}  // namespace moescope::blas
