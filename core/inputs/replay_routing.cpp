// Replays recorded router logits (and hidden states, when recorded) from a safetensors file.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>

#include "core/base/error.h"
#include "core/inputs/replay_routing.h"
#include "core/inputs/safetensors.h"

namespace moescope {

std::string logits_tensor_name(int layer) {
  return "model.layers." + std::to_string(layer) + ".router_logits";
}

std::string hidden_tensor_name(int layer) {
  return "model.layers." + std::to_string(layer) + ".hidden_states";
}

std::string bias_tensor_name(int layer) {
  return "model.layers." + std::to_string(layer) + ".e_score_correction_bias";
}

std::string topk_ids_tensor_name(int layer) {
  return "model.layers." + std::to_string(layer) + ".topk_ids";
}

namespace {

class ReplayRouting final : public RoutingSource {
 public:
  ReplayRouting(const ModelSpec& spec, const std::string& path, std::uint64_t seed)
      : spec_(spec), file_(path), seed_(seed) {
    // Check every layer up front, so a bad file fails before any work is done.
    const std::vector<int> layers = spec.run_layers();
    ids_only_ = file_.find(logits_tensor_name(layers.front())) == nullptr &&
                std::any_of(file_.tensors().begin(), file_.tensors().end(),
                            [](const TensorInfo& t) { return t.name.ends_with(".topk_ids"); });
    for (int layer : layers) {
      const TensorInfo& logits =
          ids_only_ ? require_ids(layer) : require(logits_tensor_name(layer));
      if (ids_only_) {
        check_matrix(logits, spec.top_k, "top-k");
        check_ids(logits, layer);
      } else {
        check_matrix(logits, spec.experts, "experts");
      }
      if (tokens_ == 0) tokens_ = static_cast<int>(logits.shape[0]);
      if (logits.shape[0] != tokens_) {
        throw Error(path + ": tensor '" + logits.name + "' has " + std::to_string(logits.shape[0]) +
                    " tokens but earlier layers have " + std::to_string(tokens_));
      }
      if (const TensorInfo* hidden = file_.find(hidden_tensor_name(layer))) {
        ++layers_with_hidden_;
        check_matrix(*hidden, spec.hidden, "hidden size");
        if (hidden->shape[0] != tokens_) {
          throw Error(path + ": tensor '" + hidden->name + "' has " +
                      std::to_string(hidden->shape[0]) + " tokens, its logits have " +
                      std::to_string(tokens_));
        }
      }
      if (const TensorInfo* bias = file_.find(bias_tensor_name(layer))) {
        if (bias->shape.size() != 1 || bias->shape[0] != spec.experts) {
          throw Error(path + ": tensor '" + bias->name + "' must be 1-D with the model's " +
                      std::to_string(spec.experts) + " experts");
        }
        const std::vector<float> values = file_.read_f32(*bias);
        for (std::size_t e = 0; e < values.size(); ++e) {
          if (!std::isfinite(values[e])) {
            throw Error(path + ": tensor '" + bias->name + "' is " +
                        (std::isnan(values[e]) ? "NaN" : "infinite") + " at expert " +
                        std::to_string(e));
          }
        }
        has_bias_ = true;
      }
    }
  }

  int tokens() const override { return tokens_; }
  std::string describe() const override {
    if (ids_only_) {
      return "load dump(" + file_.path() + ": chosen experts only, pair weights 1/k" +
             (layers_with_hidden_ == spec_.run_layers().size() ? "" : ", synthetic hidden states") +
             ")";
    }
    return "replay(" + file_.path() + (has_bias_ ? ", with selection bias" : "") + ")";
  }
  bool has_scores() const override { return !ids_only_; }

  LayerInput layer(int step, int layer) override {
    LayerInput in;
    in.tokens = tokens_;
    if (ids_only_) {
      const std::vector<float> ids = file_.read_f32(*file_.find(topk_ids_tensor_name(layer)));
      in.topk_ids.assign(ids.begin(), ids.end());  // integers, checked when opened
    } else {
      in.logits = file_.read_f32(*file_.find(logits_tensor_name(layer)));
    }
    if (const TensorInfo* hidden = file_.find(hidden_tensor_name(layer))) {
      in.hidden_states = file_.read_f32(*hidden);
    } else {
      in.hidden_states = synthetic_hidden_states(tokens_, spec_.hidden, seed_, step, layer);
    }
    if (const TensorInfo* bias = file_.find(bias_tensor_name(layer))) {
      in.selection_bias = file_.read_f32(*bias);
    }
    return in;
  }

 private:
  const TensorInfo& require(const std::string& name) const {
    if (const TensorInfo* t = file_.find(name)) return *t;
    throw Error(file_.path() + ": no tensor '" + name + "' (the spec runs this layer)");
  }

  // A load dump's layer, never a file that mixes logits and chosen experts.
  const TensorInfo& require_ids(int layer) const {
    if (file_.find(logits_tensor_name(layer)) != nullptr) {
      throw Error(file_.path() + ": layer " + std::to_string(layer) +
                  " has router logits where earlier layers have chosen experts (topk_ids) only");
    }
    return require(topk_ids_tensor_name(layer));
  }

  // Every id a whole number of an expert of the model, none twice in a token; stored as F32,
  // which holds every id exactly (BF16 does not past 256).
  void check_ids(const TensorInfo& t, int layer) const {
    if (t.dtype != "F32") {
      throw Error(file_.path() + ": tensor '" + t.name + "' is " + t.dtype +
                  "; chosen experts are stored as F32 (exact for every expert id)");
    }
    const std::vector<float> ids = file_.read_f32(t);
    const auto k = static_cast<std::size_t>(t.shape[1]);
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const float id = ids[i];
      if (!(id >= 0.0f && id < static_cast<float>(spec_.experts)) || id != std::floor(id)) {
        char value[32];
        std::snprintf(value, sizeof value, "%g", static_cast<double>(id));
        throw Error(file_.path() + ": tensor '" + t.name + "' holds " + value + " at token " +
                    std::to_string(i / k) + ", slot " + std::to_string(i % k) +
                    "; expert ids are whole numbers from 0 to " +
                    std::to_string(spec_.experts - 1));
      }
    }
    for (std::size_t first = 0; first < ids.size(); first += k) {
      for (std::size_t j = first + 1; j < first + k; ++j) {
        if (std::find(ids.begin() + static_cast<std::ptrdiff_t>(first),
                      ids.begin() + static_cast<std::ptrdiff_t>(j),
                      ids[j]) != ids.begin() + static_cast<std::ptrdiff_t>(j)) {
          throw Error(file_.path() + ": tensor '" + t.name + "' chooses expert " +
                      std::to_string(static_cast<int>(ids[j])) + " twice at token " +
                      std::to_string(first / k) + " (layer " + std::to_string(layer) + ")");
        }
      }
    }
  }

  void check_matrix(const TensorInfo& t, int columns, const char* what) const {
    if (t.shape.size() != 2) {
      throw Error(file_.path() + ": tensor '" + t.name + "' must be 2-D [T, " + what +
                  "], it has " + std::to_string(t.shape.size()) + " dimensions");
    }
    if (t.shape[1] != columns) {
      throw Error(file_.path() + ": tensor '" + t.name + "' has " + std::to_string(t.shape[1]) +
                  " columns, the model's " + what + " is " + std::to_string(columns));
    }
    if (t.shape[0] <= 0 || t.shape[0] > (1 << 30)) {
      throw Error(file_.path() + ": tensor '" + t.name + "' has " + std::to_string(t.shape[0]) +
                  " tokens (must be 1 to 2^30)");
    }
  }

  ModelSpec spec_;
  SafetensorsFile file_;
  std::uint64_t seed_;
  int tokens_ = 0;
  bool has_bias_ = false;
  std::size_t layers_with_hidden_ = 0;
  bool ids_only_ = false;  // a load dump: topk_ids instead of router_logits
};

}  // namespace

std::unique_ptr<RoutingSource> make_replay_routing(const ModelSpec& spec, const std::string& path,
                                                   std::uint64_t seed) {
  return std::make_unique<ReplayRouting>(spec, path, seed);
}

}  // namespace moescope
