// nvcc's translation unit of the kernels of shard `rechecks` in FASTPRDC_KERNELS: the cross pass's deferred ball
// rechecks.
#define FASTPRDC_SHARDED
#define FASTPRDC_IN_SHARD_rechecks(...) __VA_ARGS__
#include "cuda/kernel_entry.cuh"
