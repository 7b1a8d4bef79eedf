#include "core/base/version.h"

namespace moescope {

const char* version() {
  return MOESCOPE_VERSION;
}

}  // namespace moescope
