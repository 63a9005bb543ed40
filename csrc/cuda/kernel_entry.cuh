// The __global__ entry points of the kernels (nvcc: csrc/cuda/kernels.cu; NVRTC: the cupy backend
// compiles this header). One thread per index; each entry calls the per-thread body of
// kernels.cuh. Names are extern "C": fastprdc_<kernel>.
#pragma once

#include "cuda/kernels.cuh"

#define FASTPRDC_ENTRY(name, P)                                                                           \
  extern "C" __global__ void fastprdc_##name(const fastprdc::gpu::P p, const fastprdc::gpu::TileArgs t) { \
    const int64_t tid = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;                      \
    fastprdc::gpu::name(p, t, tid);                                                                       \
  }

FASTPRDC_KERNELS(FASTPRDC_ENTRY)

#undef FASTPRDC_ENTRY
