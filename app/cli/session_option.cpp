#include "app/cli/session_option.h"

#include "core/session/session_store.h"

namespace moescope::cli {

void add_session_option(CLI::App& cmd, std::string& session) {
  cmd.add_option("--session", session, "session file (default: your default session)");
}

std::string session_path(const std::string& session) {
  return session.empty() ? default_session_path() : session;
}

}  // namespace moescope::cli
