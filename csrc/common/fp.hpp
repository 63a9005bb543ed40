// Bit-exact floating-point helpers, identical on host and device: ulp steps, powers of two and
// binary exponents computed from the IEEE-754 bit patterns (no libm behaviour to differ).
#pragma once

#include "common/hd.hpp"

namespace fastprdc {

FASTPRDC_HD uint32_t f32_bits(float x) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(x);
#else
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
#endif
}

FASTPRDC_HD float f32_from_bits(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
#endif
}

FASTPRDC_HD uint64_t f64_bits(double x) {
#if defined(__CUDA_ARCH__)
  return static_cast<uint64_t>(__double_as_longlong(x));
#else
  uint64_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
#endif
}

FASTPRDC_HD double f64_from_bits(uint64_t u) {
#if defined(__CUDA_ARCH__)
  return __longlong_as_double(static_cast<long long>(u));
#else
  double x;
  std::memcpy(&x, &u, sizeof x);
  return x;
#endif
}

// Whether radius a is below radius b in the order of the smallest-radius counters: by value,
// and -0.0 below +0.0 (radii are non-negative, -0.0 or +inf), a total order, so that a minimum
// over any order of updates is the same value with the same sign of zero.
FASTPRDC_HD bool radius_below(double a, double b) { return a < b || (a == b && f64_bits(a) > f64_bits(b)); }

// Lowers *p to v atomically where v is below it (radius_below).
FASTPRDC_HD void atomic_min_radius(double* p, double v) {
  const uint64_t want = f64_bits(v);
#if defined(__CUDA_ARCH__)
  unsigned long long* q = reinterpret_cast<unsigned long long*>(p);
  unsigned long long seen = *reinterpret_cast<volatile unsigned long long*>(q);
  while (radius_below(v, f64_from_bits(seen))) {
    const unsigned long long got = atomicCAS(q, seen, static_cast<unsigned long long>(want));
    if (got == seen) break;
    seen = got;
  }
#else
  uint64_t* q = reinterpret_cast<uint64_t*>(p);
  uint64_t seen = __atomic_load_n(q, __ATOMIC_RELAXED);
  while (radius_below(v, f64_from_bits(seen)) &&
         !__atomic_compare_exchange_n(q, &seen, want, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
#endif
}

FASTPRDC_HD float inf_f32() { return f32_from_bits(0x7f800000u); }
FASTPRDC_HD double inf_f64() { return f64_from_bits(0x7ff0000000000000ull); }
FASTPRDC_HD double nan_f64() { return f64_from_bits(0x7ff8000000000000ull); }
constexpr double kMinNormal64 = 2.2250738585072014e-308;  // 2^-1022: below it, fewer than 53 bits

// |v| by clearing the sign bit: exact and branch-free (a compare-and-negate mispredicts on data
// of random sign, which made the oracle's max pass the cost of exact=True).
FASTPRDC_HD double abs_f64(double v) { return f64_from_bits(f64_bits(v) & 0x7fffffffffffffffull); }

// The next float32 above x (std::nextafter(x, +inf)); NaN and +inf stay.
FASTPRDC_HD float next_up(float x) {
  if (x != x || x == inf_f32()) return x;
  if (x == 0.0f) return f32_from_bits(1u);  // +-0 -> smallest subnormal
  const uint32_t u = f32_bits(x);
  return f32_from_bits(x > 0.0f ? u + 1u : u - 1u);
}

// The next float32 below x (std::nextafter(x, -inf)).
FASTPRDC_HD float next_down(float x) { return -next_up(-x); }

// TF32 values (float32 with 10 mantissa bits, what tensor cores multiply): x with its 13 low
// mantissa bits cleared (|error| < 2^-10 |x|), and x rounded to the nearest one (ties away from
// zero; |error| <= 2^-11 |x| for normal x, <= 2^-137 for subnormal x; finite |x| < 2 - 2^-11
// times 2^127, as every frame value).
FASTPRDC_HD float tf32_cut(float x) { return f32_from_bits(f32_bits(x) & 0xffffe000u); }
FASTPRDC_HD float tf32_round(float x) { return f32_from_bits((f32_bits(x) + 0x1000u) & 0xffffe000u); }

// x rounded to the nearest IEEE binary16 value (ties to even), as its bits; finite |x| < 65520.
// Below 2^-14 the result is subnormal (a multiple of 2^-24: |error| <= 2^-25), else |error| <=
// 2^-11 |x|.
FASTPRDC_HD uint16_t f16_bits(float x) {
  const uint32_t u = f32_bits(x);
  const uint32_t sign = (u >> 16) & 0x8000u;
  const uint32_t a = u & 0x7fffffffu;
  if (a >= 0x38800000u) {  // normal: the exponent rebiased (127 -> 15), 13 bits rounded off
    const uint32_t r = a - 0x38000000u + 0xfffu + ((a >> 13) & 1u);
    return static_cast<uint16_t>(sign | (r >> 13));
  }
  if (a <= 0x33000000u) return static_cast<uint16_t>(sign);  // |x| <= 2^-25: 0 (2^-25 ties to even)
  const uint32_t m = (a & 0x7fffffu) | 0x800000u;            // |x| = m 2^(E - 150)
  const uint32_t s = 126u - (a >> 23);                       // |x| / 2^-24 = m / 2^s, s in [14, 24]
  uint32_t r = m >> s;
  const uint32_t rest = m & ((1u << s) - 1u), half = 1u << (s - 1u);
  if (rest > half || (rest == half && (r & 1u))) ++r;
  return static_cast<uint16_t>(sign | r);
}

// The value of IEEE binary16 bits h (finite), exactly, as float32 (every FP16 value is one).
FASTPRDC_HD float f16_value(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  if (e) return f32_from_bits(sign | ((e + 112u) << 23) | (m << 13));  // normal: exponent 15 -> 127
  const float v = static_cast<float>(m) * (1.0f / 16777216.0f);        // subnormal: m 2^-24
  return sign ? -v : v;
}

// 2^e exactly, for e in the normal range [-1022, 1023].
FASTPRDC_HD double pow2(int e) { return f64_from_bits(static_cast<uint64_t>(e + 1023) << 52); }

// v * 2^e for any int e, exact whenever the result is a normal number (steps of at most 2^1023
// towards the result, so every intermediate lies between v and the result).
FASTPRDC_HD double scale_pow2(double v, int e) {
  while (e < -1022) {
    v *= pow2(-1022);
    e += 1022;
  }
  while (e > 1023) {
    v *= pow2(1023);
    e -= 1023;
  }
  return v * pow2(e);
}

// Marks "no non-zero value": below every binary exponent of a finite double.
constexpr int kZeroExponent = -2000;

// Binary exponent e of |v| as frexp gives it: 2^(e-1) <= |v| < 2^e, for finite v != 0 (subnormals
// included); kZeroExponent for 0.
FASTPRDC_HD int binary_exponent(double v) {
  const uint64_t u = f64_bits(v) & 0x7fffffffffffffffull;
  if (u == 0) return kZeroExponent;
  const int biased = static_cast<int>(u >> 52);
  if (biased != 0) return biased - 1022;
  int e = -1022;  // subnormal: shift the mantissa up to its leading bit
  uint64_t m = u;
  while (!(m & (1ull << 52))) {
    m <<= 1;
    --e;
  }
  return e;
}

}  // namespace fastprdc
