// The hot loop of every tile reduction: find the few pairs of one tile row that can matter.
#pragma once

#include <cstdint>

#include "common/error_bound.hpp"

namespace fastprdc {

// Writes to `hits` the positions jj in [0, n) whose lower bound is <= gate_i or <= gate_j[jj];
// returns how many. Uses AVX2 when the CPU has it (chosen at run time), identical results.
int64_t scan_row(const float* m2d, const float* nb, const float* gate_j, int64_t n, float na, float gate_i, float coef,
                 float absb, int32_t* hits);

}  // namespace fastprdc
