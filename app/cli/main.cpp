// moescope-cli: the headless MoEScope. Every error reaches the user as one line starting with
// "error:" and a non-zero exit status; nothing aborts.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <iostream>
#include <new>
#include <string>

#include <CLI/CLI.hpp>

#include "app/cli/calibrate_command.h"
#include "app/cli/info_command.h"
#include "app/cli/plan_command.h"
#include "app/cli/ranks_run.h"
#include "app/cli/report_command.h"
#include "app/cli/rerun_command.h"
#include "app/cli/route_command.h"
#include "app/cli/run_command.h"
#include "app/cli/session_commands.h"
#include "app/cli/spec_commands.h"
#include "app/cli/sweep_command.h"
#include "app/cli/terminal.h"
#include "core/base/blas.h"
#include "core/base/error.h"
#include "core/base/version.h"
#if defined(MOESCOPE_HAVE_CUDA)
#include "kernels/cuda_backend.h"
#endif

namespace {

// One line whatever the message holds: file and tensor names come from the user.
int report(const std::string& message, int status) {
  std::string line;
  for (const char c : message) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", static_cast<unsigned char>(c));
      line += escaped;
    } else {
      line += c;
    }
  }
  std::fprintf(stderr, "error: %s\n", line.c_str());
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace moescope;
#if defined(MOESCOPE_HAVE_CUDA)
  kernels::register_cuda_backends();
#endif
  CLI::App app{"MoEScope: see and fix the straggler effect in Mixture-of-Experts inference",
               "moescope-cli"};
  app.set_version_flag("--version", std::string("moescope-cli ") + version());
  app.require_subcommand(1);
  cli::add_run_command(app);
  cli::add_sweep_command(app);
  cli::add_rerun_command(app);
  cli::add_plan_command(app);
  cli::add_calibrate_command(app);
  cli::add_session_commands(app);
  cli::add_route_command(app);
  cli::add_spec_commands(app);
  cli::add_report_command(app);
  cli::add_info_command(app);
  try {
    // Before any other thread exists: loading the BLAS sets its kernels through the environment.
    blas::kernels();
    if (argc < 2) throw Error("a command is required (see --help)");
    cli::remember_command_line(argc, argv);
    const std::string command = argv[1];
    const auto commands = app.get_subcommands([](const CLI::App*) { return true; });
    const bool known = std::any_of(commands.begin(), commands.end(),
                                   [&](const CLI::App* c) { return c->get_name() == command; });
    if (command[0] != '-' && !known) {
      throw Error("unknown command '" + command + "' (see --help)");
    }
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const cli::QuietExit& e) {
    return e.status;
  } catch (const CLI::ParseError& e) {
    return report(std::string(e.what()) + " (see moescope-cli --help)", 2);
  } catch (const Cancelled&) {
    return report("interrupted; unfinished runs are kept in the session as incomplete", 130);
  } catch (const Error& e) {
    return report(e.what(), 1);
  } catch (const std::bad_alloc&) {
    return report("out of memory; use fewer --tokens or a larger --scale", 1);
  } catch (const std::exception& e) {
    return report(e.what(), 1);
  }
  // Output that did not reach its destination (a full disk, a closed pipe) is a failure.
  std::cout.flush();
  if (!std::cout || std::fflush(stdout) != 0 || std::ferror(stdout)) {
    return report("could not write the output (disk full or pipe closed?)", 1);
  }
  return 0;
}
