#include "app/cli/info_command.h"

#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "core/base/blas.h"
#include "core/base/cpu_features.h"
#include "core/base/version.h"
#include "core/exec/backend_registry.h"
#include "core/exec/cpu_info.h"
#include "core/exec/onednn_matmul.h"
#include "core/model/json_file.h"
#if defined(MOESCOPE_HAVE_CUDA)
#include "kernels/cuda_device.h"
#endif

namespace moescope::cli {

namespace {

std::string gpus() {
#if defined(MOESCOPE_HAVE_CUDA)
  return kernels::describe_cuda_devices();
#else
  return "this build has no CUDA backend";
#endif
}

}  // namespace

void add_info_command(CLI::App& app) {
  auto json = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand(
      "info", "Print the machine timings are taken on: CPU, kernels, backends, GPUs");
  cmd->add_flag("--json", *json, "print JSON");
  cmd->callback([json] {
    const CpuFeatures features = detect_cpu_features();
    const blas::Kernels& k = blas::kernels();
    std::string backends;
    for (const auto& name : backend_names())
      backends += (backends.empty() ? "" : ", ") + name;
    if (*json) {
      nlohmann::json j = {{"version", version()},
                          {"cpu", {{"model", cpu_model_name()}, {"features", describe(features)}}},
                          {"blas",
                           {{"library", "OpenBLAS"},
                            {"kernels", k.name},
                            {"generic", is_generic_openblas_kernels(k.name)},
                            {"reason", k.reason},
                            {"config", k.library},
                            {"threads", k.threads}}},
                          {"experts",
                           {{"library", "oneDNN " + onednn_version()},
                            {"isa", onednn_isa()},
                            {"fp32", OnednnMatmul::kernels(CpuPrecision::kFp32)},
                            {"bf16", OnednnMatmul::kernels(CpuPrecision::kBf16)},
                            {"threads", onednn_threads()}}},
                          {"backends", backend_names()},
                          {"gpus", gpus()}};
      std::cout << json_text(j, 2) << "\n";
      return;
    }
    std::cout << "moescope-cli " << version() << "\n"
              << "CPU:      " << cpu_model_name() << "\n"
              << "features: " << describe(features) << "\n"
              << "experts:  oneDNN " << onednn_version() << ", " << onednn_isa() << ": fp32 "
              << OnednnMatmul::kernels(CpuPrecision::kFp32) << ", bf16 "
              << OnednnMatmul::kernels(CpuPrecision::kBf16) << ", " << onednn_threads()
              << " threads\n"
              << "BLAS:     OpenBLAS " << blas::kernels_brief()
              << (is_generic_openblas_kernels(k.name) ? " (generic SSE code: slow)" : "") << "\n"
              << "          " << k.reason << "\n"
              << "          " << k.library << "\n"
              << "backends: " << backends << "\n"
              << "GPUs:     " << gpus() << "\n";
  });
}

}  // namespace moescope::cli
