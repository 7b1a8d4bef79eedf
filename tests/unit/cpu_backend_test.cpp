#include "core/exec/cpu_backend.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>

#include "core/base/cpu_features.h"
#include "core/base/error.h"
#include "core/base/random.h"
#include "core/exec/bf16.h"
#include "core/exec/onednn_matmul.h"
#include "core/exec/skinny_matmul.h"
#include "core/exec/swiglu_ffn.h"
#include "core/inputs/routing_source.h"
#include "core/inputs/synthetic_routing.h"
#include "core/model/presets.h"
#include "core/moe/dispatch_plan.h"
#include "core/moe/router.h"
#include "tests/unit/test_support.h"

namespace moescope {
namespace {

// One expert on one token, the plain way: no BLAS, double accumulation; gpt-oss's clamped
// SwiGLU and biases written out as transformers' GptOssExperts computes them.
std::vector<double> reference_ffn(const float* x, const float* gate_up, const float* down, int F,
                                  int H, const FfnActivation& a = {}) {
  std::vector<double> act(static_cast<std::size_t>(F));
  for (int f = 0; f < F; ++f) {
    double g = 0, u = 0;
    for (int h = 0; h < H; ++h) {
      g += static_cast<double>(gate_up[static_cast<std::size_t>(f * H + h)]) * x[h];
      u += static_cast<double>(gate_up[static_cast<std::size_t>((F + f) * H + h)]) * x[h];
    }
    if (a.gate_up_bias != nullptr) {
      g += a.gate_up_bias[f];
      u += a.gate_up_bias[F + f];
    }
    if (a.mlp.clamped()) {
      const double limit = a.mlp.swiglu_limit;
      g = std::min(g, limit);
      u = std::clamp(u, -limit, limit);
      act[static_cast<std::size_t>(f)] = g / (1.0 + std::exp(-a.mlp.swiglu_alpha * g)) * (u + 1.0);
    } else {
      act[static_cast<std::size_t>(f)] = g / (1.0 + std::exp(-g)) * u;
    }
  }
  std::vector<double> y(static_cast<std::size_t>(H));
  for (int h = 0; h < H; ++h) {
    if (a.down_bias != nullptr) y[static_cast<std::size_t>(h)] = a.down_bias[h];
    for (int f = 0; f < F; ++f) {
      y[static_cast<std::size_t>(h)] +=
          static_cast<double>(down[static_cast<std::size_t>(h * F + f)]) *
          act[static_cast<std::size_t>(f)];
    }
  }
  return y;
}

std::vector<double> reference_layer(const std::vector<float>& x, const ExpertWeights& w,
                                    const PolicyOutcome& outcome, int T) {
  const int H = w.hidden;
  std::vector<double> y(static_cast<std::size_t>(T * H), 0.0);
  for (const auto& p : outcome.kept) {
    const float* xt = &x[static_cast<std::size_t>(p.token * H)];
    const auto ye =
        reference_ffn(xt, w.expert_gate_up(p.expert), w.expert_down(p.expert), w.ffn, H,
                      {w.mlp, w.expert_gate_up_bias(p.expert), w.expert_down_bias(p.expert)});
    for (int h = 0; h < H; ++h)
      y[static_cast<std::size_t>(p.token * H + h)] += p.weight * ye[static_cast<std::size_t>(h)];
  }
  const auto Fs = static_cast<std::size_t>(w.shared_ffn);
  const auto Hs = static_cast<std::size_t>(H);
  for (int t = 0; t < T; ++t) {
    const float* xt = &x[static_cast<std::size_t>(t * H)];
    for (int s = 0; s < w.shared_experts; ++s) {
      const auto ys =
          reference_ffn(xt, &w.shared_gate_up[static_cast<std::size_t>(s) * 2 * Fs * Hs],
                        &w.shared_down[static_cast<std::size_t>(s) * Hs * Fs], w.shared_ffn, H);
      double scale = 1.0;
      if (w.shared_gate_sigmoid) {
        double g = 0;
        for (int h = 0; h < H; ++h)
          g += static_cast<double>(w.shared_gate[static_cast<std::size_t>(h)]) * xt[h];
        scale = 1.0 / (1.0 + std::exp(-g));
      }
      for (int h = 0; h < H; ++h)
        y[static_cast<std::size_t>(t * H + h)] += scale * ys[static_cast<std::size_t>(h)];
    }
  }
  return y;
}

struct LayerCase {
  std::string preset;
  int scale;
  int tokens;
  PolicyKind policy;
};

void PrintTo(const LayerCase& c, std::ostream* os) {
  *os << c.preset << "/" << c.scale << " T=" << c.tokens << " " << policy_name(c.policy);
}

class CpuBackendMatchesReference : public ::testing::TestWithParam<LayerCase> {};

// The layer in `precision` against the double-precision reference, within relative L2 `tolerance`.
void check_layer(const LayerCase& c, CpuPrecision precision, double tolerance) {
  const ModelSpec spec = scaled(preset(c.preset), c.scale);
  auto source = make_synthetic_routing(spec, {c.tokens, 3, 1.0});
  const LayerInput in = source->layer(0, 0);
  const RouterOutput r =
      route(in.logits.data(), c.tokens, spec.experts, spec.top_k, spec.router.norm_topk_prob);
  PolicyConfig cfg;
  cfg.kind = c.policy;
  cfg.m = 1;
  const PolicyOutcome outcome =
      apply_policy(r, cfg, balanced_placement(spec.experts, std::min(4, spec.experts)));
  const ExpertWeights w = make_synthetic_weights(spec, 11);
  const DispatchPlan plan = make_dispatch_plan(outcome, spec.experts, c.tokens);
  auto backend = make_cpu_backend(precision);
  const LayerExecution run = backend->run_layer(in.hidden_states.data(), w, outcome, plan, nullptr);
  const auto ref = reference_layer(in.hidden_states, w, outcome, c.tokens);
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    diff += (run.output[i] - ref[i]) * (run.output[i] - ref[i]);
    norm += ref[i] * ref[i];
  }
  ASSERT_GT(norm, 0.0);
  EXPECT_LT(std::sqrt(diff / norm), tolerance);
  // Same input, same bits: the combine has a fixed order.
  const LayerExecution again =
      backend->run_layer(in.hidden_states.data(), w, outcome, plan, nullptr);
  EXPECT_EQ(again.output, run.output);
  for (int e = 0; e < spec.experts; ++e) {
    if (plan.rows_of(e) == 0) {
      EXPECT_EQ(run.expert_ns[static_cast<std::size_t>(e)], 0);
    } else {
      EXPECT_GT(run.expert_ns[static_cast<std::size_t>(e)], 0);
    }
  }
}

TEST_P(CpuBackendMatchesReference, OnSyntheticInputs) {
  check_layer(GetParam(), CpuPrecision::kFp32, 1e-5);
}

// bf16 weights and activations keep 8 bits of mantissa: about 4e-3 relative per value; the GPU
// tests allow 1e-2 for the same precision.
TEST_P(CpuBackendMatchesReference, OnSyntheticInputsInBf16) {
  if (!detect_cpu_features().avx512_bf16) {
    GTEST_SKIP() << "this CPU has no AVX-512 BF16 instructions (" << describe(detect_cpu_features())
                 << ")";
  }
  check_layer(GetParam(), CpuPrecision::kBf16, 1e-2);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, CpuBackendMatchesReference,
    ::testing::Values(LayerCase{"olmoe-1b-7b", 32, 40, PolicyKind::kNone},
                      LayerCase{"olmoe-1b-7b", 32, 600, PolicyKind::kDrop},
                      LayerCase{"mixtral-8x7b", 128, 33, PolicyKind::kExpanded},
                      LayerCase{"deepseek-v2-lite", 32, 17, PolicyKind::kReroute},
                      LayerCase{"qwen1.5-moe-a2.7b", 32, 1, PolicyKind::kDrop},
                      // gpt-oss's experts on every kernel choice: few rows (skinny), weights
                      // small enough for OpenBLAS, large ones through oneDNN.
                      LayerCase{"gpt-oss-20b", 32, 40, PolicyKind::kNone},
                      LayerCase{"gpt-oss-20b", 32, 600, PolicyKind::kDrop},
                      LayerCase{"gpt-oss-20b", 8, 700, PolicyKind::kReroute}),
    [](const ::testing::TestParamInfo<LayerCase>& param_info) {
      std::string name = param_info.param.preset + "_T" + std::to_string(param_info.param.tokens) +
                         "_" + policy_name(param_info.param.policy);
      for (char& ch : name) {
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
      }
      return name;
    });

TEST(CpuBackend, Bf16WeightsFollowTheWeightSet) {
  if (!detect_cpu_features().avx512_bf16) GTEST_SKIP() << "this CPU has no AVX-512 BF16";
  // One backend, two weight sets in turn: the converted copy must follow the set it is given.
  const ModelSpec spec = scaled(preset("olmoe-1b-7b"), 32);
  auto source = make_synthetic_routing(spec, {64, 0, 1.0});
  const LayerInput in = source->layer(0, 0);
  const RouterOutput r = route(in.logits.data(), 64, spec.experts, spec.top_k, false);
  const PolicyOutcome o = apply_policy(r, PolicyConfig{}, balanced_placement(spec.experts, 1));
  const DispatchPlan plan = make_dispatch_plan(o, spec.experts, 64);
  auto backend = make_cpu_backend(CpuPrecision::kBf16);
  for (std::uint64_t seed : {1u, 2u, 1u}) {
    const ExpertWeights w = make_synthetic_weights(spec, seed);
    const LayerExecution run = backend->run_layer(in.hidden_states.data(), w, o, plan, nullptr);
    const auto fresh = make_cpu_backend(CpuPrecision::kBf16)
                           ->run_layer(in.hidden_states.data(), w, o, plan, nullptr);
    EXPECT_EQ(run.output, fresh.output) << "weights of seed " << seed;
  }
}

// oneDNN chooses its kernels from the CPU's instruction sets: never its reference C++ code, nor
// the SSE level, on a CPU with AVX2.
TEST(OnednnMatmul, UsesTheCpusVectorInstructions) {
  const CpuFeatures f = detect_cpu_features();
  if (!f.avx2 || !f.fma) GTEST_SKIP() << "this CPU has no AVX2 and FMA: " << describe(f);
  const std::string isa = onednn_isa();
  EXPECT_TRUE(isa.rfind("avx2", 0) == 0 || isa.rfind("avx512", 0) == 0) << isa;
  const std::string fp32 = OnednnMatmul::kernels(CpuPrecision::kFp32);
  EXPECT_EQ(fp32.find("ref"), std::string::npos) << fp32;
  EXPECT_NE(fp32.find("avx"), std::string::npos) << fp32;
  if (f.avx512_bf16) {
    const std::string bf16 = OnednnMatmul::kernels(CpuPrecision::kBf16);
    EXPECT_TRUE(bf16.find("avx512_core_bf16") != std::string::npos ||
                bf16.find("amx") != std::string::npos)
        << bf16;
  }
}

// Generated code is kept for the shapes used last, within kMaxProducts.
TEST(OnednnMatmul, KeepsTheShapesUsedLast) {
  OnednnMatmul matmul;
  const auto shape = [](std::int64_t m) {
    return ProductShape{CpuPrecision::kFp32, m, 8, 8, 8, 8};
  };
  const auto max = static_cast<std::int64_t>(OnednnMatmul::kMaxProducts);
  for (std::int64_t m = 1; m <= max; ++m)
    matmul.prepare(shape(m));
  EXPECT_EQ(matmul.prepared(), OnednnMatmul::kMaxProducts);
  matmul.prepare(shape(1));  // used again: now the most recent
  matmul.prepare(shape(max + 1));
  EXPECT_EQ(matmul.prepared(), OnednnMatmul::kMaxProducts - OnednnMatmul::kMaxProducts / 4 + 1);
  EXPECT_TRUE(matmul.is_prepared(shape(1)));
  EXPECT_FALSE(matmul.is_prepared(shape(2)));
  EXPECT_TRUE(matmul.is_prepared(shape(max)));
  // Room for a layer that fits drops nothing; a product still computes after the drops.
  const std::size_t before = matmul.prepared();
  matmul.make_room(10);
  EXPECT_EQ(matmul.prepared(), before);
  std::vector<float> x(8 * 8, 1.0f), w(8 * 8, 0.5f), out(8 * 8, 0.0f);
  matmul.multiply(shape(8), x.data(), w.data(), out.data());
  for (const float v : out)
    EXPECT_FLOAT_EQ(v, 4.0f);
}

TEST(FfnKernels, ChosenByRowsPerExpertThenWeightSize) {
  const std::uint64_t big = 25u << 20, small = kSmallExpertBytes;
  // 16 rows or fewer per expert on average: the skinny kernels for the small experts.
  EXPECT_EQ(choose_ffn_kernels(CpuPrecision::kFp32, 128, 44, big), FfnKernels::kSkinnyFewRows);
  EXPECT_EQ(choose_ffn_kernels(CpuPrecision::kBf16, 16 * 64, 64, big), FfnKernels::kSkinnyFewRows);
  // More: oneDNN, except fp32 weights small enough to stay in cache.
  EXPECT_EQ(choose_ffn_kernels(CpuPrecision::kFp32, 16 * 64 + 1, 64, big), FfnKernels::kOnednn);
  EXPECT_EQ(choose_ffn_kernels(CpuPrecision::kFp32, 2048, 64, small), FfnKernels::kBlas);
  EXPECT_EQ(choose_ffn_kernels(CpuPrecision::kFp32, 2048, 64, small + 1), FfnKernels::kOnednn);
  EXPECT_EQ(choose_ffn_kernels(CpuPrecision::kBf16, 2048, 64, small), FfnKernels::kOnednn);
}

// Every path computes the same expert: oneDNN, the skinny kernels, OpenBLAS; the plain SwiGLU,
// and gpt-oss's clamped one with biases, its limit low enough that the clamps bite.
TEST(SwigluFfn, EveryPathMatchesTheReference) {
  const int H = 96, F = 80;
  Rng rng({13});
  std::vector<float> gate_up(static_cast<std::size_t>(2 * F * H)),
      down(static_cast<std::size_t>(H * F)), gate_up_bias(2 * F), down_bias(H);
  fill_uniform(gate_up.data(), gate_up.size(), 0.2f, rng);
  fill_uniform(down.data(), down.size(), 0.1f, rng);
  fill_uniform(gate_up_bias.data(), gate_up_bias.size(), 0.5f, rng);
  fill_uniform(down_bias.data(), down_bias.size(), 0.5f, rng);
  FfnActivation clamped{
      {ExpertActivation::kClampedSwiglu, 1.702, 0.9, true}, gate_up_bias.data(), down_bias.data()};
  for (const FfnActivation& activation : {FfnActivation{}, clamped}) {
    for (const int rows : {5, 40, 300}) {
      std::vector<float> x(static_cast<std::size_t>(rows * H));
      fill_uniform(x.data(), x.size(), 1.0f, rng);
      int clamped_values = 0;
      for (const FfnKernels kernels :
           {FfnKernels::kOnednn, FfnKernels::kSkinnyFewRows, FfnKernels::kBlas}) {
        SwigluFfn ffn;
        std::vector<float> y(static_cast<std::size_t>(rows * H));
        ffn.prepare(CpuPrecision::kFp32, rows, F, H, kernels, activation.mlp);
        ffn.run(CpuPrecision::kFp32, x.data(), rows, gate_up.data(), down.data(), F, H, y.data(),
                kernels, activation);
        for (int r = 0; r < rows; ++r) {
          const float* xr = &x[static_cast<std::size_t>(r * H)];
          const auto ref = reference_ffn(xr, gate_up.data(), down.data(), F, H, activation);
          for (int h = 0; h < H; ++h) {
            ASSERT_NEAR(y[static_cast<std::size_t>(r * H + h)], ref[static_cast<std::size_t>(h)],
                        1e-4)
                << "kernels " << static_cast<int>(kernels) << " rows " << rows << " row " << r
                << " " << describe(activation.mlp);
          }
          for (int f = 0; f < F; ++f) {
            double g = gate_up_bias[static_cast<std::size_t>(f)];
            for (int h = 0; h < H; ++h)
              g += static_cast<double>(gate_up[static_cast<std::size_t>(f * H + h)]) * xr[h];
            clamped_values += g > clamped.mlp.swiglu_limit;
          }
        }
      }
      if (activation.mlp.clamped()) {
        EXPECT_GT(clamped_values, 0) << "the clamp never acted";
      }
    }
  }
}

TEST(CpuBackend, OptionsNameThePrecision) {
  EXPECT_EQ(parse_cpu_options(""), CpuPrecision::kFp32);
  EXPECT_EQ(parse_cpu_options("fp32"), CpuPrecision::kFp32);
  try {
    parse_cpu_options("fp16");
    FAIL() << "fp16 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown CPU backend option 'fp16'"), std::string::npos)
        << e.what();
  }
  if (detect_cpu_features().avx512_bf16) {
    EXPECT_EQ(parse_cpu_options("bf16"), CpuPrecision::kBf16);
    EXPECT_NE(make_cpu_backend(CpuPrecision::kBf16)->machine().find("bf16"), std::string::npos);
  } else {
    EXPECT_THROW(parse_cpu_options("bf16"), Error);
  }
}

// The bf16 skinny product against a double loop over the same bf16 values: row groups of 8 and
// a remainder, and a depth with a remainder after the 32 values one instruction takes.
TEST(SkinnyMatmulBf16, MatchesAPlainLoopOnTheSameBf16Values) {
  const int k = 77, n = 300;
  Rng rng({9});
  std::vector<std::uint16_t> w(static_cast<std::size_t>(n * k));
  for (auto& v : w)
    v = to_bf16(static_cast<float>(rng.normal()));
  for (const int rows : {1, 3, 8, 11, 16}) {
    const std::size_t ldx = k + 5, ldo = n + 3;
    std::vector<std::uint16_t> x(static_cast<std::size_t>(rows) * ldx);
    for (auto& v : x)
      v = to_bf16(static_cast<float>(rng.normal()));
    std::vector<float> out(static_cast<std::size_t>(rows) * ldo, -1.0f);
    skinny_matmul_bf16(x.data(), ldx, rows, k, w.data(), n, out.data(), ldo, 2);
    for (int r = 0; r < rows; ++r) {
      for (int j = 0; j < n; ++j) {
        double expected = 0;
        for (int h = 0; h < k; ++h) {
          expected += static_cast<double>(from_bf16(x[static_cast<std::size_t>(r) * ldx + h])) *
                      from_bf16(w[static_cast<std::size_t>(j) * k + h]);
        }
        ASSERT_NEAR(out[static_cast<std::size_t>(r) * ldo + j], expected, 1e-3)
            << "rows " << rows << " row " << r << " column " << j;
      }
      for (std::size_t j = n; j < ldo; ++j)
        ASSERT_EQ(out[static_cast<std::size_t>(r) * ldo + j], -1.0f);
    }
  }
}

TEST(Bf16, RoundsToNearestEvenAndKeepsSpecialValues) {
  EXPECT_EQ(to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(from_bf16(to_bf16(1.0f)), 1.0f);
  // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: ties go to the even pattern, 1.
  EXPECT_EQ(from_bf16(to_bf16(1.0f + 1.0f / 256)), 1.0f);
  // 1 + 3 * 2^-8 lies halfway between 1 + 2^-7 and 1 + 2^-6: the even one is 1 + 2^-6.
  EXPECT_EQ(from_bf16(to_bf16(1.0f + 3.0f / 256)), 1.0f + 1.0f / 64);
  EXPECT_EQ(from_bf16(to_bf16(-2.5f)), -2.5f);
  EXPECT_TRUE(std::isnan(from_bf16(to_bf16(std::nanf("")))));
  EXPECT_EQ(from_bf16(to_bf16(INFINITY)), INFINITY);
  EXPECT_EQ(from_bf16(to_bf16(-INFINITY)), -INFINITY);
  // The largest float rounds up to infinity, as it must in 8 bits of mantissa.
  EXPECT_EQ(from_bf16(to_bf16(3.4028235e38f)), INFINITY);
  std::vector<float> in = {0.1f, -7.0f, 65504.0f};
  std::vector<std::uint16_t> out(in.size());
  convert_to_bf16(in.data(), in.size(), out.data(), 2);
  for (std::size_t i = 0; i < in.size(); ++i)
    EXPECT_EQ(out[i], to_bf16(in[i]));
}

TEST(CpuBackend, CancelStopsBetweenExperts) {
  const ModelSpec spec = scaled(preset("olmoe-1b-7b"), 64);
  auto source = make_synthetic_routing(spec, {32, 0, 1.0});
  const LayerInput in = source->layer(0, 0);
  const RouterOutput r = route(in.logits.data(), 32, spec.experts, spec.top_k, false);
  const PolicyOutcome o = apply_policy(r, PolicyConfig{}, balanced_placement(spec.experts, 1));
  const ExpertWeights w = make_synthetic_weights(spec, 0);
  CancelFlag cancel{true};
  EXPECT_THROW(make_cpu_backend()->run_layer(in.hidden_states.data(), w, o,
                                             make_dispatch_plan(o, spec.experts, 32), &cancel),
               Cancelled);
}

TEST(DispatchPlan, RowsAreGroupedByExpertInTokenOrder) {
  PolicyOutcome o;
  o.kept = {{0, 2, .5f, true}, {0, 0, .5f, true}, {1, 2, 1.f, true}, {3, 0, 1.f, true}};
  const DispatchPlan plan = make_dispatch_plan(o, 3, 4);
  EXPECT_EQ(plan.offsets, (std::vector<std::int64_t>{0, 2, 2, 4}));
  EXPECT_EQ(plan.row_token, (std::vector<std::int64_t>{0, 3, 0, 1}));
  EXPECT_EQ(plan.pair_row, (std::vector<std::int64_t>{2, 0, 3, 1}));
}

}  // namespace
}  // namespace moescope

namespace moescope {
namespace {

// Row counts on both sides of the skinny path, and sizes with a remainder after 8 lanes.
TEST(SwigluFfn, MatchesTheReferenceForEveryRowCount) {
  const int H = 37, F = 300;
  Rng rng({5});
  std::vector<float> gate_up(static_cast<std::size_t>(2 * F * H));
  std::vector<float> down(static_cast<std::size_t>(H * F));
  fill_uniform(gate_up.data(), gate_up.size(), 0.2f, rng);
  fill_uniform(down.data(), down.size(), 0.1f, rng);
  for (int rows = 1; rows <= kSkinnyMaxRows + 2; ++rows) {
    std::vector<float> x(static_cast<std::size_t>(rows * H));
    fill_uniform(x.data(), x.size(), 1.0f, rng);
    std::vector<float> y(static_cast<std::size_t>(rows * H));
    swiglu_ffn(x.data(), rows, gate_up.data(), down.data(), F, H, y.data());
    for (int r = 0; r < rows; ++r) {
      const auto ref =
          reference_ffn(&x[static_cast<std::size_t>(r * H)], gate_up.data(), down.data(), F, H);
      for (int h = 0; h < H; ++h) {
        ASSERT_NEAR(y[static_cast<std::size_t>(r * H + h)], ref[static_cast<std::size_t>(h)], 1e-4)
            << "rows " << rows << " row " << r << " column " << h;
      }
    }
  }
}

}  // namespace
}  // namespace moescope
