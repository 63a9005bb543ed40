#include "cpu/duplicates.hpp"

#include <algorithm>
#include <numeric>

#include "common/row_groups.hpp"
#include "cpu/prepare.hpp"

namespace fastprdc {

DuplicateGroups duplicate_groups(const std::vector<const MatrixView*>& sets, int num_threads) {
  std::vector<std::pair<const MatrixView*, int64_t>> where;  // concatenated position -> (set, row)
  for (const MatrixView* m : sets)
    for (int64_t i = 0; i < m->rows; ++i) where.emplace_back(m, i);
  const int64_t n = static_cast<int64_t>(where.size());
  const int64_t cols = sets.empty() ? 0 : sets[0]->cols;

  std::vector<uint64_t> hash(static_cast<size_t>(n));
  const int team = threads_for(resolve_threads(num_threads), n * (cols + 1));
#pragma omp parallel for num_threads(team) schedule(static)
  for (int64_t p = 0; p < n; ++p) hash[p] = row_hash(*where[p].first, where[p].second);

  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  std::sort(order.begin(), order.end(),
            [&](int64_t x, int64_t y) { return hash[x] < hash[y] || (hash[x] == hash[y] && x < y); });

  DuplicateGroups g;
  g.id.resize(static_cast<size_t>(n));
  std::vector<int64_t> reps;  // distinct rows of the current run of equal hashes, lowest index first
  for (int64_t s = 0; s < n;) {
    int64_t e = s + 1;
    while (e < n && hash[order[e]] == hash[order[s]]) ++e;
    reps.clear();
    for (int64_t q = s; q < e; ++q) {
      const int64_t p = order[q];
      int64_t id = p;
      for (int64_t r : reps) {
        if (same_values(*where[r].first, where[r].second, *where[p].first, where[p].second)) {
          id = r;
          g.any = true;
          break;
        }
      }
      if (id == p) reps.push_back(p);
      g.id[p] = id;
    }
    s = e;
  }
  return g;
}

CopyPresets copy_presets(const int64_t* ids, int64_t rows, const int64_t* to_ids, int64_t to_rows, int64_t k,
                         bool self) {
  CopyPresets out;
  if (k <= 0) return out;
  // the rows of `to` by (group id, index): a group's members are a run, lowest index first
  std::vector<int32_t> members(static_cast<size_t>(to_rows));
  std::iota(members.begin(), members.end(), int32_t{0});
  std::stable_sort(members.begin(), members.end(), [&](int32_t x, int32_t y) { return to_ids[x] < to_ids[y]; });
  std::vector<int64_t> sorted(static_cast<size_t>(to_rows));
  for (int64_t q = 0; q < to_rows; ++q) sorted[q] = to_ids[members[q]];
  for (int64_t i = 0; i < rows; ++i) {
    const auto lo = std::lower_bound(sorted.begin(), sorted.end(), ids[i]);
    const auto hi = std::upper_bound(lo, sorted.end(), ids[i]);
    if (hi - lo < k + (self ? 1 : 0)) continue;
    out.rows.push_back(i);
    int64_t n = 0;
    for (int64_t q = lo - sorted.begin(); n < k; ++q, ++n) {
      if (self && members[q] == i) ++q;  // a row is not its own neighbour
      out.js.push_back(members[q]);
    }
  }
  return out;
}

void preset_copies(const TopkStore& top, const CopyPresets& presets, int num_threads) {
  if (!top.active()) return;
  const int64_t n = static_cast<int64_t>(presets.rows.size());
  const int team = threads_for(resolve_threads(num_threads), n * (top.k + 16));
#pragma omp parallel for num_threads(team) schedule(static)
  for (int64_t q = 0; q < n; ++q) topk::preset(top, presets.rows[q], presets.js.data() + q * top.k);
}

std::vector<int32_t> zero_radius_centres(const double* radii, int64_t a_rows, int64_t kr, const int64_t* a_group,
                                         const int64_t* b_group, int64_t b_rows) {
  std::vector<int64_t> lowest(static_cast<size_t>(kr), -1);                         // per column
  std::vector<int64_t> lowest_of(static_cast<size_t>((a_rows + b_rows) * kr), -1);  // per group id and column
  for (int64_t i = 0; i < a_rows; ++i)
    for (int64_t c = 0; c < kr; ++c) {
      if (radii[i * kr + c] != 0.0) continue;
      if (lowest[c] < 0) lowest[c] = i;
      int64_t& g = lowest_of[a_group[i] * kr + c];
      if (g < 0) g = i;
    }
  std::vector<int32_t> out(static_cast<size_t>(b_rows * kr * 2), -1);
  for (int64_t j = 0; j < b_rows; ++j)
    for (int64_t c = 0; c < kr; ++c) {
      const int64_t same = lowest_of[b_group[j] * kr + c];
      int32_t* z = out.data() + (j * kr + c) * 2;
      z[0] = static_cast<int32_t>(lowest[c]);
      if (same != lowest[c]) z[1] = static_cast<int32_t>(same);
    }
  return out;
}

void count_zero_radius_balls(const double* radii, int64_t centres, int64_t k, bool strict, const int64_t* centre_group,
                             const int64_t* point_group, int64_t points, int64_t* centre_count, int64_t* point_count,
                             double* point_min_radius) {
  if (strict || k <= 0 || std::find(radii, radii + centres * k, 0.0) == radii + centres * k) return;
  const size_t ids = static_cast<size_t>(centres + points);
  std::vector<int64_t> size(ids, 0);  // points per group
  for (int64_t j = 0; j < points; ++j) ++size[point_group[j]];
  std::vector<int64_t> zeros(ids * k, 0), last(ids * k, -1);  // per group and column: centres of radius 0
  for (int64_t i = 0; i < centres; ++i)
    for (int64_t c = 0; c < k; ++c) {
      if (radii[i * k + c] != 0.0) continue;
      const int64_t g = centre_group[i];
      centre_count[i * k + c] += size[g];
      ++zeros[g * k + c];
      last[g * k + c] = i;
    }
  for (int64_t j = 0; j < points; ++j)
    for (int64_t c = 0; c < k; ++c) {
      const int64_t at = point_group[j] * k + c;
      if (!zeros[at]) continue;
      point_count[j * k + c] += zeros[at];
      const double r = radii[last[at] * k + c];
      double& m = point_min_radius[j * k + c];
      m = r < m ? r : m;
    }
}

}  // namespace fastprdc
