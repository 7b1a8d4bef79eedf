// The CPU backend: SwiGLU experts (swiglu_ffn.h) in fp32 or bf16, each expert timed on its own.
#pragma once

#include <memory>
#include <string>

#include "core/exec/backend.h"
#include "core/exec/cpu_precision.h"

namespace moescope {

std::unique_ptr<Backend> make_cpu_backend(CpuPrecision precision = CpuPrecision::kFp32);

// The options after "cpu:": "fp32" or "bf16". Throws Error naming an option it does not know,
// and for bf16 on a CPU without BF16 instructions.
CpuPrecision parse_cpu_options(const std::string& options);

}  // namespace moescope
