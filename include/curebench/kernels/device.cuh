#pragma once
// The current GPU's facts the launch code sizes grids by, read from the device once per device (no GPU's SM count
// is written into a kernel file).
#include <cuda_runtime.h>

namespace curebench::kernels {

inline constexpr int kMaxDevices = 64;

// The current device (0 when the runtime cannot say or the index is beyond kMaxDevices).
inline int current_device() {
  int dev = 0;
  cudaGetDevice(&dev);
  return dev >= 0 && dev < kMaxDevices ? dev : 0;
}

// Multiprocessors of the current device (132 on an H100 SXM; that value if the attribute cannot be read).
inline int sm_count() {
  static int v[kMaxDevices] = {};
  const int dev = current_device();
  if (v[dev] == 0) {
    int n = 0;
    cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev);
    v[dev] = n > 0 ? n : 132;
  }
  return v[dev];
}

}  // namespace curebench::kernels
