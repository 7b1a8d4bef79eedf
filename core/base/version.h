// The version of MoEScope, from the project() line of the top-level CMakeLists.txt: the one
// place it is defined. Stored with every run and shown by --version and the About box.
#pragma once

namespace moescope {

const char* version();

}  // namespace moescope
