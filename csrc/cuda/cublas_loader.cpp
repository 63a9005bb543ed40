#include "cuda/cublas_loader.hpp"

#include <dlfcn.h>

#include <mutex>
#include <stdexcept>

namespace fastprdc {
namespace cublas {

namespace {

Api g_api;
bool g_loaded = false;
std::mutex g_lock;

template <class F>
void bind(void* lib, const char* name, F& fn) {
  fn = reinterpret_cast<F>(dlsym(lib, name));
  if (!fn) throw std::runtime_error(std::string("cuBLAS has no symbol ") + name);
}

}  // namespace

const Api& load(const std::string& path, int major) {
  std::lock_guard<std::mutex> guard(g_lock);
  if (g_loaded) return g_api;
  const std::string name = path.empty() ? "libcublas.so." + std::to_string(major) : path;
  void* lib = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* err = dlerror();
    throw std::runtime_error("cannot load cuBLAS (" + name + "): " + (err ? err : "unknown error"));
  }
  Api api;
  bind(lib, "cublasCreate_v2", api.create);
  bind(lib, "cublasDestroy_v2", api.destroy);
  bind(lib, "cublasGetVersion_v2", api.get_version);
  bind(lib, "cublasSetStream_v2", api.set_stream);
  bind(lib, "cublasSetMathMode", api.set_math_mode);
  bind(lib, "cublasGetStatusString", api.status_string);
  bind(lib, "cublasGemmEx", api.gemm_ex);
  api.path = name;
  g_api = api;
  g_loaded = true;
  return g_api;
}

const Api* loaded() { return g_loaded ? &g_api : nullptr; }

}  // namespace cublas
}  // namespace fastprdc
