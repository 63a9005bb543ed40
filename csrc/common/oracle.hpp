// The float64 oracle that defines "exact", shared by every backend (host and device).
//
// The distance of a pair of rows x, y (float32 or float64 values, converted exactly to float64) is
//     s = 2^min(480 - e, 1023),  2^(e-1) <= max_t max(|x_t|, |y_t|) < 2^e   (the pair's binary exponent)
//     d2s = sum_t (x_t s - y_t s)^2   (sequential in t, float64, no FMA)
//     d(x, y) = sqrt(d2s) / s.
// Scaling by a power of two is exact, so for data in the usual range this is bit-identical to the
// plain float64 sum of squared differences; the scale keeps every term of the sum away from
// overflow and underflow for any finite input (|scaled value| < 2^480, so even 2^31 dimensions
// cannot overflow; a difference vanishes only below 2^-1017 of the pair's largest value). The scale
// is a function of the pair alone, so every block, tile, backend and device computes the same value.
// The numpy reference backend evaluates exactly these sums (fastprdc/_backends/numpy_backend.py).
#pragma once

#include "common/fp.hpp"
#include "common/matrix.hpp"

namespace fastprdc {

// Largest binary exponent allowed for a scaled value.
constexpr int kOracleTop = 480;

// Binary exponent of a row's largest |value| (kZeroExponent for an all-zero row).
template <class T>
FASTPRDC_HD int row_exponent(const T* x, int64_t d) {
  double m = 0.0;
  for (int64_t t = 0; t < d; ++t) {
    const double v = static_cast<double>(x[t]);
    const double a = v < 0.0 ? -v : v;
    m = a > m ? a : m;
  }
  return binary_exponent(m);
}

FASTPRDC_HD int row_exponent(const MatrixView& m, int64_t i) {
  return m.f64 ? row_exponent(m.row<double>(i), m.cols) : row_exponent(m.row<float>(i), m.cols);
}

// The pair's scale s from the two rows' exponents (1 for two zero rows).
FASTPRDC_HD double pair_scale(int ex, int ey) {
  const int e = ex > ey ? ex : ey;
  if (e == kZeroExponent) return 1.0;
  const int p = kOracleTop - e;
  return pow2(p > 1023 ? 1023 : p);
}

// The smallest pair scale among rows whose largest exponent is e_max (bounds the oracle's underflow).
FASTPRDC_HD double min_pair_scale(int e_max) { return pair_scale(e_max, e_max); }

// One evaluated pair: the scaled sum d2s and the scale s.
struct OraclePair {
  double d2s;
  double s;
  // The oracle distance in the units of the data.
  FASTPRDC_HD double dist() const { return sqrt(d2s) / s; }
};

template <class T, class U>
FASTPRDC_HD OraclePair oracle_pair(const T* x, const U* y, int64_t d, double s) {
  double acc = 0.0;
  for (int64_t t = 0; t < d; ++t) {
    const double diff = static_cast<double>(x[t]) * s - static_cast<double>(y[t]) * s;
    acc += diff * diff;
  }
  return {acc, s};
}

// Row i of a (exponent ea) against row j of b (exponent eb); a and b may mix float32 and float64.
FASTPRDC_HD OraclePair oracle_pair(const MatrixView& a, int64_t i, int ea, const MatrixView& b, int64_t j, int eb) {
  const double s = pair_scale(ea, eb);
  const int64_t d = a.cols;
  if (a.f64) {
    if (b.f64) return oracle_pair(a.row<double>(i), b.row<double>(j), d, s);
    return oracle_pair(a.row<double>(i), b.row<float>(j), d, s);
  }
  if (b.f64) return oracle_pair(a.row<float>(i), b.row<double>(j), d, s);
  return oracle_pair(a.row<float>(i), b.row<float>(j), d, s);
}

// Row x (exponent ex) against rows js[0..n) of b: four pairs side by side (independent sequential
// sums, the same arithmetic per pair as oracle_pair), hiding the add latency. Writes d2s and s.
template <class T, class U>
FASTPRDC_HD void oracle_pairs(const T* x, int ex, const MatrixView& b, const int32_t* eb, const int32_t* js, int n,
                              double* d2s, double* scale) {
  const int64_t d = b.cols;
  int l = 0;
  for (; l + 4 <= n; l += 4) {
    const U* y0 = b.row<U>(js[l]);
    const U* y1 = b.row<U>(js[l + 1]);
    const U* y2 = b.row<U>(js[l + 2]);
    const U* y3 = b.row<U>(js[l + 3]);
    const double s0 = pair_scale(ex, eb[js[l]]), s1 = pair_scale(ex, eb[js[l + 1]]);
    const double s2 = pair_scale(ex, eb[js[l + 2]]), s3 = pair_scale(ex, eb[js[l + 3]]);
    double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0;
    for (int64_t t = 0; t < d; ++t) {
      const double xt = static_cast<double>(x[t]);
      const double d0 = xt * s0 - static_cast<double>(y0[t]) * s0;
      const double d1 = xt * s1 - static_cast<double>(y1[t]) * s1;
      const double d2 = xt * s2 - static_cast<double>(y2[t]) * s2;
      const double d3 = xt * s3 - static_cast<double>(y3[t]) * s3;
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
    const OraclePair p = oracle_pair(x, b.row<U>(js[l]), d, pair_scale(ex, eb[js[l]]));
    d2s[l] = p.d2s;
    scale[l] = p.s;
  }
}

// Row i of a against rows js of b (dtype dispatch of oracle_pairs).
FASTPRDC_HD void oracle_pairs(const MatrixView& a, int64_t i, int ea, const MatrixView& b, const int32_t* eb,
                              const int32_t* js, int n, double* d2s, double* scale) {
  if (a.f64) {
    if (b.f64) return oracle_pairs<double, double>(a.row<double>(i), ea, b, eb, js, n, d2s, scale);
    return oracle_pairs<double, float>(a.row<double>(i), ea, b, eb, js, n, d2s, scale);
  }
  if (b.f64) return oracle_pairs<float, double>(a.row<float>(i), ea, b, eb, js, n, d2s, scale);
  return oracle_pairs<float, float>(a.row<float>(i), ea, b, eb, js, n, d2s, scale);
}

}  // namespace fastprdc
