// Host/device portability for the arithmetic shared by the CPU engine and the CUDA kernels.
//
// Every header in csrc/common compiles three ways: plain C++17 (g++/clang++, the CPU engine and the
// host emulation of the GPU kernels), nvcc (the `_cuda` extension) and NVRTC (the `cupy` backend
// compiles the same text at run time). FASTPRDC_HD marks functions callable from host and device,
// like FAISS's __host__ __device__ helpers. NVRTC has no standard library headers, so the few fixed
// width types are declared here for it.
#pragma once

#if defined(__CUDACC__)
#define FASTPRDC_HD __host__ __device__ inline
#else
#define FASTPRDC_HD inline
#endif

#if defined(__CUDACC_RTC__)
typedef signed char int8_t;
typedef unsigned short uint16_t;
typedef int int32_t;
typedef unsigned int uint32_t;
typedef long long int64_t;
typedef unsigned long long uint64_t;
typedef unsigned long long uintptr_t;
#else
#include <cmath>
#include <cstdint>
#include <cstring>
#endif

namespace fastprdc {

// Adds v to *p atomically (GPU threads, host threads of the emulation).
FASTPRDC_HD void atomic_add_u64(uint64_t* p, uint64_t v) {
#if defined(__CUDA_ARCH__)
  atomicAdd(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(v));
#else
  __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
#endif
}

// Adds v to *p atomically (two's complement: the same bits as the unsigned add).
FASTPRDC_HD void atomic_add_i64(int64_t* p, int64_t v) {
  atomic_add_u64(reinterpret_cast<uint64_t*>(p), static_cast<uint64_t>(v));
}

// Adds v to *p atomically; returns the previous value.
FASTPRDC_HD int32_t atomic_add_i32(int32_t* p, int32_t v) {
#if defined(__CUDA_ARCH__)
  return atomicAdd(reinterpret_cast<int*>(p), static_cast<int>(v));
#else
  return __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
#endif
}

}  // namespace fastprdc

// Floating-point contraction: every float32 sequence that must match across compilers (the pair
// bounds, compared by the scan filter and by the handlers) is written with separate operations, and
// the build turns contraction off: -ffp-contract=off for g++ (CMakeLists.txt), --fmad=false for nvcc
// and NVRTC (CMakeLists.txt and fastprdc/_backends/cupy_backend.py).
