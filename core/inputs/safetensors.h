// A reader (and a small writer) for the safetensors format: an 8-byte little-endian header
// length, a JSON header of tensor entries, then the raw data. Every offset, size and dtype in
// the header is checked against the file before any tensor is read.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace moescope {

struct TensorInfo {
  std::string name;
  std::string dtype;  // as written in the file: "F32", "BF16", ...
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0;  // byte offsets into the data section
  std::uint64_t end = 0;
};

class SafetensorsFile {
 public:
  // Opens and validates the header; throws Error naming the file and what is wrong.
  explicit SafetensorsFile(const std::string& path);

  const std::string& path() const { return path_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find(const std::string& name) const;  // nullptr when absent

  // Reads a tensor as fp32, converting F16 and BF16; other dtypes throw Error.
  std::vector<float> read_f32(const TensorInfo& tensor) const;
  // The same into `out`, which holds element_count(tensor) floats. Returns whether every value
  // is finite (checked in the same pass, while the values are in cache).
  bool read_f32_into(const TensorInfo& tensor, float* out) const;
  // Elements [first, first + count) of the tensor, flat, into `out` (count floats): one
  // expert's slice of a fused tensor. Throws Error for a range past the tensor's end.
  bool read_f32_range_into(const TensorInfo& tensor, std::uint64_t first, std::uint64_t count,
                           float* out) const;
  // The tensor's elements; throws Error for a dtype read_f32 does not convert.
  std::uint64_t element_count(const TensorInfo& tensor) const;

 private:
  std::string path_;
  std::uint64_t data_start_ = 0;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, std::size_t> index_;  // tensors_ by name
};

struct TensorToWrite {
  std::string name;
  std::vector<std::int64_t> shape;
  std::vector<float> values;  // row-major
  std::string dtype = "F32";  // F32, F16 or BF16
};

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors);

// IEEE half and bfloat16 conversions (round to nearest even on the way down).
float half_to_float(std::uint16_t bits);
float bfloat16_to_float(std::uint16_t bits);
std::uint16_t float_to_half(float value);
std::uint16_t float_to_bfloat16(float value);

}  // namespace moescope
