// What this build of the CPU kernels is made of (compiler, OpenMP, BLAS, CUDA build status).
#pragma once

#include <string>

namespace fastprdc {

struct BuildInfo {
  std::string version;
  std::string compiler;
  std::string simd;  // SIMD used by fastprdc's own loops, chosen at run time
  bool openmp = false;
  int omp_max_threads = 1;
  std::string blas;
  std::string blas_config;
  std::string blas_core;
  std::string cuda_status;
  bool cuda_sources = false;
};

BuildInfo build_info();

}  // namespace fastprdc
