// The CUDA side of the `_cuda` extension, without Python headers: devices, memory, transfers,
// kernel launches by name (the kernels of kernels.cuh) and GEMM tiles through cuBLAS with an
// explicit compute type. Errors are std::runtime_error carrying CUDA's or cuBLAS's message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

// The CUDA runtime's stream and event types (cudaStream_t, cudaEvent_t), declared here so that
// this header needs no CUDA header.
struct CUstream_st;
struct CUevent_st;

namespace fastprdc {
namespace cuda {

struct DeviceInfo {
  int index = 0;
  std::string name;
  int major = 0, minor = 0;
  size_t total_memory = 0;
  int multiprocessors = 0;
};

int runtime_version();  // e.g. 13000
int driver_version();   // 0 when no driver is present
int device_count();     // throws with the reason when the runtime cannot reach a device
DeviceInfo device_info(int device);
std::vector<std::string> architectures();  // what this build carries, e.g. {"sm_80", "sm_90", "compute_90"}
void set_device(int device);
int current_device();  // the calling thread's current device
void mem_info(size_t* free_bytes, size_t* total_bytes);

void* malloc_device(size_t bytes);  // throws, naming the size, when the device is out of memory
void free_device(void* p);
void copy_to_device(void* dst, const void* src, size_t bytes);
void copy_to_host(void* dst, const void* src, size_t bytes);
void fill_device(void* dst, const void* pattern, size_t pattern_bytes, size_t count);
void synchronize();

// Streams and events, for running one group of tiles' GEMMs while the previous group's kernels run.
// A stream is a blocking one (ordered with the legacy default stream, nullptr, which every other
// call here uses); an event records no timing.
using Stream = CUstream_st*;
using Event = CUevent_st*;
Stream create_stream();
void destroy_stream(Stream s);
Event create_event();
void destroy_event(Event e);
void record_event(Event e, Stream s);  // e completes when the work queued on s so far has run
void stream_wait(Stream s, Event e);   // work queued on s from now on waits for e's last record
void event_synchronize(Event e);       // the host waits for e's last record

// Launches kernel `name` over n threads, `block` per block (a multiple of 32 up to 1024), with the
// bytes of its parameter structs, on stream s.
void launch(const std::string& name, int64_t n, const std::string& params, const std::string& tile, int block,
            Stream s = nullptr);
// Names of the kernels and the sizes of their parameter structs (for the launcher's checks).
std::vector<std::pair<std::string, size_t>> kernels();

// cuBLAS: loads it (see cublas_loader.hpp) and creates the handle; returns the library path.
std::string init_cublas(const std::string& path);
int cublas_version();
// tile (row-major ni x nj, float32) = -2 A[a0 : a0 + ni] B[b0 : b0 + nj]^T for row-major float32
// operands of width d (common/error_bound.hpp GemmPath): "fp32" (CUBLAS_COMPUTE_32F_PEDANTIC),
// "tf32" (operands already rounded to TF32: one CUBLAS_COMPUTE_32F_FAST_TF32 GEMM), "fp16"
// (float16 operands holding 2^14 x the values: one CUBLAS_COMPUTE_32F GEMM, alpha undoing the
// shift), "tf32x3" (a = {big, small}, b = {big, small}: three CUBLAS_COMPUTE_32F_FAST_TF32 GEMMs)
// or "fp16x3" (likewise, float16 parts as for "fp16": three CUBLAS_COMPUTE_32F GEMMs); on stream s.
void gemm(const std::string& path, float* tile, const void* a_big, const void* a_small, int64_t a0, int64_t ni,
          const void* b_big, const void* b_small, int64_t b0, int64_t nj, int64_t d, Stream s = nullptr);

}  // namespace cuda
}  // namespace fastprdc
