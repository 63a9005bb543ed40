// Host storage of the shared top-k collectors (common/topk_row.hpp) and per-thread scratch.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "common/topk_row.hpp"

namespace fastprdc {

class TopkBuffers {
 public:
  TopkBuffers() = default;
  TopkBuffers(int64_t rows, int64_t k)
      : k_(static_cast<int32_t>(k)),
        cap_(k > 0 ? topk_capacity(static_cast<int32_t>(k)) : 0),
        heap_(static_cast<size_t>(rows * k)),
        heap_size_(static_cast<size_t>(k > 0 ? rows : 0), 0),
        threshold_(static_cast<size_t>(k > 0 ? rows : 0), std::numeric_limits<float>::infinity()),
        cand_lo_(static_cast<size_t>(rows * cap_)),
        cand_j_(static_cast<size_t>(rows * cap_)),
        count_(static_cast<size_t>(k > 0 ? rows : 0), 0) {}

  TopkStore store() {
    TopkStore s;
    s.heap = heap_.data();
    s.heap_size = heap_size_.data();
    s.threshold = threshold_.data();
    s.cand_lo = cand_lo_.data();
    s.cand_j = cand_j_.data();
    s.count = count_.data();
    s.k = k_;
    s.cap = cap_;
    if (!bar_idx_.empty()) {
      s.cand_group = cand_group_;
      s.bar_group = bar_group_.data();
      s.bar_idx = bar_idx_.data();
    }
    return s;
  }
  // Turns on the bars of copies (TopkStore::bar_idx) for candidates with these group ids.
  void use_groups(const int64_t* cand_group) {
    cand_group_ = cand_group;
    bar_group_.assign(count_.size(), -1);
    bar_idx_.assign(count_.size(), -1);
  }
  int32_t cap() const { return cap_; }

 private:
  int32_t k_ = 0, cap_ = 0;
  std::vector<float> heap_;
  std::vector<int32_t> heap_size_;
  std::vector<float> threshold_;
  std::vector<float> cand_lo_;
  std::vector<int32_t> cand_j_;
  std::vector<int32_t> count_;
  const int64_t* cand_group_ = nullptr;
  std::vector<int64_t> bar_group_;
  std::vector<int32_t> bar_idx_;
};

// One thread's scratch for compaction and finalisation of lists up to `cap` long.
class ScratchBuffers {
 public:
  explicit ScratchBuffers(int64_t cap)
      : key_(static_cast<size_t>(cap)), aux_(static_cast<size_t>(cap)), idx_(static_cast<size_t>(cap)) {}
  TopkScratch view() { return {key_.data(), aux_.data(), idx_.data()}; }

 private:
  std::vector<double> key_, aux_;
  std::vector<int32_t> idx_;
};

}  // namespace fastprdc
