// pybind11 glue for fastprdc._cuda: device buffers, streams and events, transfers, kernel launches by
// name, cuBLAS GEMM tiles and device information. All computing lives in csrc/cuda (kernels in kernels.cuh).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>

#include "cuda/runtime.hpp"

namespace py = pybind11;
using namespace fastprdc;

namespace {

// Owns one cudaMalloc'd block; freed when the Python object goes (also after errors/interrupts).
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t nbytes) : ptr_(cuda::malloc_device(nbytes)), nbytes_(nbytes) {}
  ~DeviceBuffer() { release(); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  uintptr_t ptr() const { return reinterpret_cast<uintptr_t>(ptr_); }
  size_t nbytes() const { return nbytes_; }
  void release() {
    cuda::free_device(ptr_);
    ptr_ = nullptr;
  }

 private:
  void* ptr_;
  size_t nbytes_;
};

// Owns one stream or event (cuda::create_stream / create_event); destroyed when the Python object
// goes. `handle` is its address for the calls below (0: the legacy default stream).
template <typename T, T (*Create)(), void (*Destroy)(T)>
class Owned {
 public:
  Owned() : handle_(Create()) {}
  ~Owned() { Destroy(handle_); }
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
  uintptr_t handle() const { return reinterpret_cast<uintptr_t>(handle_); }

 private:
  T handle_;
};
using Stream = Owned<cuda::Stream, cuda::create_stream, cuda::destroy_stream>;
using Event = Owned<cuda::Event, cuda::create_event, cuda::destroy_event>;

void* as_ptr(uintptr_t p) { return reinterpret_cast<void*>(p); }
cuda::Stream as_stream(uintptr_t s) { return reinterpret_cast<cuda::Stream>(s); }
cuda::Event as_event(uintptr_t e) { return reinterpret_cast<cuda::Event>(e); }

}  // namespace

PYBIND11_MODULE(_cuda, m) {
  m.doc() = "fastprdc CUDA kernels: exact kNN radii, fused cross pass and oracle distances on the GPU";

  py::class_<DeviceBuffer>(m, "DeviceBuffer")
      .def(py::init<size_t>(), py::arg("nbytes"))
      .def_property_readonly("ptr", &DeviceBuffer::ptr)
      .def_property_readonly("nbytes", &DeviceBuffer::nbytes)
      .def("release", &DeviceBuffer::release);
  py::class_<Stream>(m, "Stream").def(py::init<>()).def_property_readonly("handle", &Stream::handle);
  py::class_<Event>(m, "Event").def(py::init<>()).def_property_readonly("handle", &Event::handle);

  m.def("build_info", [] {
    py::dict d;
    d["architectures"] = cuda::architectures();
    d["runtime_built"] = cuda::runtime_version();
    py::list kernels;
    for (const auto& k : cuda::kernels()) kernels.append(py::make_tuple(k.first, k.second));
    d["kernels"] = kernels;
    return d;
  });
  m.def("runtime_info", [] {
    py::dict d;
    d["runtime_version"] = cuda::runtime_version();
    d["driver_version"] = cuda::driver_version();
    return d;
  });
  m.def("device_count", &cuda::device_count);
  m.def(
      "device_info",
      [](int device) {
        const cuda::DeviceInfo i = cuda::device_info(device);
        py::dict d;
        d["index"] = i.index;
        d["name"] = i.name;
        d["compute_capability"] = std::to_string(i.major) + "." + std::to_string(i.minor);
        d["total_memory"] = i.total_memory;
        d["multiprocessors"] = i.multiprocessors;
        return d;
      },
      py::arg("device") = 0);
  m.def("set_device", &cuda::set_device, py::arg("device"));
  m.def("current_device", &cuda::current_device);
  m.def("mem_info", [] {
    size_t free_b = 0, total_b = 0;
    cuda::mem_info(&free_b, &total_b);
    return py::make_tuple(free_b, total_b);
  });
  m.def(
      "upload",
      [](uintptr_t dst, const py::array& src) {
        if (!(src.flags() & py::array::c_style)) throw py::value_error("upload needs a C-contiguous array");
        const size_t bytes = static_cast<size_t>(src.nbytes());
        py::gil_scoped_release nogil;
        cuda::copy_to_device(as_ptr(dst), src.data(), bytes);
      },
      py::arg("dst"), py::arg("src"));
  m.def(
      "download",
      [](py::array& dst, uintptr_t src) {
        if (!(dst.flags() & py::array::c_style) || !dst.writeable())
          throw py::value_error("download needs a writeable C-contiguous array");
        const size_t bytes = static_cast<size_t>(dst.nbytes());
        void* out = dst.mutable_data();
        py::gil_scoped_release nogil;
        cuda::copy_to_host(out, as_ptr(src), bytes);
      },
      py::arg("dst"), py::arg("src"));
  m.def(
      "fill",
      [](uintptr_t dst, const py::bytes& pattern, size_t count) {
        const std::string p = pattern;
        cuda::fill_device(as_ptr(dst), p.data(), p.size(), count);
      },
      py::arg("dst"), py::arg("pattern"), py::arg("count"));
  m.def(
      "launch",
      [](const std::string& name, int64_t n, const py::bytes& params, const py::bytes& tile, int block,
         uintptr_t stream) {
        const std::string p = params, t = tile;
        py::gil_scoped_release nogil;
        cuda::launch(name, n, p, t, block, as_stream(stream));
      },
      py::arg("name"), py::arg("n"), py::arg("params"), py::arg("tile"), py::arg("block"), py::arg("stream") = 0);
  m.def("synchronize", [] {
    py::gil_scoped_release nogil;
    cuda::synchronize();
  });
  m.def(
      "record_event", [](uintptr_t event, uintptr_t stream) { cuda::record_event(as_event(event), as_stream(stream)); },
      py::arg("event"), py::arg("stream"));
  m.def(
      "stream_wait", [](uintptr_t stream, uintptr_t event) { cuda::stream_wait(as_stream(stream), as_event(event)); },
      py::arg("stream"), py::arg("event"));
  m.def(
      "event_synchronize",
      [](uintptr_t event) {
        py::gil_scoped_release nogil;
        cuda::event_synchronize(as_event(event));
      },
      py::arg("event"));
  m.def("init_cublas", &cuda::init_cublas, py::arg("path") = "");
  m.def("cublas_version", &cuda::cublas_version);
  m.def(
      "gemm",
      [](const std::string& path, uintptr_t tile, uintptr_t a_big, uintptr_t a_small, int64_t a0, int64_t ni,
         uintptr_t b_big, uintptr_t b_small, int64_t b0, int64_t nj, int64_t d, uintptr_t stream) {
        py::gil_scoped_release nogil;
        cuda::gemm(path, static_cast<float*>(as_ptr(tile)), as_ptr(a_big), as_ptr(a_small), a0, ni, as_ptr(b_big),
                   as_ptr(b_small), b0, nj, d, as_stream(stream));
      },
      py::arg("path"), py::arg("tile"), py::arg("a_big"), py::arg("a_small"), py::arg("a0"), py::arg("ni"),
      py::arg("b_big"), py::arg("b_small"), py::arg("b0"), py::arg("nj"), py::arg("d"), py::arg("stream") = 0);
}
