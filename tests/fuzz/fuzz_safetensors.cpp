// A safetensors file (router logits, and later checkpoints) opened and every tensor read, as a
// replay does. moescope::Error is the answer to a bad file; anything else is a finding: another
// exception, a crash, a leak or undefined behaviour.
#include <cstddef>
#include <cstdint>

#include "core/base/error.h"
#include "core/inputs/safetensors.h"
#include "tests/fuzz/fuzz_input_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const moescope::fuzz::InputFile file(data, size, ".safetensors");
  try {
    const moescope::SafetensorsFile tensors(file.path());
    for (const auto& tensor : tensors.tensors()) {
      try {
        (void)tensors.read_f32(tensor);
      } catch (const moescope::Error&) {
      }
    }
  } catch (const moescope::Error&) {
  }
  return 0;
}
