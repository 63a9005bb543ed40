// The operands of the GEMM tiles. A common frame (centre, power-of-two scale) is computed in a
// streaming pass over the inputs; rows are then converted to centred, scaled float32 only panel by
// panel, as the tile engine needs them (no full copy of an input). Per row, the engine keeps the
// squared norm of the float32 row and the binary exponent of the original row (the oracle's pair
// scales, common/oracle.hpp): O(rows) memory.
#pragma once

#include <cstdint>
#include <vector>

#include "common/matrix.hpp"

namespace fastprdc {

// A common frame for every set of one pass: centre c (float64) and scale s = 2^exp with
// max |s (x - c)| <= 1, so that float32 neither overflows nor loses relative accuracy.
struct Frame {
  std::vector<double> centre;
  double scale = 1.0;
  int exp = 0;    // scale = 2^exp
  int e_max = 0;  // largest binary exponent of any |value| of the sets (the oracle's range)
};

// Frame over the union of the given sets (centre = mean of all their rows). When `exps` is given,
// exps[s] (resized to sets[s]->rows) receives the binary exponent of each row's largest |value|,
// from the same read of the rows.
Frame make_frame(const std::vector<const MatrixView*>& sets, int num_threads,
                 const std::vector<std::vector<int32_t>*>& exps = {});

// Converts rows [r0, r0 + n) of m to float32(s (x - c)) into out (n x cols, row-major) and, unless
// norm2 is null, writes the squared norm of each float32 row (computed in float64, sequentially,
// rounded to float32) to norm2[i - r0]. The values depend only on the row and the frame: a row
// packed twice, in any panel, by any thread count, is bit-identical.
void pack_rows(const MatrixView& m, const Frame& frame, int64_t r0, int64_t n, float* out, float* norm2,
               int num_threads);

// A whole set packed at once (rows x cols float32): for callers that need every row resident
// (e.g. a device upload). The CPU tile engine packs panels instead (tile_engine.hpp).
struct Prepared {
  std::vector<float> x;       // rows x cols, float32(s (x - c))
  std::vector<float> norm2;   // squared norms of the float32 rows (computed in float64)
  std::vector<int32_t> exps;  // binary exponent of each original row's largest |value|
  int64_t rows = 0;
  int64_t cols = 0;
  const float* row(int64_t i) const { return x.data() + i * cols; }
};

Prepared prepare(const MatrixView& m, const Frame& frame, int num_threads);

// Number of OpenMP threads to use for a requested count (0 = default).
int resolve_threads(int requested);

}  // namespace fastprdc
