#include "engine/source_factory.h"

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
  throw ConfigError(cfg.where + ": source type '" + cfg.type + "' is not available in this build");
}

}  // namespace dnsight
