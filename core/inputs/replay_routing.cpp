// Replays recorded router logits (and hidden states, when recorded) from a safetensors file.
#include <cmath>
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

namespace {

class ReplayRouting final : public RoutingSource {
 public:
  ReplayRouting(const ModelSpec& spec, const std::string& path, std::uint64_t seed)
      : spec_(spec), file_(path), seed_(seed) {
    // Check every layer up front, so a bad file fails before any work is done.
    for (int layer : spec.run_layers()) {
      const TensorInfo& logits = require(logits_tensor_name(layer));
      check_matrix(logits, spec.experts, "experts");
      if (tokens_ == 0) tokens_ = static_cast<int>(logits.shape[0]);
      if (logits.shape[0] != tokens_) {
        throw Error(path + ": tensor '" + logits.name + "' has " + std::to_string(logits.shape[0]) +
                    " tokens but earlier layers have " + std::to_string(tokens_));
      }
      if (const TensorInfo* hidden = file_.find(hidden_tensor_name(layer))) {
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
    return "replay(" + file_.path() + (has_bias_ ? ", with selection bias" : "") + ")";
  }

  LayerInput layer(int step, int layer) override {
    LayerInput in;
    in.tokens = tokens_;
    in.logits = file_.read_f32(*file_.find(logits_tensor_name(layer)));
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
};

}  // namespace

std::unique_ptr<RoutingSource> make_replay_routing(const ModelSpec& spec, const std::string& path,
                                                   std::uint64_t seed) {
  return std::make_unique<ReplayRouting>(spec, path, seed);
}

}  // namespace moescope
