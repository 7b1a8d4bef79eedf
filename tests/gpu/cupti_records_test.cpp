// CUPTI's raw records, built in memory the way CUPTI lays them out, decoded without a GPU.
#include "profiler/cupti_records.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "profiler/event_tag.h"

namespace moescope::profiler {
namespace {

// A record as CUPTI hands it over: bytes in an 8-byte aligned buffer, read as CUpti_Activity.
class RawRecord {
 public:
  template <typename Record>
  explicit RawRecord(const Record& r) : words_((sizeof r + 7) / 8) {
    std::memcpy(words_.data(), &r, sizeof r);
  }
  const CUpti_Activity& activity() const {
    return *reinterpret_cast<const CUpti_Activity*>(words_.data());
  }

 private:
  std::vector<std::uint64_t> words_;
};

TEST(CuptiRecords, DecodesAKernel) {
  CUpti_ActivityKernel10 k;
  std::memset(&k, 0, sizeof k);
  k.kind = CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL;
  k.start = 1'000'000'123;
  k.end = 1'000'004'567;
  k.deviceId = 1;
  k.streamId = 13;
  k.correlationId = 42;
  k.name = "moescope::kernels::swiglu_kernel";
  DecodedActivity out;
  ASSERT_TRUE(decode_activity(RawRecord(k).activity(), out));
  ASSERT_EQ(out.records.size(), 1u);
  const ActivityRecord& r = out.records[0];
  EXPECT_EQ(r.kind, ActivityKind::kKernel);
  EXPECT_EQ(r.start_ns, 1'000'000'123u);
  EXPECT_EQ(r.end_ns, 1'000'004'567u);
  EXPECT_EQ(r.device, 1u);
  EXPECT_EQ(r.stream, 13u);
  EXPECT_EQ(r.correlation_id, 42u);
  EXPECT_EQ(r.name, "moescope::kernels::swiglu_kernel");
}

TEST(CuptiRecords, DecodesACopyAndNamesItsDirection) {
  CUpti_ActivityMemcpy6 m;
  std::memset(&m, 0, sizeof m);
  m.kind = CUPTI_ACTIVITY_KIND_MEMCPY;
  m.copyKind = CUPTI_ACTIVITY_MEMCPY_KIND_DTOH;
  m.start = 10;
  m.end = 30;
  m.correlationId = 7;
  DecodedActivity out;
  ASSERT_TRUE(decode_activity(RawRecord(m).activity(), out));
  ASSERT_EQ(out.records.size(), 1u);
  EXPECT_EQ(out.records[0].kind, ActivityKind::kMemcpy);
  EXPECT_EQ(out.records[0].name, "memcpy DtoH");
  EXPECT_STREQ(memcpy_name(CUPTI_ACTIVITY_MEMCPY_KIND_HTOD), "memcpy HtoD");
}

TEST(CuptiRecords, DecodesAMemset) {
  CUpti_ActivityMemset4 m;
  std::memset(&m, 0, sizeof m);
  m.kind = CUPTI_ACTIVITY_KIND_MEMSET;
  m.start = 5;
  m.end = 9;
  m.streamId = 3;
  m.correlationId = 77;
  DecodedActivity out;
  ASSERT_TRUE(decode_activity(RawRecord(m).activity(), out));
  ASSERT_EQ(out.records.size(), 1u);
  EXPECT_EQ(out.records[0].kind, ActivityKind::kMemset);
  EXPECT_EQ(out.records[0].correlation_id, 77u);
  EXPECT_EQ(out.records[0].end_ns - out.records[0].start_ns, 4u);
}

TEST(CuptiRecords, DecodesOurExternalCorrelationsOnly) {
  CUpti_ActivityExternalCorrelation c;
  std::memset(&c, 0, sizeof c);
  c.kind = CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION;
  c.externalKind = CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0;
  c.externalId = pack_tag({3, 4, 5, 6, Phase::kExpert});
  c.correlationId = 42;
  DecodedActivity out;
  ASSERT_TRUE(decode_activity(RawRecord(c).activity(), out));
  ASSERT_EQ(out.correlations.size(), 1u);
  EXPECT_EQ(out.correlations[0].correlation_id, 42u);
  EXPECT_EQ(unpack_tag(out.correlations[0].external_id).expert, 6);

  c.externalKind = CUPTI_EXTERNAL_CORRELATION_KIND_OPENACC;  // someone else's ids
  EXPECT_FALSE(decode_activity(RawRecord(c).activity(), out));
  EXPECT_EQ(out.correlations.size(), 1u);
}

TEST(CuptiRecords, DecodedRecordsAttributeEndToEnd) {
  CUpti_ActivityKernel10 k;
  std::memset(&k, 0, sizeof k);
  k.kind = CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL;
  k.start = 100;
  k.end = 350;
  k.correlationId = 9;
  k.name = nullptr;  // CUPTI may leave it out
  CUpti_ActivityExternalCorrelation c;
  std::memset(&c, 0, sizeof c);
  c.kind = CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION;
  c.externalKind = CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0;
  c.externalId = pack_tag({0, 2, 1, 5, Phase::kExpert});
  c.correlationId = 9;
  DecodedActivity d;
  decode_activity(RawRecord(c).activity(), d);
  decode_activity(RawRecord(k).activity(), d);
  const AttributedActivity a = attribute_activity(d.records, d.correlations);
  ASSERT_EQ(a.events.size(), 1u);
  EXPECT_EQ(a.names[0], "(unnamed kernel)");
  const LayerGpuTimes t = sum_layer_times(a.events, 0, 2, 8);
  EXPECT_EQ(t.expert_ns[5], 250);
}

}  // namespace
}  // namespace moescope::profiler
