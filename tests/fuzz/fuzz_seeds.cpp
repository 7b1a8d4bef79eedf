// Writes the fuzz targets' first corpora with the project's own writers: every preset's spec
// and a request (model_spec/), router logits in each dtype (safetensors/), and a session of a
// small real comparison with a few GPU kernel rows as a CUDA run stores them (session/),
// compacted to small pages so that the fuzzer's mutations reach its tables.
//   fuzz_seeds FOLDER
#include <cstdio>
#include <filesystem>
#include <vector>

#include "core/base/error.h"
#include "core/base/file_output.h"
#include "core/exec/cpu_backend.h"
#include "core/inputs/safetensors.h"
#include "core/model/json_file.h"
#include "core/model/presets.h"
#include "core/model/spec_json.h"
#include "core/run/experiment_json.h"
#include "core/session/record_experiment.h"
#include "core/session/sqlite_db.h"

namespace {

namespace fs = std::filesystem;
using namespace moescope;

void write_specs(const fs::path& folder) {
  for (const auto& name : preset_names())
    save_spec_file(preset(name), (folder / (name + ".json")).string());
  Experiment request = demo_experiment();
  request.model.layers = {0, 3};
  write_file_atomically((folder / "request.json").string(),
                        json_text(experiment_to_json(request), 2), "a seed");
}

void write_logits(const fs::path& folder) {
  std::vector<float> values;
  for (int i = 0; i < 4 * 8; ++i)
    values.push_back(static_cast<float>(i % 7) - 3.0f);
  for (const char* dtype : {"F32", "F16", "BF16"}) {
    write_safetensors(
        (folder / (std::string("logits_") + dtype + ".safetensors")).string(),
        {{"model.layers.0.mlp.gate", {4, 8}, values, dtype},
         {"model.layers.1.mlp.gate", {2, 8}, {values.begin(), values.begin() + 16}, dtype}});
  }
}

void write_session(const fs::path& folder) {
  const std::string path = (folder / "comparison.moescope").string();
  {
    SessionStore store(path, SessionStore::Access::kWrite);
    Experiment e;
    e.model.preset = "olmoe-1b-7b";
    e.model.scale = 64;
    e.model.layers = {0};
    e.routing.tokens = 16;
    e.steps = 1;
    e.repeats = 2;
    e.devices = {2};
    e.policies.kinds = compared_kinds();
    e.backend = "cpu";
    const auto backend = make_cpu_backend();
    record_experiment(store, e, *backend, nullptr, nullptr);
  }
  SqliteDb db(path, SqliteDb::Mode::kReadWrite);
  db.exec("INSERT INTO strings (value) VALUES ('expert_gemm'), ('gating_topk')");
  db.exec(
      "INSERT INTO gpu_kernels SELECT 2, 0, 0, 0, 0, 3, 3, 1000, 2500, id FROM strings WHERE "
      "value = 'expert_gemm' UNION ALL SELECT 2, 0, 0, 0, 0, -1, 0, 0, 800, id FROM strings "
      "WHERE value = 'gating_topk'");
  db.exec("PRAGMA journal_mode = DELETE");
  db.exec("PRAGMA page_size = 512");
  db.exec("VACUUM");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_seeds FOLDER\n");
    return 2;
  }
  try {
    const fs::path root = argv[1];
    for (const char* target : {"model_spec", "safetensors", "session"})
      fs::create_directories(root / target);
    write_specs(root / "model_spec");
    write_logits(root / "safetensors");
    write_session(root / "session");
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
