#pragma once
// GPU memory probes through libtorch's caching allocator and the driver's free/total.
// Compiled to "no CUDA" answers when the libtorch in use has no CUDA (CUREBENCH_WITH_CUDA unset).
#include <cstdint>

#include "curebench/core/torch_compat.hpp"

#if defined(CUREBENCH_WITH_CUDA)
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <cuda_runtime_api.h>
#endif

namespace curebench {

struct GpuMemory {
  bool available = false;
  std::int64_t allocated_bytes = 0, allocated_peak_bytes = 0;
  std::int64_t reserved_bytes = 0, reserved_peak_bytes = 0;
  std::int64_t device_free_bytes = 0, device_total_bytes = 0;
};

#if defined(CUREBENCH_WITH_CUDA)
// The caching allocator answers "Invalid device argument" until CUDA is initialised: one tiny allocation does it.
inline void cuda_allocator_init() {
  static const bool done = (at::empty({1}, at::TensorOptions().device(at::kCUDA)), true);
  (void)done;
}
#endif

inline GpuMemory gpu_memory(int device = 0) {
  GpuMemory m;
#if defined(CUREBENCH_WITH_CUDA)
  if (!compat::cuda_available()) return m;
  m.available = true;
  cuda_allocator_init();
  namespace alloc = c10::cuda::CUDACachingAllocator;
  auto stats = alloc::getDeviceStats(device);
  constexpr auto agg = static_cast<std::size_t>(c10::CachingAllocator::StatType::AGGREGATE);
  m.allocated_bytes = stats.allocated_bytes[agg].current;
  m.allocated_peak_bytes = stats.allocated_bytes[agg].peak;
  m.reserved_bytes = stats.reserved_bytes[agg].current;
  m.reserved_peak_bytes = stats.reserved_bytes[agg].peak;
  std::size_t free_b = 0, total_b = 0;
  if (cudaMemGetInfo(&free_b, &total_b) == cudaSuccess) {
    m.device_free_bytes = static_cast<std::int64_t>(free_b);
    m.device_total_bytes = static_cast<std::int64_t>(total_b);
  }
#else
  (void)device;
#endif
  return m;
}

inline void reset_gpu_peak(int device = 0) {
#if defined(CUREBENCH_WITH_CUDA)
  if (compat::cuda_available()) {
    cuda_allocator_init();
    c10::cuda::CUDACachingAllocator::resetPeakStats(device);
  }
#else
  (void)device;
#endif
}

// Waits for queued GPU work, so host timers measure it (a no-op on the CPU).
inline void device_synchronize(const at::Device& d) {
#if defined(CUREBENCH_WITH_CUDA)
  if (d.is_cuda()) c10::cuda::device_synchronize();
#else
  (void)d;
#endif
}

// Gives cached blocks back to the driver so the next loader attempt starts from a clean device.
inline void empty_gpu_cache() {
#if defined(CUREBENCH_WITH_CUDA)
  if (compat::cuda_available()) c10::cuda::CUDACachingAllocator::emptyCache();
#endif
}

}  // namespace curebench
