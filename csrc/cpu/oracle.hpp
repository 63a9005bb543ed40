// The float64 oracle: d^2 as a sequential sum of squared float64 differences (no FMA, no
// reordering). The numpy reference backend computes exactly the same sums, bit for bit.
#pragma once

#include <cmath>
#include <cstdint>

#include "common/types.hpp"

namespace fastprdc {

template <class T>
inline double oracle_d2(const T* x, const T* y, int64_t d) {
  double acc = 0.0;
  for (int64_t t = 0; t < d; ++t) {
    const double diff = static_cast<double>(x[t]) - static_cast<double>(y[t]);
    acc += diff * diff;
  }
  return acc;
}

// Oracle d^2 between row i of a and row j of b (same dtype, same width).
inline double oracle_d2(const MatrixView& a, int64_t i, const MatrixView& b, int64_t j) {
  if (a.f64) return oracle_d2(a.row<double>(i), b.row<double>(j), a.cols);
  return oracle_d2(a.row<float>(i), b.row<float>(j), a.cols);
}

}  // namespace fastprdc
