// A small, fast, seedable generator for synthetic inputs. The same seed gives the same numbers
// on every machine (the standard distributions are not specified bit-exactly; this is).
#pragma once

#include <cmath>
#include <cstdint>
#include <initializer_list>

#include "core/base/hash.h"

namespace moescope {

class Rng {
 public:
  // A stream for a tuple of keys, e.g. {seed, layer, step}.
  explicit Rng(std::initializer_list<std::uint64_t> keys) {
    std::uint64_t s = 0x5EED5EED5EED5EEDull;
    for (auto k : keys)
      s = mix64(s ^ k);
    state_ = s;
  }
  std::uint64_t next() { return mix64(state_ += 0x9E3779B97F4A7C15ull); }
  // Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Uniform in [-a, a) as float: fast, for filling large weight buffers.
  float symmetric(float a) { return a * (static_cast<float>(next() >> 40) * 0x1.0p-23f - 1.0f); }
  double normal() {
    const double u1 = 1.0 - uniform();  // (0, 1]
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  std::uint64_t state_;
};

// Fills `count` floats with uniform values of the given standard deviation.
inline void fill_uniform(float* out, std::size_t count, float stddev, Rng& rng) {
  const float a = stddev * 1.7320508f;  // uniform on [-a, a) has stddev a / sqrt(3)
  for (std::size_t i = 0; i < count; ++i)
    out[i] = rng.symmetric(a);
}

}  // namespace moescope
