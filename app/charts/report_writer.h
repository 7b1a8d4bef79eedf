// Reports of selected runs, for design docs and reviews: the runs' setup, the headline metrics
// with units, per-layer statistics, the comparison charts and, when the runs hold a gamma
// sweep, the paper's speedup and drop-rate figures. One content, three formats:
//   .html/.htm  one self-contained file, charts embedded as PNG data URIs;
//   .pdf        A4 pages, charts as images;
//   .md         tables as Markdown, charts as PNG files in `<name>_files/` beside it.
// Charts render offscreen, so writing a report needs a QApplication but no display.
#pragma once

#include <string>
#include <vector>

#include <QString>

#include "app/viewdata/run_data.h"

namespace moescope::charts {

enum class ReportFormat { kHtml, kPdf, kMarkdown };

// From the extension, any case; throws moescope::Error naming `path` and the accepted ones.
ReportFormat report_format(const QString& path);

struct ReportOptions {
  std::string title = "MoEScope report";
  std::string tool_version;  // the MoEScope writing the report
  std::string generated_at;  // ISO 8601 UTC; empty: now
};

// Throws moescope::Error naming `path` when `runs` is empty, the extension is unknown, or the
// file cannot be written; the file is written atomically, so a failure leaves an existing one
// as it was.
void write_report(const std::vector<viewdata::RunData>& runs, const QString& path,
                  const ReportOptions& options = {});

}  // namespace moescope::charts
