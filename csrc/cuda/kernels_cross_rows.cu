// nvcc's translation unit of the kernels of shard `cross_rows` in FASTPRDC_KERNELS: the cross pass's row kernel.
#define FASTPRDC_SHARDED
#define FASTPRDC_IN_SHARD_cross_rows(...) __VA_ARGS__
#include "cuda/kernel_entry.cuh"
