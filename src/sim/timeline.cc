#include "sim/timeline.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include "common/time_util.h"
#include "engine/row_writer.h"

namespace dnsight::sim {
namespace {

constexpr int64_t kMinute = 60 * kNanosPerSecond;
constexpr int64_t kHour = 60 * kMinute;

struct DurationRange {
  int64_t lo, hi;
};

// Typical lengths of randomly placed incidents, per class (IncidentClass order).
constexpr DurationRange kAutoDurations[kIncidentClassCount] = {
    {30 * kMinute, 2 * kHour},     // nxdomain_spike
    {20 * kMinute, 90 * kMinute},  // servfail_rise
    {15 * kMinute, 1 * kHour},     // latency_rise
    {2 * kHour, 8 * kHour},        // dga
    {1 * kHour, 4 * kHour},        // tunnelling
    {30 * kMinute, 2 * kHour},     // traffic_surge
    {30 * kMinute, 2 * kHour},     // maintenance
    {4 * kHour, 12 * kHour},       // ttl_change
};

constexpr const char* kMaintenanceNotes[] = {"kernel upgrade", "unbound upgrade", "hardware swap",
                                             "NIC firmware", "config rollout"};
constexpr const char* kTunnelWords[] = {"sync",  "cdn",    "update",  "telemetry", "cache",
                                        "relay", "static", "metrics", "edge",      "content"};
constexpr const char* kTunnelSuffixes[] = {"com", "net", "xyz", "top", "io", "info"};

// What an incident occupies, for the no-overlap rule.
using Key = std::string;

struct Occupancy {
  Key key;
  int64_t from, to;
};

class Planner {
 public:
  Planner(const Scenario& sc, const Fleet& fleet)
      : sc_(sc), fleet_(fleet), rng_(Mix64(sc.seed, HashText("timeline"))) {
    span_end_ = sc.start_ns + sc.span_ns;
    gap_ = std::min<int64_t>(kHour, std::max<int64_t>(5 * kMinute, sc.span_ns / 50));
    warmup_ = std::min<int64_t>(12 * kHour, sc.span_ns / 10 / kMinute * kMinute);
    const size_t top = std::min<size_t>(fleet.zones.size(), 15);
    for (size_t z = 0; z < top; ++z) popular_zones_.push_back(static_cast<int>(z));
    for (size_t z = 0; z < std::min<size_t>(fleet.zones.size(), 30); ++z)
      if (fleet.zones[z].ttl_s >= 300) ttl_zones_.push_back(static_cast<int>(z));
    if (ttl_zones_.empty()) ttl_zones_ = popular_zones_;
  }

  Timeline Plan() {
    int entry = 0;
    for (const IncidentSpec& spec : sc_.incidents) PlanEntry(spec, entry++, /*auto=*/false);
    for (size_t c = 0; c < kIncidentClassCount; ++c) {
      for (int k = 0; k < sc_.auto_incidents; ++k) {
        IncidentSpec spec;
        spec.cls = static_cast<IncidentClass>(c);
        spec.where = sc_.path + ": auto_incidents";
        PlanEntry(spec, entry++, /*auto=*/true);
      }
    }
    std::sort(out_.incidents.begin(), out_.incidents.end(),
              [](const Incident& a, const Incident& b) {
                return std::tie(a.start_ns, a.cls, a.scope.value, a.entry) <
                       std::tie(b.start_ns, b.cls, b.scope.value, b.entry);
              });
    char id[32];
    for (size_t i = 0; i < out_.incidents.size(); ++i) {
      std::snprintf(id, sizeof id, "inc-%04zu", i + 1);
      out_.incidents[i].id = id;
    }
    AddChangeEvents();
    return std::move(out_);
  }

 private:
  [[noreturn]] void Fail(const IncidentSpec& spec, const std::string& msg) const {
    throw ScenarioError(spec.where + ": " + msg);
  }

  bool Free(const std::vector<Key>& keys, int64_t from, int64_t to) const {
    for (const Occupancy& o : taken_)
      if (from < o.to + gap_ && o.from < to + gap_ &&
          std::find(keys.begin(), keys.end(), o.key) != keys.end())
        return false;
    return true;
  }
  void Take(const std::vector<Key>& keys, int64_t from, int64_t to) {
    for (const Key& k : keys) taken_.push_back({k, from, to});
  }

  std::vector<Key> ResolverKeys(const std::vector<int>& resolvers) const {
    std::vector<Key> keys;
    for (const int r : resolvers) keys.push_back("r:" + std::to_string(r));
    return keys;
  }

  IncidentScope ResolverScope(int r) const {
    const Resolver& res = fleet_.resolvers[static_cast<size_t>(r)];
    return {"resolver", res.address_text, fleet_.regions[static_cast<size_t>(res.region)].name,
            fleet_.pops[static_cast<size_t>(res.pop)].name, ""};
  }
  IncidentScope ClientScope(int c) const {
    const Client& cl = fleet_.clients[static_cast<size_t>(c)];
    return {"client", Ipv4Text(cl.address), fleet_.regions[static_cast<size_t>(cl.region)].name,
            fleet_.pops[static_cast<size_t>(cl.pop)].name, ""};
  }

  std::string NewTunnelDomain() {
    for (;;) {
      std::string d = std::string(kTunnelWords[rng_.Below(std::size(kTunnelWords))]) + "-" +
                      std::to_string(rng_.Between(10, 999)) + "." +
                      kTunnelSuffixes[rng_.Below(std::size(kTunnelSuffixes))];
      if (fleet_.FindZone(d) < 0) return d;
    }
  }

  // One candidate incident for `spec` (scope and targets resolved, times unset), plus the
  // keys it occupies. A table entry with an explicit scope always yields that scope.
  struct Candidate {
    std::vector<Incident> records;
    std::vector<Key> keys;
  };
  Candidate Choose(const IncidentSpec& spec, bool random_magnitude) {
    Candidate c;
    Incident inc;
    inc.cls = spec.cls;
    inc.magnitude = spec.magnitude ? *spec.magnitude : DefaultMagnitude(spec.cls);
    inc.seed = rng_.Next();
    const bool pick = spec.scope.empty();
    const auto zone_scope = [&](int z) {
      inc.zone = z;
      inc.scope = {"domain", fleet_.zones[static_cast<size_t>(z)].domain, "", "", ""};
      c.keys.push_back("z:" + inc.scope.value);
    };
    const auto pick_zone = [&](const std::vector<int>& from) {
      return from[rng_.Below(from.size())];
    };
    switch (spec.cls) {
      case IncidentClass::kNxdomainSpike:
      case IncidentClass::kServfailRise: {
        zone_scope(pick ? pick_zone(popular_zones_) : fleet_.FindZone(spec.scope[0]));
        if (spec.cls == IncidentClass::kNxdomainSpike) {
          inc.variant = spec.variant == "bad_delegation"     ? NxdomainVariant::kBadDelegation
                        : spec.variant == "random_subdomain" ? NxdomainVariant::kRandomSubdomain
                        : rng_.Chance(0.5)                   ? NxdomainVariant::kBadDelegation
                                                             : NxdomainVariant::kRandomSubdomain;
        }
        if (random_magnitude) inc.magnitude = rng_.UniformIn(0.3, 0.7);
        break;
      }
      case IncidentClass::kTtlChange: {
        zone_scope(pick ? pick_zone(ttl_zones_) : fleet_.FindZone(spec.scope[0]));
        if (random_magnitude) {
          const int64_t old = fleet_.zones[static_cast<size_t>(inc.zone)].ttl_s;
          inc.magnitude = old > 60 ? (rng_.Chance(0.7) ? 60 : 30) : 3600;
        }
        break;
      }
      case IncidentClass::kTrafficSurge: {
        if (pick ? rng_.Chance(0.5) : spec.scope[0] == "global") {
          inc.scope = {"global", "*", "", "", ""};
          c.keys.push_back("global");
        } else {
          zone_scope(pick ? pick_zone(popular_zones_) : fleet_.FindZone(spec.scope[0]));
        }
        if (random_magnitude) inc.magnitude = rng_.UniformIn(2.0, 4.0);
        break;
      }
      case IncidentClass::kLatencyRise:
      case IncidentClass::kMaintenance: {
        int region = -1;
        int resolver = -1;
        if (pick) {
          if (spec.cls == IncidentClass::kMaintenance && rng_.Chance(0.3))
            region = static_cast<int>(rng_.Below(fleet_.regions.size()));
          else
            resolver = static_cast<int>(rng_.Below(fleet_.resolvers.size()));
        } else {
          region = fleet_.FindRegion(spec.scope[0]);
          if (region < 0) resolver = fleet_.FindResolver(*ParseIpv4(spec.scope[0]));
        }
        if (region >= 0) {
          inc.scope = {"region", fleet_.regions[static_cast<size_t>(region)].name, "", "", ""};
          for (const int p : fleet_.regions[static_cast<size_t>(region)].pops)
            for (const int r : fleet_.pops[static_cast<size_t>(p)].resolvers)
              inc.resolvers.push_back(r);
        } else {
          inc.scope = ResolverScope(resolver);
          inc.resolvers.push_back(resolver);
        }
        c.keys = ResolverKeys(inc.resolvers);
        if (random_magnitude)
          inc.magnitude = spec.cls == IncidentClass::kLatencyRise ? rng_.UniformIn(3.0, 8.0)
                                                                  : rng_.UniformIn(1.2, 2.0);
        break;
      }
      case IncidentClass::kDga: {
        if (random_magnitude) inc.magnitude = rng_.UniformIn(10.0, 40.0);
        std::vector<int> infected;
        if (pick) {
          const int n = spec.clients > 0 ? spec.clients : static_cast<int>(rng_.Between(1, 3));
          for (int k = 0; k < n && k < static_cast<int>(fleet_.clients.size()); ++k) {
            int ci;
            do {
              ci = static_cast<int>(rng_.Below(fleet_.clients.size()));
            } while (std::find(infected.begin(), infected.end(), ci) != infected.end());
            infected.push_back(ci);
          }
        } else {
          for (const std::string& s : spec.scope)
            infected.push_back(fleet_.FindClient(*ParseIpv4(s)));
        }
        for (const int ci : infected) {
          Incident rec = inc;
          rec.client = ci;
          rec.scope = ClientScope(ci);
          c.keys.push_back("c:" + rec.scope.value);
          c.records.push_back(std::move(rec));
        }
        return c;
      }
      case IncidentClass::kTunnelling: {
        if (random_magnitude) inc.magnitude = rng_.UniformIn(0.5, 3.0);
        inc.domain = pick ? NewTunnelDomain() : spec.scope[0];
        inc.client = spec.client.empty() ? static_cast<int>(rng_.Below(fleet_.clients.size()))
                                         : fleet_.FindClient(*ParseIpv4(spec.client));
        inc.scope = {"domain", inc.domain, "", "",
                     Ipv4Text(fleet_.clients[static_cast<size_t>(inc.client)].address)};
        c.keys.push_back("z:" + inc.domain);
        c.keys.push_back("c:" + inc.scope.client);
        break;
      }
    }
    c.records.push_back(std::move(inc));
    return c;
  }

  void PlanEntry(const IncidentSpec& spec, int entry, bool is_auto) {
    const bool random_scope = spec.scope.empty();
    if (!is_auto) {
      const int64_t start = spec.start_is_offset ? sc_.start_ns + spec.start_ns : spec.start_ns;
      int64_t end = start + spec.duration_ns;
      const std::string span = FormatRfc3339(sc_.start_ns) + " .. " + FormatRfc3339(span_end_);
      if (start < sc_.start_ns)
        Fail(spec,
             "incident starts at " + FormatRfc3339(start) + ", before the simulated span " + span);
      // A shorter span (--days) cuts the table rather than failing it.
      if (start >= span_end_) {
        out_.warnings.push_back(spec.where + ": starts at " + FormatRfc3339(start) +
                                ", after the simulated span " + span + "; skipped");
        return;
      }
      if (end > span_end_) {
        out_.warnings.push_back(spec.where + ": ends at " + FormatRfc3339(end) +
                                ", after the simulated span " + span + "; cut to the span");
        end = span_end_;
      }
      // A random scope is drawn until it does not clash; an explicit one is taken as given.
      for (int attempt = 0;; ++attempt) {
        Candidate c = Choose(spec, false);
        if (!random_scope || Free(c.keys, start, end) || attempt >= 200) {
          Commit(std::move(c), entry, start, end, false);
          return;
        }
      }
    }
    const int n = std::max(1, sc_.auto_incidents);
    const int64_t usable = span_end_ - sc_.start_ns - warmup_ - 10 * kMinute;
    const DurationRange range = kAutoDurations[static_cast<size_t>(spec.cls)];
    const int64_t cap = std::max<int64_t>(5 * kMinute, usable / (2 * n + 1) / kMinute * kMinute);
    const int64_t lo = std::min(range.lo, cap), hi = std::min(range.hi, cap);
    for (int attempt = 0; attempt < 500; ++attempt) {
      const int64_t duration =
          lo + static_cast<int64_t>(rng_.Below(static_cast<uint64_t>((hi - lo) / kMinute) + 1)) *
                   kMinute;
      const int64_t latest = usable - duration;
      if (latest <= 0) break;
      // Whole minutes, like an operator's table.
      const int64_t start =
          sc_.start_ns + warmup_ +
          static_cast<int64_t>(rng_.Below(static_cast<uint64_t>(latest / kMinute) + 1)) * kMinute;
      Candidate c = Choose(spec, true);
      if (!Free(c.keys, start, start + duration)) continue;
      Commit(std::move(c), entry, start, start + duration, true);
      return;
    }
    Fail(spec, "cannot place " + std::to_string(sc_.auto_incidents) + " " +
                   std::string(IncidentClassName(spec.cls)) + " incidents without overlap in " +
                   FormatDuration(sc_.span_ns) + "; lower auto_incidents or lengthen the span");
  }

  void Commit(Candidate c, int entry, int64_t start, int64_t end, bool is_auto) {
    Take(c.keys, start, end);
    for (Incident& inc : c.records) {
      inc.start_ns = start;
      inc.end_ns = end;
      inc.entry = entry;
      inc.auto_placed = is_auto;
      out_.incidents.push_back(std::move(inc));
    }
  }

  void AddChangeEvents() {
    // Incident-driven changes, numbered in incident order.
    int mw = 0, zc = 0;
    for (const Incident& inc : out_.incidents) {
      if (inc.cls == IncidentClass::kMaintenance) {
        const std::string id = "mw-" + std::to_string(++mw);
        const IncidentSpec* spec =
            inc.auto_placed || inc.entry >= static_cast<int>(sc_.incidents.size())
                ? nullptr
                : &sc_.incidents[static_cast<size_t>(inc.entry)];
        std::string note =
            spec && !spec->note.empty()
                ? spec->note
                : kMaintenanceNotes[Mix64(inc.seed, 1) % std::size(kMaintenanceNotes)];
        out_.changes.push_back(
            {inc.start_ns, "maintenance_start", inc.scope.kind, inc.scope.value, id, note});
        out_.changes.push_back(
            {inc.end_ns, "maintenance_end", inc.scope.kind, inc.scope.value, id, ""});
      } else if (inc.cls == IncidentClass::kTtlChange) {
        const int64_t old = fleet_.zones[static_cast<size_t>(inc.zone)].ttl_s;
        const int64_t now = static_cast<int64_t>(std::llround(inc.magnitude));
        out_.changes.push_back({inc.start_ns, "zone_change", "domain", inc.scope.value,
                                "z-" + std::to_string(++zc),
                                "TTL " + std::to_string(old) + " -> " + std::to_string(now)});
        out_.changes.push_back({inc.end_ns, "zone_change", "domain", inc.scope.value,
                                "z-" + std::to_string(++zc),
                                "TTL " + std::to_string(now) + " -> " + std::to_string(old)});
      }
    }
    // Routine changes that are not incidents: deploys and certificate rollouts during
    // business hours (UTC), at seeded times.
    Rng rng = rng_.Derive(HashText("changes"));
    const double days = static_cast<double>(sc_.span_ns) / (24.0 * kHour);
    const auto business_time = [&]() {
      const int64_t day =
          static_cast<int64_t>(rng.Below(static_cast<uint64_t>(std::max(1.0, std::ceil(days)))));
      const int64_t t = sc_.start_ns + day * 24 * kHour + 9 * kHour +
                        static_cast<int64_t>(rng.Below(8 * 60)) * kMinute;
      return t;
    };
    const uint64_t deploys = rng.Poisson(sc_.changes.deploys_per_day * days);
    std::vector<int64_t> times;
    for (uint64_t i = 0; i < deploys; ++i) times.push_back(business_time());
    std::sort(times.begin(), times.end());
    int patch = 0;
    for (const int64_t t : times) {
      if (t >= span_end_) continue;
      ++patch;
      out_.changes.push_back({t, "deploy", "service", "resolver-fleet",
                              "d-" + std::to_string(patch),
                              "unbound 1.19." + std::to_string(patch)});
    }
    times.clear();
    const uint64_t certs = rng.Poisson(sc_.changes.cert_deploys_per_week * days / 7.0);
    for (uint64_t i = 0; i < certs; ++i) times.push_back(business_time());
    std::sort(times.begin(), times.end());
    int cert = 0;
    for (const int64_t t : times) {
      if (t >= span_end_) continue;
      out_.changes.push_back(
          {t, "cert_deploy", "service", "www", "c-" + std::to_string(++cert), ""});
    }
    std::stable_sort(out_.changes.begin(), out_.changes.end(),
                     [](const ChangeEvent& a, const ChangeEvent& b) { return a.ts_ns < b.ts_ns; });
  }

  const Scenario& sc_;
  const Fleet& fleet_;
  Rng rng_;
  int64_t span_end_ = 0;
  int64_t gap_ = 0;
  int64_t warmup_ = 0;
  std::vector<int> popular_zones_, ttl_zones_;
  std::vector<Occupancy> taken_;
  Timeline out_;
};

void AppendTime(const char* name, int64_t ns, std::string* out) {
  out->append("\"").append(name).append("\":\"").append(FormatRfc3339(ns)).append("\",\"");
  out->append(name).append("_ns\":").append(std::to_string(ns));
}

}  // namespace

Timeline PlanTimeline(const Scenario& scenario, const Fleet& fleet) {
  return Planner(scenario, fleet).Plan();
}

void AppendIncidentJson(const Incident& inc, std::string* out) {
  out->append("{\"id\":");
  AppendJsonString(inc.id, out);
  out->append(",\"class\":");
  AppendJsonString(IncidentClassName(inc.cls), out);
  out->append(IsBenign(inc.cls) ? ",\"benign\":true" : ",\"benign\":false");
  out->append(",\"scope\":{\"kind\":");
  AppendJsonString(inc.scope.kind, out);
  out->append(",\"value\":");
  AppendJsonString(inc.scope.value, out);
  if (!inc.scope.region.empty()) {
    out->append(",\"region\":");
    AppendJsonString(inc.scope.region, out);
  }
  if (!inc.scope.pop.empty()) {
    out->append(",\"pop\":");
    AppendJsonString(inc.scope.pop, out);
  }
  if (!inc.scope.client.empty()) {
    out->append(",\"client\":");
    AppendJsonString(inc.scope.client, out);
  }
  out->append("},");
  AppendTime("start", inc.start_ns, out);
  out->append(",");
  AppendTime("end", inc.end_ns, out);
  out->append("}\n");
}

void AppendChangeJson(const ChangeEvent& ch, std::string* out) {
  out->append("{");
  AppendTime("ts", ch.ts_ns, out);
  out->append(",\"kind\":");
  AppendJsonString(ch.kind, out);
  out->append(",\"scope\":{\"kind\":");
  AppendJsonString(ch.scope_kind, out);
  out->append(",\"value\":");
  AppendJsonString(ch.scope_value, out);
  out->append("},\"id\":");
  AppendJsonString(ch.id, out);
  if (!ch.note.empty()) {
    out->append(",\"note\":");
    AppendJsonString(ch.note, out);
  }
  out->append("}\n");
}

}  // namespace dnsight::sim
