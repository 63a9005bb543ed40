// The float64 oracle: d^2 as a sequential sum of squared float64 differences (no FMA, no
// reordering). The numpy reference backend computes exactly the same sums, bit for bit.
#pragma once

#include <cmath>
#include <cstdint>

#include "common/types.hpp"

namespace fastprdc {

template <class T, class U>
inline double oracle_d2(const T* x, const U* y, int64_t d) {
  double acc = 0.0;
  for (int64_t t = 0; t < d; ++t) {
    const double diff = static_cast<double>(x[t]) - static_cast<double>(y[t]);
    acc += diff * diff;
  }
  return acc;
}

// Oracle d^2 between row i of a and row j of b (same width; each float32 or float64).
inline double oracle_d2(const MatrixView& a, int64_t i, const MatrixView& b, int64_t j) {
  if (a.f64) {
    if (b.f64) return oracle_d2(a.row<double>(i), b.row<double>(j), a.cols);
    return oracle_d2(a.row<double>(i), b.row<float>(j), a.cols);
  }
  if (b.f64) return oracle_d2(a.row<float>(i), b.row<double>(j), a.cols);
  return oracle_d2(a.row<float>(i), b.row<float>(j), a.cols);
}

// Oracle d^2 from row i of a to rows js[0..n) of b. Four pairs run side by side (independent
// sequential sums, the same arithmetic per pair as oracle_d2), hiding the add latency.
template <class T>
void oracle_d2_many(const T* x, const MatrixView& b, const int64_t* js, int64_t n, double* out) {
  const int64_t d = b.cols;
  int64_t l = 0;
  for (; l + 4 <= n; l += 4) {
    const T* y0 = b.row<T>(js[l]);
    const T* y1 = b.row<T>(js[l + 1]);
    const T* y2 = b.row<T>(js[l + 2]);
    const T* y3 = b.row<T>(js[l + 3]);
    double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0;
    for (int64_t t = 0; t < d; ++t) {
      const double xt = static_cast<double>(x[t]);
      const double d0 = xt - static_cast<double>(y0[t]);
      const double d1 = xt - static_cast<double>(y1[t]);
      const double d2 = xt - static_cast<double>(y2[t]);
      const double d3 = xt - static_cast<double>(y3[t]);
      a0 += d0 * d0;
      a1 += d1 * d1;
      a2 += d2 * d2;
      a3 += d3 * d3;
    }
    out[l] = a0;
    out[l + 1] = a1;
    out[l + 2] = a2;
    out[l + 3] = a3;
  }
  for (; l < n; ++l) out[l] = oracle_d2(x, b.row<T>(js[l]), d);
}

inline void oracle_d2_many(const MatrixView& a, int64_t i, const MatrixView& b, const int64_t* js, int64_t n,
                           double* out) {
  if (a.f64)
    oracle_d2_many(a.row<double>(i), b, js, n, out);
  else
    oracle_d2_many(a.row<float>(i), b, js, n, out);
}

}  // namespace fastprdc
