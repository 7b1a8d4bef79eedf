#include "core/base/data_dir.h"

#include <cstdlib>
#include <filesystem>

#include "core/base/error.h"

namespace moescope {

std::string user_data_dir(const std::string& what_for) {
  std::filesystem::path dir;
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg != nullptr && xdg[0] == '/') {
    dir = xdg;
  } else if (const char* home = std::getenv("HOME"); home != nullptr && home[0] != '\0') {
    dir = std::filesystem::path(home) / ".local" / "share";
  } else {
    throw Error("no " + what_for + ": neither XDG_DATA_HOME nor HOME is set");
  }
  dir /= "moescope";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error("cannot create '" + dir.string() + "': " + ec.message());
  return dir.string();
}

}  // namespace moescope
