// The operands of the GEMM tiles. A common frame (centre, power-of-two scale) is computed in a
// streaming pass over the inputs; rows are then converted to centred, scaled float32 only panel by
// panel, as the tile engine needs them (no full copy of an input). Per row, the engine keeps the
// squared norm of the float32 row: O(rows) memory.
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

// Converts rows [r0, r0 + n) of m to float32(s (x - c)) into out (n x cols, row-major) and, unless
// norm2 is null, writes the squared norm of each float32 row (computed in float64, sequentially,
// rounded to float32) to norm2[i - r0]. The values depend only on the row and the frame: a row
// packed twice, in any panel, by any thread count, is bit-identical.
void pack_rows(const MatrixView& m, const Frame& frame, int64_t r0, int64_t n, float* out, float* norm2,
               int num_threads);

// Number of OpenMP threads to use for a requested count (0 = default).
int resolve_threads(int requested);

// Threads for one parallel region of about `work` elementary operations: nt, or fewer so that
// each gets at least kMinWorkPerThread. Waking a thread costs microseconds, and a whole scheduler
// time slice on a loaded machine, which small calls (e.g. one class of a per-class run) would pay
// at every region. No result depends on the thread count.
constexpr int64_t kMinWorkPerThread = int64_t{1} << 16;
int threads_for(int nt, int64_t work);

}  // namespace fastprdc
