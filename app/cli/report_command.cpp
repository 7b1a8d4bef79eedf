#include "app/cli/report_command.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "app/cli/run_ids.h"
#include "app/cli/session_option.h"
#include "core/base/error.h"

#if MOESCOPE_HAVE_QT
#include <cstdio>

#include <QApplication>
#include <QByteArray>
#include <QString>

#include "app/charts/report_writer.h"
#include "app/viewdata/run_data.h"
#include "core/base/version.h"
#include "core/session/session_store.h"
#endif

namespace moescope::cli {

namespace {

struct ReportArgs {
  std::vector<std::string> runs;      // ids and ranges: "3", "1-19"
  std::optional<std::int64_t> group;  // every run recorded together (a comparison or a sweep)
  std::string session;
  std::string out;
};

#if MOESCOPE_HAVE_QT

// Qt's own chatter (e.g. "XDG_RUNTIME_DIR not set" on servers) would break the CLI's promise of
// one `error:` line on failure and nothing else on stderr; failures that matter reach the user
// as Errors from the report writer, which checks every write.
void quiet_qt_messages(QtMsgType type, const QMessageLogContext&, const QString& message) {
  if (type == QtCriticalMsg || type == QtFatalMsg) {
    std::fprintf(stderr, "qt: %s\n", message.toLocal8Bit().constData());
  }
}

void write_report_file(const ReportArgs& args) {
  const QString out = QString::fromStdString(args.out);
  // Before any work: a mistyped extension should not cost a session read and chart rendering.
  charts::report_format(out);
  SessionStore store(session_path(args.session), SessionStore::Access::kRead);
  const RunIds given = parse_run_ids(args.runs);
  const std::vector<StoredRun> stored = store.runs();
  std::set<std::int64_t> exists;
  for (const StoredRun& run : stored)
    exists.insert(run.id);
  // A range may span deleted runs: they are skipped; an id given alone must be there.
  std::vector<std::int64_t> ids;
  for (std::size_t i = 0; i < given.ids.size(); ++i) {
    if (!given.from_range[i] || exists.contains(given.ids[i])) ids.push_back(given.ids[i]);
  }
  if (!given.ids.empty() && ids.empty()) {
    throw Error(store.path() + " holds no run in the ranges given (see `moescope-cli sessions`)");
  }
  if (args.group) {
    bool found = false;
    for (const StoredRun& run : stored) {
      if (run.group != args.group) continue;
      found = true;
      if (std::find(ids.begin(), ids.end(), run.id) == ids.end()) ids.push_back(run.id);
    }
    if (!found) {
      throw Error(store.path() + " holds no run of group " + std::to_string(*args.group) +
                  " (see `moescope-cli sessions`)");
    }
  }
  if (ids.empty()) throw Error("report: which runs? Give run ids (3, 1-19) or --group G");
  std::vector<viewdata::RunData> runs;
  for (const std::int64_t id : ids)
    runs.push_back(viewdata::load_run_data(store, id));

  // Charts are widgets, which need a QApplication; servers and CI have no display, so render
  // offscreen unless the user chose a platform.
  // A report never shows a window: offscreen always, so a QT_QPA_PLATFORM meant for the
  // desktop (xcb over SSH without a display) cannot make QApplication abort.
  qputenv("QT_QPA_PLATFORM", "offscreen");
  static char name[] = "moescope-cli";
  static char* argv[] = {name, nullptr};
  int argc = 1;
  qInstallMessageHandler(quiet_qt_messages);
  QApplication app(argc, argv);
  charts::ReportOptions options;
  options.tool_version = version();
  charts::write_report(runs, out, options);
}

#else

[[noreturn]] void write_report_file(const ReportArgs&) {
  throw Error(
      "this moescope-cli was built without Qt (MOESCOPE_GUI=OFF), which reports need; "
      "rebuild with -DMOESCOPE_GUI=ON, or export runs with `moescope-cli export` and report "
      "on another machine");
}

#endif

}  // namespace

void add_report_command(CLI::App& app) {
  auto args = std::make_shared<ReportArgs>();
  auto* cmd = app.add_subcommand("report", "Write an HTML, PDF or Markdown report of runs");
  cmd->add_option("runs", args->runs, "run ids and ranges, e.g. 3 7 10-19 (see `sessions`)");
  cmd->add_option("--group", args->group,
                  "every run recorded together with --compare or by a sweep (the group "
                  "`sessions` shows)");
  add_session_option(*cmd, args->session);
  cmd->add_option("--out", args->out, "report file: .html, .pdf or .md (charts beside it)")
      ->required();
  cmd->callback([args] { write_report_file(*args); });
}

}  // namespace moescope::cli
