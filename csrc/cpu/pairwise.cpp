#include <vector>

#include "common/oracle.hpp"
#include "cpu/cross_pass.hpp"
#include "cpu/prepare.hpp"

namespace fastprdc {

std::vector<double> pairwise_distances(const MatrixView& x, const MatrixView& y, int num_threads) {
  const int nt = threads_for(resolve_threads(num_threads), x.rows * y.rows * x.cols);
  std::vector<double> out(static_cast<size_t>(x.rows * y.rows));
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int64_t i = 0; i < x.rows; ++i)
    for (int64_t j = 0; j < y.rows; ++j) out[i * y.rows + j] = oracle_pair(x, i, y, j).dist();
  return out;
}

}  // namespace fastprdc
