#include <cuda_runtime.h>

#include <cstring>
#include <map>
#include <mutex>
#include <stdexcept>

#include "common/error_bound.hpp"
#include "cuda/cublas_loader.hpp"
#include "cuda/params.hpp"
#include "cuda/runtime.hpp"

#if __has_include(<cublas_api.h>)
// The toolkit's cuBLAS headers are here: check the values declared in cublas_loader.hpp against them.
#include <cublas_api.h>
static_assert(CUBLAS_COMPUTE_32F_PEDANTIC == fastprdc::cublas::kCompute32FPedantic, "cuBLAS ABI");
static_assert(CUBLAS_COMPUTE_32F_FAST_TF32 == fastprdc::cublas::kCompute32FFastTF32, "cuBLAS ABI");
static_assert(CUBLAS_OP_N == fastprdc::cublas::kOpN && CUBLAS_OP_T == fastprdc::cublas::kOpT, "cuBLAS ABI");
static_assert(CUBLAS_GEMM_DEFAULT == fastprdc::cublas::kGemmDefault, "cuBLAS ABI");
static_assert(CUBLAS_DEFAULT_MATH == fastprdc::cublas::kDefaultMath, "cuBLAS ABI");
static_assert(CUDA_R_32F == fastprdc::cublas::kR32F && CUDA_R_16F == fastprdc::cublas::kR16F, "cuBLAS ABI");
static_assert(CUBLAS_COMPUTE_32F == fastprdc::cublas::kCompute32F, "cuBLAS ABI");
#endif

#ifndef FASTPRDC_CUDA_ARCHS
#define FASTPRDC_CUDA_ARCHS "unknown"
#endif

namespace fastprdc {
namespace cuda {

namespace {

void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess)
    throw std::runtime_error(std::string(what) + ": " + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")");
}

// One cuBLAS handle per device, created on first use with that device current (a handle
// belongs to the device current at its creation), with the lock that a GEMM holds from setting
// the handle's stream until its calls are queued: threads may share the handle.
struct DeviceHandle {
  cublas::Handle handle = nullptr;
  std::mutex lock;
};
std::mutex g_handles_lock;
std::map<int, DeviceHandle> g_handles;

void check_cublas(cublas::Status s, const char* what) {
  if (s != cublas::kSuccess) {
    const cublas::Api* api = cublas::loaded();
    throw std::runtime_error(std::string(what) + ": " + (api ? api->status_string(s) : "cuBLAS error") + " (status " +
                             std::to_string(s) + ")");
  }
}

}  // namespace

int runtime_version() {
  int v = 0;
  cudaRuntimeGetVersion(&v);
  return v;
}

int driver_version() {
  int v = 0;
  if (cudaDriverGetVersion(&v) != cudaSuccess) return 0;
  return v;
}

int device_count() {
  int n = 0;
  check(cudaGetDeviceCount(&n), "cudaGetDeviceCount");
  return n;
}

DeviceInfo device_info(int device) {
  cudaDeviceProp p;
  check(cudaGetDeviceProperties(&p, device), "cudaGetDeviceProperties");
  DeviceInfo d;
  d.index = device;
  d.name = p.name;
  d.major = p.major;
  d.minor = p.minor;
  d.total_memory = p.totalGlobalMem;
  d.multiprocessors = p.multiProcessorCount;
  return d;
}

std::vector<std::string> architectures() {
  std::vector<std::string> out;
  std::string s = FASTPRDC_CUDA_ARCHS;
  size_t at = 0;
  while (at <= s.size()) {
    const size_t end = s.find(',', at);
    const std::string item = s.substr(at, end == std::string::npos ? std::string::npos : end - at);
    if (!item.empty()) out.push_back(item);
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return out;
}

void set_device(int device) { check(cudaSetDevice(device), "cudaSetDevice"); }

int current_device() {
  int device = 0;
  check(cudaGetDevice(&device), "cudaGetDevice");
  return device;
}

void mem_info(size_t* free_bytes, size_t* total_bytes) {
  check(cudaMemGetInfo(free_bytes, total_bytes), "cudaMemGetInfo");
}

void* malloc_device(size_t bytes) {
  void* p = nullptr;
  const cudaError_t err = cudaMalloc(&p, bytes ? bytes : 1);
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // clear the sticky-free error state
    size_t free_b = 0, total_b = 0;
    cudaMemGetInfo(&free_b, &total_b);
    throw std::runtime_error("out of GPU memory allocating " + std::to_string(bytes) + " bytes (" +
                             std::to_string(free_b) + " of " + std::to_string(total_b) + " bytes free)");
  }
  check(err, "cudaMalloc");
  return p;
}

void free_device(void* p) {
  if (p) cudaFree(p);
}

void copy_to_device(void* dst, const void* src, size_t bytes) {
  if (bytes) check(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice), "cudaMemcpy to device");
}

void copy_to_host(void* dst, const void* src, size_t bytes) {
  if (bytes) check(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy to host");
}

void fill_device(void* dst, const void* pattern, size_t pattern_bytes, size_t count) {
  if (!count) return;
  std::vector<char> host(pattern_bytes * count);
  for (size_t i = 0; i < count; ++i) std::memcpy(host.data() + i * pattern_bytes, pattern, pattern_bytes);
  copy_to_device(dst, host.data(), host.size());
}

void synchronize() { check(cudaDeviceSynchronize(), "kernel execution"); }

Stream create_stream() {
  cudaStream_t s = nullptr;
  check(cudaStreamCreate(&s), "cudaStreamCreate");
  return s;
}

void destroy_stream(Stream s) {
  if (s) cudaStreamDestroy(s);
}

Event create_event() {
  cudaEvent_t e = nullptr;
  check(cudaEventCreateWithFlags(&e, cudaEventDisableTiming), "cudaEventCreate");
  return e;
}

void destroy_event(Event e) {
  if (e) cudaEventDestroy(e);
}

void record_event(Event e, Stream s) { check(cudaEventRecord(e, s), "cudaEventRecord"); }

void stream_wait(Stream s, Event e) { check(cudaStreamWaitEvent(s, e, 0), "cudaStreamWaitEvent"); }

void event_synchronize(Event e) { check(cudaEventSynchronize(e), "kernel execution"); }

namespace {

// The current device's handle (created when missing); nullptr before init_cublas.
DeviceHandle* current_handle() {
  const cublas::Api* api = cublas::loaded();
  if (!api) return nullptr;
  const int device = current_device();
  std::lock_guard<std::mutex> guard(g_handles_lock);
  DeviceHandle& h = g_handles[device];  // never moved: a map's elements stay where they are
  if (!h.handle) {
    check_cublas(api->create(&h.handle), "cublasCreate");
    check_cublas(api->set_math_mode(h.handle, cublas::kDefaultMath), "cublasSetMathMode");
  }
  return &h;
}

}  // namespace

std::string init_cublas(const std::string& path) {
  const cublas::Api& api = cublas::load(path, runtime_version() / 1000);
  current_handle();
  return api.path;
}

int cublas_version() {
  const cublas::Api* api = cublas::loaded();
  int v = 0;
  if (api) api->get_version(current_handle()->handle, &v);
  return v;
}

void gemm(const std::string& path, float* tile, const void* a_big, const void* a_small, int64_t a0, int64_t ni,
          const void* b_big, const void* b_small, int64_t b0, int64_t nj, int64_t d, Stream s) {
  const cublas::Api* api = cublas::loaded();
  DeviceHandle* device = current_handle();
  if (!api || !device) throw std::runtime_error("cuBLAS is not initialised");
  const std::lock_guard<std::mutex> guard(device->lock);  // the stream set stays ours
  const cublas::Handle handle = device->handle;
  check_cublas(api->set_stream(handle, s), "cublasSetStream");
  const GemmPath which = gemm_path(path);
  const cublas::GemmTypes types = cublas::gemm_types(which);
  const float alpha = gemm_alpha(which), zero = 0.0f, one = 1.0f;
  // Row-major tile (ni x nj) = column-major (nj x ni) = B_J (col-major d x nj, transposed) x A_I (d x ni).
  auto call = [&](const void* b, const void* a, const float* beta) {
    const char* bj = static_cast<const char*>(b) + b0 * d * types.width;
    const char* ai = static_cast<const char*>(a) + a0 * d * types.width;
    check_cublas(api->gemm_ex(handle, cublas::kOpT, cublas::kOpN, static_cast<int>(nj), static_cast<int>(ni),
                              static_cast<int>(d), &alpha, bj, types.operand, static_cast<int>(d), ai, types.operand,
                              static_cast<int>(d), beta, tile, cublas::kR32F, static_cast<int>(nj), types.compute,
                              cublas::kGemmDefault),
                 "cublasGemmEx");
  };
  call(b_big, a_big, &zero);  // every path; tf32x3 and fp16x3 add big.small + small.big
  if (gemm_split(which)) {
    call(b_small, a_big, &one);
    call(b_big, a_small, &one);
  }
}

}  // namespace cuda
}  // namespace fastprdc
