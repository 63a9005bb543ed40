// cuBLAS, loaded at run time (dlopen) through the few entry points fastprdc calls, declared here
// from cuBLAS's C API (cublas_api.h; the values below are its ABI). Loading at run time lets the
// `_cuda` extension build wherever nvcc is (no cuBLAS headers or libraries needed to compile it),
// import where no GPU or cuBLAS is present (the reason is reported instead), and use whichever
// cuBLAS of the matching major version the process already has: the toolkit's, the nvidia-cublas
// wheel's, or the one PyTorch or CuPy loaded.
#pragma once

#include <cstdint>
#include <string>

#include "common/error_bound.hpp"

namespace fastprdc {
namespace cublas {

using Handle = void*;
using Status = int;

constexpr Status kSuccess = 0;
constexpr int kOpN = 0, kOpT = 1;
constexpr int kR32F = 0;                 // cudaDataType CUDA_R_32F
constexpr int kR16F = 2;                 // cudaDataType CUDA_R_16F
constexpr int kCompute32F = 68;          // CUBLAS_COMPUTE_32F: FP32 accumulation (tensor cores for FP16)
constexpr int kCompute32FPedantic = 69;  // CUBLAS_COMPUTE_32F_PEDANTIC: IEEE FP32, no reduced precision
constexpr int kCompute32FFastTF32 = 77;  // CUBLAS_COMPUTE_32F_FAST_TF32: TF32 tensor cores
constexpr int kGemmDefault = -1;         // CUBLAS_GEMM_DEFAULT
constexpr int kDefaultMath = 0;          // CUBLAS_DEFAULT_MATH
constexpr int kPedanticMath = 2;         // CUBLAS_PEDANTIC_MATH
constexpr int kTf32TensorOpMath = 3;     // CUBLAS_TF32_TENSOR_OP_MATH

// The cublasGemmEx types of a GEMM path (common/error_bound.hpp): the compute type, and the data
// type and width in bytes of its packed operands (the tile is always CUDA_R_32F). The `_cuda`
// runtime and the `cupy` backend (through fastprdc._core) both call cuBLAS with these.
struct GemmTypes {
  int compute;
  int operand;
  int width;
};

inline GemmTypes gemm_types(GemmPath path) {
  if (path == GemmPath::kFp32) return {kCompute32FPedantic, kR32F, 4};
  if (gemm_fp16(path)) return {kCompute32F, kR16F, 2};
  return {kCompute32FFastTF32, kR32F, 4};  // tf32x3 and tf32: operands exact in TF32
}

struct Api {
  Status (*create)(Handle*) = nullptr;             // cublasCreate_v2
  Status (*destroy)(Handle) = nullptr;             // cublasDestroy_v2
  Status (*get_version)(Handle, int*) = nullptr;   // cublasGetVersion_v2
  Status (*set_stream)(Handle, void*) = nullptr;   // cublasSetStream_v2
  Status (*set_math_mode)(Handle, int) = nullptr;  // cublasSetMathMode
  const char* (*status_string)(Status) = nullptr;  // cublasGetStatusString
  Status (*gemm_ex)(Handle, int, int, int, int, int, const void*, const void*, int, int, const void*, int, int,
                    const void*, void*, int, int, int, int) = nullptr;  // cublasGemmEx
  std::string path;                                                     // the library that was loaded
};

// Loads cuBLAS: `path` when given, else the soname libcublas.so.<major> (already loaded, or on the
// loader's path). Throws std::runtime_error with the reason.
const Api& load(const std::string& path, int major);

// The loaded API, or nullptr before a successful load().
const Api* loaded();

}  // namespace cublas
}  // namespace fastprdc
