// Exact-duplicate rows of the sets of one pass, so that the engine can decide their pairs without
// the oracle: two rows hold the same values (compared as float64, so -0 == +0 and float32 rows
// equal float64 ones) exactly when their oracle distance is 0. Heavily duplicated data (tabular
// data with categorical columns, collapsed generators) otherwise send every pair of copies through
// the float64 recheck: no float32 bound can tell a distance of 0 from a tiny one.
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

// The rows of one set sorted by (group id, index), to look up a group's members in that set.
class GroupMembers {
 public:
  GroupMembers(const int64_t* id, int64_t rows);
  // The members of group g in ascending index order: [first, first + count) of rows().
  void find(int64_t g, int64_t* first, int64_t* count) const;
  const int32_t* rows() const { return rows_.data(); }

 private:
  std::vector<int64_t> ids_;  // sorted
  std::vector<int32_t> rows_;
};

// Presets the neighbour list of every row (ids: the rows' group ids) that has at least k identical
// rows in `to` (not counting itself when `self`, i.e. when `to` is the row's own set) with its k
// lowest-indexed copies (topk::preset): its exact top k, ties broken by the lower index.
void preset_copies(const TopkStore& top, const int64_t* ids, int64_t rows, const GroupMembers& to, bool self,
                   int num_threads);

}  // namespace fastprdc
