#include "core/exec/onednn_matmul.h"

#include <dlfcn.h>

#include <algorithm>
#include <unordered_map>
#include <vector>

#include "core/base/error.h"

namespace moescope {

namespace {

using dnnl::memory;

memory::data_type data_type(CpuPrecision p) {
  return p == CpuPrecision::kFp32 ? memory::data_type::f32 : memory::data_type::bf16;
}

}  // namespace

const dnnl::engine& cpu_engine() {
  static const dnnl::engine engine = [] {
    // OnednnMatmul keeps the products it uses; oneDNN's own cache would hold a second set.
    dnnl::set_primitive_cache_capacity(0);
    return dnnl::engine(dnnl::engine::kind::cpu, 0);
  }();
  return engine;
}

int onednn_threads() {
  // oneDNN runs on OpenMP's threads; OpenMP's library is loaded with it, so its count is asked
  // for at run time rather than by compiling this file with OpenMP.
  using Fn = int (*)();
  static const auto get = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, "omp_get_max_threads"));
  return get != nullptr ? get() : 1;
}

void set_onednn_threads(int threads) {
  using Fn = void (*)(int);
  static const auto set = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
  if (set != nullptr) set(threads);
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

void OnednnMatmul::prepare(const ProductShape& shape) {
  prepared(shape);
}

OnednnMatmul::Prepared& OnednnMatmul::prepared(const ProductShape& shape) {
  if (auto it = products_.find(shape); it != products_.end()) {
    it->second.last_use = ++uses_;
    return it->second;
  }
  if (products_.size() >= kMaxProducts) make_room(kMaxProducts / 4);
  const auto type = data_type(shape.precision);
  Prepared p;
  p.x = memory::desc({shape.m, shape.k}, type, {shape.x_ld, 1});
  // w is [n, k] row-major: the [k, n] matrix the product wants, with strides (1, k).
  p.w = memory::desc({shape.k, shape.n}, type, {1, shape.k});
  p.out = memory::desc({shape.m, shape.n},
                       shape.out_bf16 ? memory::data_type::bf16 : memory::data_type::f32,
                       {shape.out_ld, 1});
  p.other = memory::desc({shape.m, shape.n}, memory::data_type::f32, {shape.n, 1});
  dnnl::post_ops ops;
  if (shape.after == AfterProduct::kSilu) {
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_swish, 1.0f, 0.0f);  // x * sigmoid(1 * x)
  } else if (shape.after == AfterProduct::kMultiplyBy) {
    ops.append_binary(dnnl::algorithm::binary_mul, p.other);
  }
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  try {
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(p.x, p.w, p.out), attr, cpu_engine());
    p.product = dnnl::matmul(pd);
  } catch (const dnnl::error& e) {
    throw Error("oneDNN has no " + precision_name(shape.precision) +
                " matrix product for this CPU (" + onednn_isa() + ", " + std::to_string(shape.m) +
                "x" + std::to_string(shape.k) + " by " + std::to_string(shape.k) + "x" +
                std::to_string(shape.n) + "): " + e.what());
  }
  p.last_use = ++uses_;
  return products_.emplace(shape, std::move(p)).first->second;
}

void OnednnMatmul::make_room(std::size_t shapes) {
  shapes = std::min(shapes, kMaxProducts);
  if (products_.size() + shapes <= kMaxProducts) return;
  std::vector<std::uint64_t> uses;
  uses.reserve(products_.size());
  for (const auto& [shape, prepared] : products_)
    uses.push_back(prepared.last_use);
  // Keep the most recently used kMaxProducts - shapes.
  const std::size_t drop = products_.size() + shapes - kMaxProducts;
  std::nth_element(uses.begin(), uses.begin() + static_cast<std::ptrdiff_t>(drop - 1), uses.end());
  const std::uint64_t oldest_kept = uses[drop - 1];
  std::erase_if(products_, [&](const auto& entry) { return entry.second.last_use <= oldest_kept; });
}

void OnednnMatmul::multiply(const ProductShape& shape, const void* x, const void* w, void* out,
                            const float* other) {
  if (shape.m <= 0) return;
  Prepared& d = prepared(shape);
  const auto& engine = cpu_engine();
  // oneDNN takes non-const handles; it only reads sources.
  std::unordered_map<int, memory> args = {
      {DNNL_ARG_SRC, memory(d.x, engine, const_cast<void*>(x))},
      {DNNL_ARG_WEIGHTS, memory(d.w, engine, const_cast<void*>(w))},
      {DNNL_ARG_DST, memory(d.out, engine, out)}};
  if (shape.after == AfterProduct::kMultiplyBy) {
    args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1,
                 memory(d.other, engine, const_cast<float*>(other)));
  }
  d.product.execute(stream_, args);
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
