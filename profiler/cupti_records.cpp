#include "profiler/cupti_records.h"

namespace moescope::profiler {

const char* memcpy_name(std::uint8_t copy_kind) {
  switch (copy_kind) {
    case CUPTI_ACTIVITY_MEMCPY_KIND_HTOD:
      return "memcpy HtoD";
    case CUPTI_ACTIVITY_MEMCPY_KIND_DTOH:
      return "memcpy DtoH";
    case CUPTI_ACTIVITY_MEMCPY_KIND_DTOD:
      return "memcpy DtoD";
    case CUPTI_ACTIVITY_MEMCPY_KIND_PTOP:
      return "memcpy PtoP";
    default:
      return "memcpy";
  }
}

bool decode_activity(const CUpti_Activity& record, DecodedActivity& out) {
  switch (record.kind) {
    case CUPTI_ACTIVITY_KIND_KERNEL:
    case CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL: {
      const auto& k = reinterpret_cast<const CUpti_ActivityKernel10&>(record);
      out.records.push_back({ActivityKind::kKernel, k.deviceId, k.streamId, k.start, k.end,
                             k.correlationId, k.name != nullptr ? k.name : "(unnamed kernel)"});
      return true;
    }
    case CUPTI_ACTIVITY_KIND_MEMCPY: {
      const auto& m = reinterpret_cast<const CUpti_ActivityMemcpy6&>(record);
      out.records.push_back({ActivityKind::kMemcpy, m.deviceId, m.streamId, m.start, m.end,
                             m.correlationId, memcpy_name(m.copyKind)});
      return true;
    }
    case CUPTI_ACTIVITY_KIND_MEMSET: {
      const auto& m = reinterpret_cast<const CUpti_ActivityMemset4&>(record);
      out.records.push_back({ActivityKind::kMemset, m.deviceId, m.streamId, m.start, m.end,
                             m.correlationId, "memset"});
      return true;
    }
    case CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION: {
      const auto& c = reinterpret_cast<const CUpti_ActivityExternalCorrelation&>(record);
      if (c.externalKind != CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0) return false;
      out.correlations.push_back({c.correlationId, c.externalId});
      return true;
    }
    default:
      return false;
  }
}

}  // namespace moescope::profiler
