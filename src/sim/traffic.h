// TrafficGenerator: turns a Fleet and a Timeline into DNS transactions in query-time
// order, one tick (1 s of simulated time) at a time.
//
// Sources of traffic:
//   clients    Poisson arrivals per region at Fleet::RegionRate (diurnal, weekend dip),
//              each picking a client by rate weight, a resolver (its primary, or another
//              one in its PoP), a zone (a favourite or by popularity), a name and a qtype.
//   bots       steady cadence on their few names, around the clock.
//   incidents  DGA bursts from infected clients, a tunnel's steady TXT/NULL queries, and
//              extra queries for a zone under a traffic surge.
// Response code, answers, TTL and latency come from the state of the resolver and the
// zone at that moment: cache hits (more likely for popular zones and long TTLs) are fast,
// misses add the zone's upstream latency, and active incidents change exactly these
// (latency multipliers per resolver, NXDOMAIN or SERVFAIL shares per zone, a zone's TTL).
//
// Determinism: the generator draws arrival counts, clients and times from one seeded
// stream, every baseline transaction's details from a stream keyed by its sequence
// number, and each incident's own traffic from the incident's stream. So the same
// scenario and seed give the same transactions, and an incident that changes responses
// (not volume) leaves the rest of the traffic untouched.
//
// Thread-safety: not thread-safe. The fleet and timeline must outlive the generator.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "dnsight/status.h"
#include "sim/fleet.h"
#include "sim/random.h"
#include "sim/timeline.h"

namespace dnsight::sim {

enum class EventOrigin : uint8_t { kClient, kBot, kDga, kTunnel, kSurge };

// One simulated transaction: a query and its response.
struct SimEvent {
  int64_t ts_ns = 0;       // query time
  int64_t latency_ns = 0;  // response time - query time (whole microseconds, > 0)
  uint32_t client = 0;     // IPv4, host order
  uint32_t server = 0;
  uint16_t client_port = 0;
  uint16_t id = 0;
  uint16_t qtype = 1;
  uint8_t rcode = 0;
  uint16_t answers = 0;
  int64_t ttl = -1;  // smallest answer TTL; -1 without answers
  int resolver = 0;
  EventOrigin origin = EventOrigin::kClient;
  int incident = -1;  // index into Timeline::incidents when an incident shaped it
  std::string qname;  // lowercase, no trailing dot
  std::string query_wire, response_wire;  // DNS messages (sizes = query/response_size)
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  // Events arrive in nondecreasing ts_ns. The reference is valid during the call only.
  virtual Status Write(const SimEvent& event) = 0;
};

class TrafficGenerator {
 public:
  TrafficGenerator(const Scenario& scenario, const Fleet& fleet, const Timeline& timeline);
  TrafficGenerator(const TrafficGenerator&) = delete;
  TrafficGenerator& operator=(const TrafficGenerator&) = delete;

  // Generates [start, start + span). After each tick's events, calls on_tick(tick_end)
  // (pacing, flushing) when set. Stops at the first error from the sink or on_tick.
  Status Run(EventSink& sink, const std::function<Status(int64_t tick_end_ns)>& on_tick = {});

  uint64_t events() const { return events_; }

 private:
  struct ZoneEffect {
    int64_t ttl_s = 0;
    double nxdomain_share = 0;
    NxdomainVariant variant = NxdomainVariant::kBadDelegation;
    int nxdomain_incident = -1;
    double servfail_share = 0;
    int servfail_incident = -1;
    double surge = 1;
    int surge_incident = -1;
    int ttl_incident = -1;
  };
  struct ResolverEffect {
    double latency_mult = 1;
    double extra_servfail = 0;
    int incident = -1;
  };
  struct ActiveSource {  // per-incident generator state (DGA, tunnel)
    int64_t next_ns = 0;
    int64_t burst_left = 0;
    int64_t burst_start_ns = 0;
    uint64_t cursor = 0;
    uint64_t sequence = 0;
  };

  void UpdateEffects(int64_t now_ns);
  SimEvent& NewEvent();
  void ClientQuery(Rng& rng, int client, int zone_hint, int64_t ts_ns, EventOrigin origin,
                   int incident);
  void BotQuery(size_t bot, int64_t ts_ns);
  void DgaQueries(size_t incident, int64_t tick_start, int64_t tick_end);
  void TunnelQueries(size_t incident, int64_t tick_start, int64_t tick_end);
  void Finish(SimEvent& e, size_t apex_len, uint16_t payload_len);
  // Whole microseconds, after the resolver's incident multiplier, within (0, 4 s].
  int64_t Latency(int resolver, double ms) const;

  const Scenario& sc_;
  const Fleet& fleet_;
  const Timeline& timeline_;
  Rng rng_;
  uint64_t detail_seed_;
  uint64_t baseline_seq_ = 0;
  uint64_t events_ = 0;

  std::vector<ZoneEffect> zone_effects_;
  std::vector<ResolverEffect> resolver_effects_;
  double global_surge_ = 1;
  int global_surge_incident_ = -1;
  std::vector<int64_t> boundaries_;  // sorted incident starts and ends
  size_t next_boundary_ = 0;
  std::vector<size_t> active_;  // incidents active in the current tick
  std::vector<Rng> incident_rngs_;
  std::vector<ActiveSource> sources_;
  std::vector<double> bot_next_s_;  // next query, seconds after the start
  int64_t tick_start_ = 0, tick_end_ = 0;

  std::vector<SimEvent> pool_;  // this tick's events (reused)
  size_t used_ = 0;
  std::vector<size_t> order_;
};

// Shannon entropy of the characters of `text`, in bits (for tests and summaries).
double CharEntropy(std::string_view text);

}  // namespace dnsight::sim
