// The defects an outside fuzzing and fault-injection campaign found (issue 12), each tried the way
// it was found: the real CLI, real files, several processes at once, another user, a full disk.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/inputs/safetensors.h"
#include "core/session/session_store.h"
#include "core/session/sqlite_db.h"
#include "tests/cli/cli_runner.h"

namespace moescope::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// Files a failed write may have left beside `path` ("PATH.part...").
std::vector<std::string> leftovers(const std::string& path) {
  std::vector<std::string> out;
  const fs::path p(path);
  for (const auto& entry : fs::directory_iterator(p.parent_path())) {
    const std::string name = entry.path().filename().string();
    if (name != p.filename().string() && name.rfind(p.filename().string(), 0) == 0)
      out.push_back(name);
  }
  return out;
}

const std::vector<std::string> kSmallRun = {
    "run",      "--preset", "olmoe-1b-7b", "--scale", "64",       "--tokens", "16",
    "--layers", "0",        "--repeats",   "1",       "--policy", "drop"};

std::vector<std::string> small_run(const std::string& session, bool compare = false) {
  std::vector<std::string> args = kSmallRun;
  if (compare) args.push_back("--compare");
  args.insert(args.end(), {"--session", session});
  return args;
}

class Hardening : public ::testing::Test {
 protected:
  fs::path dir_ = fs::path(temp_path(".dir"));
  std::string session_ = (dir_ / "s.moescope").string();

  void SetUp() override { fs::create_directories(dir_); }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(dir_, ec);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  void make_session() {
    const CliResult r = run_cli(small_run(session_));
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  // What only a corrupt or crafted file holds: SQL straight into the session.
  void tamper(const std::string& sql) {
    SqliteDb db(session_, SqliteDb::Mode::kReadWrite);
    db.exec(sql);
  }
};

// Defects 1 and 8: several processes writing one session at once, new or old, all succeed and
// keep their own comparison group.
void writers_all_succeed(const std::string& session, int writers, std::size_t runs_before) {
  std::vector<int> pids;
  std::vector<std::string> errs;
  for (int i = 0; i < writers; ++i) {
    errs.push_back(session + ".err" + std::to_string(i));
    pids.push_back(start_cli(small_run(session, /*compare=*/true), errs.back()));
  }
  for (int i = 0; i < writers; ++i) {
    EXPECT_EQ(wait_cli(pids[static_cast<std::size_t>(i)]), 0)
        << "writer " << i << ": " << read_file(errs[static_cast<std::size_t>(i)]);
    fs::remove(errs[static_cast<std::size_t>(i)]);
  }
  SessionStore store(session, SessionStore::Access::kRead);
  const auto runs = store.runs();
  // A compare stores the baseline and three policies.
  ASSERT_EQ(runs.size(), runs_before + 4 * static_cast<std::size_t>(writers));
  std::map<std::int64_t, int> group_sizes;
  for (std::size_t i = runs_before; i < runs.size(); ++i) {
    EXPECT_EQ(runs[i].status, "complete");
    ASSERT_TRUE(runs[i].group.has_value());
    ++group_sizes[*runs[i].group];
  }
  EXPECT_EQ(group_sizes.size(), static_cast<std::size_t>(writers)) << "two writers shared a group";
  for (const auto& [group, size] : group_sizes)
    EXPECT_EQ(size, 4) << "group " << group;
}

TEST_F(Hardening, WritersCreatingANewSessionAtOnceAllSucceed) {
  for (int round = 0; round < 6; ++round) {
    const std::string session = path("new" + std::to_string(round) + ".moescope");
    writers_all_succeed(session, 4, 0);
  }
  // And the same writers on a session that exists, while another process reads it.
  const std::string session = path("new0.moescope");
  const std::string reader_err = session + ".reader";
  const int reader = start_cli({"show", "1", "--json", "--session", session}, reader_err);
  writers_all_succeed(session, 4, 16);
  EXPECT_EQ(wait_cli(reader), 0) << read_file(reader_err);
}

TEST_F(Hardening, WritersUpgradingAnOldSessionAtOnceAllSucceedWhileOneReads) {
  for (int round = 0; round < 3; ++round) {
    const std::string session = path("old" + std::to_string(round) + ".moescope");
    fs::copy_file(std::string(MOESCOPE_TEST_DATA) + "/sessions/schema2.moescope", session);
    // Counted without SessionStore, which would upgrade the file before the writers race to.
    const auto before = static_cast<std::size_t>(
        SqliteDb(session, SqliteDb::Mode::kReadOnly).query_int("SELECT count(*) FROM runs"));
    // Readers that start with the writers (and may be the ones that upgrade the file).
    std::vector<int> readers;
    for (int i = 0; i < 2; ++i) {
      readers.push_back(start_cli({"sessions", "--json", "--session", session},
                                  session + ".reader" + std::to_string(i)));
    }
    writers_all_succeed(session, 4, before);
    for (std::size_t i = 0; i < readers.size(); ++i) {
      const std::string err = session + ".reader" + std::to_string(i);
      EXPECT_EQ(wait_cli(readers[i]), 0) << read_file(err);
    }
    // After the writes, every reader sees every run.
    for (int i = 0; i < 2; ++i) {
      const CliResult r = run_cli({"sessions", "--json", "--session", session});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      EXPECT_EQ(json::parse(r.out).size(), before + 16);
    }
  }
}

// Defect 2: the export never replaces what is not a regular file.
TEST_F(Hardening, ExportRefusesAFifoAndAFolderAndWritesThroughALink) {
  make_session();
  const std::string fifo = path("pipe");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0644), 0);
  CliResult r = run_cli({"export", "2", "--format", "csv", "--out", fifo, "--session", session_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is a FIFO"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(fifo), std::string::npos) << r.err;
  EXPECT_TRUE(fs::is_fifo(fifo)) << "the FIFO was replaced";
  EXPECT_TRUE(leftovers(fifo).empty());

  r = run_cli({"export", "2", "--format", "csv", "--out", dir_.string(), "--session", session_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is a folder"), std::string::npos) << r.err;

  // A link is written through: the link stays, the file it leads to gets the export.
  const std::string target = path("real.json");
  write_file(target, "old");
  const std::string link = path("link.json");
  fs::create_symlink("real.json", link);
  r = run_cli({"export", "2", "--format", "json", "--out", link, "--session", session_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(json::parse(read_file(target))["id"], 2);
  // A link to a FIFO is refused like the FIFO.
  const std::string fifo_link = path("fifo-link");
  fs::create_symlink(fifo, fifo_link);
  r = run_cli({"export", "2", "--format", "csv", "--out", fifo_link, "--session", session_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is a FIFO"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::is_symlink(fifo_link));
  EXPECT_TRUE(fs::is_fifo(fifo));
}

// Defect 9 (and the export): a full disk leaves the old file as it was and nothing beside it.
TEST_F(Hardening, AFullDiskKeepsTheOldFile) {
  make_session();
  const std::string spec = path("spec.json");
  write_file(spec, "old spec");
  // No file may grow past 0 bytes; SIGXFSZ ignored, so the write fails as on a full disk.
  CliResult r = run_cli_with("trap '' XFSZ; ulimit -f 0;",
                             {"spec", "--preset", "mixtral-8x7b", "--out", spec});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(read_file(spec), "old spec");
  EXPECT_TRUE(leftovers(spec).empty());

  // An export larger than the limit, which leaves room for the session's shared memory file.
  r = run_cli({"run", "--preset", "olmoe-1b-7b", "--scale", "64", "--tokens", "64", "--repeats",
               "1", "--session", path("big.moescope")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string out = path("trace.json");
  write_file(out, "old export");
  r = run_cli_with(
      // 64 KiB under dash (512-byte blocks), 128 KiB under bash: room for the session's 32 KiB
      // shared-memory index either way, not for the export.
      "trap '' XFSZ; ulimit -f 128;",
      {"export", "1", "--format", "chrome-trace", "--out", out, "--session", path("big.moescope")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(out), std::string::npos) << r.err;
  EXPECT_EQ(read_file(out), "old export");
  EXPECT_TRUE(leftovers(out).empty());
  // Without the limit the same export is whole (and larger than the limit).
  r = run_cli(
      {"export", "1", "--format", "chrome-trace", "--out", out, "--session", path("big.moescope")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GT(fs::file_size(out), 128u * 1024u);
}

// Defect 3: names that are not UTF-8 are refused; files that hold them still export.
TEST_F(Hardening, NamesThatAreNotUtf8) {
  make_session();
  const std::string bad = "bad\x89name";
  CliResult r = run_cli({"rename", "2", bad, "--session", session_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not valid UTF-8"), std::string::npos) << r.err;
  EXPECT_NE(SessionStore(session_, SessionStore::Access::kRead).run(2).name, bad);

  // A session written by something else that holds such a name.
  tamper("UPDATE runs SET name = CAST(X'62616489' AS TEXT) WHERE id = 2");
  r = run_cli({"sessions", "--json", "--session", session_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)[1]["name"], "bad\xEF\xBF\xBD");  // U+FFFD for the bad byte
  for (const char* format : {"json", "chrome-trace", "csv"}) {
    const std::string out = path(std::string("export.") + format);
    r = run_cli({"export", "2", "--format", format, "--out", out, "--session", session_});
    EXPECT_EQ(r.exit_code, 0) << format << ": " << r.err;
  }
  r = run_cli({"show", "2", "--json", "--session", session_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["name"], "bad\xEF\xBF\xBD");
}

TEST_F(Hardening, ALogitsPathThatIsNotUtf8IsRefusedBeforeAnythingIsStored) {
  make_session();
  const std::string logits = path("logits\x89.safetensors");
  std::vector<float> values(16 * 64, 0.5f);
  write_safetensors(logits, {{"model.layers.0.mlp.gate", {16, 64}, values, "F32"}});
  std::vector<std::string> args = {"run", "--preset",  "olmoe-1b-7b", "--scale",
                                   "64",  "--logits",  logits,        "--layers",
                                   "0",   "--session", session_};
  const CliResult r = run_cli(args);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not valid UTF-8"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("logits"), std::string::npos) << r.err;
  EXPECT_EQ(SessionStore(session_, SessionStore::Access::kRead).runs().size(), 2u);
}

// Defect 4: times no writer produces are refused as corrupt, naming the run (UBSan saw signed
// overflow here).
TEST_F(Hardening, ExtremeTimesAreACorruptSessionNotAnOverflow) {
  make_session();
  tamper(
      "UPDATE timeline_spans SET start_ns = -9223372036854775807, end_ns = "
      "9223372036854775807 WHERE id = (SELECT min(id) FROM timeline_spans)");
  const std::string trace = path("trace.json");
  CliResult r =
      run_cli({"export", "1", "--format", "chrome-trace", "--out", trace, "--session", session_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("run 1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("corrupt"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(trace));
  tamper("INSERT INTO strings (value) VALUES ('k')");
  tamper(
      "INSERT INTO gpu_kernels VALUES (2, 0, 0, 0, 0, 0, 3, -9223372036854775807, "
      "9223372036854775807, (SELECT id FROM strings WHERE value = 'k'))");
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"show", "2", "--kernels", "--session", session_},
           {"show", "2", "--json", "--session", session_},
           {"export", "2", "--format", "chrome-trace", "--out", trace, "--session", session_}}) {
    r = run_cli(args);
    EXPECT_EQ(r.exit_code, 1) << args[2];
    EXPECT_NE(r.err.find("run 2"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("corrupt"), std::string::npos) << r.err;
  }
}

// Defect 5: a number JSON cannot hold names the file and the field.
TEST_F(Hardening, AnOverflowingNumberNamesTheFileAndTheField) {
  const std::string spec = path("spec.json");
  CliResult r = run_cli({"spec", "--preset", "olmoe-1b-7b", "--out", spec});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string text = read_file(spec);
  const auto at = text.find("\"hidden\": ");
  ASSERT_NE(at, std::string::npos) << text;
  const auto end = text.find_first_of(",\n}", at);
  text.replace(at, end - at, "\"hidden\": 1e999");
  write_file(spec, text);
  r = run_cli({"run", "--spec", spec, "--tokens", "16", "--session", session_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(spec), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("'hidden'"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("json.exception"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(session_));

  // The same in a safetensors header.
  const std::string logits = path("logits.safetensors");
  const std::string header = R"({"router":{"dtype":"F32","shape":[1,2],"data_offsets":[0,1e999]}})";
  std::string file(8, '\0');
  for (int i = 0; i < 8; ++i)
    file[static_cast<std::size_t>(i)] = static_cast<char>((header.size() >> (8 * i)) & 0xFF);
  write_file(logits, file + header + std::string(8, '\0'));
  r = run_cli(
      {"route", "--logits", logits, "--tensor", "router", "--top-k", "1", "--policy", "none"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(logits), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("data_offsets"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("json.exception"), std::string::npos) << r.err;
}

// Defect 7: a session can be read wherever the file can be read. Root reads and writes
// anywhere, so as root the commands run as nobody, with the CLI copied where nobody can run it.
class ReadOnlyFolder : public Hardening {
 protected:
  std::string prefix_;
  std::string program_ = MOESCOPE_CLI_PATH;
  fs::path bin_;

  void SetUp() override {
    Hardening::SetUp();
    if (geteuid() != 0) return;
    if (std::system("runuser -u nobody -- true >/dev/null 2>&1") != 0)
      GTEST_SKIP() << "running as root, and runuser cannot switch to nobody here";
    bin_ = fs::path(temp_path(".bin"));
    fs::create_directories(bin_);
    fs::copy_file(MOESCOPE_CLI_PATH, bin_ / "moescope-cli", fs::copy_options::overwrite_existing);
    fs::permissions(bin_, fs::perms::all & ~fs::perms::group_write & ~fs::perms::others_write);
    program_ = (bin_ / "moescope-cli").string();
    prefix_ = "runuser -u nobody --";
  }
  void TearDown() override {
    if (!bin_.empty()) fs::remove_all(bin_);
    Hardening::TearDown();
  }
  CliResult as_user(const std::vector<std::string>& args) {
    return run_cli_with(prefix_, args, program_);
  }
  // The user's own session (writable by them) in a folder they cannot write.
  void own_and_lock(const std::string& session) {
    if (!prefix_.empty() && chown(session.c_str(), 65534, 65534) != 0)
      GTEST_SKIP() << "cannot give the session to nobody here";
    fs::permissions(dir_, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                              fs::perms::group_exec | fs::perms::others_read |
                              fs::perms::others_exec);
  }
};

TEST_F(ReadOnlyFolder, ASessionThereCanBeReadButNotWritten) {
  // A name SQLite's URIs would misread unless it is encoded.
  session_ = path("s ?#%.moescope");
  make_session();
  own_and_lock(session_);
  CliResult r = as_user({"sessions", "--json", "--session", session_});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out.empty() ? "[]" : r.out).size(), 2u);
  r = as_user({"show", "2", "--session", session_});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = as_user({"show", "2", "--json", "--session", session_});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // Writing says why it cannot, and the session stays as it was.
  r = as_user(small_run(session_));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is not writable"), std::string::npos) << r.err;
  EXPECT_EQ(SessionStore(session_, SessionStore::Access::kRead).runs().size(), 2u);
}

TEST_F(ReadOnlyFolder, WritesStillInTheJournalAreNeverShownStale) {
  make_session();
  // A writer at work: its rename sits in the WAL, not yet in the session file.
  SqliteDb writer(session_, SqliteDb::Mode::kReadWrite);
  writer.exec("UPDATE runs SET name = 'fresh' WHERE id = 2");
  ASSERT_GT(fs::file_size(session_ + "-wal"), 0u);
  // The same files as a killed writer leaves them somewhere else: the WAL without its index.
  const fs::path copy = dir_ / "copy";
  fs::create_directories(copy);
  const std::string copied = (copy / "s.moescope").string();
  fs::copy_file(session_, copied);
  fs::copy_file(session_ + "-wal", copied + "-wal");
  fs::permissions(copy, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                            fs::perms::group_exec | fs::perms::others_read |
                            fs::perms::others_exec);
  own_and_lock(session_);
  for (const std::string& session : {session_, copied}) {
    const CliResult r = as_user({"sessions", "--json", "--session", session});
    if (r.exit_code == 0) {
      EXPECT_EQ(json::parse(r.out)[1]["name"], "fresh") << session;  // read through the WAL
    } else {
      EXPECT_NE(r.err.find("-wal' holds writes not yet in the session"), std::string::npos)
          << r.err;
    }
  }
  // Without its index the WAL cannot be read from here: refused, not shown without it.
  EXPECT_NE(as_user({"sessions", "--session", copied}).exit_code, 0);
}

// What is no file's name, and the session itself, are not export targets.
TEST_F(Hardening, ExportRefusesStdoutAndTheSessionItself) {
  make_session();
  CliResult r =
      run_cli({"export", "2", "--format", "csv", "--out", "/dev/stdout", "--session", session_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("open file descriptor"), std::string::npos) << r.err;
  const auto size = fs::file_size(session_);
  r = run_cli({"export", "2", "--format", "csv", "--out", session_, "--session", session_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("it is the session being exported"), std::string::npos) << r.err;
  EXPECT_EQ(fs::file_size(session_), size);
  EXPECT_EQ(SessionStore(session_, SessionStore::Access::kRead).runs().size(), 2u);
}

}  // namespace
}  // namespace moescope::test
