// The realism ratio (docs/metrics.md section 3), exact and as bounds for the fast path.
#pragma once

#include "common/error_bound.hpp"
#include "common/oracle.hpp"

namespace fastprdc {

// The ratio for radius rs and squared distance q in one common scale: rs / sqrt(q) (plain form,
// eps_s < 0) or rs^2 / (q + eps_s) (the squared form of the improved-P&R code). A zero denominator
// gives +inf, or 1 when rs = 0 too (the point lies on the ball); beyond float64's range the ratio
// saturates to +inf or 0, never NaN.
FASTPRDC_HD double realism_ratio_scaled(double rs, double q, double eps_s) {
  const bool plain = eps_s < 0.0;
  const double num = plain ? rs : rs * rs;
  const double den = plain ? sqrt(q) : q + eps_s;
  if (den > 0.0) {
    if (den == inf_f64()) return num == inf_f64() ? inf_f64() : 0.0;
    return num / den;
  }
  return rs > 0.0 ? inf_f64() : 1.0;
}

// Exact ratio for a radius r (data units) and an oracle pair: r / d for the plain form (d the oracle
// distance) or r^2 / (d2 + eps) for the squared form (d2 = d2s / s^2, the unrounded sum), the latter
// evaluated in a power-of-two scale t chosen from r and d (bit-identical to the unscaled formula
// within float64's range, and free of needless overflow and underflow outside it).
FASTPRDC_HD double realism_ratio(double r, const OraclePair& p, double eps) {
  if (eps < 0.0) {
    const double d = p.dist();
    if (d > 0.0) return r / d;
    return r > 0.0 ? inf_f64() : 1.0;
  }
  const int ps = binary_exponent(p.s) - 1;  // s = 2^ps
  const int e_d = p.d2s > 0.0 ? binary_exponent(sqrt(p.d2s)) - ps : kZeroExponent;
  const int e_r = binary_exponent(r);
  const int e = e_d > e_r ? e_d : e_r;
  if (e == kZeroExponent) return realism_ratio_scaled(0.0, 0.0, eps);
  const int te = -e < -1022 ? -1022 : (-e > 1022 ? 1022 : -e);  // t = 2^te
  return realism_ratio_scaled(scale_pow2(r, te), scale_pow2(p.d2s, 2 * (te - ps)), scale_pow2(eps, 2 * te));
}

// Whether a positive value v keeps its relative precision once scaled into the frame (vs): not
// below float64's normal range (subnormal, or flushed to 0) nor beyond it (+inf).
FASTPRDC_HD bool frame_precise(double v, double vs) { return !(v > 0.0) || (vs >= kMinNormal64 && vs < inf_f64()); }

// eps (the squared form's constant, data units; negative: the plain form) in the frame.
FASTPRDC_HD double realism_eps_in_frame(double eps, double scale) { return eps < 0.0 ? -1.0 : eps * scale * scale; }

// The realism columns in the frame (rows x k radii, negative = pruned): frame = radius x scale,
// -1 when pruned (whatever eps), and rmax, the largest per column (-1: all pruned; a positive
// radius that underflows counts as the smallest positive value). With `zeros_preset` (row groups,
// cpu/duplicates.hpp zero_radius_centres), radii of 0 count as pruned here: their best centre for
// each point is offered before the sweep (a distinct point gets the ratio 0, an identical one a
// fixed ratio), so the sweep skips them and a column of zeros needs no pair. With `exact`, a kept radius whose frame
// values lose their precision (rs, or rs^2 in the squared form, or eps's frame value, not a
// normal float64) is stored as NaN: realism_key_bounds cannot bound its ratio, and the pass
// leaves it to the exact recheck. Decided here once, not per pair.
FASTPRDC_HD void realism_frame(const double* radii, int64_t rows, int32_t k, double scale, double eps, bool exact,
                               bool zeros_preset, double* frame, double* rmax) {
  const bool eps_precise = frame_precise(eps, realism_eps_in_frame(eps, scale));
  for (int32_t c = 0; c < k; ++c) rmax[c] = -1.0;
  for (int64_t i = 0; i < rows; ++i)
    for (int32_t c = 0; c < k; ++c) {
      const double v = radii[i * k + c];
      double rs = v < 0.0 || (zeros_preset && v == 0.0) ? -1.0 : v * scale;
      if (v > 0.0 && rs == 0.0) rs = f64_from_bits(1);
      rmax[c] = rs > rmax[c] ? rs : rmax[c];
      const bool precise = eps_precise && frame_precise(rs, eps < 0.0 ? rs : rs * rs);
      frame[i * k + c] = exact && !precise && rs >= 0.0 ? nan_f64() : rs;  // a pruned one stays -1
    }
}

// The key bounds of a pair whose frame values are not precise: any ratio in [0, +inf].
FASTPRDC_HD PairBounds realism_any_key() { return {-inf_f32(), 0.0f}; }

// Bounds of the ratio of frame-scaled radius rs over a pair whose frame d^2 lies in [lo, hi]
// (the ratio decreases with d^2), as keys -ratio for a top-1 collector: {key_lo, key_hi}.
FASTPRDC_HD PairBounds realism_key_bounds(double rs, float lo, float hi, double eps_f) {
  const double dlo = lo > 0.0f ? static_cast<double>(lo) : 0.0;
  const double dhi = hi > 0.0f ? static_cast<double>(hi) : 0.0;
  const double up = realism_ratio_scaled(rs, dlo, eps_f) * (1.0 + kRatioRel);
  const double down = realism_ratio_scaled(rs, dhi, eps_f) * (1.0 - kRatioRel);
  return {next_down(static_cast<float>(-up)), next_up(static_cast<float>(-down))};
}

// Whether a realism collector's threshold (the key of its best ratio so far, -ratio) bounds
// anything: a best ratio above 0 is known (a centre of radius 0 preset before the sweep gives
// ratio 0 to a distinct point, which bounds nothing).
FASTPRDC_HD bool realism_bounded(float threshold) { return threshold < 0.0f; }

// Gate on a pair's frame d^2 lower bound for one realism column: pairs above it cannot raise the
// point's best ratio, whose key (-ratio lower bound) is `threshold`; rmax is the column's largest
// kept frame radius. +inf while no positive lower bound is known.
FASTPRDC_HD float realism_gate(float threshold, double rmax, double eps_f) {
  if (!realism_bounded(threshold)) return inf_f32();
  if (!frame_precise(rmax, eps_f < 0.0 ? rmax : rmax * rmax)) return inf_f32();  // no bound from rmax
  const double best = -static_cast<double>(threshold);
  // ratio <= rmax / sqrt(lo) or rmax^2 / (lo + eps): it can reach `best` only below this.
  const double q = eps_f < 0.0 ? (rmax / best) * (rmax / best) * (1.0 + kGateRel)
                               : rmax * rmax / best * (1.0 + kGateRel) - eps_f * (1.0 - kGateRel);
  return next_up(static_cast<float>(q));
}

}  // namespace fastprdc
