// Lists of numbers typed into the run-setup panel ("0,0,1,1" for a placement, "0,5,11" for
// layers), read strictly: a typo is refused with a message, never silently dropped.
#pragma once

#include <string>
#include <vector>

namespace moescope::gui {

// "0, 0,1,1" -> {0,0,1,1}; empty text -> {}. Throws Error naming `what` and the bad item, with
// `example` as a hint.
std::vector<int> parse_number_list(const std::string& text, const std::string& what,
                                   const std::string& example);
// {0,0,1,1} -> "0,0,1,1"
std::string format_number_list(const std::vector<int>& values);

// "0.5, 1,2" -> {0.5,1,2}: finite numbers above 0 (capacity factors); empty text -> {}. Throws
// Error like parse_number_list.
std::vector<double> parse_positive_list(const std::string& text, const std::string& what,
                                        const std::string& example);
// {0.5,1,2} -> "0.5,1,2", each in its shortest form.
std::string format_positive_list(const std::vector<double>& values);

}  // namespace moescope::gui
