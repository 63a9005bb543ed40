// Rigorous error bound of the float32 fast path against the float64 oracle.
//
// Data are centred (float64) and scaled by a power of two s so that every |s(x - c)| <= 1, then
// rounded to float32: x~. With n_x = |x~|^2 (computed in float64, stored in float32) and the
// float32 GEMM inner product, the fast estimate e = n_x + n_y - 2 fl(x~.y~) satisfies
//     |e - s^2 o2(x, y)| <= C_d (n_x + n_y) + tiny,
// where o2 is the float64 oracle d^2 (sequential sum of squared differences). Contributions:
//   GEMM dot product, any summation order: gamma_d sum|x~ y~| <= gamma_d (n_x + n_y) / 2, doubled;
//   float32 rounding of the centred data: |d(x~, y~)^2 - d^2| <= 4 u32 (n_x + n_y);
//   float32 rounding of norms, of e, and of e -/+ bound: <= 10 u32 (n_x + n_y);
//   the oracle's own float64 summation error: <= (d + 2) u64 * 2 (n_x + n_y).
// We take C_d = 1.125 ((d + 32) u32 + (2 d + 16) u64), which covers all of them with margin.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace fastprdc {

inline float error_bound_coefficient(int64_t d) {
  const double u32 = std::ldexp(1.0, -24);
  const double u64 = std::ldexp(1.0, -53);
  return static_cast<float>(1.125 *
                            ((static_cast<double>(d) + 32.0) * u32 + (2.0 * static_cast<double>(d) + 16.0) * u64));
}

// Absolute slack (scaled domain) for underflow: float32 underflow of tiny centred values
// (|s(x - c)| <= 1 always) is covered by 1e-30; the oracle's own float64 squares underflow below
// 2^-1074 per term, i.e. (d + 2) 2^-1073 in original units, s^2 times that once scaled. For data so
// tiny that this is large, the slack saturates to +inf and every decision is rechecked.
inline float error_bound_absolute(int64_t d, double scale) {
  int e = 0;
  std::frexp(scale, &e);  // scale = 2^(e-1)
  const double oracle = std::ldexp(static_cast<double>(d + 2), std::min(-1073 + 2 * e, 1000));
  const double slack = 1e-30 + oracle;
  return slack > 1e30 ? INFINITY : static_cast<float>(slack * (1.0 + 1e-6));
}

// Squared radius thresholds in the scaled float32 domain. A pair whose upper bound is below
// `inside` lies strictly inside the ball (for both boundary conventions); a pair whose lower bound
// is above `outside` lies outside; anything else is rechecked in float64.
struct RadiusThresholds {
  float inside;
  float outside;
};

inline RadiusThresholds radius_thresholds(double radius, double scale, bool exact, bool strict) {
  const double r2 = (radius * scale) * (radius * scale);
  if (!exact) {
    // Fast path without recheck: compare the estimate with r^2 directly.
    const float f = static_cast<float>(r2);
    return strict ? RadiusThresholds{f, std::nextafter(f, -1.0f)} : RadiusThresholds{std::nextafter(f, INFINITY), f};
  }
  const double rel = std::ldexp(1.0, -40);
  float in = static_cast<float>(r2 * (1.0 - rel));
  float out = static_cast<float>(r2 * (1.0 + rel));
  in = std::nextafter(in, -1.0f);       // round down
  out = std::nextafter(out, INFINITY);  // round up
  return {in, out};
}

}  // namespace fastprdc
