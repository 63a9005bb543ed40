// pybind11 glue for fastprdc._core: argument checks, array plumbing, GIL release, progress
// and Ctrl-C. All computing lives in csrc/cpu.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <exception>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "common/cross_state.hpp"
#include "common/error_bound.hpp"
#include "cpu/build_info.hpp"
#include "cpu/cross_pass.hpp"
#include "cpu/duplicates.hpp"
#include "cpu/gpu_sim.hpp"
#include "cpu/knn.hpp"
#include "cpu/prepare.hpp"
#include "cpu/tile_engine.hpp"
#include "cuda/cublas_loader.hpp"
#include "cuda/params.hpp"

namespace py = pybind11;
using namespace fastprdc;

namespace {

MatrixView view(const py::array& arr, const char* name) {
  if (arr.ndim() != 2) throw py::value_error(std::string(name) + " must be a 2-D array");
  if (!(arr.flags() & py::array::c_style)) throw py::value_error(std::string(name) + " must be C-contiguous");
  MatrixView v;
  if (py::isinstance<py::array_t<double>>(arr)) {
    v.f64 = true;
  } else if (!py::isinstance<py::array_t<float>>(arr)) {
    throw py::type_error(std::string(name) + " must be float32 or float64");
  }
  v.data = arr.data();
  v.rows = arr.shape(0);
  v.cols = arr.shape(1);
  if (v.rows >= (int64_t(1) << 31)) throw py::value_error(std::string(name) + " has too many rows (>= 2^31)");
  return v;
}

void same_kind(const MatrixView& a, const MatrixView& b) {
  if (a.cols != b.cols) throw py::value_error("arrays have different widths");
  if (a.f64 != b.f64) throw py::type_error("arrays must have the same dtype");
}

// Runs `fn` without the GIL. The progress callback re-takes the GIL, checks for Ctrl-C and calls
// the user's callable; an exception there cancels the run and is re-raised here.
template <class Fn>
auto run_released(RunConfig cfg, const py::object& progress, Fn fn) {
  std::exception_ptr raised;
  cfg.progress = [&](int64_t done, int64_t total) -> bool {
    py::gil_scoped_acquire gil;
    try {
      if (PyErr_CheckSignals() != 0) throw py::error_already_set();
      if (!progress.is_none()) progress(done, total);
      return true;
    } catch (...) {
      raised = std::current_exception();
      return false;
    }
  };
  try {
    py::gil_scoped_release nogil;
    return fn(cfg);
  } catch (const Cancelled&) {
    if (raised) std::rethrow_exception(raised);
    throw;
  }
}

RunConfig config(bool exact, int64_t tile_rows, int num_threads) {
  RunConfig c;
  c.exact = exact;
  c.tile_rows = tile_rows;
  c.num_threads = num_threads;
  return c;
}

template <class T>
py::array_t<T> to_array(std::vector<T>&& v, int64_t rows, int64_t cols) {
  auto* heap = new std::vector<T>(std::move(v));
  py::capsule owner(heap, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>({rows, cols}, heap->data(), owner);
}

const double* radii_ptr(const std::optional<py::array_t<double, py::array::c_style | py::array::forcecast>>& r,
                        int64_t rows, int64_t& k, const char* name) {
  k = 0;
  if (!r) return nullptr;
  if (r->ndim() != 2 || r->shape(0) != rows)
    throw py::value_error(std::string(name) + " must have shape (rows, k) matching its centres");
  k = r->shape(1);
  return r->data();
}

using Ids = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;

// Group ids of the rows of a pass index per-group tables: each must be a position in the rows.
void check_group_ids(std::initializer_list<const Ids*> groups, int64_t total) {
  for (const Ids* g : groups)
    for (int64_t q = 0; q < g->size(); ++q)
      if (g->data()[q] < 0 || g->data()[q] >= total)
        throw py::value_error("group ids must be positions in the concatenated rows");
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "fastprdc native CPU kernels: tiled exact kNN radii, fused cross pass, pairwise distances";
  init_blas();

  m.def("build_info", [] {
    const BuildInfo b = build_info();
    py::dict d;
    d["version"] = b.version;
    d["compiler"] = b.compiler;
    d["simd"] = b.simd;
    d["openmp"] = b.openmp;
    d["omp_max_threads"] = b.omp_max_threads;
    d["blas"] = b.blas;
    d["blas_config"] = b.blas_config;
    d["blas_core"] = b.blas_core;
    d["cuda"] = b.cuda_status;
    d["cuda_sources"] = b.cuda_sources;
    d["default_tile_rows"] = kDefaultTileRows;
    d["default_panel_bytes"] = kDefaultPanelBytes;
    return d;
  });

  m.def(
      "pairwise_distances",
      [](const py::array& x, const py::array& y, int num_threads) {
        const MatrixView a = view(x, "X"), b = view(y, "Y");
        if (a.cols != b.cols) throw py::value_error("arrays have different widths");
        std::vector<double> out;
        {
          py::gil_scoped_release nogil;
          out = pairwise_distances(a, b, num_threads);
        }
        return to_array(std::move(out), a.rows, b.rows);
      },
      py::arg("X"), py::arg("Y"), py::arg("num_threads") = 0);

  m.def(
      "duplicate_groups",
      [](const py::array& x, const py::array& y, int num_threads) {
        const MatrixView a = view(x, "X"), b = view(y, "Y");
        if (a.cols != b.cols) throw py::value_error("arrays have different widths");
        DuplicateGroups g;
        {
          py::gil_scoped_release nogil;
          g = duplicate_groups({&a, &b}, num_threads);
        }
        const int64_t n = static_cast<int64_t>(g.id.size());
        return py::make_tuple(to_array(std::move(g.id), n, 1).attr("ravel")(), g.any);
      },
      py::arg("X"), py::arg("Y"), py::arg("num_threads") = 0,
      "Groups of identical rows over X then Y: per row, the position of the first row with its values.");

  m.def(
      "knn",
      [](const py::array& x, const std::optional<py::array>& y, int64_t k, bool exact, int64_t tile_rows,
         int num_threads, const py::object& progress, int64_t panel_rows) -> py::tuple {
        const MatrixView a = view(x, "X");
        if (k < 1) throw py::value_error("k must be >= 1");
        const RunConfig cfg = config(exact, tile_rows, num_threads);
        if (!y) {
          if (k >= a.rows) throw py::value_error("k must be < number of rows for a self-kNN");
          KnnResult r = run_released(cfg, progress, [&](const RunConfig& c) { return knn_self(a, k, c, panel_rows); });
          return py::make_tuple(to_array(std::move(r.dist), a.rows, k), to_array(std::move(r.idx), a.rows, k),
                                r.n_rechecked);
        }
        CrossInputs in;
        in.a = a;
        in.b = view(*y, "Y");
        same_kind(in.a, in.b);
        if (k > in.b.rows) throw py::value_error("k must be <= number of rows of Y");
        in.knn_a = k;
        CrossResult r = run_released(cfg, progress, [&](const RunConfig& c) { return cross_pass(in, c, panel_rows); });
        return py::make_tuple(to_array(std::move(r.a_knn_dist), a.rows, k), to_array(std::move(r.a_knn_idx), a.rows, k),
                              r.n_rechecked);
      },
      py::arg("X"), py::arg("Y"), py::arg("k"), py::arg("exact") = true, py::arg("tile_rows") = 0,
      py::arg("num_threads") = 0, py::arg("progress") = py::none(), py::arg("panel_rows") = 0);

  m.def(
      "cross_pass",
      [](const py::array& a_arr, const py::array& b_arr,
         const std::optional<py::array_t<double, py::array::c_style | py::array::forcecast>>& radii_a,
         const std::optional<py::array_t<double, py::array::c_style | py::array::forcecast>>& radii_b, bool strict,
         int64_t knn_a, int64_t knn_b, bool exact, int64_t tile_rows, int num_threads, const py::object& progress,
         const std::optional<py::array_t<double, py::array::c_style | py::array::forcecast>>& realism_radii,
         double realism_eps, int64_t panel_rows) {
        CrossInputs in;
        in.a = view(a_arr, "A");
        in.b = view(b_arr, "B");
        same_kind(in.a, in.b);
        in.radii_a = radii_ptr(radii_a, in.a.rows, in.ka, "radii_a");
        in.radii_b = radii_ptr(radii_b, in.b.rows, in.kb, "radii_b");
        in.realism_radii = radii_ptr(realism_radii, in.a.rows, in.kr, "realism_radii");
        in.realism_eps = realism_eps;
        if (knn_a < 0 || knn_b < 0) throw py::value_error("knn sizes must be >= 0");
        if (knn_a > in.b.rows || knn_b > in.a.rows) throw py::value_error("knn size larger than the other set");
        in.strict = strict;
        in.knn_a = knn_a;
        in.knn_b = knn_b;
        const RunConfig cfg = config(exact, tile_rows, num_threads);
        CrossResult r = run_released(cfg, progress, [&](const RunConfig& c) { return cross_pass(in, c, panel_rows); });
        const int64_t n = in.a.rows, mm = in.b.rows;
        py::dict d;
        d["b_count"] = to_array(std::move(r.b_count), mm, in.ka);
        d["b_min_radius"] = to_array(std::move(r.b_min_radius), mm, in.ka);
        d["a_ball_count"] = to_array(std::move(r.a_ball_count), n, in.ka);
        d["a_count"] = to_array(std::move(r.a_count), n, in.kb);
        d["a_min_radius"] = to_array(std::move(r.a_min_radius), n, in.kb);
        d["b_ball_count"] = to_array(std::move(r.b_ball_count), mm, in.kb);
        d["a_knn_dist"] = to_array(std::move(r.a_knn_dist), n, knn_a);
        d["a_knn_idx"] = to_array(std::move(r.a_knn_idx), n, knn_a);
        d["b_knn_dist"] = to_array(std::move(r.b_knn_dist), mm, knn_b);
        d["b_knn_idx"] = to_array(std::move(r.b_knn_idx), mm, knn_b);
        d["b_realism"] = to_array(std::move(r.b_realism), mm, in.kr);
        d["b_realism_idx"] = to_array(std::move(r.b_realism_idx), mm, in.kr);
        d["n_rechecked"] = r.n_rechecked;
        return d;
      },
      py::arg("A"), py::arg("B"), py::arg("radii_a") = py::none(), py::arg("radii_b") = py::none(),
      py::arg("strict") = false, py::arg("knn_a") = 0, py::arg("knn_b") = 0, py::arg("exact") = true,
      py::arg("tile_rows") = 0, py::arg("num_threads") = 0, py::arg("progress") = py::none(),
      py::arg("realism_radii") = py::none(), py::arg("realism_eps") = -1.0, py::arg("panel_rows") = 0);

  // ---- the GPU engine's host side: its kernels emulated on the CPU (the `sim` backend), the layout
  // of their parameter structs, and the host-side steps shared with the CPU engine.
  m.def("kernel_param_layouts", [] {
    py::dict out;
    for (const StructLayout& s : kernel_param_layouts()) {
      py::list fields;
      for (const FieldLayout& f : s.fields) fields.append(py::make_tuple(f.name, f.type, f.offset));
      out[py::str(s.name)] = py::make_tuple(s.size, fields);
    }
    return out;
  });
  m.def("kernel_names", [] { return kernel_names(); });
  m.def(
      "sim_launch",
      [](const std::string& name, int64_t n, const py::bytes& params, const py::bytes& tile, int num_threads,
         int64_t order) {
        const std::string p = params, t = tile;
        py::gil_scoped_release nogil;
        sim_launch(name, n, p, t, num_threads, order);
      },
      py::arg("name"), py::arg("n"), py::arg("params"), py::arg("tile"), py::arg("num_threads") = 0,
      py::arg("order") = 0);
  m.def(
      "ball_thresholds",
      [](const py::array_t<double, py::array::c_style | py::array::forcecast>& radii, double scale, bool exact,
         bool strict, bool zeros_counted) {
        if (radii.ndim() != 2) throw py::value_error("radii must have shape (rows, k)");
        const int64_t rows = radii.shape(0), k = radii.shape(1);
        std::vector<float> in(static_cast<size_t>(rows * k)), out(static_cast<size_t>(rows * k));
        std::vector<float> reach(static_cast<size_t>(rows));
        for (int64_t i = 0; i < rows; ++i)
          ball_thresholds(radii.data(), static_cast<int32_t>(k), i, scale, exact, strict, zeros_counted, in.data(),
                          out.data(), reach.data());
        return py::make_tuple(to_array(std::move(in), rows, k), to_array(std::move(out), rows, k),
                              to_array(std::move(reach), rows, 1));
      },
      py::arg("radii"), py::arg("scale"), py::arg("exact"), py::arg("strict"), py::arg("zeros_counted") = false);
  m.def(
      "realism_frame",
      [](const py::array_t<double, py::array::c_style | py::array::forcecast>& radii, double scale, double eps,
         bool exact, bool zeros_preset) {
        if (radii.ndim() != 2) throw py::value_error("radii must have shape (rows, k)");
        const int64_t rows = radii.shape(0), k = radii.shape(1);
        std::vector<double> frame(static_cast<size_t>(rows * k)), rmax(static_cast<size_t>(k));
        realism_frame(radii.data(), rows, static_cast<int32_t>(k), scale, eps, exact, zeros_preset, frame.data(),
                      rmax.data());
        return py::make_tuple(to_array(std::move(frame), rows, k), to_array(std::move(rmax), 1, k),
                              realism_eps_in_frame(eps, scale));
      },
      py::arg("radii"), py::arg("scale"), py::arg("eps"), py::arg("exact"), py::arg("zeros_preset") = false);
  m.def(
      "error_bounds",
      [](int64_t d, int frame_exp, int e_max, const std::string& path) {
        const GemmPath p = gemm_path(path);
        return py::make_tuple(error_bound_coefficient(d, p), error_bound_absolute(d, frame_exp, e_max, p));
      },
      py::arg("d"), py::arg("frame_exp"), py::arg("e_max"), py::arg("path") = "fp32");
  m.def("gemm_path_code", [](const std::string& path) { return static_cast<int>(gemm_path(path)); }, py::arg("path"));
  m.def("gemm_alpha", [](const std::string& path) { return gemm_alpha(gemm_path(path)); }, py::arg("path"));
  m.def("gemm_split", [](const std::string& path) { return gemm_split(gemm_path(path)); }, py::arg("path"));
  m.def(
      "gemm_types",
      [](const std::string& path) {
        const cublas::GemmTypes t = cublas::gemm_types(gemm_path(path));
        return py::make_tuple(t.compute, t.operand, t.width);
      },
      py::arg("path"));
  m.def("frame_shrink", &frame_shrink, py::arg("e_max"));
  m.def("frame_exponent", &frame_exponent, py::arg("maxabs"));
  m.def("frame_chunk_rows", [] { return kFrameChunkRows; });
  m.def("tile_gate_shape", [] { return py::make_tuple(gpu::kGateSegs, gpu::kGateKMax); });
  m.def(
      "frame_centre",
      [](const py::array_t<double, py::array::c_style | py::array::forcecast>& partial, int64_t total_rows,
         double shrink) {
        if (partial.ndim() != 2) throw py::value_error("partial must have shape (chunks, d)");
        std::vector<double> c = frame_centre(partial.data(), partial.shape(0), partial.shape(1), total_rows, shrink);
        const int64_t d = partial.shape(1);
        return to_array(std::move(c), 1, d);
      },
      py::arg("partial"), py::arg("total_rows"), py::arg("shrink"));
  m.def(
      "copy_presets",
      [](const Ids& ids, const Ids& to_ids, int64_t k, bool self) {
        CopyPresets c;
        {
          py::gil_scoped_release nogil;
          c = copy_presets(ids.data(), ids.size(), to_ids.data(), to_ids.size(), k, self);
        }
        const int64_t n = static_cast<int64_t>(c.rows.size());
        return py::make_tuple(to_array(std::move(c.rows), n, 1).attr("ravel")(),
                              to_array(std::move(c.js), n, std::max<int64_t>(k, 0)));
      },
      py::arg("ids"), py::arg("to_ids"), py::arg("k"), py::arg("self"),
      "The neighbour lists that copies fill: (rows, their k lowest-indexed copies in to_ids).");
  m.def(
      "zero_radius_centres",
      [](const py::array_t<double, py::array::c_style | py::array::forcecast>& radii, const Ids& a_group,
         const Ids& b_group) {
        if (radii.ndim() != 2 || radii.shape(0) != a_group.size())
          throw py::value_error("radii must have shape (len(a_group), k)");
        const int64_t kr = radii.shape(1), b_rows = b_group.size(), total = a_group.size() + b_rows;
        check_group_ids({&a_group, &b_group}, total);
        std::vector<int32_t> z =
            zero_radius_centres(radii.data(), a_group.size(), kr, a_group.data(), b_group.data(), b_rows);
        return to_array(std::move(z), b_rows * kr, 2);
      },
      py::arg("radii"), py::arg("a_group"), py::arg("b_group"),
      "Per realism collector (point, column): the two centres of radius 0 that settle it, -1 for none.");
  m.def(
      "zero_radius_ball_counts",
      [](const py::array_t<double, py::array::c_style | py::array::forcecast>& radii, const Ids& centre_group,
         const Ids& point_group, bool strict) {
        if (radii.ndim() != 2 || radii.shape(0) != centre_group.size())
          throw py::value_error("radii must have shape (len(centre_group), k)");
        const int64_t centres = centre_group.size(), points = point_group.size(), k = radii.shape(1);
        check_group_ids({&centre_group, &point_group}, centres + points);
        std::vector<int64_t> centre_count(static_cast<size_t>(centres * k), 0);
        std::vector<int64_t> point_count(static_cast<size_t>(points * k), 0);
        std::vector<double> point_min(static_cast<size_t>(points * k), std::numeric_limits<double>::infinity());
        count_zero_radius_balls(radii.data(), centres, k, strict, centre_group.data(), point_group.data(), points,
                                centre_count.data(), point_count.data(), point_min.data());
        return py::make_tuple(to_array(std::move(centre_count), centres, k),
                              to_array(std::move(point_count), points, k), to_array(std::move(point_min), points, k));
      },
      py::arg("radii"), py::arg("centre_group"), py::arg("point_group"), py::arg("strict"),
      "Memberships of the balls of radius 0 (none under strict), from the row groups: (centre counts, point "
      "counts, point min radii).");
  m.def("topk_capacity", [](int32_t k) { return topk_capacity(k); }, py::arg("k"));
  m.def("binary_exponent", [](double v) { return binary_exponent(v); }, py::arg("v"));
}
