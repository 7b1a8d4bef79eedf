#include "kernels/weight_cache.h"

#include <algorithm>
#include <utility>

#include "kernels/cuda_check.h"
#include "kernels/layer_kernels.h"
#include "profiler/nvtx_range.h"

namespace moescope::kernels {

namespace {

// Weights go up in slices of this many floats, so the fp32 staging stays small.
constexpr std::size_t kUploadSlice = std::size_t{64} << 20;
}  // namespace

void WeightCache::upload(const ExpertWeights& w, cudaStream_t stream) {
  std::vector<float> fingerprint = weight_fingerprint(w);
  if (fingerprint == fingerprint_) return;
  fingerprint_.clear();  // an upload that throws leaves no set that passes for whole
  profiler::NvtxRange range("upload weights");
  upload_converted(w.gate_up, gate_up_, stream);
  upload_converted(w.down, down_, stream);
  upload_converted(w.shared_gate_up, shared_gate_up_, stream);
  upload_converted(w.shared_down, shared_down_, stream);
  if (!w.shared_gate.empty()) {
    shared_gate_.reserve(w.shared_gate.size() * sizeof(float));
    check_cuda(
        cudaMemcpyAsync(shared_gate_.data(), w.shared_gate.data(),
                        w.shared_gate.size() * sizeof(float), cudaMemcpyHostToDevice, stream),
        "uploading the shared expert gate");
    check_cuda(cudaStreamSynchronize(stream), "uploading the shared expert gate");
  }
  fingerprint_ = std::move(fingerprint);
}

void WeightCache::upload_converted(const std::vector<float>& host, DeviceBuffer& dst,
                                   cudaStream_t stream) {
  dst.reserve(std::max<std::size_t>(1, bytes_of(host.size(), precision_)));
  for (std::size_t first = 0; first < host.size(); first += kUploadSlice) {
    const std::size_t n = std::min(kUploadSlice, host.size() - first);
    staging_.reserve(n * sizeof(float));
    check_cuda(cudaMemcpyAsync(staging_.data(), host.data() + first, n * sizeof(float),
                               cudaMemcpyHostToDevice, stream),
               "uploading expert weights");
    convert_from_fp32(staging_.as<float>(), static_cast<std::int64_t>(n), precision_,
                      static_cast<char*>(dst.data()) + bytes_of(first, precision_), stream);
    check_cuda(cudaGetLastError(), "converting expert weights");
    check_cuda(cudaStreamSynchronize(stream), "converting expert weights");
  }
}

}  // namespace moescope::kernels
