// `moescope-cli report` as a user runs it: a session filled by `run --compare` and `sweep`,
// then reports in each format, read back with parsers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <QByteArray>
#include <QImage>
#include <nlohmann/json.hpp>

#include "tests/cli/cli_runner.h"

namespace moescope::test {
namespace {

using nlohmann::json;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void expect_one_error_line(const CliResult& r, const std::string& needle) {
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.exit_code, -1);
  EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

class CliReport : public ::testing::Test {
 protected:
  std::filesystem::path dir_ = temp_path("_report");
  std::string session_ = (dir_ / "s.moescope").string();
  std::vector<std::string> ids_;

  void SetUp() override {
    std::filesystem::create_directories(dir_);
    const std::vector<std::string> model = {"--preset",  "olmoe-1b-7b", "--scale",  "64",
                                            "--tokens",  "64",          "--layers", "0,2",
                                            "--session", session_,      "--format", "json"};
    std::vector<std::string> args = {"run", "--compare"};
    args.insert(args.end(), model.begin(), model.end());
    CliResult r = run_cli(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json run = json::parse(r.out);
    for (const auto& p : run["policies"])
      ids_.push_back(std::to_string(p["run_id"].get<long long>()));
    args = {"sweep", "--policies", "drop,reroute", "--gamma", "0.5,1,2"};
    args.insert(args.end(), model.begin(), model.end());
    r = run_cli(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json sweep = json::parse(r.out);
    for (const auto& p : sweep["points"])
      ids_.push_back(std::to_string(p["run_id"].get<long long>()));
    ASSERT_EQ(ids_.size(), 4u + 7u);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  CliResult report(const std::string& out, std::vector<std::string> ids = {}) {
    if (ids.empty()) ids = ids_;
    std::vector<std::string> args = {"report"};
    args.insert(args.end(), ids.begin(), ids.end());
    args.insert(args.end(), {"--session", session_, "--out", out});
    return run_cli(args);
  }
};

TEST_F(CliReport, HtmlEmbedsEveryChartAsAPng) {
  const std::string out = (dir_ / "report.html").string();
  const CliResult r = report(out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;  // no Qt chatter on a server without a display
  const std::string html = slurp(out);
  // Found by hand: std::regex recurses per character and overflows the stack on a long URI.
  const std::string prefix = "src=\"data:image/png;base64,";
  int images = 0;
  for (auto at = html.find(prefix); at != std::string::npos; at = html.find(prefix, at + 1)) {
    const auto begin = at + prefix.size();
    const auto end = html.find('"', begin);
    ASSERT_NE(end, std::string::npos);
    QImage image;
    ASSERT_TRUE(image.loadFromData(
        QByteArray::fromBase64(QByteArray::fromStdString(html.substr(begin, end - begin)),
                               QByteArray::AbortOnBase64DecodingErrors),
        "PNG"));
    EXPECT_GE(image.width(), 1200);
    ++images;
  }
  // trade-off, metrics (two), layers, speedup and drop rate against gamma; the heatmap and the
  // timeline of the baseline and of the best policy
  EXPECT_EQ(images, 10);
  EXPECT_NE(html.find("Speedup vs baseline (×)"), std::string::npos);
  EXPECT_NE(html.find(session_), std::string::npos);
  EXPECT_NE(html.find("olmoe-1b-7b/64 reroute(gamma=2) (#" + ids_.back() + ")"), std::string::npos);
}

TEST_F(CliReport, PdfHoldsRunNamesAndMetrics) {
  const std::string out = (dir_ / "report.pdf").string();
  const CliResult r = report(out, {ids_[0], ids_[1]});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(slurp(out).rfind("%PDF", 0), 0u);
  if (std::system("command -v pdftotext >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "pdftotext (poppler-utils) is not installed";
  }
  const std::string text_path = (dir_ / "report.txt").string();
  ASSERT_EQ(std::system(("pdftotext '" + out + "' '" + text_path + "'").c_str()), 0);
  std::string text = slurp(text_path);
  std::erase_if(text, [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
  EXPECT_NE(text.find("olmoe-1b-7b/64none(#" + ids_[0] + ")"), std::string::npos) << text;
  EXPECT_NE(text.find("olmoe-1b-7b/64drop(gamma=1)(#" + ids_[1] + ")"), std::string::npos);
  EXPECT_NE(text.find("Droprate(%)"), std::string::npos);
  EXPECT_NE(text.find("Layerlatency(µs)"), std::string::npos);
}

TEST_F(CliReport, MarkdownWritesItsChartsBesideIt) {
  const std::string out = (dir_ / "notes.md").string();
  const CliResult r = report(out, {ids_[0], ids_[1], ids_[2]});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string md = slurp(out);
  const std::regex link(R"(!\[[^\]]*\]\(([^)]+\.png)\))");
  int images = 0;
  for (auto it = std::sregex_iterator(md.begin(), md.end(), link); it != std::sregex_iterator();
       ++it, ++images) {
    const std::string file = (dir_ / (*it)[1].str()).string();
    EXPECT_EQ((*it)[1].str().rfind("notes_files/", 0), 0u);
    EXPECT_FALSE(QImage(QString::fromStdString(file)).isNull()) << file;
  }
  EXPECT_EQ(images, 8);  // trade-off, metrics (two), layers; heatmap and timeline of two runs
  // Three runs: the metrics table has a column per run and a row per headline metric.
  EXPECT_NE(md.find("| Metric | olmoe-1b-7b/64 none (#" + ids_[0] + ") |"), std::string::npos);
  EXPECT_NE(md.find("| Drop rate (%) |"), std::string::npos);
}

// Ids and ranges, or a whole comparison or sweep by its group; the report opens with its answer.
TEST_F(CliReport, RangesAndGroupsChooseTheRunsAndTheSummaryComesFirst) {
  const std::string out = (dir_ / "range.md").string();
  // The comparison's runs by one range: its four runs have consecutive ids.
  const CliResult r = report(out, {ids_[0] + "-" + ids_[3]});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string md = slurp(out);
  for (int i = 0; i < 4; ++i)
    EXPECT_NE(md.find("(#" + ids_[static_cast<std::size_t>(i)] + ")"), std::string::npos) << i;
  EXPECT_EQ(md.find("(#" + ids_[4] + ")"), std::string::npos);
  // The summary paragraph comes before the first table.
  const auto summary = md.find("Of the 3 policy runs");
  ASSERT_NE(summary, std::string::npos) << md;
  EXPECT_LT(summary, md.find("## Runs"));

  // The sweep's group, as `sessions --json` lists it.
  const json listed = json::parse(run_cli({"sessions", session_, "--json"}).out);
  const json sweep_run = *std::find_if(listed.begin(), listed.end(), [&](const json& run) {
    return std::to_string(run["id"].get<long long>()) == ids_[4];
  });
  ASSERT_TRUE(sweep_run["group"].is_number_integer()) << sweep_run.dump();
  const std::string group = std::to_string(sweep_run["group"].get<long long>());
  std::vector<std::string> args = {"report", "--group", group, "--session", session_, "--out", out};
  const CliResult by_group = run_cli(args);
  ASSERT_EQ(by_group.exit_code, 0) << by_group.err;
  md = slurp(out);
  EXPECT_EQ(md.find("(#" + ids_[0] + ")"), std::string::npos);  // not the comparison's
  for (std::size_t i = 4; i < ids_.size(); ++i)
    EXPECT_NE(md.find("(#" + ids_[i] + ")"), std::string::npos) << ids_[i];

  expect_one_error_line(report(out, {"5-3"}), "run range '5-3' must be FIRST-LAST");
  expect_one_error_line(report(out, {"x"}), "run 'x' is not a run id");
  expect_one_error_line(run_cli({"report", "--group", "999", "--session", session_, "--out", out}),
                        "holds no run of group 999");
}

TEST_F(CliReport, BadInputIsOneErrorLineAndKeepsTheOldFile) {
  const std::string existing = (dir_ / "old.html").string();
  std::ofstream(existing) << "old report";

  expect_one_error_line(report((dir_ / "report.docx").string()), "use .html, .htm, .pdf or .md");
  expect_one_error_line(report(existing, {ids_[0], "9999"}), "no run 9999");
  EXPECT_EQ(slurp(existing), "old report");
  const CliResult unknown = report(existing, {"9999"});
  EXPECT_NE(unknown.err.find(session_), std::string::npos) << unknown.err;
  expect_one_error_line(report((dir_ / "missing" / "r.pdf").string()), "does not exist");

  // The write itself fails, as on a full disk: no file may grow past 64 KiB under dash (128
  // under bash): room for the session's 32 KiB index, not for the report; SIGXFSZ ignored.
  std::vector<std::string> args = {"report"};
  args.insert(args.end(), ids_.begin(), ids_.end());
  args.insert(args.end(), {"--session", session_, "--out", existing});
  expect_one_error_line(run_cli_with("trap '' XFSZ; ulimit -f 128;", args),
                        "cannot write the file '" + existing + "'");
  EXPECT_EQ(slurp(existing), "old report");
  for (const auto& entry : std::filesystem::directory_iterator(dir_))
    EXPECT_EQ(entry.path().filename().string().find("old.html.part"), std::string::npos);
  expect_one_error_line(run_cli({"report", "--session", session_, "--out", existing}), "runs");
}

TEST_F(CliReport, ADesktopPlatformWithoutADisplayStillRendersOffscreen) {
  // QT_QPA_PLATFORM=xcb over SSH with no DISPLAY made QApplication abort before the report
  // forced the offscreen platform.
  const std::string saved_platform =
      std::getenv("QT_QPA_PLATFORM") ? std::getenv("QT_QPA_PLATFORM") : "";
  const char* display = std::getenv("DISPLAY");
  const std::string saved_display = display != nullptr ? display : "";
  ::setenv("QT_QPA_PLATFORM", "xcb", 1);
  ::unsetenv("DISPLAY");
  const std::string out = (dir_ / "xcb.html").string();
  const CliResult r = report(out, {ids_[0]});
  if (saved_platform.empty()) {
    ::unsetenv("QT_QPA_PLATFORM");
  } else {
    ::setenv("QT_QPA_PLATFORM", saved_platform.c_str(), 1);
  }
  if (display != nullptr) ::setenv("DISPLAY", saved_display.c_str(), 1);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(out));
}

}  // namespace
}  // namespace moescope::test
