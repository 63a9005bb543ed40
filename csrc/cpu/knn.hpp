// Exact k-nearest neighbours on the CPU.
#pragma once

#include <cstdint>
#include <vector>

#include "common/matrix.hpp"
#include "common/run_config.hpp"

namespace fastprdc {

struct KnnResult {
  std::vector<double> dist;  // rows x k, float64 oracle distances, ascending
  std::vector<int64_t> idx;  // rows x k, ties by lower index
  int64_t n_rechecked = 0;
};

// Self-kNN of x: each row's k nearest other rows (self excluded by position). Symmetric: every
// pair is computed once. panel_rows: rows per packed panel (tile_engine.hpp; 0 = default).
KnnResult knn_self(const MatrixView& x, int64_t k, const RunConfig& cfg, int64_t panel_rows = 0);

}  // namespace fastprdc
