#include "cpu/prepare.hpp"

#include <algorithm>
#include <cmath>

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

}  // namespace

Frame make_frame(const std::vector<const MatrixView*>& sets, int num_threads) {
  const int nt = resolve_threads(num_threads);
  const int64_t d = sets.front()->cols;
  // Fixed chunks of rows, summed row-wise (cache friendly) and combined in chunk order, so the
  // centre does not depend on the thread count.
  constexpr int64_t kChunk = 512;
  std::vector<std::pair<const MatrixView*, int64_t>> chunks;
  int64_t total = 0;
  for (const MatrixView* m : sets) {
    total += m->rows;
    for (int64_t i0 = 0; i0 < m->rows; i0 += kChunk) chunks.emplace_back(m, i0);
  }
  const int64_t nc = static_cast<int64_t>(chunks.size());
  std::vector<double> partial(static_cast<size_t>(nc * d), 0.0);
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int64_t c = 0; c < nc; ++c) {
    const MatrixView& m = *chunks[c].first;
    double* acc = partial.data() + c * d;
    for (int64_t i = chunks[c].second; i < std::min(m.rows, chunks[c].second + kChunk); ++i)
      with_row(m, i, [&](const auto* x) {
        for (int64_t t = 0; t < d; ++t) acc[t] += static_cast<double>(x[t]);
      });
  }
  Frame f;
  f.centre.assign(static_cast<size_t>(d), 0.0);
  for (int64_t c = 0; c < nc; ++c)
    for (int64_t t = 0; t < d; ++t) f.centre[t] += partial[c * d + t];
  for (int64_t t = 0; t < d; ++t) f.centre[t] /= static_cast<double>(total);
  double maxabs = 0.0;
#pragma omp parallel for num_threads(nt) schedule(static) reduction(max : maxabs)
  for (int64_t c = 0; c < nc; ++c) {
    const MatrixView& m = *chunks[c].first;
    for (int64_t i = chunks[c].second; i < std::min(m.rows, chunks[c].second + kChunk); ++i)
      with_row(m, i, [&](const auto* x) {
        for (int64_t t = 0; t < d; ++t) maxabs = std::max(maxabs, std::fabs(static_cast<double>(x[t]) - f.centre[t]));
      });
  }
  if (maxabs > 0.0 && std::isfinite(maxabs)) {
    int e = 0;
    std::frexp(maxabs, &e);                         // maxabs = m 2^e, m in [0.5, 1)
    f.scale = std::ldexp(1.0, std::min(-e, 1000));  // clamped: subnormal data stays finite
  }
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
