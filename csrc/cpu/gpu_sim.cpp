#include "cpu/gpu_sim.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <random>
#include <stdexcept>
#include <type_traits>

#include "cpu/prepare.hpp"
#include "cuda/kernels.cuh"

namespace fastprdc {

namespace {

template <class T>
const char* type_code() {
  if (std::is_same<T, uint64_t>::value) return "u8";
  if (std::is_same<T, int64_t>::value) return "i8";
  if (std::is_same<T, int32_t>::value) return "i4";
  if (std::is_same<T, double>::value) return "f8";
  if (std::is_same<T, float>::value) return "f4";
  throw std::logic_error("fastprdc: unsupported kernel parameter type");
}

template <class S>
S from_bytes(const std::string& bytes, const char* what) {
  static_assert(std::is_trivially_copyable<S>::value, "kernel parameters must be plain structs");
  if (bytes.size() != sizeof(S))
    throw std::invalid_argument(std::string("fastprdc: ") + what + " has " + std::to_string(bytes.size()) +
                                " bytes, expected " + std::to_string(sizeof(S)));
  S s;
  std::memcpy(&s, bytes.data(), sizeof(S));
  return s;
}

}  // namespace

std::vector<StructLayout> kernel_param_layouts() {
  std::vector<StructLayout> out;
#define FASTPRDC_FIELD_LAYOUT(S, type, field) \
  out.back().fields.push_back({#field, type_code<type>(), offsetof(gpu::S, field)});
#define FASTPRDC_TILE_FIELD(type, field) FASTPRDC_FIELD_LAYOUT(TileArgs, type, field)
#define FASTPRDC_CROSS_FIELD(type, field) FASTPRDC_FIELD_LAYOUT(CrossParams, type, field)
#define FASTPRDC_ROWS_FIELD(type, field) FASTPRDC_FIELD_LAYOUT(RowsParams, type, field)
  out.push_back({"TileArgs", sizeof(gpu::TileArgs), {}});
  FASTPRDC_TILE_FIELDS(FASTPRDC_TILE_FIELD)
  out.push_back({"CrossParams", sizeof(gpu::CrossParams), {}});
  FASTPRDC_CROSS_FIELDS(FASTPRDC_CROSS_FIELD)
  out.push_back({"RowsParams", sizeof(gpu::RowsParams), {}});
  FASTPRDC_ROWS_FIELDS(FASTPRDC_ROWS_FIELD)
#undef FASTPRDC_ROWS_FIELD
#undef FASTPRDC_CROSS_FIELD
#undef FASTPRDC_TILE_FIELD
#undef FASTPRDC_FIELD_LAYOUT
  return out;
}

std::vector<std::pair<std::string, std::string>> kernel_names() {
  std::vector<std::pair<std::string, std::string>> out;
#define FASTPRDC_NAME(name, P, shard) out.emplace_back(#name, #P);
  FASTPRDC_KERNELS(FASTPRDC_NAME)
#undef FASTPRDC_NAME
  return out;
}

namespace {

// The thread indices of a launch in the order they run: ascending (order 0), descending (-1) or a
// permutation drawn from the seed `order` (> 0).
std::vector<int64_t> thread_order(int64_t n, int64_t order) {
  std::vector<int64_t> ids(static_cast<size_t>(n));
  std::iota(ids.begin(), ids.end(), int64_t{0});
  if (order < 0) std::reverse(ids.begin(), ids.end());
  if (order > 0) std::shuffle(ids.begin(), ids.end(), std::mt19937_64(static_cast<uint64_t>(order)));
  return ids;
}

}  // namespace

void sim_launch(const std::string& name, int64_t n, const std::string& params, const std::string& tile, int num_threads,
                int64_t order) {
  const gpu::TileArgs t = from_bytes<gpu::TileArgs>(tile, "TileArgs");
  const int nt = resolve_threads(num_threads);
  const std::vector<int64_t> ids = order ? thread_order(n, order) : std::vector<int64_t>();
#define FASTPRDC_SIM(kernel, P, shard)                                                                                \
  if (name == #kernel) {                                                                                              \
    const gpu::P p = from_bytes<gpu::P>(params, #P);                                                                  \
    _Pragma("omp parallel for num_threads(nt) schedule(dynamic, 16)") for (int64_t at = 0; at < n; ++at) {            \
      gpu::TileArgs tile;                                                                                             \
      int64_t local;                                                                                                  \
      if (gpu::launch_tile(t, order ? ids[static_cast<size_t>(at)] : at, &tile, &local)) gpu::kernel(p, tile, local); \
    }                                                                                                                 \
    return;                                                                                                           \
  }
  FASTPRDC_KERNELS(FASTPRDC_SIM)
#undef FASTPRDC_SIM
  throw std::invalid_argument("fastprdc: no kernel named '" + name + "'");
}

}  // namespace fastprdc
