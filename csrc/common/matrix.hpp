// A read-only, C-contiguous row-major matrix of float32 or float64 values as given by the caller.
#pragma once

#include "common/hd.hpp"

namespace fastprdc {

struct MatrixView {
  const void* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  bool f64 = false;

  template <class T>
  FASTPRDC_HD const T* row(int64_t i) const {
    return static_cast<const T*>(data) + i * cols;
  }
};

}  // namespace fastprdc
