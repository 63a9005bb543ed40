#include "cpu/prepare.hpp"

#include <algorithm>
#include <cmath>

#include "common/fp.hpp"
#include "common/oracle.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace fastprdc {

int resolve_threads(int requested) {
#ifdef _OPENMP
  return requested > 0 ? requested : omp_get_max_threads();
#else
  (void)requested;
  return 1;
#endif
}

namespace {

// Calls fn(row pointer) with the row typed as float or double.
template <class Fn>
void with_row(const MatrixView& m, int64_t i, Fn fn) {
  if (m.f64)
    fn(m.row<double>(i));
  else
    fn(m.row<float>(i));
}

// Fixed chunks of rows over several sets, so that reductions do not depend on the thread count.
struct Chunks {
  static constexpr int64_t kRows = kFrameChunkRows;
  std::vector<std::pair<const MatrixView*, int64_t>> list;
  int64_t total_rows = 0;

  explicit Chunks(const std::vector<const MatrixView*>& sets) {
    for (const MatrixView* m : sets) {
      total_rows += m->rows;
      for (int64_t i0 = 0; i0 < m->rows; i0 += kRows) list.emplace_back(m, i0);
    }
  }
  int64_t size() const { return static_cast<int64_t>(list.size()); }
  template <class Fn>
  void rows(int64_t c, Fn fn) const {
    const MatrixView& m = *list[c].first;
    for (int64_t i = list[c].second; i < std::min(m.rows, list[c].second + kRows); ++i) with_row(m, i, fn);
  }
};

}  // namespace

double frame_shrink(int e_max) { return std::ldexp(1.0, -(e_max == kZeroExponent ? 0 : std::max(e_max, 0))); }

std::vector<double> frame_centre(const double* partial, int64_t chunks, int64_t d, int64_t total_rows, double shrink) {
  std::vector<double> centre(static_cast<size_t>(d), 0.0);
  for (int64_t c = 0; c < chunks; ++c)
    for (int64_t t = 0; t < d; ++t) centre[t] += partial[c * d + t];
  for (int64_t t = 0; t < d; ++t) centre[t] = centre[t] / static_cast<double>(total_rows) / shrink;
  return centre;
}

int frame_exponent(double maxabs) {
  if (!(maxabs > 0.0) || !std::isfinite(maxabs)) return 0;
  int e = 0;
  std::frexp(maxabs, &e);     // maxabs = m 2^e, m in [0.5, 1)
  return std::min(-e, 1000);  // clamped: subnormal data stays finite
}

Frame make_frame(const std::vector<const MatrixView*>& sets, int num_threads) {
  const int nt = resolve_threads(num_threads);
  const int64_t d = sets.front()->cols;
  const Chunks chunks(sets);
  const int64_t nc = chunks.size();
  Frame f;
  // Largest |value|: the sums below are taken on values scaled by frame_shrink (exact), so that
  // the centre of data near the top of float64's range cannot overflow.
  double maxraw = 0.0;
#pragma omp parallel for num_threads(nt) schedule(static) reduction(max : maxraw)
  for (int64_t c = 0; c < nc; ++c)
    chunks.rows(c, [&](const auto* x) {
      for (int64_t t = 0; t < d; ++t) maxraw = std::max(maxraw, std::fabs(static_cast<double>(x[t])));
    });
  f.e_max = binary_exponent(maxraw);
  const double shrink = frame_shrink(f.e_max);
  // Row-wise sums per chunk, combined in chunk order: the centre does not depend on the thread count.
  std::vector<double> partial(static_cast<size_t>(nc * d), 0.0);
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int64_t c = 0; c < nc; ++c) {
    double* acc = partial.data() + c * d;
    chunks.rows(c, [&](const auto* x) {
      for (int64_t t = 0; t < d; ++t) acc[t] += static_cast<double>(x[t]) * shrink;
    });
  }
  f.centre = frame_centre(partial.data(), nc, d, chunks.total_rows, shrink);
  double maxabs = 0.0;
#pragma omp parallel for num_threads(nt) schedule(static) reduction(max : maxabs)
  for (int64_t c = 0; c < nc; ++c)
    chunks.rows(c, [&](const auto* x) {
      for (int64_t t = 0; t < d; ++t) maxabs = std::max(maxabs, std::fabs(static_cast<double>(x[t]) - f.centre[t]));
    });
  f.exp = frame_exponent(maxabs);
  f.scale = std::ldexp(1.0, f.exp);
  return f;
}

Prepared prepare(const MatrixView& m, const Frame& frame, int num_threads) {
  const int nt = resolve_threads(num_threads);
  Prepared p;
  p.rows = m.rows;
  p.cols = m.cols;
  p.x.resize(static_cast<size_t>(m.rows * m.cols));
  p.norm2.resize(static_cast<size_t>(m.rows));
  const double s = frame.scale;
  const double* c = frame.centre.data();
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int64_t i = 0; i < m.rows; ++i) {
    float* out = p.x.data() + i * m.cols;
    double n2 = 0.0;
    with_row(m, i, [&](const auto* x) {
      for (int64_t t = 0; t < m.cols; ++t) {
        const float v = static_cast<float>((static_cast<double>(x[t]) - c[t]) * s);
        out[t] = v;
        n2 += static_cast<double>(v) * static_cast<double>(v);
      }
    });
    p.norm2[i] = static_cast<float>(n2);
  }
  return p;
}

}  // namespace fastprdc
