#include "core/base/file_output.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/base/error.h"

namespace moescope {
namespace {

namespace fs = std::filesystem;

std::string quoted(const std::string& path) {
  return "'" + path + "'";
}

std::string cannot_write(std::string_view what, const std::string& path) {
  return "cannot write " + std::string(what) + " " + quoted(path);
}

std::string kind_of(fs::file_type type) {
  switch (type) {
    case fs::file_type::directory:
      return "a folder";
    case fs::file_type::fifo:
      return "a FIFO";
    case fs::file_type::block:
      return "a block device";
    case fs::file_type::character:
      return "a character device";
    case fs::file_type::socket:
      return "a socket";
    default:
      return "not a regular file";
  }
}

// Throws when something that is not a regular file stands at `target` now.
void refuse_non_regular(const fs::path& target, std::string_view what, const std::string& path) {
  std::error_code ec;
  const fs::file_status status = fs::symlink_status(target, ec);
  if (!fs::exists(status) || fs::is_regular_file(status)) return;
  const std::string subject = target == fs::path(path)
                                  ? std::string("it")
                                  : "the link leads to " + quoted(target.string()) + ", which";
  throw Error(cannot_write(what, path) + ": " + subject + " is " + kind_of(status.type()) +
              "; give the path of a regular file");
}

// A new, empty file beside `target` that nobody else has opened; its descriptor.
int create_temp(const fs::path& target, std::string& temp, std::string_view what,
                const std::string& path) {
  static std::atomic<unsigned> counter{0};
  for (int attempt = 0; attempt < 100; ++attempt) {
    temp =
        target.string() + ".part-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) {
      // A replaced file keeps its permissions.
      struct stat old {};
      if (::stat(target.c_str(), &old) == 0) ::fchmod(fd, old.st_mode & 07777);
      return fd;
    }
    if (errno != EEXIST) throw Error(cannot_write(what, path) + ": " + std::strerror(errno));
  }
  throw Error(cannot_write(what, path) + ": no free temporary name beside it");
}

// Flushes `temp` to disk and renames it over `target`; removes it on failure.
void finish(const std::string& temp, const fs::path& target, std::string_view what,
            const std::string& path) {
  const int fd = ::open(temp.c_str(), O_RDONLY | O_CLOEXEC);
  const bool synced = fd >= 0 && ::fsync(fd) == 0;
  const int error = errno;
  if (fd >= 0) ::close(fd);
  if (!synced) {
    ::unlink(temp.c_str());
    throw Error(cannot_write(what, path) + ": " + std::strerror(error));
  }
  try {
    refuse_non_regular(target, what, path);  // again: it may have appeared meanwhile
  } catch (...) {
    ::unlink(temp.c_str());
    throw;
  }
  if (std::rename(temp.c_str(), target.c_str()) != 0) {
    const int rename_error = errno;
    ::unlink(temp.c_str());
    throw Error(cannot_write(what, path) + ": " + std::strerror(rename_error));
  }
}

}  // namespace

std::string output_target(const std::string& path, std::string_view what) {
  if (path.empty()) throw Error(cannot_write(what, path) + ": the path is empty");
  fs::path target = path;
  std::error_code ec;
  // Follow a chain of links to the file at its end, which need not exist yet.
  for (int hops = 0; fs::is_symlink(fs::symlink_status(target, ec)); ++hops) {
    if (hops == 40) throw Error(cannot_write(what, path) + ": too many levels of links");
    const fs::path next = fs::read_symlink(target, ec);
    if (ec) throw Error(cannot_write(what, path) + ": " + ec.message());
    target = next.is_absolute() ? next : target.parent_path() / next;
  }
  refuse_non_regular(target, what, path);
  const fs::path folder = target.has_parent_path() ? target.parent_path() : fs::path(".");
  if (!fs::is_directory(folder, ec)) {
    throw Error(cannot_write(what, path) + ": the folder " + quoted(folder.string()) +
                " does not exist");
  }
  return target.string();
}

void write_file_atomically(const std::string& path, std::string_view content,
                           std::string_view what) {
  const fs::path target = output_target(path, what);
  std::string temp;
  const int fd = create_temp(target, temp, what, path);
  const char* data = content.data();
  std::size_t left = content.size();
  int error = 0;
  while (left > 0) {
    const ssize_t n = ::write(fd, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = n < 0 ? errno : ENOSPC;
      break;
    }
    data += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0 && error == 0) error = errno;
  if (error != 0) {
    ::unlink(temp.c_str());
    throw Error(cannot_write(what, path) + ": " + std::strerror(error));
  }
  finish(temp, target, what, path);
}

void write_file_atomically(const std::string& path, std::string_view what,
                           const std::function<bool(const std::string& temp_path)>& write) {
  const fs::path target = output_target(path, what);
  std::string temp;
  ::close(create_temp(target, temp, what, path));
  bool written = false;
  try {
    written = write(temp);
  } catch (...) {
    ::unlink(temp.c_str());
    throw;
  }
  if (!written) {
    ::unlink(temp.c_str());
    const fs::path folder = target.has_parent_path() ? target.parent_path() : fs::path(".");
    throw Error(cannot_write(what, path) +
                (::access(folder.c_str(), W_OK) == 0
                     ? std::string(" (is the disk full?)")
                     : ": the folder " + quoted(folder.string()) + " is not writable"));
  }
  finish(temp, target, what, path);
}

}  // namespace moescope
