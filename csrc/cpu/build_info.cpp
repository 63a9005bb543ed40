#include "cpu/build_info.hpp"

#include <cblas.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#ifndef FASTPRDC_BLAS_VERSION
#define FASTPRDC_BLAS_VERSION "unknown"
#endif
#ifndef FASTPRDC_VERSION
#define FASTPRDC_VERSION "unknown"
#endif
#ifndef FASTPRDC_CUDA_STATUS
#define FASTPRDC_CUDA_STATUS "unknown"
#endif

namespace fastprdc {

BuildInfo build_info() {
  BuildInfo b;
  b.version = FASTPRDC_VERSION;
#if defined(__x86_64__) || defined(__i386__)
  b.simd = __builtin_cpu_supports("avx2") ? "avx2 (run-time dispatch)" : "scalar (no avx2 on this CPU)";
#else
  b.simd = "scalar";
#endif
#if defined(__clang__)
  b.compiler = std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  b.compiler = std::string("gcc ") + __VERSION__;
#else
  b.compiler = "unknown";
#endif
#ifdef _OPENMP
  b.openmp = true;
  b.omp_max_threads = omp_get_max_threads();
#endif
  b.blas = std::string("scipy-openblas32 ") + FASTPRDC_BLAS_VERSION;
  b.blas_config = scipy_openblas_get_config();
  b.blas_core = scipy_openblas_get_corename();
  b.cuda_status = FASTPRDC_CUDA_STATUS;
#ifdef FASTPRDC_HAVE_CUDA_SOURCES
  b.cuda_sources = true;
#endif
  return b;
}

}  // namespace fastprdc
