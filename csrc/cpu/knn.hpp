// Exact k-nearest neighbours on the CPU.
#pragma once

#include <cstdint>
#include <vector>

#include "common/types.hpp"
#include "cpu/oracle.hpp"

namespace fastprdc {

struct KnnResult {
  std::vector<double> dist;  // rows x k, float64 oracle distances, ascending
  std::vector<int64_t> idx;  // rows x k, ties by lower index
  int64_t n_rechecked = 0;
};

// Keys of the k-NN collectors. Exact keys are oracle distances (original units), so ties are
// decided on the distances themselves, as the oracle does; the bounds live in the scaled d^2
// domain. Estimates (exact=False) stay scaled d^2 until keys_to_distances.
struct KnnKeys {
  const MatrixView& a;
  const MatrixView& b;
  double scale;

  // Exact keys from row i of a to rows js of b.
  auto exact(int64_t i) const {
    return [this, i](const int64_t* js, int64_t n, double* out) {
      oracle_d2_many(a, i, b, js, n, out);
      for (int64_t t = 0; t < n; ++t) out[t] = std::sqrt(out[t]);
    };
  }
  double to_domain(double dist) const {
    const double v = dist * scale;
    return v * v;
  }
};

// Finalized top-k keys to distances (identity for exact keys; scaled d^2 estimates otherwise).
void keys_to_distances(double* keys, int64_t k, bool exact, double scale);

// Self-kNN of x: each row's k nearest other rows (self excluded by position). Symmetric: every
// pair is computed once.
KnnResult knn_self(const MatrixView& x, int64_t k, const RunConfig& cfg);

}  // namespace fastprdc
