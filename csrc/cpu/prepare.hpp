// The operands of the GEMM tiles: centred, power-of-two-scaled float32 copies of the inputs and
// their squared norms.
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

struct Prepared {
  std::vector<float> x;      // rows x cols, float32(s (x - c))
  std::vector<float> norm2;  // squared norms of the float32 rows (computed in float64)
  int64_t rows = 0;
  int64_t cols = 0;
  const float* row(int64_t i) const { return x.data() + i * cols; }
};

// Frame over the union of the given sets (centre = mean of all their rows).
Frame make_frame(const std::vector<const MatrixView*>& sets, int num_threads);

// The steps of make_frame, shared with the GPU driver (which computes the sums on the device):
// rows per chunk of the centre's partial sums; the factor applied before summing (2^-max(e_max,
// 0), so that sums cannot overflow); the centre from per-chunk partial sums (chunks x d, combined
// in chunk order); the frame exponent from the largest |x - centre|.
constexpr int64_t kFrameChunkRows = 512;
double frame_shrink(int e_max);
std::vector<double> frame_centre(const double* partial, int64_t chunks, int64_t d, int64_t total_rows, double shrink);
int frame_exponent(double maxabs);

Prepared prepare(const MatrixView& m, const Frame& frame, int num_threads);

// Number of OpenMP threads to use for a requested count (0 = default).
int resolve_threads(int requested);

}  // namespace fastprdc
