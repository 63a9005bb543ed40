// The launcher of the `_cuda` extension's kernels, which finds them by name: their __global__
// entry points (kernel_entry.cuh) are compiled by nvcc in kernels_<shard>.cu and declared here.
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "cuda/kernels.cuh"
#include "cuda/runtime.hpp"

#define FASTPRDC_DECLARE_ENTRY(name, P, shard) \
  extern "C" __global__ void fastprdc_##name(const fastprdc::gpu::P p, const fastprdc::gpu::TileArgs t);
FASTPRDC_KERNELS(FASTPRDC_DECLARE_ENTRY)
#undef FASTPRDC_DECLARE_ENTRY

namespace fastprdc {
namespace cuda {

namespace {

struct Kernel {
  const char* name;
  const void* fn;
  size_t params_size;
};

const std::vector<Kernel>& kernel_table() {
#define FASTPRDC_TABLE_ENTRY(name, P, shard) {#name, reinterpret_cast<const void*>(&fastprdc_##name), sizeof(gpu::P)},
  static const std::vector<Kernel> table = {FASTPRDC_KERNELS(FASTPRDC_TABLE_ENTRY)};
#undef FASTPRDC_TABLE_ENTRY
  return table;
}

}  // namespace

std::vector<std::pair<std::string, size_t>> kernels() {
  std::vector<std::pair<std::string, size_t>> out;
  for (const Kernel& k : kernel_table()) out.emplace_back(k.name, k.params_size);
  return out;
}

void launch(const std::string& name, int64_t n, const std::string& params, const std::string& tile, int block,
            Stream s) {
  if (n <= 0) return;
  if (block < 32 || block > 1024 || block % 32)
    throw std::invalid_argument("fastprdc: block size " + std::to_string(block) +
                                " is not a multiple of 32 in [32, 1024]");
  for (const Kernel& k : kernel_table()) {
    if (name != k.name) continue;
    if (params.size() != k.params_size || tile.size() != sizeof(gpu::TileArgs))
      throw std::invalid_argument("fastprdc: wrong parameter sizes for kernel " + name);
    const int64_t blocks = (n + block - 1) / block;
    if (blocks > 0x7fffffffLL) throw std::invalid_argument("fastprdc: too many threads for kernel " + name);
    void* args[2] = {const_cast<char*>(params.data()), const_cast<char*>(tile.data())};
    const cudaError_t err = cudaLaunchKernel(k.fn, dim3(static_cast<unsigned>(blocks)), dim3(block), args, 0, s);
    if (err != cudaSuccess)
      throw std::runtime_error("launch of " + name + ": " + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) +
                               ")");
    return;
  }
  throw std::invalid_argument("fastprdc: no kernel named '" + name + "'");
}

}  // namespace cuda
}  // namespace fastprdc
