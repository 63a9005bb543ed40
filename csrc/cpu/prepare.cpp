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

template <class T>
double value(const MatrixView& m, int64_t i, int64_t t) {
  return static_cast<double>(m.row<T>(i)[t]);
}

double at(const MatrixView& m, int64_t i, int64_t t) {
  return m.f64 ? value<double>(m, i, t) : value<float>(m, i, t);
}

}  // namespace

Frame make_frame(const std::vector<const MatrixView*>& sets, int num_threads) {
  const int nt = resolve_threads(num_threads);
  const int64_t d = sets.front()->cols;
  int64_t total = 0;
  for (const MatrixView* m : sets) total += m->rows;
  Frame f;
  f.centre.assign(static_cast<size_t>(d), 0.0);
  // Column sums in a fixed order (rows in sequence), parallel over columns: deterministic.
  double maxabs = 0.0;
#pragma omp parallel for num_threads(nt) schedule(static) reduction(max : maxabs)
  for (int64_t t = 0; t < d; ++t) {
    double s = 0.0;
    for (const MatrixView* m : sets)
      for (int64_t i = 0; i < m->rows; ++i) s += at(*m, i, t);
    const double c = s / static_cast<double>(total);
    f.centre[t] = c;
    for (const MatrixView* m : sets)
      for (int64_t i = 0; i < m->rows; ++i) maxabs = std::max(maxabs, std::fabs(at(*m, i, t) - c));
  }
  if (maxabs > 0.0 && std::isfinite(maxabs)) {
    int e = 0;
    std::frexp(maxabs, &e);  // maxabs = m 2^e, m in [0.5, 1)
    f.scale = std::ldexp(1.0, -e);
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
    for (int64_t t = 0; t < m.cols; ++t) {
      const float v = static_cast<float>((at(m, i, t) - c[t]) * s);
      out[t] = v;
      n2 += static_cast<double>(v) * static_cast<double>(v);
    }
    p.norm2[i] = static_cast<float>(n2);
  }
  return p;
}

}  // namespace fastprdc
