// nvcc's translation unit of the kernels of shard `finalize` in FASTPRDC_KERNELS: the final exact lists and realism.
#define FASTPRDC_SHARDED
#define FASTPRDC_IN_SHARD_finalize(...) __VA_ARGS__
#include "cuda/kernel_entry.cuh"
