#include "core/exec/onednn_matmul.h"

#include <dlfcn.h>

#include <unordered_map>

#include "core/base/error.h"

namespace moescope {

namespace {

using dnnl::memory;

memory::data_type data_type(CpuPrecision p) {
  return p == CpuPrecision::kFp32 ? memory::data_type::f32 : memory::data_type::bf16;
}

// Primitives of shapes no longer seen are dropped past this many, so a long run with many row
// counts keeps a bounded cache (oneDNN keeps its own cache of the generated code besides).
constexpr std::size_t kMaxProducts = 4096;

}  // namespace

const dnnl::engine& cpu_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

int onednn_threads() {
  // oneDNN runs on OpenMP's threads; OpenMP's library is loaded with it, so its count is asked
  // for at run time rather than by compiling this file with OpenMP.
  using Fn = int (*)();
  static const auto get = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, "omp_get_max_threads"));
  return get != nullptr ? get() : 1;
}

std::string onednn_isa() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41:
      return "sse41";
    case dnnl::cpu_isa::avx:
      return "avx";
    case dnnl::cpu_isa::avx2:
      return "avx2";
    case dnnl::cpu_isa::avx2_vnni:
      return "avx2_vnni";
    case dnnl::cpu_isa::avx512_core:
      return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni:
      return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16:
      return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx:
      return "avx512_core_amx";
    default:
      return "generic";
  }
}

std::string onednn_version() {
  const dnnl_version_t* v = dnnl_version();
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
}

OnednnMatmul::OnednnMatmul() : stream_(cpu_engine()) {}

dnnl::matmul& OnednnMatmul::product(const Key& key, memory::desc& x_md, memory::desc& w_md,
                                    memory::desc& out_md, memory::desc& other_md) {
  const auto [precision, m, n, k, x_ld, out_ld, out_bf16, after] = key;
  const auto type = data_type(static_cast<CpuPrecision>(precision));
  x_md = memory::desc({m, k}, type, {x_ld, 1});
  // w is [n, k] row-major: the [k, n] matrix the product wants, with strides (1, k).
  w_md = memory::desc({k, n}, type, {1, k});
  out_md = memory::desc({m, n}, out_bf16 ? memory::data_type::bf16 : memory::data_type::f32,
                        {out_ld, 1});
  other_md = memory::desc({m, n}, memory::data_type::f32, {n, 1});
  if (auto it = products_.find(key); it != products_.end()) return it->second;

  dnnl::post_ops ops;
  if (static_cast<AfterProduct>(after) == AfterProduct::kSilu) {
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_swish, 1.0f, 0.0f);  // x * sigmoid(1 * x)
  } else if (static_cast<AfterProduct>(after) == AfterProduct::kMultiplyBy) {
    ops.append_binary(dnnl::algorithm::binary_mul, other_md);
  }
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  try {
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(x_md, w_md, out_md), attr,
                                          cpu_engine());
    if (products_.size() >= kMaxProducts) products_.clear();
    return products_.emplace(key, dnnl::matmul(pd)).first->second;
  } catch (const dnnl::error& e) {
    throw Error("oneDNN has no " + precision_name(static_cast<CpuPrecision>(precision)) +
                " matrix product for this CPU (" + onednn_isa() + ", " + std::to_string(m) + "x" +
                std::to_string(k) + " by " + std::to_string(k) + "x" + std::to_string(n) +
                "): " + e.what());
  }
}

void OnednnMatmul::multiply(CpuPrecision precision, std::int64_t m, std::int64_t n, std::int64_t k,
                            const void* x, std::int64_t x_ld, const void* w, void* out,
                            std::int64_t out_ld, bool out_bf16, AfterProduct after,
                            const float* other) {
  if (m <= 0) return;
  const Key key{static_cast<int>(precision), m, n, k, x_ld, out_ld, out_bf16,
                static_cast<int>(after)};
  memory::desc x_md, w_md, out_md, other_md;
  dnnl::matmul& p = product(key, x_md, w_md, out_md, other_md);
  const auto& engine = cpu_engine();
  // oneDNN takes non-const handles; it only reads sources.
  memory x_mem(x_md, engine, const_cast<void*>(x));
  memory w_mem(w_md, engine, const_cast<void*>(w));
  memory out_mem(out_md, engine, out);
  std::unordered_map<int, memory> args = {
      {DNNL_ARG_SRC, x_mem}, {DNNL_ARG_WEIGHTS, w_mem}, {DNNL_ARG_DST, out_mem}};
  if (after == AfterProduct::kMultiplyBy) {
    args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1,
                 memory(other_md, engine, const_cast<float*>(other)));
  }
  p.execute(stream_, args);
  stream_.wait();
}

std::string OnednnMatmul::kernels(CpuPrecision precision) {
  const auto type = data_type(precision);
  try {
    const dnnl::matmul::primitive_desc pd(
        dnnl::matmul::desc(memory::desc({64, 256}, type, memory::format_tag::ab),
                           memory::desc({256, 256}, type, memory::format_tag::ba),
                           memory::desc({64, 256}, memory::data_type::f32, memory::format_tag::ab)),
        cpu_engine());
    return pd.impl_info_str();
  } catch (const dnnl::error&) {
    return "none";
  }
}

}  // namespace moescope
