// `moescope-cli info` and the BLAS kernels a run uses: chosen from the CPU's features, whatever
// OPENBLAS_CORETYPE says, unless MOESCOPE_BLAS_KERNELS names others.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/base/cpu_features.h"
#include "tests/cli/cli_runner.h"

namespace moescope::test {
namespace {

using nlohmann::json;

json info_with(const std::string& environment) {
  const CliResult r = run_cli_with("env " + environment, {"info", "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return json::parse(r.out);
}

TEST(Info, ChoosesKernelsFromFeaturesWhateverOpenblasCoretypeSays) {
  const CpuFeatures features = detect_cpu_features();
  if (!features.avx2 || !features.fma) {
    GTEST_SKIP() << "this CPU has no AVX2 and FMA (" << describe(features)
                 << "): no kernels better than the generic ones to choose";
  }
  // What Debian 12's OpenBLAS picks on a CPU newer than itself.
  const json j = info_with("-u MOESCOPE_BLAS_KERNELS OPENBLAS_CORETYPE=Prescott");
  EXPECT_EQ(j["blas"]["kernels"], openblas_kernels_for(features)) << j.dump();
  EXPECT_EQ(j["blas"]["generic"], false);
  EXPECT_EQ(j["blas"]["reason"], "chosen from the CPU's features");
  EXPECT_EQ(j["cpu"]["features"], describe(features));
}

TEST(Info, MoescopeBlasKernelsChoosesOthers) {
  const json j = info_with("MOESCOPE_BLAS_KERNELS=Prescott");
  EXPECT_EQ(j["blas"]["kernels"], "Prescott") << j.dump();
  EXPECT_EQ(j["blas"]["generic"], true);
  EXPECT_EQ(j["blas"]["reason"], "set by MOESCOPE_BLAS_KERNELS");

  const CliResult text = run_cli_with("env MOESCOPE_BLAS_KERNELS=Prescott", {"info"});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("OpenBLAS Prescott kernels"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("generic SSE code"), std::string::npos) << text.out;
}

TEST(Info, ARunSaysWhichKernelsItUsed) {
  const std::string session = temp_path(".moescope");
  const CliResult r = run_cli({"run", "--preset", "olmoe-1b-7b", "--scale", "16", "--tokens", "32",
                               "--layers", "1", "--backend", "cpu", "--session", session});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json info = info_with("");
  const std::string kernels = "oneDNN " + info["experts"]["fp32"].get<std::string>() + ", fp32, ";
  EXPECT_NE(r.out.find("backend: CPU (" + kernels), std::string::npos) << r.out;
  // The session keeps it with the run: on which machine, with which kernels.
  const CliResult shown = run_cli({"show", "1", "--session", session});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  const std::string machine = info["cpu"]["model"].get<std::string>() + ", oneDNN " +
                              info["experts"]["isa"].get<std::string>() + " kernels, fp32";
  EXPECT_NE(shown.out.find("on " + machine), std::string::npos) << shown.out;
}

}  // namespace
}  // namespace moescope::test
