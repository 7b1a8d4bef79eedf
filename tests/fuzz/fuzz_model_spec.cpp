// A model spec file and a run request (`run --request`) parsed and checked, as `--spec` and
// `--request` do. moescope::Error is the answer to bad input; anything else is a finding.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/base/error.h"
#include "core/model/model_spec.h"
#include "core/model/spec_json.h"
#include "core/run/experiment.h"
#include "core/run/experiment_json.h"
#include "tests/fuzz/fuzz_input_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const moescope::fuzz::InputFile file(data, size, ".json");
  try {
    const moescope::ModelSpec spec = moescope::load_spec_file(file.path());
    moescope::validate(spec);
  } catch (const moescope::Error&) {
  }
  try {
    const moescope::Experiment request = moescope::load_experiment_file(file.path());
    moescope::validate(request);
  } catch (const moescope::Error&) {
  }
  return 0;
}
