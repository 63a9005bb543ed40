#include "cpu/knn.hpp"

#include "common/error_bound.hpp"
#include "cpu/oracle.hpp"
#include "cpu/prepare.hpp"
#include "cpu/tile_engine.hpp"
#include "cpu/topk.hpp"

namespace fastprdc {

KnnResult knn_self(const MatrixView& x, int64_t k, const RunConfig& cfg) {
  const int nt = resolve_threads(cfg.num_threads);
  const Frame frame = make_frame({&x}, cfg.num_threads);
  const Prepared p = prepare(x, frame, cfg.num_threads);
  const float coef = cfg.exact ? error_bound_coefficient(x.cols) : 0.0f;
  const float absb = cfg.exact ? kErrorBoundAbsolute : 0.0f;
  TopkCollector top(x.rows, k);
  const float* nrm = p.norm2.data();

  run_tiles(p, nullptr, cfg, [&](const Tile& t) {
    const bool diagonal = (t.i0 == t.j0);
    for (int64_t ii = 0; ii < t.ni; ++ii) {
      const int64_t i = t.i0 + ii;
      const float ni = nrm[i];
      const float* row = t.minus2dot + ii * t.nj;
      for (int64_t jj = diagonal ? ii + 1 : 0; jj < t.nj; ++jj) {
        const int64_t j = t.j0 + jj;
        const float s = ni + nrm[j];
        const float e = s + row[jj];
        const float b = coef * s + absb;
        const float lo = e - b;
        if (lo <= top.threshold(i)) top.push(i, lo, e + b, j);
        if (lo <= top.threshold(j)) top.push(j, lo, e + b, i);
      }
    }
  });

  KnnResult r;
  r.dist.resize(static_cast<size_t>(x.rows * k));
  r.idx.resize(static_cast<size_t>(x.rows * k));
  int64_t rechecked = 0;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 64) reduction(+ : rechecked)
  for (int64_t i = 0; i < x.rows; ++i) {
    rechecked += top.finalize(
        i, cfg.exact, frame.scale,
        [&](const int64_t* js, int64_t n, double* out) { oracle_d2_many(x, i, x, js, n, out); }, r.dist.data() + i * k,
        r.idx.data() + i * k);
  }
  r.n_rechecked = rechecked;
  return r;
}

}  // namespace fastprdc
