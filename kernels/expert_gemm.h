// The expert FFN's two matrix products through cuBLAS, on row-major activations and weights:
// one GEMM per expert (each expert's kernels can be timed on their own), or one grouped GEMM
// over all experts of a layer (cublasGemmGroupedBatchedEx), for speed.
#pragma once

#include <cublas_v2.h>

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/device_buffer.h"
#include "kernels/layer_kernels.h"

namespace moescope::kernels {

// out[rows, n] = in[rows, k] . w[n, k]^T; all in precision `p`, accumulated in fp32.
void gemm_rows(cublasHandle_t handle, Precision p, const void* in, std::int64_t rows, int k,
               const void* w, int n, void* out);

// The same product for several experts in one call: problem i multiplies `rows[i]` rows of
// `in[i]` by `w[i]`. Problems with zero rows are left out.
struct GroupedProblems {
  std::vector<const void*> in;
  std::vector<const void*> w;
  std::vector<void*> out;
  std::vector<int> rows;
};

// A grouped GEMM ready to launch: its pointer arrays already in device memory (cuBLAS reads
// them there), so that the upload stays out of the timed kernels.
class GroupedGemm {
 public:
  explicit GroupedGemm(std::string what) : pointers_(std::move(what)) {}
  // Makes room for the pointers of `problems` problems with rows, so that prepare() need not
  // allocate (an allocation waits for the GPU).
  void reserve(std::size_t problems);
  // Uploads the pointers (and waits for the copy); k and n are as in gemm_rows.
  void prepare(const GroupedProblems& problems, int k, int n, cudaStream_t stream);
  void run(cublasHandle_t handle, Precision p) const;

 private:
  DeviceBuffer pointers_;
  int k_ = 0;
  std::vector<int> rows_;  // of the problems with rows
  // cuBLAS's per-group arguments, built in prepare() so that run() only launches.
  std::vector<cublasOperation_t> trans_a_;
  std::vector<cublasOperation_t> trans_b_;
  std::vector<int> m_;
  std::vector<int> k_array_;
  std::vector<int> group_size_;
  std::vector<float> alpha_;
  std::vector<float> beta_;
};

}  // namespace moescope::kernels
