// The hot loop of every tile reduction: find the few pairs of one tile row that can matter.
#pragma once

#include <cstdint>

namespace fastprdc {

// Lower bound of the oracle d^2 of one pair (scaled domain), from the float32 tile entry
// m2d = -2 x.y and the squared norms: exactly this sequence of float32 operations everywhere.
struct PairBounds {
  float lo, hi;
};
inline PairBounds pair_bounds(float na, float nb, float m2d, float coef, float absb) {
  const float s = na + nb;
  const float e = s + m2d;
  const float b = coef * s + absb;
  return {e - b, e + b};
}

// Writes to `hits` the positions jj in [0, n) whose lower bound is <= gate_i or <= gate_j[jj];
// returns how many. Uses AVX2 when the CPU has it (chosen at run time), identical results.
int64_t scan_row(const float* m2d, const float* nb, const float* gate_j, int64_t n, float na, float gate_i, float coef,
                 float absb, int32_t* hits);

}  // namespace fastprdc
