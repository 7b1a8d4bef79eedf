#include "kernels/expert_gemm.h"

#include <string>

#include "kernels/cuda_check.h"

namespace moescope::kernels {

namespace {

cudaDataType_t data_type(Precision p) {
  return p == Precision::kFp32 ? CUDA_R_32F : CUDA_R_16BF;
}

}  // namespace

// Row-major out[rows, n] is column-major out^T[n, rows] = w[n, k] . in^T[k, rows], and a
// row-major w[n, k] is a column-major [k, n] matrix, hence op(A) = transpose.
void gemm_rows(cublasHandle_t handle, Precision p, const void* in, std::int64_t rows, int k,
               const void* w, int n, void* out) {
  if (rows == 0) return;
  const float alpha = 1.0f;
  const float beta = 0.0f;
  const cudaDataType_t type = data_type(p);
  check_cublas(
      cublasGemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, n, static_cast<int>(rows), k, &alpha, w, type,
                   k, in, type, k, &beta, out, type, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
      "expert GEMM (" + std::to_string(rows) + " x " + std::to_string(k) + " by " +
          std::to_string(n) + ")");
}

void GroupedGemm::reserve(std::size_t problems) {
  if (problems == 0) return;
  pointers_.reserve(3 * problems * sizeof(void*));
}

void GroupedGemm::prepare(const GroupedProblems& problems, int k, int n, cudaStream_t stream) {
  k_ = k;
  rows_.clear();
  std::vector<const void*> a;
  std::vector<const void*> b;
  std::vector<void*> c;
  for (std::size_t i = 0; i < problems.rows.size(); ++i) {
    if (problems.rows[i] == 0) continue;
    a.push_back(problems.w[i]);
    b.push_back(problems.in[i]);
    c.push_back(problems.out[i]);
    rows_.push_back(problems.rows[i]);
  }
  if (rows_.empty()) return;
  // Laid out A, then B, then C.
  std::vector<const void*> packed;
  packed.reserve(3 * a.size());
  packed.insert(packed.end(), a.begin(), a.end());
  packed.insert(packed.end(), b.begin(), b.end());
  packed.insert(packed.end(), c.begin(), c.end());
  const std::size_t bytes = packed.size() * sizeof(void*);
  pointers_.reserve(bytes);
  check_cuda(
      cudaMemcpyAsync(pointers_.data(), packed.data(), bytes, cudaMemcpyHostToDevice, stream),
      "uploading the grouped GEMM's pointers");
  check_cuda(cudaStreamSynchronize(stream), "uploading the grouped GEMM's pointers");
  const std::size_t g = rows_.size();
  trans_a_.assign(g, CUBLAS_OP_T);
  trans_b_.assign(g, CUBLAS_OP_N);
  m_.assign(g, n);
  k_array_.assign(g, k);
  group_size_.assign(g, 1);
  alpha_.assign(g, 1.0f);
  beta_.assign(g, 0.0f);
}

void GroupedGemm::run(cublasHandle_t handle, Precision p) const {
  const int groups = static_cast<int>(rows_.size());
  if (groups == 0) return;
  void** device_ptrs = pointers_.as<void*>();
  const cudaDataType_t type = data_type(p);
  // The leading dimensions equal k (A and B) and n (C), the same arrays as k and m.
  const cublasStatus_t status = cublasGemmGroupedBatchedEx(
      handle, trans_a_.data(), trans_b_.data(), m_.data(), rows_.data(), k_array_.data(),
      alpha_.data(), device_ptrs, type, k_array_.data(), device_ptrs + groups, type,
      k_array_.data(), beta_.data(), device_ptrs + 2 * groups, type, m_.data(), groups,
      group_size_.data(), CUBLAS_COMPUTE_32F);
  if (status != CUBLAS_STATUS_SUCCESS) {
    check_cublas(status, "grouped expert GEMM (" + std::to_string(groups) + " experts, " +
                             std::to_string(k_) + " by " + std::to_string(m_.front()) + ")");
  }
}

}  // namespace moescope::kernels
