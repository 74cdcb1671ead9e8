#include "engine/source_factory.h"

#include "ingest/dnstap_source.h"
#include "ingest/jsonl_source.h"
#include "ingest/pcap_source.h"

namespace dnsight {

std::unique_ptr<DnsSource> MakeSource(const SourceConfig& cfg) {
  if (cfg.type == "jsonl") {
    JsonLinesSourceOptions o;
    o.path = cfg.path;
    o.follow = cfg.follow;
    return std::make_unique<JsonLinesSource>(o);
  }
  if (cfg.type == "pcap_file" || cfg.type == "pcap_live") {
    PcapSourceOptions o;
    if (cfg.type == "pcap_file") {
      o.file_path = cfg.path;
    } else {
      o.interface = cfg.interface;
    }
    if (!cfg.bpf_filter.empty()) o.bpf_filter = cfg.bpf_filter;
    o.dns_ports.clear();
    for (int p : cfg.dns_ports) o.dns_ports.push_back(static_cast<uint16_t>(p));
    return std::make_unique<PcapSource>(o);
  }
  if (cfg.type.rfind("dnstap_", 0) == 0) {
    DnstapSourceOptions o;
    auto mask = ParseDnstapTypeSet(cfg.dnstap_messages);
    if (!mask.ok()) throw ConfigError(cfg.where + ": messages: " + mask.status().message());
    o.decoder.message_types = *mask;
    if (cfg.type == "dnstap_file") return std::make_unique<DnstapFileSource>(cfg.path, o);
    if (cfg.type == "dnstap_unix") return std::make_unique<DnstapUnixSource>(cfg.path, o);
    if (cfg.type == "dnstap_tcp")
      return std::make_unique<DnstapTcpSource>(cfg.address, static_cast<uint16_t>(cfg.port), o);
  }
  throw ConfigError(cfg.where + ": source type '" + cfg.type + "' is not available in this build");
}

}  // namespace dnsight
