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

  // Value (i, t) as float64, whatever the storage.
  FASTPRDC_HD double at(int64_t i, int64_t t) const {
    return f64 ? row<double>(i)[t] : static_cast<double>(row<float>(i)[t]);
  }
};

}  // namespace fastprdc
