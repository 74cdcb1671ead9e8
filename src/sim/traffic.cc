#include "sim/traffic.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "common/time_util.h"
#include "sim/dns_message.h"

namespace dnsight::sim {
namespace {

constexpr int64_t kTickNs = kNanosPerSecond;
constexpr int64_t kDayNs = 86400 * kNanosPerSecond;
constexpr int64_t kDgaBurstPeriodNs = 300 * kNanosPerSecond;
constexpr uint64_t kDgaNamesPerDay = 400;
constexpr double kMaxLatencyMs = 4000;  // below the 5 s matcher timeout of pcap/dnstap

constexpr uint16_t kA = 1, kNs = 2, kSoa = 6, kNull = 10, kMx = 15, kTxt = 16, kAaaa = 28,
                   kHttps = 65;

uint16_t PickQtype(double u) {
  struct Share {
    uint16_t qtype;
    double p;
  };
  static constexpr Share kShares[] = {{kA, 0.56},  {kAaaa, 0.27}, {kHttps, 0.09}, {kTxt, 0.025},
                                      {kMx, 0.02}, {kNs, 0.01},   {kSoa, 0.005}};
  for (const Share& s : kShares) {
    if (u < s.p) return s.qtype;
    u -= s.p;
  }
  return kA;
}

uint16_t AnswerCount(const Zone& z, uint16_t qtype, bool apex) {
  switch (qtype) {
    case kA:
      return z.a_records;
    case kAaaa:
      return z.has_ipv6 ? z.a_records : 0;
    case kHttps:
      return z.has_https ? 1 : 0;
    case kTxt:
    case kMx:
    case kNs:
      return apex ? 2 : 0;
    case kSoa:
      return apex ? 1 : 0;
    default:
      return 0;
  }
}

std::string RandomLabel(Rng& rng, size_t min_len, size_t max_len, std::string_view alphabet) {
  const size_t n = min_len + rng.Below(max_len - min_len + 1);
  std::string s(n, 'a');
  for (char& c : s) c = alphabet[rng.Below(alphabet.size())];
  return s;
}

constexpr std::string_view kLower = "abcdefghijklmnopqrstuvwxyz";
constexpr std::string_view kLowerDigits = "abcdefghijklmnopqrstuvwxyz0123456789";
constexpr std::string_view kBase32 = "abcdefghijklmnopqrstuvwxyz234567";

// A mistyped or stale label: a dropped, doubled or swapped letter, or an old prefix.
std::string Mistype(Rng& rng, std::string label) {
  static constexpr const char* kPrefixes[] = {"old", "test", "dev", "staging", "beta", "v2"};
  const uint64_t op = rng.Below(4);
  const std::string prefixed = std::string(kPrefixes[rng.Below(6)]) + "-" + label;
  if (op == 3 || label.size() < 2) return prefixed;
  const std::string original = label;
  const size_t i = rng.Below(label.size() - 1);
  if (op == 0) label.erase(i, 1);
  if (op == 1) label.insert(i, 1, label[i]);
  if (op == 2) std::swap(label[i], label[i + 1]);
  return label == original ? prefixed : label;  // "www" swapped is still "www"
}

}  // namespace

double CharEntropy(std::string_view text) {
  if (text.empty()) return 0;
  std::array<size_t, 256> counts{};
  for (const char c : text) ++counts[static_cast<uint8_t>(c)];
  double h = 0;
  const double n = static_cast<double>(text.size());
  for (const size_t k : counts) {
    if (k == 0) continue;
    const double p = static_cast<double>(k) / n;
    h -= p * std::log2(p);
  }
  return h;
}

TrafficGenerator::TrafficGenerator(const Scenario& scenario, const Fleet& fleet,
                                   const Timeline& timeline)
    : sc_(scenario),
      fleet_(fleet),
      timeline_(timeline),
      rng_(Mix64(scenario.seed, HashText("traffic"))),
      detail_seed_(Mix64(scenario.seed, HashText("detail"))) {
  zone_effects_.resize(fleet.zones.size());
  resolver_effects_.resize(fleet.resolvers.size());
  for (const Incident& inc : timeline.incidents) {
    boundaries_.push_back(inc.start_ns);
    boundaries_.push_back(inc.end_ns);
  }
  std::sort(boundaries_.begin(), boundaries_.end());
  boundaries_.erase(std::unique(boundaries_.begin(), boundaries_.end()), boundaries_.end());
  for (size_t i = 0; i < timeline.incidents.size(); ++i) {
    const Incident& inc = timeline.incidents[i];
    Rng r(Mix64(inc.seed, static_cast<uint64_t>(inc.client + 1) * 0x9E37 + i));
    ActiveSource s;
    if (inc.cls == IncidentClass::kDga) {
      s.next_ns = inc.start_ns + static_cast<int64_t>(r.Below(60 * kNanosPerSecond));
      s.cursor = r.Below(kDgaNamesPerDay);
    } else if (inc.cls == IncidentClass::kTunnelling) {
      s.next_ns = inc.start_ns + static_cast<int64_t>(r.Uniform() * 1e9 / inc.magnitude);
    }
    incident_rngs_.push_back(r);
    sources_.push_back(s);
  }
  for (const Bot& b : fleet.bots) bot_next_s_.push_back(b.phase_s);
  UpdateEffects(scenario.start_ns);
}

void TrafficGenerator::UpdateEffects(int64_t now) {
  for (size_t z = 0; z < zone_effects_.size(); ++z) {
    zone_effects_[z] = ZoneEffect();
    zone_effects_[z].ttl_s = fleet_.zones[z].ttl_s;
  }
  for (ResolverEffect& r : resolver_effects_) r = ResolverEffect();
  global_surge_ = 1;
  global_surge_incident_ = -1;
  active_.clear();
  for (size_t i = 0; i < timeline_.incidents.size(); ++i) {
    const Incident& inc = timeline_.incidents[i];
    if (now < inc.start_ns || now >= inc.end_ns) continue;
    active_.push_back(i);
    const int idx = static_cast<int>(i);
    ZoneEffect* ze = inc.zone >= 0 ? &zone_effects_[static_cast<size_t>(inc.zone)] : nullptr;
    switch (inc.cls) {
      case IncidentClass::kNxdomainSpike:
        ze->nxdomain_share = inc.magnitude;
        ze->variant = inc.variant;
        ze->nxdomain_incident = idx;
        break;
      case IncidentClass::kServfailRise:
        ze->servfail_share = inc.magnitude;
        ze->servfail_incident = idx;
        break;
      case IncidentClass::kTtlChange:
        ze->ttl_s = static_cast<int64_t>(std::llround(inc.magnitude));
        ze->ttl_incident = idx;
        break;
      case IncidentClass::kTrafficSurge:
        if (ze != nullptr) {
          ze->surge = inc.magnitude;
          ze->surge_incident = idx;
        } else {
          global_surge_ = inc.magnitude;
          global_surge_incident_ = idx;
        }
        break;
      case IncidentClass::kLatencyRise:
      case IncidentClass::kMaintenance:
        for (const int r : inc.resolvers) {
          ResolverEffect& re = resolver_effects_[static_cast<size_t>(r)];
          re.latency_mult *= inc.magnitude;
          // A maintenance window holds some real degradation: a few failed answers.
          if (inc.cls == IncidentClass::kMaintenance) re.extra_servfail += 0.005;
          if (re.incident < 0 || inc.cls == IncidentClass::kLatencyRise) re.incident = idx;
        }
        break;
      case IncidentClass::kDga:
      case IncidentClass::kTunnelling:
        break;  // traffic of their own, generated per tick
    }
  }
  while (next_boundary_ < boundaries_.size() && boundaries_[next_boundary_] <= now)
    ++next_boundary_;
}

SimEvent& TrafficGenerator::NewEvent() {
  if (used_ == pool_.size()) pool_.emplace_back();
  SimEvent& e = pool_[used_++];
  e.ts_ns = 0;
  e.latency_ns = 0;
  e.qtype = kA;
  e.rcode = 0;
  e.answers = 0;
  e.ttl = -1;
  e.incident = -1;
  e.origin = EventOrigin::kClient;
  e.qname.clear();
  return e;
}

int64_t TrafficGenerator::Latency(int resolver, double ms) const {
  ms *= resolver_effects_[static_cast<size_t>(resolver)].latency_mult;
  ms = std::clamp(ms, 0.05, kMaxLatencyMs);
  return static_cast<int64_t>(std::llround(ms * 1000.0)) * 1000;  // whole microseconds
}

void TrafficGenerator::Finish(SimEvent& e, size_t apex_len, uint16_t payload_len) {
  const ResolverEffect& re = resolver_effects_[static_cast<size_t>(e.resolver)];
  if (e.incident < 0 && re.incident >= 0) e.incident = re.incident;
  BuildQuery(e.qname, e.id, e.qtype, &e.query_wire);
  ResponsePlan plan;
  plan.qtype = e.qtype;
  plan.rcode = e.rcode;
  plan.answers = e.answers;
  plan.ttl = static_cast<uint32_t>(std::max<int64_t>(0, e.ttl));
  plan.payload_len = payload_len;
  plan.data_seed = HashText(e.qname);
  plan.apex_len = apex_len;
  BuildResponse(e.qname, e.id, plan, &e.response_wire);
}

void TrafficGenerator::ClientQuery(Rng& rng, int client, int zone_hint, int64_t ts_ns,
                                   EventOrigin origin, int incident) {
  const Client& c = fleet_.clients[static_cast<size_t>(client)];
  const auto& pop_resolvers = fleet_.pops[static_cast<size_t>(c.pop)].resolvers;
  const int resolver =
      rng.Chance(0.85) ? c.primary_resolver : pop_resolvers[rng.Below(pop_resolvers.size())];
  int zi = zone_hint;
  if (zi < 0) {
    zi = rng.Chance(c.favorite_share) ? c.favorites[rng.Below(c.favorites.size())]
                                      : static_cast<int>(fleet_.zone_picker.Sample(rng));
  }
  const Zone& zone = fleet_.zones[static_cast<size_t>(zi)];
  const size_t name_i = zone.name_picker.Sample(rng);
  const uint16_t qtype = PickQtype(rng.Uniform());
  const double u_effect = rng.Uniform(), u_nx = rng.Uniform(), u_sf = rng.Uniform(),
               u_hit = rng.Uniform();
  const ZoneEffect& ze = zone_effects_[static_cast<size_t>(zi)];
  const ResolverEffect& re = resolver_effects_[static_cast<size_t>(resolver)];
  const Resolver& res = fleet_.resolvers[static_cast<size_t>(resolver)];

  SimEvent& e = NewEvent();
  e.ts_ns = ts_ns;
  e.client = c.address;
  e.server = res.address;
  e.resolver = resolver;
  e.origin = origin;
  e.incident = incident;
  e.client_port = static_cast<uint16_t>(1024 + rng.Below(64512));
  e.id = static_cast<uint16_t>(rng.Below(65536));
  e.qtype = qtype;
  e.qname = zone.names[name_i];
  size_t apex_len = zone.domain.size();
  bool hit = u_hit < fleet_.CacheHitProbability(zi, ze.ttl_s);
  double ms = rng.LogNormal(res.hit_latency_ms, 0.45);
  const double miss_ms = rng.LogNormal(zone.auth_latency_ms, 0.6);
  bool outage = false;
  if (u_effect < ze.nxdomain_share) {
    // Bad delegation: existing names answer NXDOMAIN. Random-subdomain abuse: random
    // labels under the domain, which never hit the cache.
    e.incident = ze.nxdomain_incident;
    e.rcode = 3;
    hit = false;
    if (ze.variant == NxdomainVariant::kRandomSubdomain)
      e.qname = RandomLabel(rng, 8, 16, kLowerDigits) + "." + zone.domain;
  } else if (u_sf < ze.servfail_share) {
    e.incident = ze.servfail_incident;  // the zone's servers are unreachable
    e.rcode = 2;
    outage = true;
  } else if (u_nx < sc_.traffic.nxdomain_share) {
    e.rcode = 3;
    const size_t dot = zone.domain.find('.');
    if (rng.Chance(0.8) || dot == std::string::npos) {
      const std::string& name = zone.names[name_i];
      const std::string label = name_i == 0 ? "www" : name.substr(0, name.find('.'));
      e.qname = Mistype(rng, label) + "." + zone.domain;
    } else {  // a typo in the registered domain itself
      const std::string squat = Mistype(rng, zone.domain.substr(0, dot)) + zone.domain.substr(dot);
      apex_len = squat.size();
      e.qname = (rng.Chance(0.5) ? "www." : "") + squat;
      hit = false;
    }
    hit = hit && rng.Chance(0.5);  // negative answers are cached too, but names vary
  } else if (u_sf > 1.0 - (sc_.traffic.servfail_share + re.extra_servfail)) {
    e.rcode = 2;
  }
  if (e.rcode == 0) {
    e.answers = AnswerCount(zone, qtype, name_i == 0);
    if (e.answers > 0)
      e.ttl = hit && ze.ttl_s > 1
                  ? 1 + static_cast<int64_t>(rng.Below(static_cast<uint64_t>(ze.ttl_s)))
                  : ze.ttl_s;
  }
  if (outage) {
    ms += rng.LogNormal(std::max(150.0, zone.auth_latency_ms * 8), 0.5);  // upstream timeouts
  } else if (e.rcode == 2) {
    ms += miss_ms * 3;
  } else if (!hit) {
    ms += miss_ms;
  }
  e.latency_ns = Latency(resolver, ms);
  if (e.incident < 0 && ze.ttl_incident >= 0) e.incident = ze.ttl_incident;
  if (e.incident < 0 && origin == EventOrigin::kClient && global_surge_incident_ >= 0)
    e.incident = global_surge_incident_;
  Finish(e, apex_len, 0);

  // A surge on this zone: more queries like this one, from other clients of the region.
  if (origin == EventOrigin::kClient && ze.surge > 1 && ze.surge_incident >= 0) {
    const int si = ze.surge_incident;
    Rng& ir = incident_rngs_[static_cast<size_t>(si)];
    const uint64_t extra = ir.Poisson(ze.surge - 1);
    const Region& region = fleet_.regions[static_cast<size_t>(c.region)];
    for (uint64_t k = 0; k < extra; ++k) {
      Rng er(ir.Next());
      const int other = region.clients[region.client_picker.Sample(er)];
      const int64_t ts =
          tick_start_ +
          static_cast<int64_t>(er.Below(static_cast<uint64_t>(tick_end_ - tick_start_)));
      ClientQuery(er, other, zi, ts, EventOrigin::kSurge, si);
    }
  }
}

void TrafficGenerator::BotQuery(size_t bi, int64_t ts_ns) {
  const Bot& b = fleet_.bots[bi];
  const Resolver& res = fleet_.resolvers[static_cast<size_t>(b.resolver)];
  Rng rng(Mix64(detail_seed_, baseline_seq_++));
  SimEvent& e = NewEvent();
  e.ts_ns = ts_ns;
  e.client = b.address;
  e.server = res.address;
  e.resolver = b.resolver;
  e.origin = EventOrigin::kBot;
  e.client_port = static_cast<uint16_t>(1024 + rng.Below(64512));
  e.id = static_cast<uint16_t>(rng.Below(65536));
  e.qtype = b.qtype;
  e.qname = b.names[rng.Below(b.names.size())];
  const Zone* zone = &fleet_.zones[static_cast<size_t>(b.zone)];
  const int64_t ttl = zone_effects_[static_cast<size_t>(b.zone)].ttl_s;
  const bool hit = rng.Chance(0.97);
  double ms = rng.LogNormal(res.hit_latency_ms, 0.45);
  if (!hit) ms += rng.LogNormal(zone->auth_latency_ms, 0.6);
  e.answers = AnswerCount(*zone, b.qtype, e.qname == zone->domain);
  if (e.answers > 0)
    e.ttl = hit && ttl > 1 ? 1 + static_cast<int64_t>(rng.Below(static_cast<uint64_t>(ttl))) : ttl;
  e.latency_ns = Latency(b.resolver, ms);
  Finish(e, zone->domain.size(), 0);
}

void TrafficGenerator::DgaQueries(size_t i, int64_t tick_start, int64_t tick_end) {
  static constexpr const char* kTlds[] = {"com", "net", "org", "info", "biz", "ru", "top", "xyz"};
  const Incident& inc = timeline_.incidents[i];
  ActiveSource& s = sources_[i];
  Rng& r = incident_rngs_[i];
  const Client& c = fleet_.clients[static_cast<size_t>(inc.client)];
  const Resolver& res = fleet_.resolvers[static_cast<size_t>(c.primary_resolver)];
  const int64_t end = std::min(tick_end, inc.end_ns);
  for (;;) {
    if (s.next_ns < tick_start) s.next_ns = tick_start;
    if (s.next_ns >= end) return;
    if (s.burst_left == 0) {
      s.burst_left = std::max<int64_t>(1, static_cast<int64_t>(r.Poisson(inc.magnitude * 5)));
      s.burst_start_ns = s.next_ns;
    }
    // The family's names for the day: every client of one entry shares them.
    const uint64_t day = static_cast<uint64_t>(s.next_ns / kDayNs);
    const uint64_t h = Mix64(Mix64(inc.seed, day), s.cursor++ % kDgaNamesPerDay);
    Rng nr(h);
    SimEvent& e = NewEvent();
    e.ts_ns = s.next_ns;
    e.client = c.address;
    e.server = res.address;
    e.resolver = c.primary_resolver;
    e.origin = EventOrigin::kDga;
    e.incident = static_cast<int>(i);
    e.client_port = static_cast<uint16_t>(1024 + r.Below(64512));
    e.id = static_cast<uint16_t>(r.Below(65536));
    e.qtype = kA;
    e.qname = RandomLabel(nr, 10, 18, nr.Chance(0.3) ? kLowerDigits : kLower) + "." +
              kTlds[nr.Below(std::size(kTlds))];
    const bool registered = h % 50 == 0;  // the odd name the operators did register
    e.rcode = registered ? 0 : 3;
    e.answers = registered ? 1 : 0;
    e.ttl = registered ? 300 : -1;
    e.latency_ns =
        Latency(e.resolver, r.LogNormal(res.hit_latency_ms, 0.45) + r.LogNormal(40, 0.5));
    Finish(e, e.qname.size(), 0);
    if (--s.burst_left == 0) {
      s.next_ns =
          s.burst_start_ns + kDgaBurstPeriodNs + static_cast<int64_t>((r.Uniform() - 0.5) * 60e9);
    } else {
      s.next_ns += std::max<int64_t>(1'000'000, static_cast<int64_t>(r.Exponential(0.4) * 1e9));
    }
  }
}

void TrafficGenerator::TunnelQueries(size_t i, int64_t tick_start, int64_t tick_end) {
  const Incident& inc = timeline_.incidents[i];
  ActiveSource& s = sources_[i];
  Rng& r = incident_rngs_[i];
  const Client& c = fleet_.clients[static_cast<size_t>(inc.client)];
  const Resolver& res = fleet_.resolvers[static_cast<size_t>(c.primary_resolver)];
  const double period_ns = 1e9 / inc.magnitude;
  const int64_t end = std::min(tick_end, inc.end_ns);
  while (s.next_ns < end) {
    if (s.next_ns < tick_start) s.next_ns = tick_start;
    SimEvent& e = NewEvent();
    e.ts_ns = s.next_ns;
    e.client = c.address;
    e.server = res.address;
    e.resolver = c.primary_resolver;
    e.origin = EventOrigin::kTunnel;
    e.incident = static_cast<int>(i);
    e.client_port = static_cast<uint16_t>(1024 + r.Below(64512));
    e.id = static_cast<uint16_t>(r.Below(65536));
    const bool txt = r.Chance(0.75);
    e.qtype = txt ? kTxt : kNull;
    // <sequence>.<data>.<data>.<domain>: encoded payload, 63-byte labels at most.
    char seq[16];
    std::snprintf(seq, sizeof seq, "%05llx",
                  static_cast<unsigned long long>(s.sequence++ & 0xFFFFF));
    const size_t room = 245 - inc.domain.size();  // both data labels (domain <= 60)
    const size_t second = std::min<size_t>(63, room - 63);
    e.qname = std::string(seq) + "." + RandomLabel(r, 52, 63, kBase32) + "." +
              RandomLabel(r, std::min<size_t>(40, second), second, kBase32) + "." + inc.domain;
    e.rcode = 0;
    e.answers = 1;
    e.ttl = 0;  // tunnels defeat caching
    e.latency_ns =
        Latency(e.resolver, r.LogNormal(res.hit_latency_ms, 0.45) + r.LogNormal(60, 0.4));
    const uint16_t payload = static_cast<uint16_t>(txt ? r.Between(120, 250) : r.Between(100, 200));
    Finish(e, inc.domain.size(), payload);
    s.next_ns += static_cast<int64_t>(period_ns * (1.0 + 0.05 * (2.0 * r.Uniform() - 1.0)));
  }
}

Status TrafficGenerator::Run(EventSink& sink,
                             const std::function<Status(int64_t tick_end_ns)>& on_tick) {
  const int64_t end = sc_.start_ns + sc_.span_ns;
  for (int64_t t = sc_.start_ns; t < end; t += kTickNs) {
    tick_start_ = t;
    tick_end_ = std::min(t + kTickNs, end);
    if (next_boundary_ < boundaries_.size() && boundaries_[next_boundary_] <= t) UpdateEffects(t);
    used_ = 0;
    const double dt_s = static_cast<double>(tick_end_ - t) / 1e9;
    const int64_t mid = t + (tick_end_ - t) / 2;
    for (size_t ri = 0; ri < fleet_.regions.size(); ++ri) {
      const Region& region = fleet_.regions[ri];
      if (region.clients.empty()) continue;
      const double lambda = fleet_.RegionRate(static_cast<int>(ri), mid) * global_surge_ * dt_s;
      const uint64_t n = rng_.Poisson(lambda);
      for (uint64_t k = 0; k < n; ++k) {
        const int ci = region.clients[region.client_picker.Sample(rng_)];
        const int64_t ts =
            t + static_cast<int64_t>(rng_.Below(static_cast<uint64_t>(tick_end_ - t)));
        Rng detail(Mix64(detail_seed_, baseline_seq_++));
        ClientQuery(detail, ci, -1, ts, EventOrigin::kClient, -1);
      }
    }
    for (size_t b = 0; b < fleet_.bots.size(); ++b) {
      const double period = fleet_.bots[b].period_s;
      while (sc_.start_ns + static_cast<int64_t>(bot_next_s_[b] * 1e9) < tick_end_) {
        BotQuery(b, std::max(t, sc_.start_ns + static_cast<int64_t>(bot_next_s_[b] * 1e9)));
        bot_next_s_[b] += period * (1.0 + 0.1 * (rng_.Uniform() - 0.5));
      }
    }
    for (const size_t i : active_) {
      const IncidentClass cls = timeline_.incidents[i].cls;
      if (cls == IncidentClass::kDga) DgaQueries(i, t, tick_end_);
      if (cls == IncidentClass::kTunnelling) TunnelQueries(i, t, tick_end_);
    }
    order_.resize(used_);
    for (size_t k = 0; k < used_; ++k) order_[k] = k;
    std::sort(order_.begin(), order_.end(), [this](size_t a, size_t b) {
      return pool_[a].ts_ns != pool_[b].ts_ns ? pool_[a].ts_ns < pool_[b].ts_ns : a < b;
    });
    for (const size_t k : order_) {
      if (Status st = sink.Write(pool_[k]); !st.ok()) return st;
    }
    events_ += used_;
    if (on_tick) {
      if (Status st = on_tick(tick_end_); !st.ok()) return st;
    }
  }
  return Status::Ok();
}

}  // namespace dnsight::sim
