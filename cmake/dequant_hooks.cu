// nvcc translation unit that registers the dequant kernels of include/curebench/kernels/dequant.cuh with
// the quant formats (quant/kernel_hooks.hpp). Linked into the CUDA builds of tests and benchmarks.
#define CUREBENCH_REGISTER_DEQUANT_HOOKS 1
#include "curebench/kernels/dequant.cuh"
