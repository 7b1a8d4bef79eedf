// Text MoEScope stores and prints is UTF-8: names and paths that are not are refused where they
// come in, with the place of the first bad byte.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace moescope {

// The offset of the first byte that does not belong to well-formed UTF-8 (no overlong forms,
// no surrogates, nothing above U+10FFFF); empty when all of `text` is.
std::optional<std::size_t> invalid_utf8_at(std::string_view text);

// Throws Error "`what` is not valid UTF-8 (byte 0x89 at offset 3)" when `text` is not.
void require_utf8(std::string_view text, std::string_view what);

}  // namespace moescope
