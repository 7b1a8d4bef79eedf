#include "core/inputs/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/model/json_file.h"

namespace moescope {

namespace {

using nlohmann::json;

// A header larger than this is not a tensor index but an attack or a corrupt file.
constexpr std::uint64_t kMaxHeaderBytes = 100ull << 20;

std::uint64_t dtype_size(const std::string& dtype) {
  if (dtype == "F64" || dtype == "I64" || dtype == "U64") return 8;
  if (dtype == "F32" || dtype == "I32" || dtype == "U32") return 4;
  if (dtype == "F16" || dtype == "BF16" || dtype == "I16" || dtype == "U16") return 2;
  if (dtype == "I8" || dtype == "U8" || dtype == "BOOL" || dtype == "F8_E4M3" ||
      dtype == "F8_E5M2") {
    return 1;
  }
  return 0;
}

std::uint64_t read_u64_le(const unsigned char* b) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = (v << 8) | b[i];
  return v;
}

TensorInfo parse_entry(const std::string& where, const std::string& name, const json& entry,
                       std::uint64_t data_size) {
  const std::string at = where + ": tensor '" + name + "'";
  if (!entry.is_object()) throw Error(at + ": header entry is not an object");
  TensorInfo info;
  info.name = name;
  if (!entry.contains("dtype") || !entry["dtype"].is_string()) {
    throw Error(at + ": missing or non-string 'dtype'");
  }
  info.dtype = entry["dtype"].get<std::string>();
  const std::uint64_t element = dtype_size(info.dtype);
  if (element == 0) throw Error(at + ": unknown dtype '" + info.dtype + "'");
  if (!entry.contains("shape") || !entry["shape"].is_array()) {
    throw Error(at + ": missing 'shape' array");
  }
  std::uint64_t count = 1;
  for (const auto& dim : entry["shape"]) {
    if (!dim.is_number_unsigned())
      throw Error(at + ": shape entry " + dim.dump() + " is not a size");
    const auto d = dim.get<std::uint64_t>();
    if (d > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) ||
        (d != 0 && count > std::numeric_limits<std::uint64_t>::max() / d)) {
      throw Error(at + ": shape overflows");
    }
    count *= d;
    info.shape.push_back(static_cast<std::int64_t>(d));
  }
  const auto& offsets = entry.contains("data_offsets") ? entry["data_offsets"] : json();
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned()) {
    throw Error(at + ": 'data_offsets' must be two non-negative integers");
  }
  info.begin = offsets[0].get<std::uint64_t>();
  info.end = offsets[1].get<std::uint64_t>();
  if (info.begin > info.end || info.end > data_size) {
    throw Error(at + ": data_offsets [" + std::to_string(info.begin) + ", " +
                std::to_string(info.end) + "] lie outside the data section of " +
                std::to_string(data_size) + " bytes (truncated file?)");
  }
  if (count > std::numeric_limits<std::uint64_t>::max() / element ||
      count * element != info.end - info.begin) {
    throw Error(at + ": shape and dtype " + info.dtype + " need " + std::to_string(count) +
                " elements, but data_offsets span " + std::to_string(info.end - info.begin) +
                " bytes");
  }
  return info;
}

}  // namespace

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw Error("cannot open '" + path + "': no such file");
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw Error("cannot open '" + path + "': not a regular file");
  }
  const std::uint64_t file_size = std::filesystem::file_size(path, ec);
  if (ec) throw Error("cannot read the size of '" + path + "': " + ec.message());
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open '" + path + "'");
  if (file_size < 8) {
    throw Error(path + ": not a safetensors file (" + std::to_string(file_size) +
                " bytes, shorter than the 8-byte header length)");
  }
  unsigned char length_bytes[8];
  in.read(reinterpret_cast<char*>(length_bytes), 8);
  const std::uint64_t header_size = read_u64_le(length_bytes);
  if (header_size > file_size - 8) {
    throw Error(path + ": not a safetensors file or truncated (header length " +
                std::to_string(header_size) + " exceeds the " + std::to_string(file_size - 8) +
                " bytes that follow it)");
  }
  if (header_size > kMaxHeaderBytes) {
    throw Error(path + ": header of " + std::to_string(header_size) + " bytes is too large");
  }
  std::string header(header_size, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_size));
  if (!in) throw Error(path + ": could not read the header");
  // JSON keeps the last of two equal keys; a tensor index must not hold two, so count them.
  std::set<std::string> names;
  std::string duplicate;
  const json::parser_callback_t on_key = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::key && depth == 1 &&
        !names.insert(parsed.get<std::string>()).second) {
      duplicate = parsed.get<std::string>();
    }
    return true;
  };
  const json j = parse_json_text(header, path + ": the safetensors header", on_key);
  if (!duplicate.empty()) throw Error(path + ": tensor '" + duplicate + "' is listed twice");
  if (!j.is_object()) throw Error(path + ": not a safetensors file (header is not a JSON object)");
  data_start_ = 8 + header_size;
  const std::uint64_t data_size = file_size - data_start_;
  for (const auto& [name, entry] : j.items()) {
    if (name == "__metadata__") {
      const bool strings =
          entry.is_object() &&
          std::all_of(entry.begin(), entry.end(), [](const json& v) { return v.is_string(); });
      if (!strings) throw Error(path + ": '__metadata__' must be an object of strings");
      continue;
    }
    tensors_.push_back(parse_entry(path, name, entry, data_size));
  }
  // The format indexes the whole data section without holes or overlaps, so that no bytes
  // hide in a file that looks like tensors.
  std::vector<const TensorInfo*> by_offset;
  for (const auto& t : tensors_)
    by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  std::uint64_t covered = 0;
  for (const TensorInfo* t : by_offset) {
    if (t->begin != covered) {
      throw Error(path + ": tensor '" + t->name + "' starts at data byte " +
                  std::to_string(t->begin) + " but the tensors before it end at byte " +
                  std::to_string(covered) + " (overlapping or unindexed data)");
    }
    covered = t->end;
  }
  if (covered != data_size) {
    throw Error(path + ": the data section has " + std::to_string(data_size) +
                " bytes but its tensors cover " + std::to_string(covered) +
                " (extra or missing data)");
  }
  // Checkpoint shards hold thousands of tensors, looked up by name for every expert.
  for (std::size_t i = 0; i < tensors_.size(); ++i)
    index_.emplace(tensors_[i].name, i);
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

std::vector<float> SafetensorsFile::read_f32(const TensorInfo& tensor) const {
  std::vector<float> out;
  try {
    out.resize(static_cast<std::size_t>(element_count(tensor)));
  } catch (const std::bad_alloc&) {
    throw Error(path_ + ": tensor '" + tensor.name + "' (" +
                std::to_string(tensor.end - tensor.begin) + " bytes) does not fit in memory");
  }
  (void)read_f32_into(tensor, out.data());
  return out;
}

std::uint64_t SafetensorsFile::element_count(const TensorInfo& tensor) const {
  if (tensor.dtype != "F32" && tensor.dtype != "F16" && tensor.dtype != "BF16") {
    throw Error(path_ + ": tensor '" + tensor.name + "' has dtype " + tensor.dtype +
                "; expected F32, F16 or BF16");
  }
  return (tensor.end - tensor.begin) / dtype_size(tensor.dtype);
}

bool SafetensorsFile::read_f32_into(const TensorInfo& tensor, float* out) const {
  return read_f32_range_into(tensor, 0, element_count(tensor), out);
}

bool SafetensorsFile::read_f32_range_into(const TensorInfo& tensor, std::uint64_t first,
                                          std::uint64_t count, float* out) const {
  const std::uint64_t total = element_count(tensor);
  if (first > total || count > total - first) {
    throw Error(path_ + ": tensor '" + tensor.name + "' has " + std::to_string(total) +
                " elements; elements " + std::to_string(first) + ".." +
                std::to_string(first + count) + " were asked for");
  }
  const std::uint64_t element = dtype_size(tensor.dtype);
  // pread in chunks a cache holds, converted straight into `out`: one pass over the bytes and
  // no second copy of the tensor (a layer of a checkpoint is hundreds of MB).
  constexpr std::uint64_t kChunkElements = 1u << 16;
  std::vector<std::uint16_t> half(tensor.dtype == "F32" ? 0 : kChunkElements);
  struct File {
    int fd;
    ~File() {
      if (fd >= 0) ::close(fd);
    }
  } file{::open(path_.c_str(), O_RDONLY | O_CLOEXEC)};
  const int fd = file.fd;
  if (fd < 0) {
    throw Error(path_ + ": cannot open to read tensor '" + tensor.name + "' (" +
                std::strerror(errno) + ")");
  }
  std::uint64_t done = 0;
  std::uint32_t non_finite = 0;  // any value whose exponent bits are all ones
  while (done < count) {
    const std::uint64_t n = std::min(kChunkElements, count - done);
    char* target = tensor.dtype == "F32" ? reinterpret_cast<char*>(out + done)
                                         : reinterpret_cast<char*>(half.data());
    std::uint64_t got = 0;
    while (got < n * element) {
      const ssize_t r =
          ::pread(fd, target + got, n * element - got,
                  static_cast<off_t>(data_start_ + tensor.begin + (first + done) * element + got));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        throw Error(path_ + ": could not read tensor '" + tensor.name + "' (" +
                    (r == 0 ? std::string("the file ends early: changed since it was opened?")
                            : std::string(std::strerror(errno))) +
                    ")");
      }
      got += static_cast<std::uint64_t>(r);
    }
    // Branch-free loops, so they vectorize; the finiteness check rides along.
    if (tensor.dtype == "BF16") {
      for (std::uint64_t i = 0; i < n; ++i) {
        out[done + i] = std::bit_cast<float>(static_cast<std::uint32_t>(half[i]) << 16);
        non_finite |= static_cast<std::uint32_t>((half[i] & 0x7f80u) == 0x7f80u);
      }
    } else {
      if (tensor.dtype == "F16") {
        for (std::uint64_t i = 0; i < n; ++i)
          out[done + i] = half_to_float(half[i]);
      }
      for (std::uint64_t i = 0; i < n; ++i) {
        const auto bits = std::bit_cast<std::uint32_t>(out[done + i]);
        non_finite |= static_cast<std::uint32_t>((bits & 0x7f800000u) == 0x7f800000u);
      }
    }
    done += n;
  }
  return non_finite == 0;
}

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors) {
  json header = json::object();
  std::uint64_t offset = 0;
  for (const auto& t : tensors) {
    const std::uint64_t element = t.dtype == "F32" ? 4 : 2;
    if (t.dtype != "F32" && t.dtype != "F16" && t.dtype != "BF16") {
      throw Error("write_safetensors: unsupported dtype " + t.dtype);
    }
    const std::uint64_t bytes = t.values.size() * element;
    header[t.name] = {
        {"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  while (text.size() % 8 != 0)
    text += ' ';  // the format aligns the data section to 8 bytes
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error("cannot write '" + path + "'");
  const std::uint64_t size = text.size();
  for (int i = 0; i < 8; ++i)
    out.put(static_cast<char>((size >> (8 * i)) & 0xFF));
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  for (const auto& t : tensors) {
    if (t.dtype == "F32") {
      out.write(reinterpret_cast<const char*>(t.values.data()),
                static_cast<std::streamsize>(t.values.size() * sizeof(float)));
    } else {
      for (float v : t.values) {
        const std::uint16_t bits = t.dtype == "F16" ? float_to_half(v) : float_to_bfloat16(v);
        out.write(reinterpret_cast<const char*>(&bits), 2);
      }
    }
  }
  if (!out) throw Error("writing '" + path + "' failed");
}

float bfloat16_to_float(std::uint16_t bits) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16);
}

std::uint16_t float_to_bfloat16(float value) {
  const auto u = std::bit_cast<std::uint32_t>(value);
  if (std::isnan(value)) return static_cast<std::uint16_t>((u >> 16) | 0x40);
  const std::uint32_t rounding = 0x7FFF + ((u >> 16) & 1);
  return static_cast<std::uint16_t>((u + rounding) >> 16);
}

float half_to_float(std::uint16_t bits) {
  const std::uint32_t sign = static_cast<std::uint32_t>(bits & 0x8000) << 16;
  const int exponent = (bits >> 10) & 0x1F;
  const std::uint32_t mantissa = bits & 0x3FF;
  float magnitude;
  if (exponent == 0) {
    magnitude = std::ldexp(static_cast<float>(mantissa), -24);
  } else if (exponent == 31) {
    magnitude =
        mantissa ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
  } else {
    magnitude = std::ldexp(static_cast<float>(mantissa | 0x400), exponent - 25);
  }
  return std::bit_cast<float>(std::bit_cast<std::uint32_t>(magnitude) | sign);
}

std::uint16_t float_to_half(float value) {
  const auto u = std::bit_cast<std::uint32_t>(value);
  const std::uint16_t sign = static_cast<std::uint16_t>((u >> 16) & 0x8000);
  const float a = std::fabs(value);
  if (std::isnan(value)) return static_cast<std::uint16_t>(sign | 0x7E00);
  if (a >= 65520.0f) return static_cast<std::uint16_t>(sign | 0x7C00);  // rounds to infinity
  if (a < 0x1.0p-14f) {  // subnormal half: a multiple of 2^-24
    return static_cast<std::uint16_t>(sign |
                                      static_cast<std::uint16_t>(std::nearbyint(a * 0x1.0p24f)));
  }
  int exponent;
  const float fraction =
      std::frexp(a, &exponent);  // a = fraction * 2^exponent, fraction in [0.5, 1)
  auto mantissa = static_cast<std::uint32_t>(std::nearbyint((fraction * 2.0f - 1.0f) * 1024.0f));
  int biased = exponent - 1 + 15;
  if (mantissa == 1024) mantissa = 0, ++biased;
  return static_cast<std::uint16_t>(sign | (biased << 10) | mantissa);
}

}  // namespace moescope
