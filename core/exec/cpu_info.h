// What CPU this is, as /proc/cpuinfo names it: part of every CPU timing's "on which machine".
#pragma once

#include <string>

namespace moescope {

// "AMD EPYC 9654 96-Core Processor"; "unknown CPU" where /proc/cpuinfo does not say.
std::string cpu_model_name();

}  // namespace moescope
