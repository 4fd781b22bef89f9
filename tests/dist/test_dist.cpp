// include/curebench/dist/: who a process is (launch.hpp), what it answers (deal.hpp), and the group of ranks over
// c10d's TCPStore (group.hpp), the latter with real stores on localhost, one thread per rank.
#include <gtest/gtest.h>
#include <algorithm>
#include <chrono>
#include <map>
#include <numeric>
#include <set>
#include <thread>

#include "curebench/dist/deal.hpp"
#include "curebench/dist/group.hpp"
#include "curebench/dist/launch.hpp"
#include "dist/free_port.hpp"

namespace cd = curebench::dist;

namespace {

cd::EnvLookup env_of(std::map<std::string, std::string> vars) {
  auto shared = std::make_shared<std::map<std::string, std::string>>(std::move(vars));
  return [shared](const char* name) -> const char* {
    auto it = shared->find(name);
    return it == shared->end() ? nullptr : it->second.c_str();
  };
}

std::string error_field(const std::function<void()>& f) {
  try {
    f();
  } catch (const curebench::Error& e) {
    return e.field();
  }
  return "(no error)";
}


cd::Launch launch_of(int rank, int world, std::uint16_t port) {
  cd::Launch l;
  l.rank = rank;
  l.world_size = world;
  l.master_port = port;
  l.source = "test";
  return l;
}

}  // namespace

TEST(DistLaunch, NoLauncherIsOneProcess) {
  auto l = cd::detect_launch(env_of({}));
  EXPECT_EQ(l.rank, 0);
  EXPECT_EQ(l.world_size, 1);
  EXPECT_FALSE(l.distributed());
  EXPECT_EQ(l.source, "single");
}

TEST(DistLaunch, TorchrunVariables) {
  auto l = cd::detect_launch(env_of({{"RANK", "3"}, {"WORLD_SIZE", "8"}, {"LOCAL_RANK", "1"}, {"LOCAL_WORLD_SIZE", "2"},
                                     {"MASTER_ADDR", "node7"}, {"MASTER_PORT", "29612"}}));
  EXPECT_EQ(l.rank, 3);
  EXPECT_EQ(l.world_size, 8);
  EXPECT_EQ(l.local_rank, 1);
  EXPECT_EQ(l.local_world_size, 2);
  EXPECT_EQ(l.master_addr, "node7");
  EXPECT_EQ(l.master_port, 29612);
  EXPECT_EQ(l.source, "torchrun");
}

TEST(DistLaunch, UnderTorchrunsAgentStoreRankZeroJoinsIt) {
  auto l = cd::detect_launch(env_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"TORCHELASTIC_USE_AGENT_STORE", "True"},
                                     {"TORCHELASTIC_RESTART_COUNT", "2"}}));
  EXPECT_TRUE(l.agent_store);
  EXPECT_EQ(l.restart_count, 2);
  EXPECT_FALSE(cd::detect_launch(env_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}})).agent_store);
}

TEST(DistGroup, RankZeroJoinsAStoreSomeoneElseHosts) {
  // torchrun's agent: a TCPStore server that is no rank. Rank 0 must connect to it, not open the port again.
  const auto port = free_port();
  c10d::TCPStoreOptions o;
  o.port = port;
  o.isServer = true;
  o.waitWorkers = false;
  c10d::TCPStore agent("127.0.0.1", o);
  std::vector<std::vector<std::string>> got(2);
  std::vector<std::thread> ranks;
  for (int r = 0; r < 2; ++r)
    ranks.emplace_back([&, r] {
      auto l = launch_of(r, 2, port);
      l.agent_store = true;
      cd::Group g(l, {std::chrono::seconds(20), std::chrono::milliseconds(100)});
      got[static_cast<std::size_t>(r)] = g.all_gather("x", std::to_string(r));
      g.finish();
    });
  for (auto& t : ranks) t.join();
  for (auto& v : got) EXPECT_EQ(v, (std::vector<std::string>{"0", "1"}));
}

TEST(DistLaunch, SlurmOnlyInsideAJobStep) {
  std::map<std::string, std::string> batch_shell{{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "4"}, {"SLURM_LOCALID", "0"}};
  EXPECT_EQ(cd::detect_launch(env_of(batch_shell)).world_size, 1) << "the sbatch script's own shell is one process";
  auto step = batch_shell;
  step["SLURM_STEP_ID"] = "0";
  step["SLURM_PROCID"] = "2";
  step["SLURM_LOCALID"] = "0";
  step["SLURM_NTASKS_PER_NODE"] = "2(x2)";
  auto l = cd::detect_launch(env_of(step));
  EXPECT_EQ(l.rank, 2);
  EXPECT_EQ(l.world_size, 4);
  EXPECT_EQ(l.local_world_size, 2);
  EXPECT_EQ(l.source, "slurm");
}

TEST(DistLaunch, OpenMpiVariables) {
  auto l = cd::detect_launch(env_of({{"OMPI_COMM_WORLD_RANK", "1"}, {"OMPI_COMM_WORLD_SIZE", "3"},
                                     {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "3"}}));
  EXPECT_EQ(l.rank, 1);
  EXPECT_EQ(l.world_size, 3);
  EXPECT_EQ(l.local_rank, 1);
  EXPECT_EQ(l.source, "openmpi");
}

TEST(DistLaunch, FlagsWinOverTheEnvironment) {
  auto l = cd::detect_launch(env_of({{"RANK", "3"}, {"WORLD_SIZE", "8"}, {"MASTER_PORT", "2000"}}), 1, 2);
  EXPECT_EQ(l.rank, 1);
  EXPECT_EQ(l.world_size, 2);
  EXPECT_EQ(l.master_port, 2000);
  EXPECT_EQ(l.source, "flags");
}

TEST(DistLaunch, BadValuesNameTheirVariable) {
  EXPECT_EQ(error_field([] { cd::detect_launch(env_of({{"RANK", "1"}, {"WORLD_SIZE", "two"}})); }), "WORLD_SIZE");
  EXPECT_EQ(error_field([] { cd::detect_launch(env_of({{"RANK", "2"}, {"WORLD_SIZE", "2"}})); }), "RANK");
  EXPECT_EQ(error_field([] { cd::detect_launch(env_of({{"RANK", "-1"}, {"WORLD_SIZE", "2"}})); }), "RANK");
  EXPECT_EQ(error_field([] { cd::detect_launch(env_of({{"WORLD_SIZE", "2"}})); }), "RANK");
  EXPECT_EQ(error_field([] { cd::detect_launch(env_of({{"MASTER_PORT", "70000"}})); }), "MASTER_PORT");
  EXPECT_EQ(error_field([] { cd::detect_launch(env_of({}), 2, 2); }), "--rank");
  EXPECT_EQ(error_field([] { cd::detect_launch(env_of({}), 0, std::nullopt); }), "--world-size");
}

TEST(DistDeal, LongestFirstToTheLeastLoadedRank) {
  // Hand-dealt: 9 -> r0, 8 -> r1, 5 -> r1 (8 < 9), 4 -> r0 (9 < 13), 1 -> r0 (13 = 13, lower rank): loads 14 / 13.
  auto s = cd::deal_by_cost({5, 9, 1, 8, 4}, 2);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0], (std::vector<std::size_t>{1, 2, 4}));
  EXPECT_EQ(s[1], (std::vector<std::size_t>{0, 3}));
}

TEST(DistDeal, EveryItemOnceAndLoadsWithinTheLargestItem) {
  std::vector<std::uint64_t> cost;
  std::uint64_t x = 12345;
  for (int i = 0; i < 1000; ++i) cost.push_back((x = x * 6364136223846793005ULL + 1442695040888963407ULL) >> 54);
  for (int world : {1, 2, 3, 7, 64}) {
    auto s = cd::deal_by_cost(cost, world);
    std::vector<std::size_t> all;
    std::vector<std::uint64_t> load;
    for (auto& share : s) {
      EXPECT_TRUE(std::is_sorted(share.begin(), share.end())) << "a share keeps dataset order";
      all.insert(all.end(), share.begin(), share.end());
      load.push_back(0);
      for (auto i : share) load.back() += cost[i];
    }
    std::sort(all.begin(), all.end());
    std::vector<std::size_t> expect(cost.size());
    std::iota(expect.begin(), expect.end(), std::size_t{0});
    EXPECT_EQ(all, expect) << world;
    const auto [lo, hi] = std::minmax_element(load.begin(), load.end());
    EXPECT_LE(*hi - *lo, *std::max_element(cost.begin(), cost.end())) << world;
    EXPECT_EQ(s, cd::deal_by_cost(cost, world)) << "deterministic";
  }
  EXPECT_EQ(cd::deal_by_cost({}, 3).size(), 3u);
}

TEST(DistGroup, OneProcessNeedsNoStore) {
  cd::Group g;
  EXPECT_FALSE(g.distributed());
  g.barrier("x");
  EXPECT_EQ(g.all_gather("v", "a"), std::vector<std::string>{"a"});
  g.check();
  g.finish();
}

TEST(DistGroup, ThreeRanksGatherInRankOrder) {
  const auto port = free_port();
  std::vector<std::vector<std::string>> got(3);
  std::vector<std::thread> ranks;
  for (int r = 0; r < 3; ++r)
    ranks.emplace_back([&, r] {
      cd::Group g(launch_of(r, 3, port), {std::chrono::seconds(20), std::chrono::milliseconds(100)});
      g.barrier("start");
      got[static_cast<std::size_t>(r)] = g.all_gather("hash", "h" + std::to_string(r));
      g.finish();
    });
  for (auto& t : ranks) t.join();
  for (auto& v : got) EXPECT_EQ(v, (std::vector<std::string>{"h0", "h1", "h2"}));
}

TEST(DistGroup, AFailureReachesEveryRankWithItsMessage) {
  const auto port = free_port();
  std::vector<std::string> seen(3);
  std::vector<std::thread> ranks;
  for (int r = 0; r < 3; ++r)
    ranks.emplace_back([&, r] {
      cd::Group g(launch_of(r, 3, port), {std::chrono::seconds(20), std::chrono::milliseconds(50)});
      try {
        if (r == 1) {
          g.fail("model folder unreadable");
          throw curebench::Error(curebench::Errc::io, "m", "", "model folder unreadable");
        }
        g.barrier("never-complete");  // rank 1 never arrives: the failure must end the wait
      } catch (const curebench::Error& e) {
        seen[static_cast<std::size_t>(r)] = e.what();
        if (r != 1) {
          EXPECT_EQ(e.code(), curebench::Errc::distributed);
          g.fail(e.what());
        }
      }
    });
  for (auto& t : ranks) t.join();
  for (int r : {0, 2}) EXPECT_NE(seen[static_cast<std::size_t>(r)].find("rank 1 failed: model folder unreadable"), std::string::npos) << seen[static_cast<std::size_t>(r)];
}

TEST(DistGroup, ASilentRankIsDeclaredGoneWithinTheTimeout) {
  // Rank 1 arrives, then its process "dies": its Group is destroyed (heartbeat stops) without fail().
  const auto port = free_port();
  std::string seen;
  double waited_s = 0;
  std::thread r0([&] {
    cd::Group g(launch_of(0, 2, port), {std::chrono::seconds(2), std::chrono::milliseconds(50)});
    const auto t0 = std::chrono::steady_clock::now();
    try {
      g.barrier("after-death");
    } catch (const curebench::Error& e) {
      seen = e.what();
    }
    waited_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  });
  std::thread r1([&] { cd::Group g(launch_of(1, 2, port), {std::chrono::seconds(2), std::chrono::milliseconds(50)}); });
  r1.join();
  r0.join();
  EXPECT_NE(seen.find("rank 1 sent no heartbeat for 2 s"), std::string::npos) << seen;
  EXPECT_LT(waited_s, 10.0);
}

TEST(DistGroup, ASecondProcessClaimingATakenRankIsRefused) {
  // The same job started twice on one MASTER_PORT: the second rank 1 must not count as arrived or pass barriers.
  const auto port = free_port();
  std::string refused;
  std::thread r0([&] {
    cd::Group g(launch_of(0, 2, port), {std::chrono::seconds(20), std::chrono::milliseconds(50)});
    g.barrier("both");
    g.finish();
  });
  std::thread r1([&] {
    cd::Group g(launch_of(1, 2, port), {std::chrono::seconds(20), std::chrono::milliseconds(50)});
    try {
      cd::Group twin(launch_of(1, 2, port), {std::chrono::seconds(2), std::chrono::milliseconds(50)});
    } catch (const curebench::Error& e) {
      refused = e.what();
    }
    g.barrier("both");
    g.finish();
  });
  r0.join();
  r1.join();
  EXPECT_NE(refused.find("already joined the store at this address as rank 1"), std::string::npos) << refused;
}

TEST(DistGroup, RendezvousGivesUpNamingTheMissingRanks) {
  const auto port = free_port();
  try {
    cd::Group g(launch_of(0, 3, port), {std::chrono::seconds(1), std::chrono::milliseconds(50)});
    FAIL() << "no other rank started";
  } catch (const curebench::Error& e) {
    EXPECT_EQ(e.code(), curebench::Errc::distributed);
    EXPECT_NE(std::string(e.what()).find("1 of 3 ranks arrived"), std::string::npos) << e.what();
  }
}
