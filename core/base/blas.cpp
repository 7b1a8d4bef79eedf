#include "core/base/blas.h"

#include <cblas.h>
#include <dlfcn.h>
#include <strings.h>

#include <cstdlib>
#include <mutex>
#include <optional>

#include "core/base/cpu_features.h"
#include "core/base/error.h"

namespace moescope::blas {

namespace {

// Only these few entry points are used; they are looked up once the library has loaded.
struct OpenBlas {
  decltype(&cblas_sgemm) sgemm = nullptr;
  decltype(&openblas_get_num_threads) get_num_threads = nullptr;
  decltype(&openblas_get_corename) get_corename = nullptr;
  decltype(&openblas_get_config) get_config = nullptr;
  decltype(&openblas_set_num_threads) set_num_threads = nullptr;
};

// Where to look: the soname through the loader's path, then the folder the build found it in.
constexpr const char* kSoname = "libopenblas.so.0";

std::optional<std::string> environment(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

void restore_environment(const char* name, const std::optional<std::string>& value) {
  if (value) {
    setenv(name, value->c_str(), 1);
  } else {
    unsetenv(name);
  }
}

template <typename Fn>
Fn symbol(void* library, const char* name, const std::string& path) {
  void* address = dlsym(library, name);
  if (address == nullptr) {
    throw Error("the BLAS library " + path + " has no " + name + ": MoEScope needs OpenBLAS");
  }
  return reinterpret_cast<Fn>(address);
}

struct Loaded {
  OpenBlas api;
  Kernels kernels;
};

Loaded load() {
  const CpuFeatures features = detect_cpu_features();
  const auto forced = environment("MOESCOPE_BLAS_KERNELS");
  std::string wanted;
  std::string reason;
  if (forced && !forced->empty() && *forced != "auto") {
    wanted = *forced;
    reason = "set by MOESCOPE_BLAS_KERNELS";
  } else {
    wanted = openblas_kernels_for(features);
    reason = wanted.empty() ? "OpenBLAS's own choice: this CPU has no AVX"
                            : "chosen from the CPU's features";
  }

  std::string path = kSoname;
  // Already in the process (loaded by another library): its kernels were fixed when it loaded.
  const bool loaded_before = dlopen(kSoname, RTLD_NOW | RTLD_NOLOAD) != nullptr;
  const auto user_choice = environment("OPENBLAS_CORETYPE");
  // OpenBLAS reads OPENBLAS_CORETYPE once, while it loads; the user's own value comes back after.
  if (!wanted.empty()) setenv("OPENBLAS_CORETYPE", wanted.c_str(), 1);
  void* library = dlopen(kSoname, RTLD_NOW | RTLD_LOCAL);
#ifdef MOESCOPE_OPENBLAS_DIR
  if (library == nullptr) {
    path = std::string(MOESCOPE_OPENBLAS_DIR) + "/" + kSoname;
    library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  }
#endif
  restore_environment("OPENBLAS_CORETYPE", user_choice);
  if (library == nullptr) {
    const char* why = dlerror();
    throw Error("cannot load OpenBLAS (" + std::string(kSoname) +
                "): " + (why != nullptr ? why : "not found") +
                "; install it (Debian: apt-get install libopenblas0)");
  }

  Loaded out;
  out.api.sgemm = symbol<decltype(&cblas_sgemm)>(library, "cblas_sgemm", path);
  out.api.get_num_threads =
      symbol<decltype(&openblas_get_num_threads)>(library, "openblas_get_num_threads", path);
  out.api.get_corename =
      symbol<decltype(&openblas_get_corename)>(library, "openblas_get_corename", path);
  out.api.get_config = symbol<decltype(&openblas_get_config)>(library, "openblas_get_config", path);
  out.api.set_num_threads =
      symbol<decltype(&openblas_set_num_threads)>(library, "openblas_set_num_threads", path);

  out.kernels.name = out.api.get_corename();
  out.kernels.library = out.api.get_config();
  out.kernels.threads = out.api.get_num_threads();
  if (loaded_before && !wanted.empty() &&
      strcasecmp(out.kernels.name.c_str(), wanted.c_str()) != 0) {
    reason = "OpenBLAS was loaded by another library before MoEScope could choose " + wanted;
  } else if (!wanted.empty() && strcasecmp(out.kernels.name.c_str(), wanted.c_str()) != 0) {
    // An OpenBLAS built for one CPU (no DYNAMIC_ARCH) or one that does not know the name.
    reason = "OpenBLAS did not take " + wanted + " (" + reason + ")";
  }
  out.kernels.reason = reason;
  return out;
}

Loaded& loaded() {
  static Loaded instance = load();
  return instance;
}

}  // namespace

const Kernels& kernels() {
  return loaded().kernels;
}

std::string kernels_brief() {
  const Kernels& k = kernels();
  return k.name + " kernels, " + std::to_string(k.threads) + " threads";
}

void multiply_transposed(int m, int n, int k, const float* a, int lda, const float* b, int ldb,
                         float beta, float* c, int ldc) {
  loaded().api.sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a, lda, b, ldb, beta,
                     c, ldc);
}

void multiply_transposed_on_this_thread(int m, int n, int k, const float* a, int lda,
                                        const float* b, int ldb, float beta, float* c, int ldc) {
  const OpenBlas& api = loaded().api;
  // OpenBLAS's thread count is global: products that change it take turns.
  static std::mutex turns;
  const std::lock_guard lock(turns);
  api.set_num_threads(1);
  api.sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
  api.set_num_threads(loaded().kernels.threads);
}

int threads() {
  return loaded().kernels.threads;
}

void set_threads(int threads) {
  Loaded& l = loaded();
  l.api.set_num_threads(threads);
  l.kernels.threads = l.api.get_num_threads();
}

}  // namespace moescope::blas
