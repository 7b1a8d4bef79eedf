#include <gtest/gtest.h>

#include <algorithm>

#include "core/base/error.h"
#include "core/exec/backend.h"
#include "core/exec/backend_registry.h"

namespace moescope {
namespace {

std::string error_of(const std::string& name) {
  try {
    make_backend(name);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(BackendRegistry, ListsAutoAndTheCpu) {
  const auto names = backend_names();
  EXPECT_EQ(names.front(), "auto");
  EXPECT_NE(std::find(names.begin(), names.end(), "cpu"), names.end());
  EXPECT_TRUE(is_backend_name("auto"));
  EXPECT_TRUE(is_backend_name("cpu"));
  EXPECT_TRUE(is_backend_name("cpu:whatever"));  // options are the backend's to judge
  EXPECT_FALSE(is_backend_name("tpu"));
  EXPECT_FALSE(is_backend_name(""));
}

TEST(BackendRegistry, AutoSettlesForTheCpuWhenNoGpuBackendStarts) {
  // A GPU backend that cannot start, as on a machine without a GPU.
  register_backend("cuda", [](const std::string&) -> std::unique_ptr<Backend> {
    throw Error("no CUDA GPU found");
  });
  EXPECT_EQ(make_backend("auto")->name(), "cpu");
  EXPECT_EQ(error_of("cuda"), "no CUDA GPU found");
}

TEST(BackendRegistry, ErrorsNameTheBackendAndTheChoices) {
  const std::string unknown = error_of("tpu");
  EXPECT_NE(unknown.find("unknown backend 'tpu'"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("auto"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("cpu"), std::string::npos) << unknown;
  EXPECT_NE(error_of("cpu:fast").find("unknown CPU backend option 'fast'"), std::string::npos)
      << error_of("cpu:fast");
  EXPECT_NE(error_of("auto:x").find("takes no options"), std::string::npos);
}

TEST(BackendRegistry, TheCpuSaysHowItTimes) {
  const auto cpu = make_backend("cpu");
  EXPECT_EQ(cpu->collector(), "cpu-timer");
  EXPECT_EQ(cpu->timing(), profiler::Timing::kComposed);
}

}  // namespace
}  // namespace moescope
