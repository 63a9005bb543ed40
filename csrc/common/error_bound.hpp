// Rigorous error bound of the fast GEMM path against the float64 oracle (common/oracle.hpp).
//
// The fast path works in a frame: data are centred (any float64 centre c) and scaled by a power of
// two s_f so that every |s_f (x - c)| <= 1, then rounded to float32: x~. With n_x = |x~|^2
// (computed in float64, stored in float32) and a GEMM inner product g ~ x~.y~, the estimate
// e = n_x + n_y - 2 g satisfies
//     |e - s_f^2 o2(x, y)| <= C (n_x + n_y) + A,
// where o2 is the square of the oracle distance (or d2s / s^2, its unrounded form). C = C_gemm + C_fix:
//   float32 rounding of the centred data: |d(x~, y~)^2 - s_f^2 d^2| <= 4 u32 (n_x + n_y);
//   float32 rounding of the norms, of e and of e -/+ bound: <= 10 u32 (n_x + n_y);
//   the oracle's own rounding (d + 4 roundings of non-negative terms, the sqrt and its square):
//     <= (d + 8) u64 s_f^2 d^2 <= (2 d + 16) u64 (n_x + n_y), since s_f^2 d^2 <= 2 (n_x + n_y);
//   the GEMM: plain FP32 SGEMM, any summation order (blocking, split-K): |g - x~.y~| <=
//     gamma_d sum_t |x~_t y~_t| <= gamma_d (n_x + n_y) / 2, counted twice in e: d u32 (n_x + n_y)
//     (gamma_d = d u / (1 - d u), absorbed by the 1.125 margin for d < 2^20).
// So C_fp32 = 1.125 ((d + 32) u32 + (2 d + 16) u64). The bound holds for every summation order, so
// a change of GEMM order or library can change which pairs are rechecked, never a result.
//
// A, the absolute slack, covers underflow: float32 underflow of tiny centred values (1e-30 covers
// it, as |x~_t| <= 1); the oracle's subnormal roundings: x_t s underflowing when s < 1 and squares
// below 2^-1022 (each <= 2^-1074 in the scaled sum, so <= (d + 2) 2^-1073 / s^2 in the data's
// units), and the final division sqrt(d2s) / s when the distance is subnormal (<= 2^-1075 on a
// distance <= 2 sqrt(d) / s_f). In the frame: (d + 2) 2^-1070 ((s_f / s_min)^2 + s_f / s_min + s_f)
// with s_min the smallest pair scale of the pass. For data so extreme that this is large, A
// saturates to +inf and every decision is rechecked.
#pragma once

#include "common/fp.hpp"
#include "common/oracle.hpp"

#if !defined(__CUDACC_RTC__)
#include <stdexcept>
#include <string>
#endif

namespace fastprdc {

constexpr double kU32 = 1.0 / 16777216.0;          // 2^-24
constexpr double kU64 = 1.0 / 9007199254740992.0;  // 2^-53
constexpr double kKeyRel = 1.0 / 1099511627776.0;  // 2^-40: width of bounds around exact values
constexpr double kRatioRel = 1e-12;                // realism ratio bounds: margin for their rounding
constexpr double kGateRel = 1e-6;                  // realism gate: margin for its rounding

// Per-pair bounds of the oracle d^2 (frame domain) from the float32 GEMM entry m2d = -2 g and the
// squared norms: exactly this sequence of float32 operations everywhere (the scan filters on `lo`
// and the handlers recompute it; -ffp-contract=off / --fmad=false keep them equal).
struct PairBounds {
  float lo, hi;
};

FASTPRDC_HD PairBounds pair_bounds(float na, float nb, float m2d, float coef, float absb) {
  const float s = na + nb;
  const float e = s + m2d;
  const float b = coef * s + absb;
  return {e - b, e + b};
}

// Squared radius thresholds in the frame. A pair whose upper bound is below `inside` lies strictly
// inside the ball (both boundary conventions); one whose lower bound is above `outside` lies
// outside; anything else is decided by the oracle. Without `exact`, the estimate is compared with
// r^2 directly. A radius of 0 needs no pair under the strict boundary (d < 0 holds for none) and,
// with `zeros_counted`, under the inclusive one too: such a ball holds exactly its centre's copies,
// counted from the row groups before the sweep (cpu/duplicates.hpp count_zero_radius_balls).
struct RadiusThresholds {
  float inside;
  float outside;
};

FASTPRDC_HD RadiusThresholds radius_thresholds(double radius, double scale, bool exact, bool strict,
                                               bool zeros_counted = false) {
  if (radius == 0.0 && (strict || zeros_counted)) return {-inf_f32(), -inf_f32()};
  const double rs = radius * scale;
  const double r2 = rs * rs;
  if (!exact) {
    const float f = static_cast<float>(r2);
    return strict ? RadiusThresholds{f, next_down(f)} : RadiusThresholds{next_up(f), f};
  }
  return {next_down(static_cast<float>(r2 * (1.0 - kKeyRel))), next_up(static_cast<float>(r2 * (1.0 + kKeyRel)))};
}

// Bounds of an exactly known value v (frame domain) for the candidate lists: [lo, hi] contains v
// after float32 rounding.
FASTPRDC_HD PairBounds exact_value_bounds(double v) {
  const float a = next_down(static_cast<float>(v * (1.0 - kKeyRel)));
  const float b = next_up(static_cast<float>(v * (1.0 + kKeyRel)));
  return a <= b ? PairBounds{a, b} : PairBounds{b, a};  // negative values (realism keys) swap
}

// Which GEMM computes the inner products of the fast path (its value is also the packing that
// the GPU's pack_rows gives the operands: cuda/kernels.cuh).
enum class GemmPath : int {
  kFp32 = 0,    // IEEE FP32 (OpenBLAS sgemm on the CPU; cuBLAS with CUBLAS_COMPUTE_32F_PEDANTIC)
  kTf32x3 = 1,  // three TF32 tensor-core GEMMs on split operands (CUBLAS_COMPUTE_32F_FAST_TF32)
  kTf32 = 2,    // one TF32 tensor-core GEMM on operands rounded to TF32 (CUBLAS_COMPUTE_32F_FAST_TF32)
  kFp16 = 3,    // one FP16 tensor-core GEMM, FP32 accumulation (CUBLAS_COMPUTE_32F), operands in FP16
  kFp16x3 = 4,  // three FP16 tensor-core GEMMs on split operands, FP32 accumulation (CUBLAS_COMPUTE_32F)
};

// Whether a path's GEMM is three GEMMs on split operands, big.big + big.small + small.big (each
// set packed twice: its big parts, and its small parts in packed_small).
FASTPRDC_HD bool gemm_split(GemmPath path) { return path == GemmPath::kTf32x3 || path == GemmPath::kFp16x3; }

// Whether a path packs its operands in FP16 (2^kFp16Shift times the frame values).
FASTPRDC_HD bool gemm_fp16(GemmPath path) { return path == GemmPath::kFp16 || path == GemmPath::kFp16x3; }

// The fp16 paths pack 2^kFp16Shift times the frame values (|v| <= 1: at most 2^14, within FP16's
// 65504; subnormal in FP16 only below 2^-28 in the frame; fp16x3's small parts, below 2^-11 of
// their values, likewise below 2^-28) and their GEMMs' alpha undoes the shift exactly (a power
// of two, and no product of packed values is below FP32's normal range).
constexpr int kFp16Shift = 14;
constexpr float kFp16Scale = static_cast<float>(1 << kFp16Shift);  // 2^kFp16Shift

// The GEMM's alpha: the tile is -2 times the frame's inner products.
FASTPRDC_HD float gemm_alpha(GemmPath path) { return gemm_fp16(path) ? -2.0f / (kFp16Scale * kFp16Scale) : -2.0f; }

#if !defined(__CUDACC_RTC__)

inline GemmPath gemm_path(const std::string& name) {
  if (name == "fp32") return GemmPath::kFp32;
  if (name == "tf32x3") return GemmPath::kTf32x3;
  if (name == "tf32") return GemmPath::kTf32;
  if (name == "fp16") return GemmPath::kFp16;
  if (name == "fp16x3") return GemmPath::kFp16x3;
  throw std::invalid_argument("fastprdc: unknown GEMM path '" + name + "' (fp32, tf32x3, tf32, fp16, fp16x3)");
}

// Relative error of one GEMM dot product g ~ x.y against sum_t |x_t y_t| (any summation order).
//   FP32 (IEEE, round to nearest): gamma_d = d u32 / (1 - d u32).
//   3xTF32: x = x_big + x_small with x_big = x with its 13 low mantissa bits cleared (exact in TF32)
//   and x_small = x - x_big (exact in FP32, |x_small| < 2^-10 |x|); the tile is the FP32 sum of
//   three TF32 GEMMs x_big.y_big + x_big.y_small + x_small.y_big (two FP32 adds, <= 2 u32 relative
//   to the partial sums). Tensor-core TF32 products are exact; their accumulation aligns to the
//   largest exponent and truncates (Fasi, Higham, Mikaitis & Pranesh, "Numerical behavior of NVIDIA
//   tensor cores", PeerJ CS 7:e330, 2021; bit-accurate A100/H100/H200 models in Khattak & Mikaitis,
//   "Accurate models of NVIDIA tensor cores", arXiv:2512.07004, 2025): with u = 2^-23 every
//   accumulation tree of n products stays within gamma'_{2n} = 2 n u / (1 - 2 n u) of their absolute
//   sum, whatever the block size or split-K. The dropped term |x_small y_small| <= 2^-20 |x y|;
//   cuBLAS converts x_small and y_small to TF32 (relative 2^-10, truncating or rounding), which
//   moves each of x_big.y_small and x_small.y_big by <= 2^-10 (1 + 2^-10) 2^-10 |x y|: together
//   <= 3 2^-20 (1 + 2^-10) |x y|. The three partial products sum to at most (1 + 2^-8) |x y| in
//   absolute value. So
//     rel = (1 + 2^-8) gamma'_{2d} + 3 2^-20 (1 + 2^-10) + 2 u32 (1 + 2^-8).
//   TF32: one TF32 GEMM on x^ = x rounded to the nearest TF32 value when packed (10 mantissa bits,
//   |x^ - x| <= 2^-11 |x|; the tensor cores read x^ unchanged, whichever conversion cuBLAS
//   applies), against the float32 values x whose norms the estimate uses: |x^ y^ - x y| <=
//   (2^-10 + 2^-22) |x y| per product, and the accumulation as above on sum |x^ y^| <=
//   (1 + 2^-10 + 2^-22) sum |x y|. So
//     rel = (2^-10 + 2^-22) + (1 + 2^-10 + 2^-22) gamma'_{2d},
//   about three times the 3xTF32 bound for a third of its tensor-core work. A subnormal x
//   (|x| < 2^-126) rounds by at most 2^-137 absolutely, or flushes to zero: within the 1e-30 of A
//   below (|y| <= 1, d < 2^20).
//   FP16: the same rounding (FP16 has TF32's 10 mantissa bits; values packed as 2^14 x, rounded
//   to nearest even) and the same accumulation model (both cited studies cover FP16 inputs with
//   FP32 accumulation, Khattak & Mikaitis on the H100 too), so the same rel; FP16's subnormals
//   (2^14 |x| < 2^-14) get an absolute term instead (gemm_absolute_error), at twice the
//   tensor-core rate of TF32.
//   3xFP16: X = 2^14 x (exact), x_big = X rounded to the nearest FP16 value, x_small = the FP16
//   value nearest X - x_big (that difference is exact in FP32): |X - x_big - x_small| <=
//   2^-11 |X - x_big| <= 2^-22 |X| where both are normal (subnormals: the absolute term, as for
//   FP16). The tile is the FP32 sum of three FP16 GEMMs x_big.y_big + x_big.y_small +
//   x_small.y_big with one alpha (the shift's). With X = x_big + x_small + r_x, X Y minus the
//   three products is x_small y_small + (x_big + x_small) r_y + r_x Y, at most 2^-22 |X Y| ((1 +
//   2^-11)^2 + (1 + 2^-22) + 1) <= 3 2^-22 (1 + 2^-10) |X Y|; the products are exact and
//   accumulate as for FP16, on partial sums of at most (1 + 2^-11)^2 (1 + 2^-10) <= 1 + 2^-8
//   times sum |X Y|; two FP32 adds as for 3xTF32. So
//     rel = (1 + 2^-8) gamma'_{2d} + 3 2^-22 (1 + 2^-10) + 2 u32 (1 + 2^-8),
//   a little below the 3xTF32 bound (whose big parts are cut, not rounded), for half its
//   tensor-core time (FP16 runs at twice TF32's rate) and half its operand memory.
inline double gemm_relative_error(int64_t d, GemmPath path) {
  const double dd = static_cast<double>(d);
  if (path == GemmPath::kFp32) return dd * kU32 / (1.0 - dd * kU32);
  const double u = 1.0 / 8388608.0;  // 2^-23: truncating accumulation
  const double gamma = 2.0 * dd * u / (1.0 - 2.0 * dd * u);
  if (path == GemmPath::kTf32 || path == GemmPath::kFp16) {
    const double rounding = 1.0 / 1024.0 + 1.0 / 4194304.0;  // 2^-10 + 2^-22
    return rounding + (1.0 + rounding) * gamma;
  }
  const double big = 1.0 + 1.0 / 256.0;
  const double dropped = path == GemmPath::kFp16x3 ? 1.0 / 4194304.0 : 1.0 / 1048576.0;  // 2^-22, 2^-20
  return big * gamma + 3.0 * dropped * (1.0 + 1.0 / 1024.0) + 2.0 * kU32 * big;
}

// C (see above): the GEMM's error counted twice in e (sum |x~_t y~_t| <= (n_x + n_y) / 2, and
// e = n_x + n_y - 2 g), plus the fixed float32 and float64 terms, with a 1.125 margin.
inline float error_bound_coefficient(int64_t d, GemmPath path = GemmPath::kFp32) {
  const double dd = static_cast<double>(d);
  return static_cast<float>(1.125 * (gemm_relative_error(d, path) + 32.0 * kU32 + (2.0 * dd + 16.0) * kU64));
}

// Absolute error of one GEMM dot product in the frame beyond gemm_relative_error, counted twice in
// e: fp16's operands below FP16's normal range (|x| < 2^-28 in the frame) are packed within
// 2^-39 of x (f16_bits), and are within 2^-28 of it even if the tensor cores flush them to zero,
// which this term allows: |x^_t - x_t| <= 2^-11 |x_t| + 2^-28, so |x^_t y^_t - x_t y_t| <=
// (2^-10 + 2^-22) |x_t y_t| + 2^-28 (|y^_t| + |x_t| + 2^-11) with |x|, |y^| <= 1; over d
// products, <= d 2^-26.9, and with the accumulation (gamma' < 1 on the same sum) <= d 2^-25.9
// per dot product; in e, d 2^-24.9; d 2^-24 with margin. fp16x3: an operand's big and small
// parts together are within 2^-22 |x_t| + 2^-28 of x_t likewise (its small part is subnormal
// only when below 2^-28 in the frame; a subnormal big part leaves a small part below it), so the
// same term.
inline double gemm_absolute_error(int64_t d, GemmPath path) {
  return gemm_fp16(path) ? std::ldexp(static_cast<double>(d), -24) : 0.0;
}

// A for a pass in the frame of scale 2^frame_exp whose rows have largest binary exponent e_max
// (see above), on GEMM path `path`; +inf when the data are too extreme for the slack to mean
// anything.
inline float error_bound_absolute(int64_t d, int frame_exp, int e_max, GemmPath path = GemmPath::kFp32) {
  const int pm = binary_exponent(min_pair_scale(e_max)) - 1;  // s_min = 2^pm
  const int r = frame_exp - pm;
  const int exps[3] = {2 * r - 1070, r - 1070, frame_exp - 1070};
  double sum = 0.0;
  for (int e : exps) {
    if (e > 90) return inf_f32();
    sum += std::ldexp(1.0, e);
  }
  const double slack = 1e-30 + gemm_absolute_error(d, path) + static_cast<double>(d + 2) * sum * (1.0 + 1e-6);
  return slack > 1e30 ? inf_f32() : next_up(static_cast<float>(slack));
}
#endif

}  // namespace fastprdc
