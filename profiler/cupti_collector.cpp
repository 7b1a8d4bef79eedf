#include "profiler/cupti_collector.h"

#include <cupti.h>

#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>

#include "profiler/cupti_records.h"

namespace moescope::profiler {

namespace {

constexpr std::size_t kBufferBytes = 8u << 20;
constexpr std::size_t kBufferAlign = 8;
// CUPTI writes an external-correlation record only in front of an API record, so the runtime
// and driver API kinds must be on too (cuBLAS launches through either); their records are
// decoded as nothing.
constexpr CUpti_ActivityKind kTracedKinds[] = {CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL,
                                               CUPTI_ACTIVITY_KIND_MEMCPY,
                                               CUPTI_ACTIVITY_KIND_MEMSET,
                                               CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION,
                                               CUPTI_ACTIVITY_KIND_RUNTIME,
                                               CUPTI_ACTIVITY_KIND_DRIVER};

// What CUPTI's buffer callbacks fill; they run on CUPTI's threads.
struct Sink {
  std::mutex mutex;
  bool running = false;
  DecodedActivity decoded;
  std::int64_t dropped = 0;
};

// Never destroyed: CUPTI may hand over a last buffer while the process exits.
Sink& sink() {
  static Sink* s = new Sink;
  return *s;
}

std::string cupti_message(CUptiResult result) {
  const char* text = nullptr;
  cuptiGetResultString(result, &text);
  return text != nullptr ? text : "unknown CUPTI error " + std::to_string(result);
}

void check(CUptiResult result, const char* what) {
  if (result != CUPTI_SUCCESS) {
    throw std::runtime_error(std::string("CUPTI ") + what + ": " + cupti_message(result));
  }
}

void CUPTIAPI buffer_requested(std::uint8_t** buffer, std::size_t* size, std::size_t* max_records) {
  *buffer = static_cast<std::uint8_t*>(std::aligned_alloc(kBufferAlign, kBufferBytes));
  *size = *buffer != nullptr ? kBufferBytes : 0;
  *max_records = 0;  // as many as fit
}

void CUPTIAPI buffer_completed(CUcontext context, std::uint32_t stream_id, std::uint8_t* buffer,
                               std::size_t /*size*/, std::size_t valid_size) {
  DecodedActivity decoded;
  CUpti_Activity* record = nullptr;
  while (cuptiActivityGetNextRecord(buffer, valid_size, &record) == CUPTI_SUCCESS)
    decode_activity(*record, decoded);
  std::free(buffer);
  std::size_t dropped = 0;
  cuptiActivityGetNumDroppedRecords(context, stream_id, &dropped);

  Sink& s = sink();
  std::lock_guard lock(s.mutex);
  s.decoded.records.insert(s.decoded.records.end(), decoded.records.begin(), decoded.records.end());
  s.decoded.correlations.insert(s.decoded.correlations.end(), decoded.correlations.begin(),
                                decoded.correlations.end());
  s.dropped += static_cast<std::int64_t>(dropped);
}

void disable_all() {
  for (const auto kind : kTracedKinds)
    cuptiActivityDisable(kind);
}

}  // namespace

std::unique_ptr<CuptiCollector> CuptiCollector::start() {
  {
    std::lock_guard lock(sink().mutex);
    if (sink().running) throw std::runtime_error("CUPTI is already tracing this process");
    sink().running = true;
    sink().decoded = {};
    sink().dropped = 0;
  }
  try {
    check(cuptiActivityRegisterCallbacks(buffer_requested, buffer_completed),
          "cannot register activity buffers");
    for (const auto kind : kTracedKinds)
      check(cuptiActivityEnable(kind), "cannot trace kernels");
  } catch (...) {
    disable_all();
    std::lock_guard lock(sink().mutex);
    sink().running = false;
    throw;
  }
  return std::unique_ptr<CuptiCollector>(new CuptiCollector());
}

CuptiCollector::~CuptiCollector() {
  cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
  disable_all();
  std::lock_guard lock(sink().mutex);
  sink().decoded = {};
  sink().running = false;
}

void CuptiCollector::push(const EventTag& tag) {
  check(cuptiActivityPushExternalCorrelationId(CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0,
                                               pack_tag(tag)),
        "cannot tag a launch");
}

void CuptiCollector::pop() {
  std::uint64_t last = 0;
  check(cuptiActivityPopExternalCorrelationId(CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0, &last),
        "cannot untag a launch");
}

AttributedActivity CuptiCollector::flush() {
  // Not forced: the caller has synchronised, so every record is complete, and a forced flush
  // could hand over records whose timestamps are not written yet.
  check(cuptiActivityFlushAll(0), "cannot flush its buffers");
  DecodedActivity decoded;
  std::int64_t dropped = 0;
  {
    std::lock_guard lock(sink().mutex);
    std::swap(decoded, sink().decoded);
    std::swap(dropped, sink().dropped);
  }
  AttributedActivity out = attribute_activity(decoded.records, decoded.correlations);
  out.counts.dropped = dropped;
  return out;
}

}  // namespace moescope::profiler
