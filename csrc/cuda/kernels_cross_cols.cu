// nvcc's translation unit of the kernels of shard `cross_cols` in FASTPRDC_KERNELS: the cross pass's column kernel.
#define FASTPRDC_SHARDED
#define FASTPRDC_IN_SHARD_cross_cols(...) __VA_ARGS__
#include "cuda/kernel_entry.cuh"
