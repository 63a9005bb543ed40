// nvcc's translation unit of the kernels of shard `scan` in FASTPRDC_KERNELS: the scan of each tile and the presets of
// identical rows.
#define FASTPRDC_SHARDED
#define FASTPRDC_IN_SHARD_scan(...) __VA_ARGS__
#include "cuda/kernel_entry.cuh"
