#include "core/moe/router.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/base/error.h"
#include "core/moe/routing_math.h"

namespace moescope {
namespace {

TEST(Router, SoftmaxIsOverAllExpertsAndSumsToOne) {
  const std::vector<float> z = {1.0f, 2.0f, 3.0f, 4.0f};
  const RouterOutput r = route(z.data(), 1, 4, 2, false);
  double sum = 0;
  for (float p : r.probs)
    sum += p;
  EXPECT_NEAR(sum, 1.0, 1e-6);
  const double denom = std::exp(1.0) + std::exp(2.0) + std::exp(3.0) + std::exp(4.0);
  EXPECT_NEAR(r.prob(0, 3), std::exp(4.0) / denom, 1e-6);
  EXPECT_EQ(r.topk_expert(0, 0), 3);
  EXPECT_EQ(r.topk_expert(0, 1), 2);
}

TEST(Router, LargeLogitsDoNotOverflow) {
  const std::vector<float> z = {1e30f, -1e30f, 1e30f};
  const RouterOutput r = route(z.data(), 1, 3, 1, false);
  EXPECT_NEAR(r.prob(0, 0), 0.5, 1e-6);
  EXPECT_EQ(r.prob(0, 1), 0.0f);
}

TEST(Router, TiesGoToTheLowerExpertIndexInSlotOrder) {
  const std::vector<float> z = {0.5f, 2.0f, 2.0f, 0.5f, 2.0f};
  const RouterOutput r = route(z.data(), 1, 5, 4, false);
  EXPECT_EQ(r.topk_expert(0, 0), 1);
  EXPECT_EQ(r.topk_expert(0, 1), 2);
  EXPECT_EQ(r.topk_expert(0, 2), 4);
  EXPECT_EQ(r.topk_expert(0, 3), 0);
}

TEST(Router, TopKEqualToExpertsTakesEveryExpert) {
  const std::vector<float> z = {3.0f, 1.0f, 2.0f};
  const RouterOutput r = route(z.data(), 1, 3, 3, false);
  EXPECT_EQ(r.topk_expert(0, 0), 0);
  EXPECT_EQ(r.topk_expert(0, 1), 2);
  EXPECT_EQ(r.topk_expert(0, 2), 1);
  EXPECT_NEAR(r.topk_sum[0], 1.0, 1e-6);
}

TEST(Router, NormTopkDividesByTheTopkSum) {
  const std::vector<float> z = {1.0f, 2.0f, 3.0f, 0.0f};
  const RouterOutput plain = route(z.data(), 1, 4, 2, false);
  const RouterOutput norm = route(z.data(), 1, 4, 2, true);
  EXPECT_FLOAT_EQ(plain.weight(0, 2), plain.prob(0, 2));
  EXPECT_NEAR(norm.weight(0, 2) + norm.weight(0, 1), 1.0, 1e-6);
  EXPECT_FLOAT_EQ(norm.weight(0, 2), plain.prob(0, 2) / (plain.prob(0, 2) + plain.prob(0, 1)));
}

TEST(Router, NonFiniteLogitsNameTheLayerAndToken) {
  std::vector<float> z(3 * 4, 0.0f);
  z[2 * 4 + 1] = std::numeric_limits<float>::quiet_NaN();
  try {
    route(z.data(), 3, 4, 2, false, 7);
    FAIL() << "NaN logits were accepted";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("layer 7"), std::string::npos) << m;
    EXPECT_NE(m.find("token 2"), std::string::npos) << m;
    EXPECT_NE(m.find("NaN"), std::string::npos) << m;
  }
  z[2 * 4 + 1] = std::numeric_limits<float>::infinity();
  EXPECT_THROW(route(z.data(), 3, 4, 2, false), Error);
}

TEST(Router, RejectsImpossibleShapes) {
  const std::vector<float> z(8, 0.0f);
  EXPECT_THROW(route(z.data(), 0, 4, 1, false), Error);
  EXPECT_THROW(route(z.data(), 2, 4, 5, false), Error);
  EXPECT_THROW(route(z.data(), 2, 4, 0, false), Error);
}

TEST(RoutingMath, CapacityIsTheCeilingInDouble) {
  EXPECT_EQ(routing::capacity(1.0, 8, 1, 4), 2);
  EXPECT_EQ(routing::capacity(1.0, 9, 1, 4), 3);
  EXPECT_EQ(routing::capacity(1.5, 4096, 8, 64), 768);
  EXPECT_EQ(routing::capacity(0.01, 10, 1, 64), 1);
  EXPECT_EQ(routing::capacity(2.0, 0, 8, 64), 0);
  // A gamma that is not exact in binary gives the decimal answer (shared/ALGORITHMS.md):
  // 1.1 * 200 * 6 / 8 is 165.00000000000003 in doubles.
  EXPECT_EQ(routing::capacity(1.1, 200, 6, 8), 165);
  EXPECT_EQ(routing::capacity(1.1, 201, 6, 8), 166);  // 165.825: up
  EXPECT_EQ(routing::capacity(1.1, 100, 1, 1), 110);  // 110.00000000000001
  EXPECT_EQ(routing::capacity(1e300, 4096, 8, 64), 9007199254740992);
}

TEST(RoutingMath, BalancedBlocksAndSources) {
  EXPECT_EQ(routing::balanced_device_of_expert(0, 8, 64), 0);
  EXPECT_EQ(routing::balanced_device_of_expert(7, 8, 64), 0);
  EXPECT_EQ(routing::balanced_device_of_expert(8, 8, 64), 1);
  EXPECT_EQ(routing::balanced_device_of_expert(59, 6, 60), 5);
  EXPECT_EQ(routing::source_of_token(0, 2, 5), 0);
  EXPECT_EQ(routing::source_of_token(2, 2, 5), 0);
  EXPECT_EQ(routing::source_of_token(3, 2, 5), 1);
}

}  // namespace
}  // namespace moescope
