#include "ingest/jsonl_source.h"

#include "ingest/jsonl_decoder.h"

namespace dnsight {

static_assert(LineFollower::kLinePadding >= JsonLinesDecoder::kPadding);

namespace {

LineFollowerOptions FollowerOptions(const JsonLinesSourceOptions& o) {
  LineFollowerOptions f;
  f.path = o.path;
  f.follow = o.follow;
  f.poll_interval_ms = o.poll_interval_ms;
  f.max_line_bytes = o.max_line_bytes;
  return f;
}

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

JsonLinesSource::JsonLinesSource(JsonLinesSourceOptions options)
    : options_(std::move(options)), follower_(FollowerOptions(options_)) {}

std::string JsonLinesSource::Describe() const {
  return "jsonl:" + (options_.path == "-" ? std::string("stdin") : options_.path);
}

std::vector<std::pair<std::string, uint64_t>> JsonLinesSource::Counters() const {
  const JsonLinesSourceCounters c = follower_.counters();
  return {{"lines", c.lines},
          {"bytes", c.bytes},
          {"rotations", c.rotations},
          {"truncations", c.truncations}};
}

Status JsonLinesSource::Run(ObservationSink& sink) {
  JsonLinesDecoder decoder;
  return follower_.Run(
      [&](std::string_view line) {
        RawDnsObservation obs;
        std::string_view reason;
        // The follower leaves kLinePadding readable bytes after every line.
        if (decoder.Decode(line, LineFollower::kLinePadding, &obs, &reason)) {
          sink.OnObservation(obs);
        } else {
          sink.OnMalformed(reason, Bytes(line));
        }
      },
      [&](std::string_view reason, std::string_view sample) {
        sink.OnMalformed(reason, Bytes(sample));
      });
}

}  // namespace dnsight
