#include "sim/fleet.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numbers>

#include "common/time_util.h"
#include "engine/row_writer.h"

namespace dnsight::sim {
namespace {

constexpr int64_t kDayNs = 86400 * kNanosPerSecond;

// Generated zone names are two words (sometimes with a digit) under a common suffix, so
// they look like real registrations and unlike DGA output.
constexpr const char* kWords[] = {
    "blue",   "cloud",  "fast",   "news",   "shop",   "mail",    "data",   "tech",    "green",
    "bright", "home",   "north",  "south",  "river",  "stone",   "light",  "media",   "smart",
    "open",   "pixel",  "market", "travel", "health", "bank",    "photo",  "music",   "game",
    "sport",  "food",   "city",   "star",   "sun",    "moon",    "wave",   "net",     "link",
    "hub",    "box",    "labs",   "works",  "store",  "daily",   "global", "metro",   "urban",
    "prime",  "alpha",  "delta",  "nova",   "peak",   "true",    "zen",    "core",    "edge",
    "fox",    "bear",   "wolf",   "eagle",  "tiger",  "apple",   "berry",  "lemon",   "mint",
    "ocean",  "lake",   "forest", "garden", "field",  "bridge",  "tower",  "castle",  "harbor",
    "signal", "vector", "matrix", "orbit",  "rocket", "planet",  "solar",  "quantum", "atlas",
    "beacon", "summit", "valley", "canyon", "island", "coast",   "meadow", "pine",    "maple",
    "cedar",  "silver", "golden", "iron",   "copper", "crystal", "velvet", "paper",   "ink",
    "craft",  "studio", "vision", "sound",  "voice",  "mind",    "heart",  "spark",   "flow",
};
struct Suffix {
  const char* text;
  double weight;
};
constexpr Suffix kSuffixes[] = {{"com", 55},  {"net", 12}, {"org", 9}, {"io", 5}, {"de", 5},
                                {"co.uk", 5}, {"fr", 3},   {"nl", 2},  {"jp", 2}, {"app", 2}};
constexpr const char* kSubdomains[] = {
    "api",    "cdn",     "static", "img",      "mail",         "login",     "auth", "m",
    "app",    "assets",  "media",  "video",    "news",         "shop",      "blog", "docs",
    "status", "edge",    "push",   "sync",     "update",       "telemetry", "ws",   "graph",
    "portal", "vpn",     "smtp",   "imap",     "autodiscover", "support",   "help", "search",
    "ads",    "metrics", "files",  "download", "images",       "accounts",  "id",   "time",
};
struct TtlChoice {
  int64_t ttl;
  double weight;
};
constexpr TtlChoice kTtls[] = {{300, 35}, {3600, 20}, {60, 15},  {600, 10},
                               {1800, 8}, {30, 5},    {86400, 7}};

template <typename T, size_t N>
size_t PickWeighted(Rng& rng, const T (&items)[N]) {
  double total = 0;
  for (const T& it : items) total += it.weight;
  double u = rng.Uniform() * total;
  for (size_t i = 0; i < N; ++i) {
    u -= items[i].weight;
    if (u < 0) return i;
  }
  return N - 1;
}

// Diurnal curve in local hours: night_factor at the trough, 1 at the peak.
double Diurnal(double local_hour, const TrafficSpec& t) {
  const double phase = 2.0 * std::numbers::pi * (local_hour - t.peak_hour) / 24.0;
  const double s = std::pow((1.0 + std::cos(phase)) / 2.0, 1.5);
  return t.night_factor + (1.0 - t.night_factor) * s;
}

double RawSeason(int64_t local_ns, const TrafficSpec& t) {
  const int64_t days = local_ns >= 0 ? local_ns / kDayNs : (local_ns - kDayNs + 1) / kDayNs;
  const double hour = static_cast<double>(local_ns - days * kDayNs) / (3600.0 * kNanosPerSecond);
  const int64_t dow = ((days % 7) + 7 + 3) % 7;  // 1970-01-01 was a Thursday; Monday = 0
  return Diurnal(hour, t) * (dow >= 5 ? t.weekend_factor : 1.0);
}

Zone MakeZone(std::string domain, int64_t ttl, const std::vector<std::string>& subs, bool ipv6,
              Rng& rng) {
  Zone z;
  z.domain = std::move(domain);
  z.ttl_s = ttl;
  z.has_ipv6 = ipv6;
  z.has_https = rng.Chance(0.3);
  const double u = rng.Uniform();
  z.a_records = u < 0.6 ? 1 : u < 0.85 ? 2 : 4;
  z.auth_latency_ms = std::clamp(rng.LogNormal(25, 0.6), 3.0, 300.0);
  z.names.push_back(z.domain);
  std::vector<double> weights{0.3};
  for (size_t i = 0; i < subs.size(); ++i) {
    z.names.push_back(subs[i] + "." + z.domain);
    weights.push_back((subs[i] == "www" ? 1.2 : 0.8) / std::pow(static_cast<double>(i + 1), 0.9));
  }
  z.name_picker = AliasTable(weights);
  return z;
}

}  // namespace

Fleet Fleet::Build(const Scenario& sc) {
  Fleet f;
  f.traffic_ = sc.traffic;
  f.client_qps_ = sc.traffic.mean_qps * sc.rate_scale;
  Rng root(Mix64(sc.seed, HashText("fleet")));
  Rng zone_rng = root.Derive(1), client_rng = root.Derive(2), bot_rng = root.Derive(3);

  // Regions, PoPs, resolvers (in file order, so indexes are stable).
  for (const RegionSpec& rs : sc.fleet.regions) {
    Region r;
    r.name = rs.name;
    r.utc_offset_ns = rs.utc_offset_ns;
    const int ri = static_cast<int>(f.regions.size());
    for (const PopSpec& ps : rs.pops) {
      Pop p;
      p.name = ps.name;
      p.region = ri;
      const int pi = static_cast<int>(f.pops.size());
      for (size_t k = 0; k < ps.resolvers.size(); ++k) {
        Resolver res;
        res.address = ps.resolvers[k];
        res.address_text = Ipv4Text(res.address);
        res.name = ps.name + "-r" + std::to_string(k + 1);
        res.region = ri;
        res.pop = pi;
        res.hit_latency_ms = ps.hit_latency_ms;
        f.resolver_index_[res.address] = static_cast<int>(f.resolvers.size());
        p.resolvers.push_back(static_cast<int>(f.resolvers.size()));
        f.resolvers.push_back(std::move(res));
      }
      r.pops.push_back(pi);
      f.pops.push_back(std::move(p));
    }
    f.regions.push_back(std::move(r));
  }

  // Zones: named ones first (the top ranks), then generated names.
  for (const ZoneSpec& zs : sc.fleet.zones) {
    std::vector<std::string> subs = zs.subdomains;
    f.zones.push_back(MakeZone(zs.domain, zs.ttl_s, subs, zs.has_ipv6, zone_rng));
    f.zone_index_[zs.domain] = static_cast<int>(f.zones.size()) - 1;
  }
  constexpr size_t kWordCount = std::size(kWords);
  constexpr size_t kSubCount = std::size(kSubdomains);
  for (int i = 0, attempts = 0; i < sc.fleet.generated_zones; ++attempts) {
    std::string name =
        std::string(kWords[zone_rng.Below(kWordCount)]) + kWords[zone_rng.Below(kWordCount)];
    if (attempts > 4 * sc.fleet.generated_zones || zone_rng.Chance(0.15))
      name += std::to_string(zone_rng.Below(100));
    name += std::string(".") + kSuffixes[PickWeighted(zone_rng, kSuffixes)].text;
    if (f.zone_index_.count(name)) continue;
    const size_t rank = f.zones.size() + 1;
    // Popular zones have more names.
    const size_t extra = std::min<size_t>(kSubCount, 1 + zone_rng.Below(rank < 20 ? 14 : 5));
    std::vector<std::string> subs{"www"};
    std::vector<size_t> order(kSubCount);
    for (size_t k = 0; k < kSubCount; ++k) order[k] = k;
    for (size_t k = 0; k < extra; ++k) {
      std::swap(order[k], order[k + zone_rng.Below(kSubCount - k)]);
      subs.push_back(kSubdomains[order[k]]);
    }
    const int64_t ttl = kTtls[PickWeighted(zone_rng, kTtls)].ttl;
    f.zones.push_back(MakeZone(name, ttl, subs, zone_rng.Chance(0.6), zone_rng));
    f.zone_index_[name] = static_cast<int>(f.zones.size()) - 1;
    ++i;
  }
  std::vector<double> pop_weights(f.zones.size());
  double pop_sum = 0;
  for (size_t i = 0; i < f.zones.size(); ++i) {
    pop_weights[i] = 1.0 / std::pow(static_cast<double>(i + 1), sc.fleet.zone_zipf);
    pop_sum += pop_weights[i];
  }
  for (size_t i = 0; i < f.zones.size(); ++i) f.zones[i].popularity = pop_weights[i] / pop_sum;
  f.zone_picker = AliasTable(pop_weights);

  // Clients: contiguous address blocks per region, by client_share.
  double share_sum = 0;
  for (const RegionSpec& rs : sc.fleet.regions) share_sum += rs.client_share;
  const size_t n_clients = static_cast<size_t>(sc.fleet.clients);
  size_t next = 0;
  for (size_t ri = 0; ri < f.regions.size(); ++ri) {
    size_t count = ri + 1 == f.regions.size()
                       ? n_clients - next
                       : static_cast<size_t>(std::llround(
                             static_cast<double>(n_clients) *
                             (share_sum > 0 ? sc.fleet.regions[ri].client_share / share_sum
                                            : 1.0 / static_cast<double>(f.regions.size()))));
    count = std::min(count, n_clients - next);
    Region& region = f.regions[ri];
    for (size_t k = 0; k < count; ++k, ++next) {
      Client c;
      c.address = ClientAddress(next);
      c.region = static_cast<int>(ri);
      c.pop = region.pops[client_rng.Below(region.pops.size())];
      const auto& res = f.pops[static_cast<size_t>(c.pop)].resolvers;
      c.primary_resolver = res[client_rng.Below(res.size())];
      c.rate_weight = client_rng.LogNormal(1.0, sc.fleet.client_rate_sigma);
      c.favorite_share = std::min(0.95, client_rng.UniformIn(0, 2 * sc.traffic.favorite_share));
      const size_t n_fav = static_cast<size_t>(client_rng.Between(2, 8));
      for (size_t j = 0; j < n_fav; ++j)
        c.favorites.push_back(static_cast<int>(f.zone_picker.Sample(client_rng)));
      region.clients.push_back(static_cast<int>(f.clients.size()));
      f.clients.push_back(std::move(c));
    }
  }
  double weight_sum = 0;
  for (const Client& c : f.clients) weight_sum += c.rate_weight;
  std::vector<double> zone_share(f.zones.size(), 0.0);
  double non_favorite = 0;  // share of all queries drawn from the global popularity
  for (Region& region : f.regions) {
    std::vector<double> w;
    double rsum = 0;
    for (const int ci : region.clients) {
      const Client& c = f.clients[static_cast<size_t>(ci)];
      w.push_back(c.rate_weight);
      rsum += c.rate_weight;
      const double wn = c.rate_weight / weight_sum;
      non_favorite += wn * (1 - c.favorite_share);
      for (const int z : c.favorites)
        zone_share[static_cast<size_t>(z)] +=
            wn * c.favorite_share / static_cast<double>(c.favorites.size());
    }
    if (!w.empty()) region.client_picker = AliasTable(w);
    region.rate_share = weight_sum > 0 ? rsum / weight_sum : 0;
  }
  for (size_t z = 0; z < f.zones.size(); ++z)
    f.zones[z].share = zone_share[z] + non_favorite * f.zones[z].popularity;

  // Bots: steady cadence on a few names of popular zones.
  std::vector<double> bot_w;
  double bot_sum = 0;
  for (int i = 0; i < sc.fleet.bots; ++i) {
    Bot b;
    b.address = BotAddress(static_cast<size_t>(i));
    b.pop = static_cast<int>(bot_rng.Below(f.pops.size()));
    const auto& res = f.pops[static_cast<size_t>(b.pop)].resolvers;
    b.resolver = res[bot_rng.Below(res.size())];
    const size_t top = std::min<size_t>(f.zones.size(), 50);
    const int n_names = static_cast<int>(bot_rng.Between(1, 4));
    b.zone = static_cast<int>(bot_rng.Below(top));
    const Zone& z = f.zones[static_cast<size_t>(b.zone)];
    for (int k = 0; k < n_names; ++k) b.names.push_back(z.names[bot_rng.Below(z.names.size())]);
    std::sort(b.names.begin(), b.names.end());
    b.names.erase(std::unique(b.names.begin(), b.names.end()), b.names.end());
    const double u = bot_rng.Uniform();
    b.qtype = u < 0.7 ? 1 : u < 0.85 ? 28 : u < 0.95 ? 15 : 16;  // A, AAAA, MX, TXT
    bot_w.push_back(bot_rng.LogNormal(1.0, 0.7));
    bot_sum += bot_w.back();
    f.bots.push_back(std::move(b));
  }
  const double bot_qps = sc.traffic.bot_qps * sc.rate_scale;
  for (size_t i = 0; i < f.bots.size(); ++i) {
    const double rate = bot_qps * bot_w[i] / bot_sum;
    f.bots[i].period_s = rate > 0 ? 1.0 / rate : 1e18;
    f.bots[i].phase_s = bot_rng.Uniform() * std::min(f.bots[i].period_s, 3600.0);
  }

  // Normalize the seasonality to a weekly mean of 1.
  double season_sum = 0;
  constexpr int kSamples = 7 * 24 * 12;
  for (int i = 0; i < kSamples; ++i)
    season_sum += RawSeason(static_cast<int64_t>(i) * 300 * kNanosPerSecond, sc.traffic);
  f.season_norm_ = season_sum / kSamples;
  return f;
}

double Fleet::Seasonality(int region, int64_t ts_ns) const {
  return RawSeason(ts_ns + regions[static_cast<size_t>(region)].utc_offset_ns, traffic_) /
         season_norm_;
}

double Fleet::RegionRate(int region, int64_t ts_ns) const {
  return client_qps_ * regions[static_cast<size_t>(region)].rate_share * Seasonality(region, ts_ns);
}

double Fleet::CacheHitProbability(int zone, int64_t ttl_s) const {
  // Per-resolver query rate for one of the zone's names, times the TTL: the expected
  // number of queries a cached answer serves.
  const Zone& z = zones[static_cast<size_t>(zone)];
  const double per_name = client_qps_ * z.share / static_cast<double>(resolvers.size()) /
                          std::sqrt(static_cast<double>(z.names.size()));
  const double x = per_name * static_cast<double>(ttl_s);
  return std::min(0.98, x / (1.0 + x));
}

int Fleet::FindResolver(uint32_t address) const {
  const auto it = resolver_index_.find(address);
  return it == resolver_index_.end() ? -1 : it->second;
}

int Fleet::FindZone(const std::string& domain) const {
  const auto it = zone_index_.find(domain);
  return it == zone_index_.end() ? -1 : it->second;
}

int Fleet::FindRegion(const std::string& name) const {
  for (size_t i = 0; i < regions.size(); ++i)
    if (regions[i].name == name) return static_cast<int>(i);
  return -1;
}

int Fleet::FindClient(uint32_t address) const {
  if (address < ClientAddress(0)) return -1;
  const uint32_t i = address - ClientAddress(0);
  return i < clients.size() ? static_cast<int>(i) : -1;
}

std::string Fleet::ToJson() const {
  std::string j = "{\"regions\":[";
  for (size_t ri = 0; ri < regions.size(); ++ri) {
    const Region& r = regions[ri];
    if (ri) j += ',';
    j += "{\"name\":";
    AppendJsonString(r.name, &j);
    j += ",\"utc_offset_s\":" + std::to_string(r.utc_offset_ns / kNanosPerSecond);
    j += ",\"clients\":" + std::to_string(r.clients.size()) + ",\"pops\":[";
    for (size_t k = 0; k < r.pops.size(); ++k) {
      const Pop& p = pops[static_cast<size_t>(r.pops[k])];
      if (k) j += ',';
      j += "{\"name\":";
      AppendJsonString(p.name, &j);
      j += ",\"resolvers\":[";
      for (size_t m = 0; m < p.resolvers.size(); ++m) {
        const Resolver& res = resolvers[static_cast<size_t>(p.resolvers[m])];
        if (m) j += ',';
        j += "{\"address\":\"" + res.address_text + "\",\"name\":";
        AppendJsonString(res.name, &j);
        j += '}';
      }
      j += "]}";
    }
    j += "]}";
  }
  j += "],\"zones\":[";
  for (size_t zi = 0; zi < zones.size(); ++zi) {
    const Zone& z = zones[zi];
    if (zi) j += ',';
    j += "{\"domain\":";
    AppendJsonString(z.domain, &j);
    j += ",\"rank\":" + std::to_string(zi + 1) + ",\"ttl\":" + std::to_string(z.ttl_s) +
         ",\"names\":" + std::to_string(z.names.size()) + "}";
  }
  j += "],\"clients\":" + std::to_string(clients.size()) + ",\"bots\":[";
  for (size_t bi = 0; bi < bots.size(); ++bi) {
    const Bot& b = bots[bi];
    if (bi) j += ',';
    j += "{\"address\":\"" + Ipv4Text(b.address) + "\",\"resolver\":\"" +
         resolvers[static_cast<size_t>(b.resolver)].address_text + "\",\"names\":[";
    for (size_t k = 0; k < b.names.size(); ++k) {
      if (k) j += ',';
      AppendJsonString(b.names[k], &j);
    }
    char qps[32];
    std::snprintf(qps, sizeof qps, "%.4g", 1.0 / b.period_s);
    j += "],\"qps\":" + std::string(qps) + "}";
  }
  j += "]}\n";
  return j;
}

}  // namespace dnsight::sim
