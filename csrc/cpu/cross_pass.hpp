// The fused cross pass A x B: hypersphere membership both ways (balls centred on A with radii
// radii_a, balls centred on B with radii_b) and nearest-neighbour lists both ways, from one
// sweep over the GEMM tiles.
#pragma once

#include <cstdint>
#include <vector>

#include "common/matrix.hpp"
#include "common/run_config.hpp"

namespace fastprdc {

struct CrossInputs {
  MatrixView a, b;
  const double* radii_a = nullptr;  // a.rows x ka (row-major), balls centred on A
  int64_t ka = 0;
  const double* radii_b = nullptr;  // b.rows x kb, balls centred on B
  int64_t kb = 0;
  bool strict = false;  // true: d < r; false: d <= r
  int64_t knn_a = 0;    // nearest B rows of each A row
  int64_t knn_b = 0;    // nearest A rows of each B row
  // Realism: balls centred on A (a.rows x kr, row-major); a negative radius marks a pruned ball.
  const double* realism_radii = nullptr;
  int64_t kr = 0;
  // Realism form: negative = plain r / d (metrics.md); eps >= 0 = squared r^2 / (d^2 + eps).
  double realism_eps = -1.0;
};

struct CrossResult {
  std::vector<int64_t> b_count;       // b.rows x ka: A-balls containing b_j
  std::vector<double> b_min_radius;   // b.rows x ka: smallest such radius (+inf if none)
  std::vector<int64_t> a_ball_count;  // a.rows x ka: B points inside the A-ball
  std::vector<int64_t> a_count;       // a.rows x kb
  std::vector<double> a_min_radius;   // a.rows x kb
  std::vector<int64_t> b_ball_count;  // b.rows x kb: A points inside the B-ball
  std::vector<double> a_knn_dist;     // a.rows x knn_a
  std::vector<int64_t> a_knn_idx;
  std::vector<double> b_knn_dist;  // b.rows x knn_b
  std::vector<int64_t> b_knn_idx;
  std::vector<double> b_realism;       // b.rows x kr: max over kept i of the realism ratio, NaN if none
  std::vector<int64_t> b_realism_idx;  // b.rows x kr: the maximising i (lowest among ties), -1 if none
  int64_t n_rechecked = 0;
};

// panel_rows: rows per packed panel (tile_engine.hpp; 0 = default).
CrossResult cross_pass(const CrossInputs& in, const RunConfig& cfg, int64_t panel_rows = 0);

// Full matrix of oracle distances (float64, rows x rows): for small inputs and tests.
std::vector<double> pairwise_distances(const MatrixView& x, const MatrixView& y, int num_threads);

}  // namespace fastprdc
