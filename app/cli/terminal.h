// The CLI's terminal: a progress line on stderr (only when it is a TTY) and Ctrl-C turned into
// a cancellation request, so work stops between layers and the command exits cleanly.
#pragma once

#include <cstdint>
#include <string>

#include "core/base/cancel.h"

namespace moescope::cli {

// Installs the SIGINT handler and returns the flag it sets. Commands that check the flag
// install it; the others keep the default Ctrl-C.
const CancelFlag* install_interrupt_handler();

class ProgressLine {
 public:
  explicit ProgressLine(std::string label);
  ~ProgressLine();  // clears the line
  void update(std::int64_t done, std::int64_t total);

 private:
  std::string label_;
  bool enabled_;
  int last_percent_ = -1;
};

}  // namespace moescope::cli
