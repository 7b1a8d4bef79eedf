// The helpers every stage uses for text and files: UTF-8 checks, JSON text in and out, and
// files written whole or not at all.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/base/error.h"
#include "core/base/file_output.h"
#include "core/base/utf8.h"
#include "core/model/json_file.h"

namespace moescope {
namespace {

namespace fs = std::filesystem;

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Utf8, AcceptsWellFormedTextAndFindsTheFirstBadByte) {
  EXPECT_FALSE(invalid_utf8_at(""));
  EXPECT_FALSE(invalid_utf8_at("plain ascii"));
  EXPECT_FALSE(invalid_utf8_at("µs ± γ → 専門家 \xF0\x9F\x98\x80"));  // 2, 3 and 4 bytes
  EXPECT_EQ(invalid_utf8_at("bad\x89name"), 3u);                      // a lone continuation
  EXPECT_EQ(invalid_utf8_at("ab\xC3"), 2u);                           // cut short
  EXPECT_EQ(invalid_utf8_at("\xC0\xAF"), 0u);                         // overlong '/'
  EXPECT_EQ(invalid_utf8_at("\xE0\x80\xAF"), 0u);                     // overlong, 3 bytes
  EXPECT_EQ(invalid_utf8_at("x\xED\xA0\x80"), 1u);                    // a surrogate
  EXPECT_EQ(invalid_utf8_at("\xF4\x90\x80\x80"), 0u);                 // above U+10FFFF
  EXPECT_EQ(invalid_utf8_at("\xFF"), 0u);
  EXPECT_EQ(error_of([] { require_utf8("ok\xFF", "the name"); }),
            "the name is not valid UTF-8 (byte 0xFF at offset 2)");
}

TEST(JsonText, ParseErrorsNameTheWhereAndTheField) {
  EXPECT_EQ(parse_json_text(R"({"a": [1, {"b": 2}]})", "x")["a"][1]["b"], 2);
  std::string m = error_of([] { (void)parse_json_text(R"({"a": {"b": 1e999}})", "f.json"); });
  EXPECT_EQ(m, "f.json: not valid JSON at field 'a.b' (number overflow parsing '1e999')");
  m = error_of([] { (void)parse_json_text(R"({"a": {"b": 1}, "c": [1, {"d": nul}]})", "f"); });
  EXPECT_EQ(m.rfind("f: not valid JSON at field 'c.d' (", 0), 0u) << m;
  // Past a field whose value is read, no field is named.
  m = error_of([] { (void)parse_json_text(R"({"a": {"x": 1}, })", "f"); });
  EXPECT_EQ(m.rfind("f: not valid JSON (", 0), 0u) << m;
  m = error_of([] { (void)parse_json_text("[1, 2", "f"); });
  EXPECT_EQ(m.rfind("f: not valid JSON (", 0), 0u) << m;
  EXPECT_EQ(m.find("json.exception"), std::string::npos) << m;
}

TEST(JsonText, WritesBytesThatAreNotUtf8AsReplacementCharacters) {
  const nlohmann::json j = {{"name", "bad\x89name"}};
  EXPECT_EQ(json_text(j), "{\"name\":\"bad\xEF\xBF\xBDname\"}");
  EXPECT_THROW((void)j.dump(), nlohmann::json::exception);  // what it replaces
}

class FileOutput : public ::testing::Test {
 protected:
  fs::path dir_ =
      fs::temp_directory_path() / ("moescope_out_" + std::to_string(getpid()) + "_" +
                                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
  void SetUp() override { fs::create_directories(dir_); }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  static std::string read(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::size_t files() const {
    return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir_), {}));
  }
};

TEST_F(FileOutput, ReplacesAFileKeepingItsPermissions) {
  const std::string p = path("out.txt");
  std::ofstream(p) << "old";
  fs::permissions(p, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  write_file_atomically(p, "new", "the test file");
  EXPECT_EQ(read(p), "new");
  EXPECT_EQ(fs::status(p).permissions(),
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  EXPECT_EQ(files(), 1u);
}

TEST_F(FileOutput, RefusesWhatIsNotARegularFileAndWritesThroughLinks) {
  ASSERT_EQ(mkfifo(path("fifo").c_str(), 0644), 0);
  EXPECT_EQ(error_of([&] { write_file_atomically(path("fifo"), "x", "the test file"); }),
            "cannot write the test file '" + path("fifo") +
                "': it is a FIFO; give the path of a regular file");
  EXPECT_TRUE(fs::is_fifo(path("fifo")));
  EXPECT_NE(error_of([&] {
              write_file_atomically(dir_.string(), "x", "the test file");
            }).find("is a folder"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              write_file_atomically(path("no/such/f"), "x", "the test file");
            }).find("does not exist"),
            std::string::npos);
  EXPECT_NE(error_of([&] { write_file_atomically("", "x", "the test file"); }).find("empty"),
            std::string::npos);
  // A chain of relative links ends at a file that does not exist yet: it is created there.
  fs::create_directories(dir_ / "sub");
  fs::create_symlink("sub/hop", path("link"));
  fs::create_symlink("target.txt", dir_ / "sub" / "hop");
  write_file_atomically(path("link"), "through", "the test file");
  EXPECT_TRUE(fs::is_symlink(path("link")));
  EXPECT_EQ(read((dir_ / "sub" / "target.txt").string()), "through");
  // A loop of links.
  fs::create_symlink("loop2", path("loop1"));
  fs::create_symlink("loop1", path("loop2"));
  EXPECT_NE(error_of([&] {
              write_file_atomically(path("loop1"), "x", "the test file");
            }).find("too many levels of links"),
            std::string::npos);
}

TEST_F(FileOutput, AReadOnlyFileIsNotReplaced) {
  if (geteuid() == 0) GTEST_SKIP() << "root may write any file";
  const std::string p = path("kept.txt");
  std::ofstream(p) << "old";
  fs::permissions(p, fs::perms::owner_read);
  EXPECT_NE(error_of([&] {
              write_file_atomically(p, "new", "the test file");
            }).find("the file is read-only"),
            std::string::npos);
  EXPECT_EQ(read(p), "old");
}

TEST_F(FileOutput, AWriterThatFailsOrThrowsLeavesTheOldFileAndNoTemporary) {
  const std::string p = path("chart.png");
  std::ofstream(p) << "old";
  EXPECT_NE(error_of([&] {
              write_file_atomically(p, "the chart", [](const std::string&) { return false; });
            }).find("cannot write the chart '" + p + "'"),
            std::string::npos);
  EXPECT_THROW(write_file_atomically(p, "the chart",
                                     [](const std::string&) -> bool { throw Error("boom"); }),
               Error);
  // A writer that says it wrote but left the file empty wrote nothing.
  EXPECT_THROW(write_file_atomically(p, "the chart", [](const std::string&) { return true; }),
               Error);
  EXPECT_EQ(read(p), "old");
  EXPECT_EQ(files(), 1u);
  write_file_atomically(p, "the chart", [](const std::string& temp) {
    std::ofstream(temp) << "new";
    return true;
  });
  EXPECT_EQ(read(p), "new");
  EXPECT_EQ(files(), 1u);
}

}  // namespace
}  // namespace moescope
