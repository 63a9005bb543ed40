#include "cpu/tile_engine.hpp"

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <mutex>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace fastprdc {

void init_blas() { scipy_openblas_set_num_threads(1); }

namespace {

struct Task {
  int64_t bi, bj;
};

// Orders tasks so that consecutive ones touch different row blocks (less lock contention).
std::vector<Task> make_tasks(int64_t nba, int64_t nbb, bool symmetric) {
  std::vector<Task> tasks;
  if (symmetric) {
    for (int64_t off = 0; off < nba; ++off)
      for (int64_t parity = 0; parity < 2; ++parity)
        for (int64_t i = parity; i + off < nba; i += 2) tasks.push_back({i, i + off});
  } else {
    for (int64_t off = 0; off < nbb; ++off)
      for (int64_t parity = 0; parity < 2; ++parity)
        for (int64_t i = parity; i < nba; i += 2) tasks.push_back({i, (i + off) % nbb});
  }
  return tasks;
}

}  // namespace

void run_tiles(const Prepared& a, const Prepared* b_or_null, const RunConfig& cfg, const TileReducer& reduce) {
  const bool symmetric = (b_or_null == nullptr);
  const Prepared& b = symmetric ? a : *b_or_null;
  const int64_t d = a.cols;
  const int64_t tr =
      std::max<int64_t>(1, std::min(cfg.tile_rows > 0 ? cfg.tile_rows : kDefaultTileRows, std::max(a.rows, b.rows)));
  const int64_t nba = (a.rows + tr - 1) / tr;
  const int64_t nbb = (b.rows + tr - 1) / tr;
  const std::vector<Task> tasks = make_tasks(nba, nbb, symmetric);
  const int64_t ntasks = static_cast<int64_t>(tasks.size());
  std::vector<std::mutex> locks_a(static_cast<size_t>(nba));
  std::vector<std::mutex> locks_b_storage(symmetric ? 0 : static_cast<size_t>(nbb));
  std::vector<std::mutex>& locks_b = symmetric ? locks_a : locks_b_storage;

  std::atomic<int64_t> next{0};
  std::atomic<int64_t> done{0};
  std::atomic<bool> stop{false};
  std::exception_ptr failure;
  std::mutex failure_lock;
  auto last_report = std::chrono::steady_clock::now();
  const int nt = resolve_threads(cfg.num_threads);

#pragma omp parallel num_threads(nt)
  {
    int tid = 0;
#ifdef _OPENMP
    tid = omp_get_thread_num();
#endif
    std::vector<float> buf;
    try {
      buf.resize(static_cast<size_t>(tr * tr));
    } catch (...) {
      std::lock_guard<std::mutex> g(failure_lock);
      if (!failure) failure = std::current_exception();
      stop = true;
    }
    while (!stop.load(std::memory_order_relaxed)) {
      const int64_t t = next.fetch_add(1);
      if (t >= ntasks) break;
      try {
        const Task task = tasks[t];
        const int64_t i0 = task.bi * tr, j0 = task.bj * tr;
        const int64_t ni = std::min(tr, a.rows - i0), nj = std::min(tr, b.rows - j0);
        if (d > 0) {
          scipy_cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<blasint>(ni), static_cast<blasint>(nj),
                            static_cast<blasint>(d), -2.0f, a.row(i0), static_cast<blasint>(d), b.row(j0),
                            static_cast<blasint>(d), 0.0f, buf.data(), static_cast<blasint>(nj));
        } else {
          std::fill(buf.begin(), buf.begin() + ni * nj, 0.0f);
        }
        const Tile tile{i0, ni, j0, nj, buf.data(), tid};
        // Lock order: A blocks before B blocks; in a symmetric pass the lower block first.
        std::mutex& la = locks_a[task.bi];
        std::mutex& lb = locks_b[task.bj];
        if (symmetric && task.bi == task.bj) {
          std::lock_guard<std::mutex> g(la);
          reduce(tile);
        } else {
          std::lock_guard<std::mutex> g1(la);
          std::lock_guard<std::mutex> g2(lb);
          reduce(tile);
        }
      } catch (...) {
        std::lock_guard<std::mutex> g(failure_lock);
        if (!failure) failure = std::current_exception();
        stop = true;
      }
      const int64_t finished = done.fetch_add(1) + 1;
      if (tid == 0 && cfg.progress) {
        const auto now = std::chrono::steady_clock::now();
        if (now - last_report > std::chrono::milliseconds(100) || finished == ntasks) {
          last_report = now;
          if (!cfg.progress(finished, ntasks)) stop = true;
        }
      }
    }
  }
  if (failure) std::rethrow_exception(failure);
  if (stop) throw Cancelled();
  if (cfg.progress && !cfg.progress(ntasks, ntasks)) throw Cancelled();
}

}  // namespace fastprdc
