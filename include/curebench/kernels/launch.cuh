#pragma once
// Programmatic dependent launch (PDL, sm_90+) for the decode step's kernels. A decode step is ~300 short kernels
// (a 4-bit GEMV of a 4096-row matrix moves 8-30 MB in 5-20 us); between two of them the GPU drains the first
// grid, launches the second and waits for its first loads, a few microseconds each time, with the memory idle.
// Launched through launch_dependent(), a kernel may start while the kernel before it in the stream is still
// running: each of our kernels calls pdl_launch_dependents() at its start (so the next one can be scheduled as soon
// as this grid's last blocks are resident) and pdl_wait() before it reads anything the kernels before it write.
// What a kernel does before pdl_wait() is limited to reading its weights (the GEMVs load their first slab of
// packed weights and scales there), which no kernel of a forward pass writes.
// Contract for callers: the kernel that runs immediately before a GEMV in its stream must not write that GEMV's
// weights (a weight written by an earlier kernel is safe: a kernel launched without PDL, as every ATen and cuBLAS
// kernel is, starts only after the kernel before it has completed). pdl_wait() is a no-op for a kernel launched
// without the attribute, so every kernel here is also correct under plain <<<>>> launches.
// CUREBENCH_PDL=0 launches without the attribute (A/B timings in one build); kernels whose binary is older than
// sm_90 (no griddepcontrol in them) are always launched without it.
#include <cuda_runtime.h>

#include <atomic>
#include <utility>

#include "curebench/core/env.hpp"
#include "curebench/kernels/device.cuh"

namespace curebench::kernels {

// Blocks until the grids this one depends on have completed and their writes are visible.
__device__ __forceinline__ void pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

// Lets the next kernel of the stream be scheduled once every block of this grid has called it (or exited).
__device__ __forceinline__ void pdl_launch_dependents() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" :::);
#endif
}

// The start of a kernel with nothing to load before its inputs are ready (norms, RoPE, attention, the FP8 activation
// quantizer): the next kernel may be scheduled, and this one waits for the kernels before it.
__device__ __forceinline__ void pdl_start() {
  pdl_launch_dependents();
  pdl_wait();
}

inline bool pdl_switched_on() {
  static const bool v = env::flag("CUREBENCH_PDL", true);
  return v;
}

// Whether Kernel's binary on the current device was built for sm_90+ (so its pdl_wait() is real), once per device.
template <auto* Kernel>
bool kernel_has_pdl() {
  static std::atomic<signed char> known[kMaxDevices] = {};
  const int dev = current_device();
  signed char v = known[dev].load(std::memory_order_relaxed);
  if (v == 0) {
    cudaFuncAttributes attr{};
    v = cudaFuncGetAttributes(&attr, Kernel) == cudaSuccess && attr.binaryVersion >= 90 ? 1 : -1;
    known[dev].store(v, std::memory_order_relaxed);
  }
  return v > 0;
}

// Kernel<<<grid, block, smem, stream>>>(args...), with the programmatic-serialization attribute where it applies.
template <auto* Kernel, class... Args>
cudaError_t launch_dependent(dim3 grid, dim3 block, std::size_t smem, cudaStream_t stream, Args&&... args) {
  cudaLaunchConfig_t cfg{};
  cfg.gridDim = grid;
  cfg.blockDim = block;
  cfg.dynamicSmemBytes = smem;
  cfg.stream = stream;
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[0].val.programmaticStreamSerializationAllowed = 1;
  cfg.attrs = attr;
  cfg.numAttrs = pdl_switched_on() && kernel_has_pdl<Kernel>() ? 1 : 0;
  return cudaLaunchKernelEx(&cfg, Kernel, std::forward<Args>(args)...);
}

}  // namespace curebench::kernels
