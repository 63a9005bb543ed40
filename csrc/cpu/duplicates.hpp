// Exact-duplicate rows of the sets of one pass, so that the engines can decide their pairs without
// the oracle: two rows hold the same values (common/row_groups.hpp) exactly when their oracle
// distance is 0. Heavily duplicated data (tabular data with categorical columns, collapsed
// generators) otherwise send every pair of copies through the float64 recheck: no float32 bound
// can tell a distance of 0 from a tiny one. The CPU engine groups the rows here; the GPU engine
// hashes and compares them on the device (fastprdc/_backends/row_groups.py) and takes its presets
// from copy_presets and zero_radius_centres.
#pragma once

#include <cstdint>
#include <vector>

#include "common/matrix.hpp"
#include "common/topk_row.hpp"

namespace fastprdc {

struct DuplicateGroups {
  // Per row of the sets, concatenated in order: the position (in the concatenation) of the first
  // row with the same values. Rows share an id exactly when they are identical.
  std::vector<int64_t> id;
  bool any = false;  // whether two rows are identical
};

// Hashes every row (O(rows x cols), parallel), sorts the hashes and compares the rows of equal
// hashes value by value: ids never rest on a hash alone.
DuplicateGroups duplicate_groups(const std::vector<const MatrixView*>& sets, int num_threads);

// The neighbour lists that copies fill: every row (ids: the rows' group ids) with at least k
// identical rows in the set `to` (not counting itself when `self`, i.e. when `to` is the row's own
// set), with its k lowest-indexed copies (js, rows x k), its exact top k under ties broken by the
// lower index.
struct CopyPresets {
  std::vector<int64_t> rows;
  std::vector<int32_t> js;
};
CopyPresets copy_presets(const int64_t* ids, int64_t rows, const int64_t* to_ids, int64_t to_rows, int64_t k,
                         bool self);

// Presets those lists (topk::preset).
void preset_copies(const TopkStore& top, const CopyPresets& presets, int num_threads);

// The realism centres of kept radius 0 that settle them (realism_frame's zeros_preset): per
// point of B (b_rows) and column (kr), two centres of A, -1 for none: the column's lowest centre
// of radius 0, and the lowest one identical to the point when it differs. radii: A rows x kr.
std::vector<int32_t> zero_radius_centres(const double* radii, int64_t a_rows, int64_t kr, const int64_t* a_group,
                                         const int64_t* b_group, int64_t b_rows);

// Balls of radius 0 under the inclusive boundary hold exactly the copies of their centre (a
// distinct row is farther than 0; under the strict one nothing, and nothing is added): with row
// groups their memberships are counted here and the sweep needs none of their pairs
// (radius_thresholds' zeros_counted). For the balls of `centres`
// rows (radii: centres x k) over `points` rows, adds to centre_count (centres x k: points in the
// ball) and point_count (points x k: balls holding the point), and lowers point_min_radius
// (points x k) to the radius of such a centre (0 or -0.0; with both signs in a column, the sign of
// the highest-indexed one). Group ids are below centres + points.
void count_zero_radius_balls(const double* radii, int64_t centres, int64_t k, bool strict, const int64_t* centre_group,
                             const int64_t* point_group, int64_t points, int64_t* centre_count, int64_t* point_count,
                             double* point_min_radius);

}  // namespace fastprdc
