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

std::string kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// Throws when something that is not a regular file stands at `target` now (links followed, so
// that /dev/stdout on a pipe is a FIFO).
void refuse_non_regular(const fs::path& target, std::string_view what, const std::string& path) {
  struct stat st {};
  if (::stat(target.c_str(), &st) != 0 || S_ISREG(st.st_mode)) return;
  const std::string subject = target == fs::path(path)
                                  ? std::string("it")
                                  : "the link leads to " + quoted(target.string()) + ", which";
  throw Error(cannot_write(what, path) + ": " + subject + " is " + kind_of(st.st_mode) +
              "; give the path of a regular file");
}

fs::path folder_of(const fs::path& target) {
  return target.has_parent_path() ? target.parent_path() : fs::path(".");
}

// A new, empty file beside `target` that nobody else has opened; its descriptor. Named after
// the target, shortened where a long name would leave no room for the suffix.
int create_temp(const fs::path& target, std::string& temp, std::string_view what,
                const std::string& path) {
  static std::atomic<unsigned> counter{0};
  const std::string name = target.filename().string();
  const std::string stem = name.size() > 200 ? std::string(".moescope-output") : name;
  for (int attempt = 0; attempt < 100; ++attempt) {
    temp = (folder_of(target) /
            (stem + ".part-" + std::to_string(::getpid()) + "-" + std::to_string(counter++)))
               .string();
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) return fd;
    if (errno != EEXIST) throw Error(cannot_write(what, path) + ": " + std::strerror(errno));
  }
  throw Error(cannot_write(what, path) + ": no free temporary name beside it");
}

// Gives `temp` the replaced file's permissions, flushes it to disk, renames it over `target`
// and flushes the folder; removes it on failure.
void finish(const std::string& temp, const fs::path& target, std::string_view what,
            const std::string& path) {
  const auto fail = [&](int error) {
    ::unlink(temp.c_str());
    throw Error(cannot_write(what, path) + ": " + std::strerror(error));
  };
  const int fd = ::open(temp.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(errno);
  struct stat old {};
  const bool replaces = ::stat(target.c_str(), &old) == 0;
  const bool synced = (!replaces || ::fchmod(fd, old.st_mode & 07777) == 0) && ::fsync(fd) == 0;
  const int error = errno;
  ::close(fd);
  if (!synced) fail(error);
  try {
    refuse_non_regular(target, what, path);  // again: it may have appeared meanwhile
  } catch (...) {
    ::unlink(temp.c_str());
    throw;
  }
  if (std::rename(temp.c_str(), target.c_str()) != 0) fail(errno);
  // The rename is durable once the folder is on disk too.
  const int folder = ::open(folder_of(target).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (folder >= 0) {
    ::fsync(folder);
    ::close(folder);
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
    // /dev/stdout and its kind lead to an open descriptor, not to a name that can be replaced:
    // renaming over what it shows would lose what the shell appended there.
    const std::string text = target.string();
    if (text.rfind("/proc/", 0) == 0 || text.rfind("/dev/fd/", 0) == 0) {
      refuse_non_regular(path, what, path);  // a pipe or a terminal says what it is
      throw Error(cannot_write(what, path) +
                  ": it leads to an open file descriptor, not a file's name; give the path of "
                  "a regular file");
    }
  }
  refuse_non_regular(target, what, path);
  if (!fs::is_directory(folder_of(target), ec)) {
    throw Error(cannot_write(what, path) + ": the folder " + quoted(folder_of(target).string()) +
                " does not exist");
  }
  // Renaming over a read-only file would succeed in a writable folder; respect its mode.
  if (fs::exists(target, ec) && ::access(target.c_str(), W_OK) != 0) {
    throw Error(cannot_write(what, path) + ": the file is read-only");
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
  // An empty file is no image or report: the writer wrote somewhere else, or nothing.
  struct stat st {};
  if (!written || ::stat(temp.c_str(), &st) != 0 || st.st_size == 0) {
    ::unlink(temp.c_str());
    throw Error(cannot_write(what, path) +
                (::access(folder_of(target).c_str(), W_OK) == 0
                     ? std::string(" (is the disk full?)")
                     : ": the folder " + quoted(folder_of(target).string()) + " is not writable"));
  }
  finish(temp, target, what, path);
}

}  // namespace moescope
