// What the CUDA backend does on any machine: its options, and on a machine without a GPU, a
// clear error and "auto" falling back to the CPU.
#include <gtest/gtest.h>

#include "core/base/error.h"
#include "core/exec/backend.h"
#include "core/exec/backend_registry.h"
#include "kernels/cuda_backend.h"
#include "kernels/cuda_device.h"
#include "kernels/cuda_options.h"
#include "tests/unit/test_support.h"

namespace moescope::kernels {
namespace {

TEST(CudaOptions, ParsesPrecisionDeviceAndCollector) {
  const CudaBackendOptions d = parse_cuda_options("", GemmMode::kPerExpert);
  EXPECT_EQ(d.precision, Precision::kBf16);
  EXPECT_EQ(d.gpu, 0);
  EXPECT_TRUE(d.use_cupti);
  EXPECT_TRUE(d.gpu_routing);
  const CudaBackendOptions o =
      parse_cuda_options("fp32,gpu=3,events,host-routing", GemmMode::kGrouped);
  EXPECT_FALSE(o.gpu_routing);
  EXPECT_EQ(o.mode, GemmMode::kGrouped);
  EXPECT_EQ(o.precision, Precision::kFp32);
  EXPECT_EQ(o.gpu, 3);
  EXPECT_FALSE(o.use_cupti);
}

TEST(CudaOptions, RefusesWhatItDoesNotKnow) {
  EXPECT_NE(test::error_of([] {
              parse_cuda_options("fp16", GemmMode::kPerExpert);
            }).find("unknown CUDA backend option 'fp16'"),
            std::string::npos);
  EXPECT_NE(test::error_of([] {
              parse_cuda_options("fp32,,gpu=1", GemmMode::kPerExpert);
            }).find("an empty CUDA backend option in 'fp32,,gpu=1'"),
            std::string::npos);
  for (const char* bad : {"gpu=", "gpu=-1", "gpu=1x", "gpu=99999999999"}) {
    EXPECT_NE(test::error_of([&] {
                parse_cuda_options(bad, GemmMode::kPerExpert);
              }).find("the GPU must be a number"),
              std::string::npos)
        << bad;
  }
}

TEST(CudaBackendWithoutGpu, SaysSoAndAutoUsesTheCpu) {
  register_cuda_backends();
  if (cuda_device_count() > 0) {
    EXPECT_EQ(make_backend("auto")->name(), "cuda-grouped");
    EXPECT_NE(test::error_of([] { make_backend("cuda:gpu=4096"); }).find("does not exist"),
              std::string::npos);
    return;
  }
  const std::string message = test::error_of([] { make_backend("cuda"); });
  EXPECT_NE(message.find("--backend cpu"), std::string::npos) << message;
  EXPECT_TRUE(message.find("GPU") != std::string::npos ||
              message.find("driver") != std::string::npos)
      << message;
  EXPECT_NE(test::error_of([] { make_backend("cuda-grouped:fp32"); }).find("--backend cpu"),
            std::string::npos);
  const auto fallback = make_backend("auto");
  EXPECT_EQ(fallback->name(), "cpu");
}

}  // namespace
}  // namespace moescope::kernels
