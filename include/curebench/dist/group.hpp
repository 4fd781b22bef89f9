#pragma once
// The ranks of a data-parallel run, coordinated through libtorch's own c10d TCPStore (rank 0 hosts it at
// MASTER_ADDR:MASTER_PORT, as torchrun's rendezvous does). What an evaluation needs from the others is small -
// "everyone has reached this point", "here is my config hash / my counters", "I failed" - so it goes through the
// store's keys, not a collective process group: no gloo/NCCL dependency, no GPU memory for a communicator, and no
// collective that hangs forever when a peer dies (the failure lm-eval and vLLM users report most).
//
// Liveness: each rank runs a heartbeat thread on its own store connection; it bumps its counter every
// `heartbeat` and watches everyone else's. A peer whose counter has not moved for `timeout` is declared gone (killed,
// hung, or its machine lost); a lost connection to rank 0's store means rank 0 is gone. Either way, or when a peer
// calls fail(), check() and every wait throw Errc::distributed on every rank, naming the rank and what happened,
// within `timeout` plus one poll - the evaluation calls check() between batches, so a rank stops after the batch it
// is in (its samples are saved; a restart with any number of ranks resumes).
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "curebench/core/error.hpp"
#include "curebench/dist/launch.hpp"

namespace curebench::dist {

struct GroupOptions {
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};  // rendezvous wait, and silence before a peer is gone
  std::chrono::milliseconds heartbeat{std::chrono::milliseconds(500)};
};

class Group {
 public:
  // One process: no store; every wait returns at once.
  Group() = default;

  // Rendezvous: rank 0 opens the store, the others connect; returns once all world_size ranks have arrived.
  explicit Group(const Launch& launch, GroupOptions opt = {}) : launch_(launch), opt_(opt) {
    if (!launch_.distributed()) return;
    const std::string where = launch_.master_addr + ":" + std::to_string(launch_.master_port);
    try {
      main_ = connect(launch_.leader() && !launch_.agent_store, opt_.timeout);
    } catch (const std::exception& e) {
      throw Error(Errc::distributed, where, "MASTER_ADDR/MASTER_PORT",
                  std::string(launch_.leader() ? "rank 0 cannot open the rendezvous store (is the port in use?): "
                                               : "cannot reach rank 0's rendezvous store within the timeout: ") +
                      first_line(e.what()));
    }
    // Each rank claims its slot first: a second process with this rank at this store (the same job started twice, or
    // another job on the same MASTER_PORT whose rank 0 could not open it) is refused before it counts as arrived.
    if (main_->add(key("claim/" + std::to_string(launch_.rank)), 1) != 1)
      throw Error(Errc::distributed, where, "RANK",
                  "another process already joined the store at this address as rank " + std::to_string(launch_.rank) +
                      ": is a second run using the same MASTER_PORT?");
    // Arrival: every rank adds one; wait until all world_size are in (bounded).
    const auto deadline = std::chrono::steady_clock::now() + opt_.timeout;
    std::int64_t arrived = main_->add(key("arrived"), 1);
    while (arrived < launch_.world_size) {
      if (std::chrono::steady_clock::now() > deadline)
        throw Error(Errc::distributed, where, "world_size",
                    std::to_string(arrived) + " of " + std::to_string(launch_.world_size) + " ranks arrived within " +
                        std::to_string(opt_.timeout.count() / 1000) + " s (world size from " + launch_.source +
                        "): start every rank, or check the world size");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      arrived = main_->add(key("arrived"), 0);
    }
    beat_ = std::thread([this] { heartbeat_loop(); });
  }

  ~Group() {
    stop_ = true;
    if (beat_.joinable()) beat_.join();
  }
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  const Launch& launch() const noexcept { return launch_; }
  int rank() const noexcept { return launch_.rank; }
  int world_size() const noexcept { return launch_.world_size; }
  bool leader() const noexcept { return launch_.leader(); }
  bool distributed() const noexcept { return launch_.distributed(); }

  // Throws Errc::distributed when another rank failed or is gone.
  void check() const {
    if (!failed_) return;
    std::lock_guard<std::mutex> g(mu_);
    throw Error(Errc::distributed, "rank " + std::to_string(launch_.rank), "", failure_);
  }

  // Returns once every rank has called barrier(name); throws (check()) if a peer fails or vanishes meanwhile.
  void barrier(const std::string& name) {
    if (!distributed()) return;
    const std::string k = key("barrier/" + name);
    std::int64_t n = locked([&] { return main_->add(k, 1); });
    for (int polls = 0; n < launch_.world_size; ++polls) {
      check();
      std::this_thread::sleep_for(std::chrono::milliseconds(polls < 50 ? 5 : 50));
      n = locked([&] { return main_->add(k, 0); });
    }
  }

  // Every rank's `value` under `name`, in rank order (a barrier included).
  std::vector<std::string> all_gather(const std::string& name, const std::string& value) {
    if (!distributed()) return {value};
    locked([&] { main_->set(key("gather/" + name + "/" + std::to_string(launch_.rank)), bytes(value)); return 0; });
    barrier("gather/" + name);
    std::vector<std::string> out;
    for (int r = 0; r < launch_.world_size; ++r) {
      auto v = locked([&] { return main_->get(key("gather/" + name + "/" + std::to_string(r))); });
      out.emplace_back(v.begin(), v.end());
    }
    // No rank leaves (rank 0 taking the store with it) before every rank has read the values.
    barrier("gather-read/" + name);
    return out;
  }

  // Tells the others that this rank failed, with its one-line message, so they stop instead of waiting for it.
  // Rank 0 hosts the store: it waits (briefly) until the others have read the failure before it may exit.
  void fail(const std::string& message) noexcept {
    if (!distributed() || told_) return;
    told_ = true;
    try {
      locked([&] {
        main_->set(key("failed/" + std::to_string(launch_.rank)), bytes(message));
        return main_->add(key("failed"), 1);
      });
      // Rank 0 waits (bounded) until every other rank has read a failure or failed itself.
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      for (int r = 1; launch_.leader() && r < launch_.world_size && std::chrono::steady_clock::now() < deadline;) {
        const auto rs = std::to_string(r);
        if (locked([&] { return main_->check({key("failure_seen/" + rs)}) || main_->check({key("failed/" + rs)}); })) ++r;
        else std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    } catch (...) {
      // The store is gone too: the others find out through their heartbeat.
    }
  }

  // The end of a run that succeeded: the followers wait until rank 0 has written the results (and learn if it
  // failed doing so); rank 0 waits (bounded) until they have seen that, since its exit takes the store down.
  void finish() {
    if (!distributed()) return;
    if (launch_.leader()) {
      locked([&] { main_->set(key("finished"), bytes("1")); return 0; });
      wait_count("finish_seen", launch_.world_size - 1, std::chrono::seconds(10));
      return;
    }
    for (int polls = 0;; ++polls) {
      check();
      if (locked([&] { return main_->check({key("finished")}); })) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(polls < 50 ? 5 : 50));
    }
    try {
      locked([&] { return main_->add(key("finish_seen"), 1); });
    } catch (...) {
    }
  }

 private:
  std::string key(const std::string& k) const { return "curebench/" + std::to_string(launch_.restart_count) + "/" + k; }
  static std::vector<std::uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }
  static std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

  std::unique_ptr<c10d::TCPStore> connect(bool server, std::chrono::milliseconds connect_timeout) const {
    c10d::TCPStoreOptions o;
    o.port = launch_.master_port;
    o.isServer = server;
    o.waitWorkers = false;  // arrival is counted by hand above, with a message that says who is missing
    o.timeout = connect_timeout;
    auto s = std::make_unique<c10d::TCPStore>(launch_.master_addr, o);
    s->setTimeout(std::chrono::milliseconds(std::max<std::int64_t>(opt_.timeout.count(), 1000)));
    return s;
  }

  // A store call from the main thread; a lost store (rank 0 gone) becomes Errc::distributed, not libtorch's error.
  template <class F>
  auto locked(F&& f) -> decltype(f()) {
    std::lock_guard<std::mutex> g(store_mu_);
    try {
      return f();
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Error(Errc::distributed, "rank " + std::to_string(launch_.rank), "", lost_store(e.what()));
    }
  }

  std::string lost_store(const std::string& what) const {
    return "lost contact with rank 0's rendezvous store at " + launch_.master_addr + ":" + std::to_string(launch_.master_port) +
           " (rank 0 ended or is unreachable): " + first_line(what) + stop_hint();
  }

  void wait_count(const std::string& name, std::int64_t n, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline && locked([&] { return main_->add(key(name), 0); }) < n)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  void set_failure(const std::string& why) {
    std::lock_guard<std::mutex> g(mu_);
    if (failed_) return;
    failure_ = why;
    failed_ = true;
  }

  // Runs on its own store connection: a main thread blocked in a long batch does not delay it.
  void heartbeat_loop() {
    std::unique_ptr<c10d::TCPStore> store;
    const auto n = static_cast<std::size_t>(launch_.world_size);
    std::vector<std::int64_t> seen(n, -1);
    std::vector<std::chrono::steady_clock::time_point> moved(n, std::chrono::steady_clock::now());
    bool reported_seen = false;
    try {
      store = connect(false, opt_.timeout);
      while (!stop_) {
        store->add(key("hb/" + std::to_string(launch_.rank)), 1);
        if (!failed_ && store->add(key("failed"), 0) > 0) {
          for (int r = 0; r < launch_.world_size; ++r)
            if (store->check({key("failed/" + std::to_string(r))})) {
              auto v = store->get(key("failed/" + std::to_string(r)));
              set_failure("rank " + std::to_string(r) + " failed: " + std::string(v.begin(), v.end()) + stop_hint());
              break;
            }
        }
        if (failed_ && !reported_seen) {
          reported_seen = true;
          store->set(key("failure_seen/" + std::to_string(launch_.rank)), bytes("1"));
        }
        const auto now = std::chrono::steady_clock::now();
        for (int r = 0; r < launch_.world_size && !failed_; ++r) {
          if (r == launch_.rank) continue;
          const auto v = store->add(key("hb/" + std::to_string(r)), 0);
          if (v != seen[static_cast<std::size_t>(r)]) {
            seen[static_cast<std::size_t>(r)] = v;
            moved[static_cast<std::size_t>(r)] = now;
          } else if (now - moved[static_cast<std::size_t>(r)] > opt_.timeout) {
            set_failure("rank " + std::to_string(r) + " sent no heartbeat for " + std::to_string(opt_.timeout.count() / 1000) +
                        " s: it was killed, hangs, or its machine is unreachable" + stop_hint());
          }
        }
        for (auto t = std::chrono::milliseconds(0); t < opt_.heartbeat && !stop_; t += std::chrono::milliseconds(10))
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    } catch (const std::exception& e) {
      if (!stop_) set_failure(lost_store(e.what()));
    }
  }

  static std::string stop_hint() {
    return "; the samples every rank finished are saved: run the same command again (any number of ranks) to resume";
  }

  Launch launch_;
  GroupOptions opt_;
  std::unique_ptr<c10d::TCPStore> main_;
  std::mutex store_mu_;
  mutable std::mutex mu_;
  std::string failure_;
  std::atomic<bool> failed_{false}, stop_{false}, told_{false};
  std::thread beat_;
};

}  // namespace curebench::dist
