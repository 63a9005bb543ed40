// nvcc's translation unit of the kernels of shard `rows` in FASTPRDC_KERNELS: the per-row kernels (statistics, frame,
// packing, hashing, gathering).
#define FASTPRDC_SHARDED
#define FASTPRDC_IN_SHARD_rows(...) __VA_ARGS__
#include "cuda/kernel_entry.cuh"
