// Expert weights from Hugging Face checkpoints: the layouts (per-expert tensors, Mixtral's
// names, the fused tensors of newer transformers, DeepSeek's wide shared MLP split into its
// experts, shards through an index), and every bad checkpoint refused naming the file and what
// is wrong. The values themselves are checked against transformers in hf_oracle_test.cpp.
#include "core/inputs/checkpoint_weights.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>

#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/exec/cpu_backend.h"
#include "core/inputs/replay_routing.h"
#include "core/model/hf_config.h"
#include "core/run/layer_weights.h"
#include "core/run/runner.h"

namespace moescope {
namespace {

namespace fs = std::filesystem;
const std::string kFixtures = std::string(MOESCOPE_TEST_DATA) + "/hf_routers/";

// A fresh copy of a fixture model folder to break.
class BrokenCheckpoint : public ::testing::Test {
 protected:
  fs::path copy(const std::string& name) {
    folder_ = fs::temp_directory_path() /
              ("moescope-ckpt-" + name + "-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name() + "-" +
               std::to_string(::getpid()));
    fs::remove_all(folder_);
    fs::copy(kFixtures + name, folder_, fs::copy_options::recursive);
    return folder_;
  }
  void TearDown() override { fs::remove_all(folder_); }

  void expect_refused(const fs::path& folder, const ModelSpec& spec, const std::string& needle) {
    try {
      CheckpointWeights checkpoint(folder.string(), spec);
      (void)checkpoint.layer(spec.layers - 1);
      ADD_FAILURE() << "accepted: " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  }

  fs::path folder_;
};

TEST(CheckpointWeights, DeepSeekSharedMlpIsSplitIntoItsExperts) {
  const std::string folder = kFixtures + "deepseek_v2";  // 2 shared experts of 16, sharded
  const ModelSpec spec = load_hf_config(folder);
  const ExpertWeights w = CheckpointWeights(folder, spec).layer(1);
  ASSERT_EQ(w.shared_experts, 2);
  // Shared expert 1's gate rows are rows 16..31 of the wide gate_proj; its down columns are
  // columns 16..31 of the wide down_proj.
  const SafetensorsFile shard(folder + "/model-00002-of-00002.safetensors");
  const SafetensorsFile first(folder + "/model-00001-of-00002.safetensors");
  const std::string p = "model.layers.2.mlp.shared_experts.";
  const auto* gate_info = shard.find(p + "gate_proj.weight");
  const auto* down_info = shard.find(p + "down_proj.weight");
  const SafetensorsFile& gate_file = gate_info ? shard : first;
  const SafetensorsFile& down_file = down_info ? shard : first;
  const auto gate = gate_file.read_f32(*gate_file.find(p + "gate_proj.weight"));
  const auto down = down_file.read_f32(*down_file.find(p + "down_proj.weight"));
  const std::size_t H = 32, F = 16;
  for (std::size_t i = 0; i < F * H; ++i)
    ASSERT_EQ(w.shared_gate_up[2 * F * H + i], gate[F * H + i]);
  for (std::size_t h = 0; h < H; ++h)
    for (std::size_t f = 0; f < F; ++f)
      ASSERT_EQ(w.shared_down[H * F + h * F + f], down[h * 2 * F + F + f]);
}

// A run's steps visit every layer again: the layers are read once when they all fit.
TEST(LayerWeights, CheckpointLayersAreReadOncePerRunWhenTheyFit) {
  const std::string folder = kFixtures + "olmoe";
  const ModelSpec spec = load_hf_config(folder);
  LayerWeights weights(spec, 0, folder);
  ASSERT_TRUE(weights.keeps_all_layers());  // 2 layers of 98 KB
  const CheckpointWeights checkpoint(folder, spec);
  for (int step = 0; step < 3; ++step) {
    for (int layer : {0, 1}) {
      EXPECT_EQ(weights.of(layer).gate_up, checkpoint.layer(layer).gate_up);
      EXPECT_EQ(weights.of(layer).down, checkpoint.layer(layer).down);
    }
  }
  EXPECT_EQ(weights.loads(), 2);
  EXPECT_EQ(weights.describe(), "checkpoint(" + folder + ")");
}

// An experiment's batches (one per device count) share the opened checkpoint: its kept layers
// are not read again.
TEST(LayerWeights, RunsSharingTheCheckpointReadItsLayersOnce) {
  const std::string folder = kFixtures + "olmoe";
  RunOptions options;
  options.spec = load_hf_config(folder);
  options.weights_dir = folder;
  options.weights = std::make_shared<LayerWeights>(options.spec, 0, folder);
  auto source = make_replay_routing(options.spec, folder + "/routing.safetensors", 0);
  auto backend = make_cpu_backend();
  for (int devices : {4, 8}) {
    options.devices = devices;
    const RunResult result = run_model(options, *source, *backend, nullptr, nullptr);
    EXPECT_EQ(result.weights, "checkpoint(" + folder + ")");
  }
  EXPECT_EQ(options.weights->loads(), 2);
}

TEST_F(BrokenCheckpoint, FusedExpertTensorsReadAsThePerExpertOnes) {
  const fs::path folder = copy("qwen3_moe");
  const ModelSpec spec = load_hf_config(folder.string());
  const CheckpointWeights original(folder.string(), spec);
  const ExpertWeights layer0 = original.layer(0);
  const ExpertWeights layer1 = original.layer(1);
  // The same layers written as transformers' fused [E, 2F, H] and [E, H, F] tensors, in F32.
  write_safetensors((folder / "model.safetensors").string(),
                    {{"model.layers.0.mlp.experts.gate_up_proj", {16, 32, 32}, layer0.gate_up},
                     {"model.layers.0.mlp.experts.down_proj", {16, 32, 16}, layer0.down},
                     {"model.layers.1.mlp.experts.gate_up_proj", {16, 32, 32}, layer1.gate_up},
                     {"model.layers.1.mlp.experts.down_proj", {16, 32, 16}, layer1.down}});
  const ExpertWeights fused = CheckpointWeights(folder.string(), spec).layer(1);
  EXPECT_EQ(fused.gate_up, layer1.gate_up);
  EXPECT_EQ(fused.down, layer1.down);
}

TEST_F(BrokenCheckpoint, AMissingTensorIsNamed) {
  const fs::path folder = copy("olmoe");
  const SafetensorsFile file((folder / "model.safetensors").string());
  std::vector<TensorToWrite> kept;
  for (const auto& t : file.tensors()) {
    if (t.name != "model.layers.1.mlp.experts.7.up_proj.weight")
      kept.push_back({t.name, t.shape, file.read_f32(t)});
  }
  write_safetensors((folder / "model.safetensors").string(), kept);
  expect_refused(folder, load_hf_config(folder.string()),
                 "model.safetensors: no tensor 'model.layers.1.mlp.experts.7.up_proj.weight'");
}

TEST_F(BrokenCheckpoint, AWrongShapeIsNamed) {
  const fs::path folder = copy("olmoe");
  const SafetensorsFile file((folder / "model.safetensors").string());
  std::vector<TensorToWrite> tensors;
  for (const auto& t : file.tensors()) {
    std::vector<std::int64_t> shape = t.shape;
    if (t.name == "model.layers.0.mlp.experts.3.down_proj.weight") shape = {16, 32};
    tensors.push_back({t.name, shape, file.read_f32(t)});
  }
  write_safetensors((folder / "model.safetensors").string(), tensors);
  expect_refused(folder, load_hf_config(folder.string()),
                 "tensor 'model.layers.0.mlp.experts.3.down_proj.weight' has shape [16, 32], the "
                 "model's spec needs [32, 16]");
}

TEST_F(BrokenCheckpoint, AWrongDtypeIsNamed) {
  const fs::path folder = copy("mixtral");
  // One I32 tensor under an expert's name, written by hand.
  const std::string name = "model.layers.0.block_sparse_moe.experts.0.w1.weight";
  const nlohmann::json header = {
      {name, {{"dtype", "I32"}, {"shape", {16, 32}}, {"data_offsets", {0, 16 * 32 * 4}}}}};
  const std::string text = header.dump();
  std::ofstream out(folder / "model.safetensors", std::ios::binary | std::ios::trunc);
  const std::uint64_t size = text.size();
  out.write(reinterpret_cast<const char*>(&size), 8);
  out << text << std::string(16 * 32 * 4, '\0');
  out.close();
  expect_refused(folder, load_hf_config(folder.string()),
                 "has dtype I32; expected F32, F16 or BF16");
}

TEST_F(BrokenCheckpoint, ATruncatedShardAndAMissingShardAreNamed) {
  fs::path folder = copy("deepseek_v2");
  const ModelSpec spec = load_hf_config(folder.string());
  const fs::path shard = folder / "model-00002-of-00002.safetensors";
  fs::resize_file(shard, fs::file_size(shard) - 100);
  expect_refused(folder, spec, "model-00002-of-00002.safetensors");
  fs::remove(shard);
  expect_refused(folder, spec, "names shard 'model-00002-of-00002.safetensors', which is not in");
}

TEST_F(BrokenCheckpoint, AnEmptyIndexIsNamed) {
  const fs::path folder = copy("deepseek_v2");
  std::ofstream(folder / "model.safetensors.index.json") << R"({"weight_map": {}})";
  expect_refused(folder, load_hf_config(folder.string()),
                 "model.safetensors.index.json: 'weight_map' lists no tensor");
}

TEST_F(BrokenCheckpoint, ANonFiniteWeightIsNamedByTensorAndElement) {
  const fs::path folder = copy("olmoe");
  const SafetensorsFile file((folder / "model.safetensors").string());
  std::vector<TensorToWrite> tensors;
  for (const auto& t : file.tensors()) {
    tensors.push_back({t.name, t.shape, file.read_f32(t), "BF16"});
    if (t.name == "model.layers.1.mlp.experts.2.gate_proj.weight")
      tensors.back().values[5] = std::numeric_limits<float>::quiet_NaN();
  }
  write_safetensors((folder / "model.safetensors").string(), tensors);
  expect_refused(folder, load_hf_config(folder.string()),
                 "tensor 'model.layers.1.mlp.experts.2.gate_proj.weight' holds NaN at element 5");
}

// gpt-oss's fused, transposed expert tensors are read one expert slice at a time: a bad value
// is named by its element in the whole tensor; its biases are required; the MXFP4 tensors of
// the published checkpoints are refused with what to do.
TEST_F(BrokenCheckpoint, GptOssTensorsAreCheckedByName) {
  const fs::path folder = copy("gpt_oss");
  const ModelSpec spec = load_hf_config(folder.string());
  std::vector<TensorToWrite> original;
  const SafetensorsFile file((folder / "model.safetensors").string());
  for (const auto& t : file.tensors())
    original.push_back({t.name, t.shape, file.read_f32(t), "BF16"});
  const auto rewrite = [&](const std::function<void(std::vector<TensorToWrite>&)>& edit) {
    std::vector<TensorToWrite> tensors = original;
    edit(tensors);
    write_safetensors((folder / "model.safetensors").string(), tensors);
  };
  const std::size_t expert_3 = 3 * 32 * 48;  // [E, H, 2F] with H 32, F 24
  rewrite([&](auto& tensors) {
    for (auto& t : tensors) {
      if (t.name == "model.layers.1.mlp.experts.gate_up_proj")
        t.values[expert_3 + 7] = std::numeric_limits<float>::infinity();
    }
  });
  expect_refused(folder, spec,
                 "tensor 'model.layers.1.mlp.experts.gate_up_proj' holds an infinite value at "
                 "element " +
                     std::to_string(expert_3 + 7));
  rewrite([](auto& tensors) {
    std::erase_if(tensors, [](const TensorToWrite& t) {
      return t.name == "model.layers.0.mlp.experts.down_proj_bias";
    });
  });
  expect_refused(folder, spec, "no tensor 'model.layers.0.mlp.experts.down_proj_bias'");
  rewrite([](auto& tensors) {
    for (auto& t : tensors) {
      if (t.name == "model.layers.0.mlp.experts.gate_up_proj") t.name += "_blocks";
    }
  });
  expect_refused(folder, spec,
                 "tensor 'model.layers.0.mlp.experts.gate_up_proj_blocks' holds MXFP4-quantized "
                 "experts");
}

// The finiteness check rides along the conversion in chunks: values at a chunk's edge, in every
// dtype, are seen.
TEST_F(BrokenCheckpoint, NonFiniteValuesAreSeenInEveryDtypeAndChunk) {
  const fs::path folder = copy("olmoe");
  const std::string path = (folder / "big.safetensors").string();
  for (const std::string dtype : {"F32", "F16", "BF16"}) {
    for (std::size_t at :
         {std::size_t{0}, std::size_t{65535}, std::size_t{65536}, std::size_t{199999}}) {
      std::vector<float> values(200000, 0.5f);
      values[at] = at % 2 == 0 ? std::numeric_limits<float>::infinity()
                               : std::numeric_limits<float>::quiet_NaN();
      write_safetensors(path, {{"t", {200000}, values, dtype}});
      const SafetensorsFile file(path);
      std::vector<float> out(200000);
      EXPECT_FALSE(file.read_f32_into(*file.find("t"), out.data())) << dtype << " at " << at;
      values[at] = 0.25f;
      write_safetensors(path, {{"t", {200000}, values, dtype}});
      const SafetensorsFile clean(path);
      EXPECT_TRUE(clean.read_f32_into(*clean.find("t"), out.data())) << dtype << " at " << at;
      EXPECT_EQ(out[at], 0.25f);
    }
  }
}

TEST_F(BrokenCheckpoint, AnotherModelsCheckpointOrAScaledSpecIsRefused) {
  const fs::path folder = copy("olmoe");
  ModelSpec other = load_hf_config(kFixtures + "qwen3_moe");
  // The same shapes as OLMoE's fixture, another router: another model.
  expect_refused(folder, other,
                 "the checkpoint's config describes H 32, F 16, E 16, top-4, 2 MoE layers, 0 "
                 "shared x 0, router softmax, experts SwiGLU; the run's model is H 32, F 16, E "
                 "16, top-4, 2 MoE layers, 0 shared x 0, router softmax, normalized, experts "
                 "SwiGLU");
  const ModelSpec small = scaled(load_hf_config(folder.string()), 2);
  expect_refused(folder, small, "real weights run at scale 1");
  fs::remove(folder / "model.safetensors");
  expect_refused(folder, load_hf_config(folder.string()),
                 "no model.safetensors or model.safetensors.index.json");
}

}  // namespace
}  // namespace moescope
