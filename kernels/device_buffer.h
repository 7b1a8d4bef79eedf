// GPU memory owned like a std::vector: freed on destruction, grown only when a layer needs
// more, and an allocation that fails says how much was asked and how much was free.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <string>
#include <utility>

namespace moescope::kernels {

class DeviceBuffer {
 public:
  explicit DeviceBuffer(std::string what) : what_(std::move(what)) {}
  ~DeviceBuffer() { cudaFree(data_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  // Makes room for at least `bytes` (contents are not kept when it grows). Throws Error.
  void reserve(std::size_t bytes);
  void* data() const { return data_; }
  template <typename T>
  T* as() const {
    return static_cast<T*>(data_);
  }
  std::size_t capacity() const { return capacity_; }

 private:
  std::string what_;
  void* data_ = nullptr;
  std::size_t capacity_ = 0;
};

}  // namespace moescope::kernels
