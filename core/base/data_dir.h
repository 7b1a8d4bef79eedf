// Where MoEScope keeps what belongs to the user rather than to a session: the default session
// and the cost models fitted on this machine.
#pragma once

#include <string>

namespace moescope {

// $XDG_DATA_HOME/moescope (or ~/.local/share/moescope), created when missing. Throws Error
// naming `what_for` when neither variable is set, or the folder cannot be made.
std::string user_data_dir(const std::string& what_for);

}  // namespace moescope
