#pragma once
// Who this process is in a data-parallel run: rank, world size, local rank, and where rank 0 listens.
// Read from the launchers people use, first match wins:
//   --rank / --world-size (the CLI's flags)                      then MASTER_ADDR / MASTER_PORT for the address
//   torchrun (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT)
//   Slurm srun (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, SLURM_NTASKS_PER_NODE) - only inside a job step
//     (SLURM_STEP_ID set): an sbatch script's own shell has SLURM_NTASKS of the whole allocation but is one process,
//     and waiting there for ranks that never start is the classic Slurm hang.
//   Open MPI mpirun (OMPI_COMM_WORLD_RANK, OMPI_COMM_WORLD_SIZE, OMPI_COMM_WORLD_LOCAL_RANK, OMPI_COMM_WORLD_LOCAL_SIZE)
//   none of these: one process (rank 0 of 1).
// A value that is not a number, or a rank outside [0, world size), is an error naming the variable: a typo in a
// launch script must not silently become a one-process run that then races the real ranks for the run folder.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>

#include "curebench/core/error.hpp"

namespace curebench::dist {

struct Launch {
  int rank = 0, world_size = 1;
  int local_rank = 0, local_world_size = 1;  // on this machine: which GPU is ours, how many CPU threads to take
  std::string master_addr = "127.0.0.1";
  std::uint16_t master_port = 29500;  // torchrun's default
  std::string source = "single";      // flags | torchrun | slurm | openmpi | single
  // torchrun's agent already hosts a TCPStore at MASTER_ADDR:MASTER_PORT (TORCHELASTIC_USE_AGENT_STORE=True): rank 0
  // joins it as a client instead of opening the port again; keys are per restart (TORCHELASTIC_RESTART_COUNT).
  bool agent_store = false;
  int restart_count = 0;

  bool distributed() const noexcept { return world_size > 1; }
  bool leader() const noexcept { return rank == 0; }
};

// The environment as a lookup (nullptr when unset): tests pass a map, the CLI passes std::getenv.
using EnvLookup = std::function<const char*(const char*)>;

namespace detail {
inline long long parse_env_int(const EnvLookup& env, const char* name, long long lo, long long hi) {
  const char* v = env(name);
  const std::string s = v ? v : "";
  std::size_t used = 0;
  long long n = 0;
  try {
    n = std::stoll(s, &used, 10);
  } catch (const std::exception&) {
    used = 0;
  }
  if (s.empty() || used != s.size() || n < lo || n > hi)
    throw Error(Errc::config, "environment", name,
                "expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], found '" + s + "'");
  return n;
}
inline bool has(const EnvLookup& env, const char* name) { return env(name) != nullptr; }
}  // namespace detail

inline Launch detect_launch(const EnvLookup& env, std::optional<int> flag_rank = std::nullopt,
                            std::optional<int> flag_world = std::nullopt) {
  using detail::has;
  using detail::parse_env_int;
  constexpr long long kMaxWorld = 1 << 16;
  Launch l;
  auto local = [&](const char* rank_var, const char* size_var) {
    if (has(env, rank_var)) l.local_rank = static_cast<int>(parse_env_int(env, rank_var, 0, kMaxWorld - 1));
    if (has(env, size_var)) l.local_world_size = static_cast<int>(parse_env_int(env, size_var, 1, kMaxWorld));
  };
  if (flag_rank || flag_world) {
    if (!flag_rank || !flag_world)
      throw Error(Errc::invalid_argument, "", flag_rank ? "--world-size" : "--rank", "give --rank and --world-size together");
    if (*flag_world < 1 || *flag_world > kMaxWorld)
      throw Error(Errc::invalid_argument, "", "--world-size", "expected 1.." + std::to_string(kMaxWorld) + ", found " + std::to_string(*flag_world));
    if (*flag_rank < 0 || *flag_rank >= *flag_world)
      throw Error(Errc::invalid_argument, "", "--rank", "expected 0.." + std::to_string(*flag_world - 1) + ", found " + std::to_string(*flag_rank));
    l.rank = *flag_rank;
    l.world_size = *flag_world;
    l.source = "flags";
    local("LOCAL_RANK", "LOCAL_WORLD_SIZE");
  } else if (has(env, "WORLD_SIZE") || has(env, "RANK")) {
    l.world_size = static_cast<int>(parse_env_int(env, "WORLD_SIZE", 1, kMaxWorld));
    l.rank = static_cast<int>(parse_env_int(env, "RANK", 0, l.world_size - 1));
    l.source = "torchrun";
    local("LOCAL_RANK", "LOCAL_WORLD_SIZE");
    const char* agent = env("TORCHELASTIC_USE_AGENT_STORE");
    l.agent_store = agent && std::string(agent) == "True";
    if (has(env, "TORCHELASTIC_RESTART_COUNT"))
      l.restart_count = static_cast<int>(parse_env_int(env, "TORCHELASTIC_RESTART_COUNT", 0, 1 << 20));
  } else if (has(env, "SLURM_STEP_ID") && has(env, "SLURM_PROCID")) {
    l.world_size = static_cast<int>(parse_env_int(env, "SLURM_NTASKS", 1, kMaxWorld));
    l.rank = static_cast<int>(parse_env_int(env, "SLURM_PROCID", 0, l.world_size - 1));
    l.source = "slurm";
    // SLURM_NTASKS_PER_NODE is "2" or "2(x3)" (the same count on 3 nodes); only its leading number matters.
    if (const char* v = env("SLURM_NTASKS_PER_NODE")) {
      std::string s = v;
      s = s.substr(0, s.find_first_not_of("0123456789"));
      if (!s.empty() && s.size() < 7) l.local_world_size = std::max(1, std::stoi(s));
    }
    if (has(env, "SLURM_LOCALID")) l.local_rank = static_cast<int>(parse_env_int(env, "SLURM_LOCALID", 0, kMaxWorld - 1));
  } else if (has(env, "OMPI_COMM_WORLD_SIZE")) {
    l.world_size = static_cast<int>(parse_env_int(env, "OMPI_COMM_WORLD_SIZE", 1, kMaxWorld));
    l.rank = static_cast<int>(parse_env_int(env, "OMPI_COMM_WORLD_RANK", 0, l.world_size - 1));
    l.source = "openmpi";
    local("OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE");
  }
  if (const char* a = env("MASTER_ADDR"); a && *a) l.master_addr = a;
  if (has(env, "MASTER_PORT")) l.master_port = static_cast<std::uint16_t>(parse_env_int(env, "MASTER_PORT", 1, 65535));
  if (l.local_rank >= l.local_world_size) l.local_world_size = l.local_rank + 1;
  return l;
}

inline Launch detect_launch(std::optional<int> flag_rank = std::nullopt, std::optional<int> flag_world = std::nullopt) {
  return detect_launch([](const char* name) -> const char* { return std::getenv(name); }, flag_rank, flag_world);
}

}  // namespace curebench::dist
