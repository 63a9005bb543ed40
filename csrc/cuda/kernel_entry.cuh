// The __global__ entry points of the kernels (NVRTC: the cupy backend compiles this header, every
// kernel; nvcc: csrc/cuda/kernels_<shard>.cu, each the kernels of one shard of FASTPRDC_KERNELS).
// One thread per index (of one tile, or of a group of tiles: launch_tile); each entry calls the
// per-thread body of kernels.cuh. Names are
// extern "C": fastprdc_<kernel>.
#pragma once

#include "cuda/kernels.cuh"

// FASTPRDC_IN_SHARD_<shard>(code): the code when this unit compiles that shard (a unit of nvcc
// defines FASTPRDC_SHARDED and its own shard's macro), else nothing.
#ifndef FASTPRDC_SHARDED
#define FASTPRDC_ALL_SHARDS(...) __VA_ARGS__
#else
#define FASTPRDC_ALL_SHARDS(...)
#endif
#ifndef FASTPRDC_IN_SHARD_scan
#define FASTPRDC_IN_SHARD_scan FASTPRDC_ALL_SHARDS
#endif
#ifndef FASTPRDC_IN_SHARD_cross_rows
#define FASTPRDC_IN_SHARD_cross_rows FASTPRDC_ALL_SHARDS
#endif
#ifndef FASTPRDC_IN_SHARD_cross_cols
#define FASTPRDC_IN_SHARD_cross_cols FASTPRDC_ALL_SHARDS
#endif
#ifndef FASTPRDC_IN_SHARD_rechecks
#define FASTPRDC_IN_SHARD_rechecks FASTPRDC_ALL_SHARDS
#endif
#ifndef FASTPRDC_IN_SHARD_finalize
#define FASTPRDC_IN_SHARD_finalize FASTPRDC_ALL_SHARDS
#endif
#ifndef FASTPRDC_IN_SHARD_rows
#define FASTPRDC_IN_SHARD_rows FASTPRDC_ALL_SHARDS
#endif

#define FASTPRDC_ENTRY(name, P, shard)                                                                        \
  FASTPRDC_IN_SHARD_##shard(                                                                                  \
      extern "C" __global__ void fastprdc_##name(const fastprdc::gpu::P p, const fastprdc::gpu::TileArgs t) { \
        const int64_t tid = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;                      \
        fastprdc::gpu::TileArgs tile;                                                                         \
        int64_t local;                                                                                        \
        if (fastprdc::gpu::launch_tile(t, tid, &tile, &local)) fastprdc::gpu::name(p, tile, local);           \
      })

FASTPRDC_KERNELS(FASTPRDC_ENTRY)

#undef FASTPRDC_ENTRY
