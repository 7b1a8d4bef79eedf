#include "core/exec/bf16.h"

#include "core/exec/parallel_for.h"

namespace moescope {

void convert_to_bf16(const float* in, std::size_t n, std::uint16_t* out, int threads) {
  parallel_for(static_cast<std::int64_t>(n), threads, 1 << 16,
               [=](std::int64_t begin, std::int64_t end) {
                 for (auto i = begin; i < end; ++i)
                   out[i] = to_bf16(in[i]);
               });
}

}  // namespace moescope
