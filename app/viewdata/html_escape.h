// Text made safe inside HTML (reports, the glossary): user text such as run names must never
// become markup.
#pragma once

#include <string>
#include <string_view>

namespace moescope::viewdata {

// & < > " and ' as entities; every other byte as it is.
std::string html_escape(std::string_view text);

}  // namespace moescope::viewdata
