// The one error type of MoEScope. Its message is written for the user: it names what is wrong
// and where (a field, a file offset, a layer and token), so the CLI can print it as it is.
#pragma once

#include <stdexcept>
#include <string>

namespace moescope {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Thrown when the user cancels a long operation (Ctrl-C, the Cancel button).
class Cancelled : public Error {
 public:
  Cancelled() : Error("cancelled") {}
};

}  // namespace moescope
