// The float64 oracle that defines "exact", shared by every backend (host and device).
//
// The distance of a pair of rows x, y (float32 or float64 values, converted exactly to float64) is
//     delta_t = fl(x_t - y_t),  e = the binary exponent of max_t |delta_t| (2^(e-1) <= max < 2^e),
//     s = 2^min(480 - e, 1023)   (1 when x == y),
//     d2s = sum_t (delta_t s)^2   (sequential in t, float64, no FMA),
//     d(x, y) = sqrt(d2s) / s.
// Scaling by a power of two is exact, so for data in the usual range this is bit-identical to the
// plain float64 sum of squared differences. The scale keeps the largest term near 2^960: no sum of
// up to 2^31 terms can overflow, and a term underflows only when its difference is below 2^-990 of
// the pair's largest difference, far below the sum's own rounding. Differences themselves are
// exact or rounded relative to their size (subtraction is exact in the subnormal range), and cannot
// overflow for accepted inputs (|value| <= max_magnitude(d)). The scale is a function of the pair
// alone, so every block, tile, backend and device computes the same value. The numpy reference
// backend evaluates exactly these sums (fastprdc/_backends/numpy_backend.py).
#pragma once

#include "common/fp.hpp"
#include "common/matrix.hpp"

namespace fastprdc {

// Largest binary exponent of a scaled difference.
constexpr int kOracleTop = 480;

// The scale s for a pair whose largest |difference| has binary exponent e (1 for identical rows).
FASTPRDC_HD double pair_scale(int e) {
  if (e == kZeroExponent) return 1.0;
  const int p = kOracleTop - e;
  return pow2(p > 1023 ? 1023 : p);
}

// The smallest pair scale among rows whose largest |value| has binary exponent e_max (their
// differences stay below 2^(e_max + 1)): bounds the oracle's underflow in the error bound.
FASTPRDC_HD double min_pair_scale(int e_max) { return e_max == kZeroExponent ? 1.0 : pair_scale(e_max + 1); }

// One evaluated pair: the scaled sum d2s and the scale s.
struct OraclePair {
  double d2s;
  double s;
  // The oracle distance in the units of the data.
  FASTPRDC_HD double dist() const { return sqrt(d2s) / s; }
};

template <class T, class U>
FASTPRDC_HD OraclePair oracle_pair(const T* x, const U* y, int64_t d) {
  double top = 0.0;
  for (int64_t t = 0; t < d; ++t) {
    const double diff = static_cast<double>(x[t]) - static_cast<double>(y[t]);
    const double a = abs_f64(diff);
    top = a > top ? a : top;
  }
  const double s = pair_scale(binary_exponent(top));
  double acc = 0.0;
  for (int64_t t = 0; t < d; ++t) {
    const double diff = (static_cast<double>(x[t]) - static_cast<double>(y[t])) * s;
    acc += diff * diff;
  }
  return {acc, s};
}

// Row i of a against row j of b; a and b may mix float32 and float64.
FASTPRDC_HD OraclePair oracle_pair(const MatrixView& a, int64_t i, const MatrixView& b, int64_t j) {
  const int64_t d = a.cols;
  if (a.f64) {
    if (b.f64) return oracle_pair(a.row<double>(i), b.row<double>(j), d);
    return oracle_pair(a.row<double>(i), b.row<float>(j), d);
  }
  if (b.f64) return oracle_pair(a.row<float>(i), b.row<double>(j), d);
  return oracle_pair(a.row<float>(i), b.row<float>(j), d);
}

// Row x against rows js[0..n) of b: four pairs side by side (independent sequential passes, the
// same arithmetic per pair as oracle_pair), hiding the add latency. Writes d2s and s.
template <class T, class U>
FASTPRDC_HD void oracle_pairs(const T* x, const MatrixView& b, const int32_t* js, int n, double* d2s, double* scale) {
  const int64_t d = b.cols;
  int l = 0;
  for (; l + 4 <= n; l += 4) {
    const U* y0 = b.row<U>(js[l]);
    const U* y1 = b.row<U>(js[l + 1]);
    const U* y2 = b.row<U>(js[l + 2]);
    const U* y3 = b.row<U>(js[l + 3]);
    double m0 = 0.0, m1 = 0.0, m2 = 0.0, m3 = 0.0;
    for (int64_t t = 0; t < d; ++t) {
      const double xt = static_cast<double>(x[t]);
      const double d0 = xt - static_cast<double>(y0[t]);
      const double d1 = xt - static_cast<double>(y1[t]);
      const double d2 = xt - static_cast<double>(y2[t]);
      const double d3 = xt - static_cast<double>(y3[t]);
      const double a0 = abs_f64(d0), a1 = abs_f64(d1), a2 = abs_f64(d2), a3 = abs_f64(d3);
      m0 = a0 > m0 ? a0 : m0;
      m1 = a1 > m1 ? a1 : m1;
      m2 = a2 > m2 ? a2 : m2;
      m3 = a3 > m3 ? a3 : m3;
    }
    const double s0 = pair_scale(binary_exponent(m0)), s1 = pair_scale(binary_exponent(m1));
    const double s2 = pair_scale(binary_exponent(m2)), s3 = pair_scale(binary_exponent(m3));
    double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0;
    for (int64_t t = 0; t < d; ++t) {
      const double xt = static_cast<double>(x[t]);
      const double d0 = (xt - static_cast<double>(y0[t])) * s0;
      const double d1 = (xt - static_cast<double>(y1[t])) * s1;
      const double d2 = (xt - static_cast<double>(y2[t])) * s2;
      const double d3 = (xt - static_cast<double>(y3[t])) * s3;
      a0 += d0 * d0;
      a1 += d1 * d1;
      a2 += d2 * d2;
      a3 += d3 * d3;
    }
    d2s[l] = a0;
    d2s[l + 1] = a1;
    d2s[l + 2] = a2;
    d2s[l + 3] = a3;
    scale[l] = s0;
    scale[l + 1] = s1;
    scale[l + 2] = s2;
    scale[l + 3] = s3;
  }
  for (; l < n; ++l) {
    const OraclePair p = oracle_pair(x, b.row<U>(js[l]), d);
    d2s[l] = p.d2s;
    scale[l] = p.s;
  }
}

// Row i of a against rows js of b (dtype dispatch of oracle_pairs).
FASTPRDC_HD void oracle_pairs(const MatrixView& a, int64_t i, const MatrixView& b, const int32_t* js, int n,
                              double* d2s, double* scale) {
  if (a.f64) {
    if (b.f64) return oracle_pairs<double, double>(a.row<double>(i), b, js, n, d2s, scale);
    return oracle_pairs<double, float>(a.row<double>(i), b, js, n, d2s, scale);
  }
  if (b.f64) return oracle_pairs<float, double>(a.row<float>(i), b, js, n, d2s, scale);
  return oracle_pairs<float, float>(a.row<float>(i), b, js, n, d2s, scale);
}

}  // namespace fastprdc
