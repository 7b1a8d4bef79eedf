// The fuzz targets read files by path, as the program does: the input is written to a file of
// this process's own, which is removed after each input.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

namespace moescope::fuzz {

class InputFile {
 public:
  InputFile(const std::uint8_t* data, std::size_t size, const std::string& suffix)
      : path_((std::filesystem::temp_directory_path() /
               ("moescope_fuzz_" + std::to_string(::getpid()) + suffix))
                  .string()) {
    std::FILE* f = std::fopen(path_.c_str(), "wb");
    if (f == nullptr) std::abort();
    if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
    std::fclose(f);
  }
  ~InputFile() {
    // SQLite may leave a journal or a WAL index beside a session.
    for (const char* extra : {"", "-wal", "-shm", "-journal"})
      std::remove((path_ + extra).c_str());
  }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace moescope::fuzz
