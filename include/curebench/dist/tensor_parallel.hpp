#pragma once
// Tensor parallelism (Megatron-LM's split) across the ranks of a launch: each rank keeps 1/N of every layer's linear
// weights and the decoder sums the partial results through a c10d process group (gloo on the CPU, NCCL on CUDA).
//   column-parallel (output rows split): q, k, v by whole heads (rank r keeps query heads [r Hq/N, (r+1) Hq/N) and kv
//     heads [r Hkv/N, (r+1) Hkv/N), so each query head's kv head stays on its rank) and gate, up (intermediate rows);
//   row-parallel (input columns split): o and down. Their outputs are partial sums: one all-reduce after o and one
//     after down, i.e. two per layer, as Megatron-LM does; o's bias and the norms after it apply once, after the sum;
//   replicated: embeddings, norms and lm_head: every rank computes the whole logits, so every rank picks the same
//     token without another collective (vocab-parallel lm_head would save memory at the cost of a gather per step).
// Weights: dense (f32 / bf16 / f16) only. A quantized linear is refused by name: int4/NF4/GGUF/GPTQ/AWQ group along
// the input dimension (a row-parallel slice must start on a group boundary) and the CUDA repack interleaves rows.
// Memory: a rank reads the checkpoint tensor by tensor and keeps its slice on its device: 1/N of the linears, plus
// the replicated embeddings, norms and lm_head. Hugging Face safetensors folders only (a .gguf is refused).
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#if defined(USE_C10D_GLOO) && __has_include(<gloo/context.h>)
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#define CUREBENCH_HAS_GLOO 1
#endif
#if defined(CUREBENCH_WITH_CUDA) && defined(USE_C10D_NCCL) && __has_include(<nccl.h>)
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#define CUREBENCH_HAS_NCCL 1
#endif

#include <array>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "curebench/core/error.hpp"
#include "curebench/dist/launch.hpp"
#include "curebench/model/load.hpp"

namespace curebench::dist {

// The spec one rank runs: query heads, kv heads and intermediate rows divided by the world size.
inline model::ModelSpec shard_spec(const model::ModelSpec& s, int world, const std::string& origin = "config.json") {
  auto divides = [&](std::int64_t n, const char* field) {
    if (world < 1 || n % world != 0)
      throw Error(Errc::config, origin, field,
                  "tensor parallelism over " + std::to_string(world) + " ranks splits whole heads and rows, but " +
                      std::to_string(n) + " is not a multiple of " + std::to_string(world) + ": use a world size that divides it");
  };
  divides(s.num_heads, "num_attention_heads");
  divides(s.num_kv_heads, "num_key_value_heads");
  divides(s.intermediate_size, "intermediate_size");
  auto r = s;
  r.num_heads /= world, r.num_kv_heads /= world, r.intermediate_size /= world;
  return r;
}

namespace detail {
inline std::string format_name(const quant::Weight& w) {
  static_assert(std::variant_size_v<quant::Weight> == 9, "name the new weight format here");
  static const std::array<const char*, 9> names{"dense", "nf4", "fp4", "int8", "fp8", "int4", "gguf", "gptq", "awq"};
  return names[w.index()];
}
// An owned, contiguous copy of t's slice [start, start + n) along dim on device (a view would keep the whole alive).
inline at::Tensor slice(const at::Tensor& t, std::int64_t dim, std::int64_t start, std::int64_t n, const at::Device& d) {
  auto part = t.narrow(dim, start, n);
  return at::empty(part.sizes(), part.options().device(d)).copy_(part);
}
}  // namespace detail

// A TensorSource of one rank's slices, read tensor by tensor from a source of the whole checkpoint (so a rank holds
// its slice plus one whole tensor at a time, never the whole model). model::load_weights(shard_spec(...), ShardSource)
// then checks each slice against the rank's spec.
template <model::TensorSource S>
class ShardSource {
 public:
  ShardSource(const S& whole, const model::ModelSpec& spec, int rank, int world, const at::Device& device)
      : src_(whole), rank_(rank), world_(world), device_(device) {
    using model::Role;
    for (std::int64_t i = 0; i < spec.num_layers; ++i) {
      for (auto r : {Role::q, Role::k, Role::v, Role::q_bias, Role::k_bias, Role::v_bias, Role::gate, Role::up})
        split_dim_[model::tensor_name(r, whole.name_style(), spec.sandwich_norms, i)] = 0;  // column-parallel: rows
      for (auto r : {Role::o, Role::down})
        split_dim_[model::tensor_name(r, whole.name_style(), spec.sandwich_norms, i)] = 1;  // row-parallel: columns
    }
  }

  std::optional<at::Tensor> dense(const std::string& name) const {
    auto t = src_.dense(name);
    if (!t) return t;
    auto it = split_dim_.find(name);
    if (it == split_dim_.end()) return t->to(device_);  // embeddings, norms, o's bias, lm_head: on every rank
    const auto n = t->size(it->second) / world_;
    return detail::slice(*t, it->second, rank_ * n, n, device_);
  }

  // Stored quantized: refused by name.
  std::optional<quant::Weight> linear(const std::string& name) const {
    if (auto w = src_.linear(name))
      throw Error(Errc::unsupported, src_.origin(), name,
                  "tensor parallelism slices dense (f32/bf16/f16) weights only; this one is stored as " + detail::format_name(*w));
    return std::nullopt;
  }

  std::string origin() const { return src_.origin(); }
  model::NameStyle name_style() const { return src_.name_style(); }

 private:
  const S& src_;
  int rank_, world_;
  at::Device device_;
  std::map<std::string, std::int64_t> split_dim_;
};

// Rank `rank` of `world`'s slice of a Hugging Face checkpoint folder, on `device`, without the all-reduce: a decoder
// of its own that computes partial sums (load_tensor_parallel below adds the sums).
inline model::LoadedModel load_shard(const std::filesystem::path& dir, int rank, int world, const at::Device& device,
                                     std::optional<at::ScalarType> dtype = std::nullopt) {
  if (!std::filesystem::is_directory(dir))
    throw Error(Errc::unsupported, dir.string(), "model",
                "tensor parallelism reads Hugging Face safetensors folders; a single file (.gguf) is not split");
  const auto config = model::require_config(dir);
  auto spec = model::load_hf_config(config);
  auto generation = model::read_generation_defaults(dir, spec);
  const auto dt = dtype.value_or(model::parse_dtype_name(spec.dtype, "config.json dtype"));
  auto local = shard_spec(spec, world, config.string());
  io::SafetensorsSet set(dir);
  model::SafetensorsSource::PrequantizedReader reader;  // GPTQ / AWQ linears: read, then refused by name
  if (auto packed = quant::find_gptq_awq_config(dir, read_json_file(config.string()))) reader = quant::gptq_awq_reader(*packed);
  model::SafetensorsSource whole(set, dt, at::kCPU, reader);
  auto weights = model::load_weights(local, ShardSource(whole, spec, rank, world, device));
  return model::LoadedModel{dir, std::move(generation), model::Decoder(std::move(local), std::move(weights), dt, device)};
}

// The ranks of a launch as a c10d process group: gloo for CPU tensors, NCCL for CUDA ones (NCCL: written, untested).
// It joins through rank 0's rendezvous store (dist::Group must have met first, so the store is up), on its own
// connection, under the keys curebench/<restart>/tp/. A peer that dies makes the next all-reduce throw within
// `timeout` (gloo's own timeout) instead of hanging.
class TensorGroup {
 public:
  TensorGroup(const Launch& l, const at::Device& device, std::chrono::milliseconds timeout = std::chrono::seconds(60))
      : rank_(l.rank), world_(l.world_size), device_(device) {
    try {
      c10d::TCPStoreOptions o;
      o.port = l.master_port;
      o.isServer = false;
      o.waitWorkers = false;
      o.timeout = timeout;
      auto tcp = c10::make_intrusive<c10d::TCPStore>(l.master_addr, o);
      auto store = c10::make_intrusive<c10d::PrefixStore>("curebench/" + std::to_string(l.restart_count) + "/tp", tcp);
      if (device.is_cuda()) {
#if defined(CUREBENCH_HAS_NCCL)
        auto opt = c10d::ProcessGroupNCCL::Options::create();
        opt->timeout = timeout;
        auto pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank_, world_, opt);
        sum_ = [pg](std::vector<at::Tensor>& t) { pg->allreduce(t)->wait(); };
#else
        throw Error(Errc::unsupported, "", "device",
                    "tensor parallelism on CUDA needs NCCL: this build saw no USE_C10D_NCCL libtorch or no nccl.h");
#endif
      } else {
#if defined(CUREBENCH_HAS_GLOO)
        auto opt = c10d::ProcessGroupGloo::Options::create(timeout);
        opt->devices.push_back(gloo_device(l.master_addr));
        opt->threads = 1;
        auto pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank_, world_, opt);
        sum_ = [pg](std::vector<at::Tensor>& t) { pg->allreduce(t)->wait(); };
#else
        throw Error(Errc::unsupported, "", "device",
                    "tensor parallelism on the CPU needs gloo's headers at build time (Debian: apt-get install libgloo-dev)");
#endif
      }
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Error(Errc::distributed, l.master_addr + ":" + std::to_string(l.master_port), "tensor_parallel",
                  "cannot form the process group: " + first_line(e.what()));
    }
  }

  int rank() const noexcept { return rank_; }
  int world_size() const noexcept { return world_; }
  const at::Device& device() const noexcept { return device_; }

  // The sum over the ranks of each rank's `partial` (same shape everywhere); every rank gets the same bits.
  // gloo has no bf16 sum: 16-bit tensors are summed in f32 and rounded once.
  at::Tensor all_reduce(const at::Tensor& partial) const {
    const bool widen = !partial.is_cuda() && partial.scalar_type() != at::kFloat && partial.scalar_type() != at::kDouble;
    std::vector<at::Tensor> t{widen ? partial.to(at::kFloat) : partial.contiguous()};
    try {
      sum_(t);
    } catch (const std::exception& e) {
      throw Error(Errc::distributed, "rank " + std::to_string(rank_), "tensor_parallel",
                  "all-reduce failed (a rank ended or stopped answering): " + first_line(e.what()));
    }
    return widen ? t[0].to(partial.scalar_type()) : t[0];
  }

 private:
  static std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }
#if defined(CUREBENCH_HAS_GLOO)
  // GLOO_SOCKET_IFNAME picks the interface (as in PyTorch); ranks on one machine talk over loopback; else the
  // address this machine's hostname resolves to.
  static std::shared_ptr<::gloo::transport::Device> gloo_device(const std::string& master_addr) {
    if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname)
      return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
    if (master_addr == "localhost" || master_addr.rfind("127.", 0) == 0)
      return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
    return c10d::ProcessGroupGloo::createDefaultDevice();
  }
#endif

  int rank_ = 0, world_ = 1;
  at::Device device_ = at::kCPU;
  std::function<void(std::vector<at::Tensor>&)> sum_;
};

// This rank's decoder: its slice of the checkpoint on the group's device, summing o's and down's partial outputs
// through the group.
inline model::LoadedModel load_tensor_parallel(const std::filesystem::path& dir, const TensorGroup& group,
                                               std::optional<at::ScalarType> dtype = std::nullopt) {
  auto m = load_shard(dir, group.rank(), group.world_size(), group.device(), dtype);
  m.decoder.set_all_reduce([group](const at::Tensor& partial) { return group.all_reduce(partial); });
  return m;
}

}  // namespace curebench::dist
