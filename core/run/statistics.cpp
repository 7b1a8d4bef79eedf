#include "core/run/statistics.h"

#include <algorithm>
#include <cmath>

#include "core/base/error.h"
#include "core/base/random.h"

namespace moescope {

namespace {

constexpr double kConfidence = 0.95;

// P(X <= k) for X ~ Binomial(n, 1/2).
double binomial_half_cdf(int n, int k) {
  double term = std::pow(0.5, n);  // P(X = 0)
  double sum = 0;
  for (int i = 0; i <= k; ++i) {
    sum += term;
    term = term * (n - i) / (i + 1);
  }
  return sum;
}

double percentile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  const double position = q * static_cast<double>(values.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(position));
  const auto above = std::min(below + 1, values.size() - 1);
  const double fraction = position - static_cast<double>(below);
  return values[below] + fraction * (values[above] - values[below]);
}

// Resamples per bootstrap: enough for stable 2.5/97.5 percentiles, fewer for very long runs so
// that a summary stays well under a second.
int resample_count(const std::vector<PairedLayer>& layers) {
  std::size_t work = 0;
  for (const auto& l : layers)
    work += l.run.size() + l.baseline.size();
  const double per_resample = static_cast<double>(std::max<std::size_t>(work, 1));
  return static_cast<int>(std::clamp(4e7 / per_resample, 200.0, 2000.0));
}

}  // namespace

double lower_median(std::vector<double> samples) {
  if (samples.empty()) throw Error("the median of no samples");
  const auto middle = samples.begin() + static_cast<std::ptrdiff_t>((samples.size() - 1) / 2);
  std::nth_element(samples.begin(), middle, samples.end());
  return *middle;
}

std::size_t lower_median_index(const std::vector<double>& samples) {
  if (samples.empty()) throw Error("the median of no samples");
  std::vector<std::size_t> order(samples.size());
  for (std::size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return samples[a] < samples[b]; });
  return order[(order.size() - 1) / 2];
}

Interval median_interval(std::vector<double> samples) {
  if (samples.empty()) throw Error("the interval of no samples");
  std::sort(samples.begin(), samples.end());
  const int n = static_cast<int>(samples.size());
  // [x(k), x(n+1-k)] covers the median with probability 1 - 2 P(X <= k-1): the largest k
  // that still reaches 95% gives the narrowest such interval.
  int best = 1;
  for (int k = n / 2; k >= 1; --k) {
    if (1.0 - 2.0 * binomial_half_cdf(n, k - 1) >= kConfidence) {
      best = k;
      break;
    }
  }
  Interval out;
  out.low = samples[static_cast<std::size_t>(best - 1)];
  out.high = samples[static_cast<std::size_t>(n - best)];
  out.coverage = std::max(0.0, 1.0 - 2.0 * binomial_half_cdf(n, best - 1));
  return out;
}

double mean_of_medians(const std::vector<PairedLayer>& layers) {
  if (layers.empty()) return 0;
  double sum = 0;
  for (const auto& l : layers)
    sum += lower_median(l.run);
  return sum / static_cast<double>(layers.size());
}

namespace {

// One bootstrap resample of every layer (the same draws for run and baseline): the mean of
// the run's medians and of the baseline's.
template <typename Use>
void bootstrap(const std::vector<PairedLayer>& layers, std::uint64_t seed, Use use) {
  Rng rng({seed, 0x424F4F54ull});
  const int resamples = resample_count(layers);
  std::vector<double> run;
  std::vector<double> base;
  for (int b = 0; b < resamples; ++b) {
    double run_sum = 0;
    double base_sum = 0;
    for (const auto& l : layers) {
      const std::size_t n = l.run.size();
      run.resize(n);
      base.resize(l.baseline.size() == n ? n : 0);
      for (std::size_t i = 0; i < n; ++i) {
        const auto pick = static_cast<std::size_t>(rng.uniform() * static_cast<double>(n));
        run[i] = l.run[std::min(pick, n - 1)];
        if (!base.empty()) base[i] = l.baseline[std::min(pick, n - 1)];
      }
      run_sum += lower_median(run);
      if (!base.empty()) base_sum += lower_median(base);
    }
    use(run_sum / static_cast<double>(layers.size()),
        base_sum / static_cast<double>(layers.size()));
  }
}

Interval from_percentiles(const std::vector<double>& values) {
  return {percentile(values, (1 - kConfidence) / 2), percentile(values, (1 + kConfidence) / 2),
          kConfidence};
}

}  // namespace

Interval mean_of_medians_interval(const std::vector<PairedLayer>& layers, std::uint64_t seed) {
  if (layers.empty()) return {0, 0, kConfidence};
  std::vector<double> means;
  bootstrap(layers, seed, [&](double run, double) { means.push_back(run); });
  return from_percentiles(means);
}

Interval ratio_of_means_interval(const std::vector<PairedLayer>& layers, std::uint64_t seed) {
  for (const auto& l : layers) {
    if (l.baseline.size() != l.run.size() || l.run.empty()) {
      throw Error("a speedup's interval needs as many baseline repeats as the run's");
    }
  }
  if (layers.empty()) return {1, 1, kConfidence};
  std::vector<double> ratios;
  bootstrap(layers, seed,
            [&](double run, double base) { ratios.push_back(run > 0 ? base / run : 1.0); });
  return from_percentiles(ratios);
}

}  // namespace moescope
