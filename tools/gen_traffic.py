#!/usr/bin/env python3
"""Deterministic synthetic DNS traffic for demos and benchmarks.

Writes the same transactions in any of three real input formats:
  jsonl   one DNS event per line (docs/jsonl.md schema)
  pcap    classic pcap, Ethernet/IPv4/UDP, one query and one response packet each
  dnstap  Frame Streams file of dnstap CLIENT_QUERY + CLIENT_RESPONSE messages

Addresses come from documentation/benchmark ranges (198.18.0.0/15, 192.0.2.0/24).
This is a load generator, not the incident simulator: traffic is stationary with a
Zipf-like popularity over domains, a few NXDOMAIN-heavy clients and random-looking names.
"""
import argparse
import json
import random
import struct
import sys

QTYPES = [(1, "A", 60), (28, "AAAA", 25), (65, "HTTPS", 5), (16, "TXT", 3), (15, "MX", 3),
          (12, "PTR", 3), (10, "NULL", 0.5), (255, "ANY", 0.5)]
TLDS = ["com", "net", "org", "co.uk", "de", "io", "example"]


def make_world(rng, n_clients, n_domains):
    clients = [(198, 18 + (i >> 16) % 2, (i >> 8) & 255, i & 255) for i in range(1, n_clients + 1)]
    domains = []
    for i in range(n_domains):
        label = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(4, 10)))
        domains.append(f"{label}{i}.{rng.choice(TLDS)}")
    weights = [1.0 / (r + 1) ** 1.1 for r in range(n_domains)]
    return clients, domains, weights


def transactions(args):
    rng = random.Random(args.seed)
    clients, domains, weights = make_world(rng, args.clients, args.domains)
    servers = [(192, 0, 2, 1), (192, 0, 2, 2)]
    qt_codes = [q for q in QTYPES]
    qt_weights = [q[2] for q in QTYPES]
    bad_clients = set(rng.sample(range(len(clients)), max(1, len(clients) // 100)))
    t0 = args.start_ns
    step = args.duration_s * 1_000_000_000 // max(args.events, 1)
    # Draw in blocks for speed.
    dom_idx = rng.choices(range(len(domains)), weights=weights, k=args.events)
    qts = rng.choices(qt_codes, weights=qt_weights, k=args.events)
    for i in range(args.events):
        ci = rng.randrange(len(clients))
        client = clients[ci]
        server = servers[i & 1]
        d = domains[dom_idx[i]]
        r = rng.random()
        if ci in bad_clients and r < 0.6:
            qname = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(14)) + "." + d
            rcode = 3
        elif r < 0.5:
            qname = "www." + d
            rcode = 0
        elif r < 0.93:
            qname = d
            rcode = 0
        elif r < 0.98:
            qname = "nope%d.%s" % (rng.randrange(1000), d)
            rcode = 3
        else:
            qname = d
            rcode = 2
        qtype = qts[i]
        ts = t0 + i * step + rng.randrange(step or 1)
        lat = int(rng.lognormvariate(0.0, 1.0) * 1_000_000) + 50_000
        ttl = rng.choice([30, 60, 300, 3600]) if rcode == 0 else -1
        yield {
            "ts": ts, "client": client, "cport": 1024 + rng.randrange(60000), "server": server,
            "qname": qname, "qtype": qtype, "rcode": rcode, "lat": lat, "ttl": ttl,
            "id": rng.randrange(65536),
        }


def encode_name(name):
    out = bytearray()
    for label in name.split("."):
        out.append(len(label))
        out += label.encode()
    out.append(0)
    return bytes(out)


def dns_query(t):
    hdr = struct.pack("!HHHHHH", t["id"], 0x0100, 1, 0, 0, 0)
    return hdr + encode_name(t["qname"]) + struct.pack("!HH", t["qtype"][0], 1)


def dns_response(t):
    ancount = 1 if t["rcode"] == 0 else 0
    flags = 0x8180 | t["rcode"]
    hdr = struct.pack("!HHHHHH", t["id"], flags, 1, ancount, 0, 0)
    body = encode_name(t["qname"]) + struct.pack("!HH", t["qtype"][0], 1)
    if ancount:
        body += struct.pack("!HHHIH", 0xC00C, 1, 1, t["ttl"], 4) + bytes([192, 0, 2, 99])
    return hdr + body


def write_jsonl(out, args):
    for t in transactions(args):
        rec = {
            "ts_ns": t["ts"], "client": "%d.%d.%d.%d" % t["client"], "client_port": t["cport"],
            "server": "%d.%d.%d.%d" % t["server"], "server_port": 53, "qname": t["qname"],
            "qtype": t["qtype"][1], "rcode": ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN"][t["rcode"]],
            "latency_ms": round(t["lat"] / 1e6, 6),
        }
        if t["ttl"] >= 0:
            rec["ttl"] = t["ttl"]
        out.write(json.dumps(rec, separators=(",", ":")) + "\n")


def ip_checksum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def udp_frame(src, sport, dst, dport, payload):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0, bytes(src), bytes(dst))
    ip = ip[:10] + struct.pack("!H", ip_checksum(ip)) + ip[12:]
    eth = b"\x02\x00\x00\x00\x00\x01" + b"\x02\x00\x00\x00\x00\x02" + b"\x08\x00"
    return eth + ip + udp


def write_pcap(out, args):
    out.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 65535, 1))  # nanosecond pcap
    for t in transactions(args):
        q = udp_frame(t["client"], t["cport"], t["server"], 53, dns_query(t))
        r = udp_frame(t["server"], 53, t["client"], t["cport"], dns_response(t))
        for ts, frame in ((t["ts"], q), (t["ts"] + t["lat"], r)):
            out.write(struct.pack("<IIII", ts // 1_000_000_000, ts % 1_000_000_000, len(frame), len(frame)))
            out.write(frame)


def pb_varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def pb_field(num, wire, payload):
    key = pb_varint((num << 3) | wire)
    if wire == 0:
        return key + pb_varint(payload)
    if wire == 2:
        return key + pb_varint(len(payload)) + payload
    if wire == 5:
        return key + struct.pack("<I", payload)
    raise ValueError(wire)


def dnstap_frame(t, response):
    m = pb_field(1, 0, 6 if response else 5)
    m += pb_field(2, 0, 1) + pb_field(3, 0, 1)
    m += pb_field(4, 2, bytes(t["client"])) + pb_field(5, 2, bytes(t["server"]))
    m += pb_field(6, 0, t["cport"]) + pb_field(7, 0, 53)
    qt = t["ts"]
    m += pb_field(8, 0, qt // 1_000_000_000) + pb_field(9, 5, qt % 1_000_000_000)
    if response:
        rt = t["ts"] + t["lat"]
        m += pb_field(12, 0, rt // 1_000_000_000) + pb_field(13, 5, rt % 1_000_000_000)
        m += pb_field(14, 2, dns_response(t))
    else:
        m += pb_field(10, 2, dns_query(t))
    d = pb_field(1, 2, b"gen") + pb_field(15, 0, 1) + pb_field(14, 2, m)
    return struct.pack("!I", len(d)) + d


def write_dnstap(out, args):
    ctype = b"protobuf:dnstap.Dnstap"
    start = struct.pack("!II", 2, 1) + struct.pack("!I", len(ctype)) + ctype
    out.write(struct.pack("!II", 0, len(start)) + start)
    for t in transactions(args):
        out.write(dnstap_frame(t, False))
        out.write(dnstap_frame(t, True))
    out.write(struct.pack("!III", 0, 4, 3))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--format", choices=["jsonl", "pcap", "dnstap"], required=True)
    p.add_argument("--events", type=int, default=100000)
    p.add_argument("--clients", type=int, default=2000)
    p.add_argument("--domains", type=int, default=5000)
    p.add_argument("--duration-s", type=int, default=600)
    p.add_argument("--start-ns", type=int, default=1_795_428_000_000_000_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", default="-")
    args = p.parse_args()
    if args.format == "jsonl":
        out = sys.stdout if args.out == "-" else open(args.out, "w")
        write_jsonl(out, args)
    else:
        out = sys.stdout.buffer if args.out == "-" else open(args.out, "wb")
        {"pcap": write_pcap, "dnstap": write_dnstap}[args.format](out, args)
    out.flush()


if __name__ == "__main__":
    main()
