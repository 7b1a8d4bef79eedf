// The CUPTI collector on a real GPU: kernels launched under a tag come back with it.
#include "profiler/cupti_collector.h"

#include <gtest/gtest.h>

#include "kernels/cuda_check.h"
#include "kernels/device_buffer.h"
#include "kernels/layer_kernels.h"
#include "tests/gpu/gpu_test_support.h"

namespace moescope::kernels {
namespace {

class CuptiCollector : public test::GpuTest {};

TEST_F(CuptiCollector, AttributesTaggedKernelsAndOnlyThose) {
  auto collector = profiler::CuptiCollector::start();
  EXPECT_THROW(profiler::CuptiCollector::start(), std::runtime_error);  // one at a time
  DeviceBuffer in("in"), out("out");
  const std::int64_t n = 1 << 20;
  in.reserve(n * 4);
  out.reserve(n * 4);
  check_cuda(cudaMemset(in.data(), 0, n * 4), "clear");
  convert_from_fp32(in.as<float>(), n, Precision::kBf16, out.data(), nullptr);  // untagged
  collector->push({4, 9, 2, 11, profiler::Phase::kExpert});
  convert_from_fp32(in.as<float>(), n, Precision::kBf16, out.data(), nullptr);
  swiglu_rows(out.data(), n / 512, 256, Precision::kBf16, in.data(), nullptr);
  collector->pop();
  check_cuda(cudaDeviceSynchronize(), "kernels");
  const profiler::AttributedActivity a = collector->flush();
  EXPECT_EQ(a.counts.dropped, 0);
  EXPECT_GE(a.counts.unattributed, 1);
  ASSERT_EQ(a.events.size(), 2u);
  for (const auto& e : a.events) {
    EXPECT_EQ(e.step, 4);
    EXPECT_EQ(e.layer, 9);
    EXPECT_EQ(e.device, 2);
    EXPECT_EQ(e.expert, 11);
    EXPECT_GT(e.duration_ns(), 0);
    EXPECT_LT(e.duration_ns(), 1'000'000'000);
  }
  EXPECT_LE(a.events[0].end_ns, a.events[1].start_ns);  // one stream: in order
  EXPECT_NE(a.names[1].find("swiglu"), std::string::npos) << a.names[1];
  EXPECT_TRUE(collector->flush().events.empty());  // a flush hands each record over once
}

}  // namespace
}  // namespace moescope::kernels
