// The statistics behind every timed number: a layer is timed several times (repeats), its
// latency is the median repeat, and intervals say how far a figure could move on a rerun.
//
// - A layer's interval: distribution-free, from order statistics of its repeats (the ranks
//   whose binomial coverage of the median is at least 95%; with fewer than 6 repeats no pair of
//   ranks reaches 95%, and the widest, [min, max], is reported with its coverage).
// - A run's interval (the mean layer latency, the speedup): a percentile bootstrap that
//   resamples each layer's repeats (paired between a policy and its baseline, which were timed
//   interleaved), seeded, so the same samples always give the same interval.
#pragma once

#include <cstdint>
#include <vector>

namespace moescope {

struct Interval {
  double low = 0;
  double high = 0;
  double coverage = 0;  // the interval's confidence, 0.95 when it reaches it

  double half_width() const { return (high - low) / 2; }
  bool contains(double x) const { return low <= x && x <= high; }
};

// The lower median: an observed value (the median repeat), the middle one for an odd count.
double lower_median(std::vector<double> samples);
// The index of the lower median's sample (ties to the earlier).
std::size_t lower_median_index(const std::vector<double>& samples);

// Order-statistic interval of the median of `samples`, the narrowest with coverage >= 95%.
Interval median_interval(std::vector<double> samples);

// One layer's repeats of a timed quantity for the run and, when there is one, its baseline
// (samples[i] and baseline[i] were timed in the same repeat).
struct PairedLayer {
  std::vector<double> run;
  std::vector<double> baseline;
};

// The mean over layers of each layer's median, with a bootstrap interval (95%).
Interval mean_of_medians_interval(const std::vector<PairedLayer>& layers, std::uint64_t seed);
// baseline mean of medians / run mean of medians (the speedup), with a paired bootstrap
// interval (95%). Every layer needs as many baseline samples as run samples.
Interval ratio_of_means_interval(const std::vector<PairedLayer>& layers, std::uint64_t seed);

double mean_of_medians(const std::vector<PairedLayer>& layers);

}  // namespace moescope
