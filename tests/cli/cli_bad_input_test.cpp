// Bad input, as a user would type it: each gets one line starting with "error:" that names the
// problem, and a non-zero exit status. Nothing crashes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <limits>

#include "core/inputs/safetensors.h"
#include "tests/cli/cli_runner.h"

namespace moescope::test {
namespace {

void expect_error(const std::vector<std::string>& args, const std::string& needle) {
  const CliResult r = run_cli(args);
  std::string joined;
  for (const auto& a : args)
    joined += a + " ";
  EXPECT_NE(r.exit_code, 0) << joined;
  EXPECT_NE(r.exit_code, -1) << joined << ": the process did not exit normally";
  EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << joined << "\n" << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << joined << "\n" << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << joined << "\n" << r.err;
  EXPECT_TRUE(r.out.empty()) << joined << "\n" << r.out;
}

std::vector<std::string> small_run(std::vector<std::string> extra) {
  std::vector<std::string> args = {"run",      "--preset", "olmoe-1b-7b", "--scale", "64",
                                   "--tokens", "32",       "--layers",    "0"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

TEST(CliBadInput, RunOptions) {
  expect_error({"run"}, "--spec FILE or --model DIR");
  expect_error({"run", "--preset", "gpt-9"}, "unknown preset 'gpt-9'");
  expect_error(small_run({"--gamma", "0"}), "gamma must be a finite number > 0");
  expect_error(small_run({"--gamma", "-1"}), "gamma");
  expect_error(small_run({"--gamma", "nan"}), "gamma");
  expect_error(small_run({"--gamma", "abc"}), "--gamma");
  expect_error({"run", "--preset", "olmoe-1b-7b", "--tokens", "0"},
               "tokens must be a positive integer");
  expect_error({"run", "--preset", "olmoe-1b-7b", "--tokens=-5"}, "tokens must be a positive");
  expect_error({"run", "--preset", "olmoe-1b-7b", "--tokens", "1e99"}, "--tokens");
  expect_error(small_run({"--steps", "0"}), "steps");
  expect_error(small_run({"--devices", "65"}), "devices must be between 1 and");
  expect_error(small_run({"--policy", "drip"}), "unknown policy 'drip'");
  expect_error(small_run({"--m", "-1"}), "m must be >= 0");
  expect_error(small_run({"--layers", "16"}), "layer 16");
  expect_error(small_run({"--placement", "0,1"}), "placement lists 2 experts");
  expect_error({"run", "--preset", "olmoe-1b-7b", "--scale", "0"},
               "scale must be a positive integer");
  expect_error(small_run({"--skew", "-1"}), "skew");
  expect_error(small_run({"--backend", "tpu"}), "unknown backend 'tpu'");
  expect_error(small_run({"--timing", "measured"}), "one process per device");
  // Ranks run under an MPI launcher only (tests/cli/cli_ranks_test.cpp runs them under one).
  expect_error(small_run({"--ranks"}),
               "--ranks runs as one process per device under an MPI "
               "launcher: mpirun -np 2");
  expect_error(small_run({"--ranks", "--dry-run"}), "--dry-run needs --devices D");
  expect_error(small_run({"--hostfile", "h"}), "--hostfile goes with --dry-run");
  expect_error(small_run({"--dry-run", "--devices", "2", "--gamma", "0"}), "gamma");
  expect_error(small_run({"--timing", "guessed"}), "unknown timing 'guessed'");
  expect_error(small_run({"--repeats", "0"}), "repeats must be from 1 to 1000");
  expect_error(small_run({"--format", "xml"}), "--format");
  expect_error({"run", "--preset", "mixtral-8x7b", "--tokens", "1000000"}, "of memory");
  expect_error(small_run({"--devices", "0"}), "devices must be between 1 and");
  expect_error(small_run({"--devices", "-1"}), "devices must be between 1 and");
  expect_error(small_run({"--seed", "-1"}), "--seed");
  expect_error(small_run({"--skew", "1e308"}), "skew must be a number from 0 to 1e6");
  std::string all_on_device_zero = "0";
  for (int e = 1; e < 64; ++e)
    all_on_device_zero += ",0";
  expect_error(small_run({"--devices", "100", "--placement", all_on_device_zero}),
               "devices must be between 1 and");
  expect_error({"run", "--preset", "x\ny"}, "unknown preset 'x\\x0ay'");
  expect_error({"frobnicate"}, "unknown command 'frobnicate'");
  expect_error({"spec", "--preset", "olmoe-1b-7b", "--out", "/dev/full"},
               "it is a character device; give the path of a regular file");
  expect_error({}, "a command is required");
}

TEST(CliBadInput, SpecFiles) {
  const std::string path = temp_path(".json");
  expect_error({"run", "--spec", path}, "cannot open model spec");
  { std::ofstream(path) << ""; }
  expect_error({"run", "--spec", path}, "empty");
  { std::ofstream(path) << "{\"layers\": 2"; }
  expect_error({"run", "--spec", path}, "not valid JSON");
  { std::ofstream(path) << R"({"layers":2,"hidden":64,"expert_ffn":32,"experts":4,"top_k":5})"; }
  expect_error({"run", "--spec", path}, "'top_k' (5) must not exceed 'experts' (4)");
  { std::ofstream(path) << R"({"layers":2,"hidden":"64","expert_ffn":32,"experts":4,"top_k":1})"; }
  expect_error({"run", "--spec", path}, "'hidden' must be an integer");
  { std::ofstream(path) << R"({"layers":2,"hidden":0,"expert_ffn":32,"experts":4,"top_k":1})"; }
  expect_error({"run", "--spec", path}, "'hidden' must be a positive integer");
  std::filesystem::remove(path);
}

class CliRouteBadInput : public ::testing::Test {
 protected:
  std::string path_ = temp_path(".safetensors");
  void TearDown() override { std::filesystem::remove(path_); }
  std::vector<std::string> route(std::vector<std::string> extra) {
    std::vector<std::string> args = {"route", "--logits", path_, "--policy",
                                     "drop",  "--format", "json"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  void write(const std::vector<std::int64_t>& shape, std::vector<float> values,
             const std::string& dtype = "F32") {
    write_safetensors(path_, {{"logits", shape, std::move(values), dtype}});
  }
};

TEST_F(CliRouteBadInput, Files) {
  expect_error(route({"--top-k", "1"}), "no such file");
  { std::ofstream(path_) << "abc"; }
  expect_error(route({"--top-k", "1"}), "not a safetensors file");
  { std::ofstream(path_) << R"({"layers": 2, "hidden": 4})"; }
  expect_error(route({"--top-k", "1"}), "not a safetensors file");
  write({64, 8}, std::vector<float>(512, 0.f));
  std::filesystem::resize_file(path_, std::filesystem::file_size(path_) - 100);
  expect_error(route({"--top-k", "1"}), "truncated");
  // A header that says 1 TB of data follows.
  std::ofstream(path_, std::ios::binary)
      << std::string("\x00\x00\x00\x00\x00\x01\x00\x00", 8) << "{}";
  expect_error(route({"--top-k", "1"}), "exceeds");
}

TEST_F(CliRouteBadInput, Tensors) {
  write({2, 3, 4}, std::vector<float>(24, 0.f));
  expect_error(route({"--top-k", "1", "--tensor", "logits"}), "must be 2-D");
  expect_error(route({"--top-k", "1"}), "no 2-D tensor");
  expect_error(route({"--top-k", "1", "--tensor", "other"}), "no tensor named 'other'");
  write_safetensors(path_, {{"a", {2, 4}, std::vector<float>(8, 0.f)},
                            {"b", {2, 4}, std::vector<float>(8, 0.f)}});
  expect_error(route({"--top-k", "1"}), "several 2-D tensors (a, b)");
  write({0, 4}, {});
  expect_error(route({"--top-k", "1"}), "0 tokens");
  write({4, 4}, std::vector<float>(16, 0.f));
  expect_error(route({"--top-k", "5"}), "--top-k must be between 1 and the tensor's 4 experts");
  expect_error(route({"--top-k", "0"}), "--top-k");
  expect_error(route({}), "--top-k");
  expect_error(route({"--top-k", "1", "--gamma", "0"}), "gamma");
  EXPECT_EQ(run_cli(route({"--top-k", "1", "--m", "2147483647"})).exit_code, 0);  // m unused
  expect_error(route({"--top-k", "1", "--seed", "-3"}), "--seed");
  expect_error(route({"--top-k", "1", "--devices", "5"}), "devices");
  expect_error(route({"--top-k", "1", "--priority", "best"}), "unknown drop priority 'best'");
  expect_error(route({"--top-k", "1", "--capacity-scope", "local"}), "capacity scope");
  std::vector<float> nan_logits(16, 0.f);
  nan_logits[9] = std::numeric_limits<float>::quiet_NaN();
  write({4, 4}, nan_logits);
  expect_error(route({"--top-k", "1"}), "token 2, expert 1 are NaN");
  write_safetensors(path_, {{"i", {4, 4}, std::vector<float>(16, 0.f), "F32"}});
  // Rewrite the dtype in place: same size, another type.
  std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  bytes.replace(bytes.find("F32"), 3, "I32");
  f.seekp(0);
  f << bytes;
  f.close();
  expect_error(route({"--top-k", "1"}), "dtype I32");
}

}  // namespace
}  // namespace moescope::test
