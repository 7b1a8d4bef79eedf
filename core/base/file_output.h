// Writing the files users ask for (exports, specs, reports, cost models) so that a reader sees
// the old file or the new one, never a part of it, and a failure leaves the old one as it was.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace moescope {

// Where a file written to `path` lands: `path` itself, or, when `path` is a symbolic link, the
// file the link leads to (links are written through: the link stays, its file is replaced).
// Throws Error naming `what` and `path` when it exists and is not a regular file (a folder, a
// FIFO, a device...), is read-only, leads to an open descriptor (/dev/stdout), or its folder
// does not exist.
std::string output_target(const std::string& path, std::string_view what);

// Writes `content` to `path`: a fresh temporary file beside the target (created exclusively),
// flushed to disk, then renamed over it. Throws Error naming `what`, `path` and the system's
// reason (a full disk, no permission) on failure; the temporary file is removed then.
void write_file_atomically(const std::string& path, std::string_view content,
                           std::string_view what);

// The same for writers that take a file name (image and PDF writers): `write` fills the
// temporary file it is given and returns false when it could not (an empty file counts as
// that). What `write` throws passes through, the temporary file removed.
void write_file_atomically(const std::string& path, std::string_view what,
                           const std::function<bool(const std::string& temp_path)>& write);

}  // namespace moescope
