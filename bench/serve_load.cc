// serve_load: a bounded load client for `zeroshot serve` (bench/serve_bench.sh, serve_soak.sh).
// N keep-alive clients, each on its own thread, send POST /v1/classify back to back for S
// seconds, cycling through the given images (multipart, one image a request); prints one JSON
// line: requests, errors by status, images/s, latency p50/p90/p99 in ms.
//   serve_load --port P [--clients 64] [--seconds 60] [--bad-every K] IMAGE... -- LABEL...
// --bad-every K: every Kth request of a client is a bad one (undecodable bytes, an over-long body
// of labels, an unknown route, a wrong content type), whose 4xx answer is expected and counted
// apart; any other non-200 is an error.
#include <httplib.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct ClientResult {
  std::vector<double> latencies_ms;             // good requests answered 200
  std::map<std::string, std::uint64_t> errors;  // HTTP status, or the transport error -> count
  std::uint64_t bad_sent = 0;
  std::uint64_t bad_answered_4xx = 0;
};

// What went wrong, for the error counts: the HTTP status, or cpp-httplib's name of the transport
// error when there was no response ("Read", "Write", "Connection"...).
std::string error_name(const httplib::Result& r) {
  return r ? std::to_string(r->status) : "no response: " + httplib::to_string(r.error());
}

// The bad requests of the soak: each must get its 4xx, never crash the server.
httplib::Result send_bad(httplib::Client& client, std::uint64_t n) {
  switch (n % 4) {
    case 0: {
      httplib::MultipartFormDataItems items = {
          {"image", std::string(5000, 'x'), "x.jpg", "image/jpeg"}, {"label", "a", "", ""}};
      return client.Post("/v1/classify", items);  // 200 with an image_decode item error
    }
    case 1:
      return client.Post("/v1/classify", "{\"images\": [1, 2", "application/json");
    case 2:
      return client.Get("/no/such/route");
    default:
      return client.Post("/v1/classify", std::string(100, 'z'), "text/plain");
  }
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  int clients = 64;
  double seconds = 60;
  int bad_every = 0;
  std::vector<std::string> images;
  std::vector<std::string> labels;
  bool after_dashes = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (after_dashes) {
      labels.push_back(arg);
    } else if (arg == "--") {
      after_dashes = true;
    } else if (arg == "--port" && i + 1 < argc) {
      port = std::stoi(argv[++i]);
    } else if (arg == "--clients" && i + 1 < argc) {
      clients = std::stoi(argv[++i]);
    } else if (arg == "--seconds" && i + 1 < argc) {
      seconds = std::stod(argv[++i]);
    } else if (arg == "--bad-every" && i + 1 < argc) {
      bad_every = std::stoi(argv[++i]);
    } else {
      images.push_back(read_file(arg));
    }
  }
  if (port <= 0 || images.empty() || labels.empty() || clients < 1) {
    std::cerr << "usage: serve_load --port P [--clients N] [--seconds S] [--bad-every K] IMAGE... "
                 "-- LABEL...\n";
    return 2;
  }
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  std::vector<ClientResult> results(static_cast<std::size_t>(clients));
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", port);
      client.set_keep_alive(true);
      client.set_read_timeout(120);
      auto& result = results[static_cast<std::size_t>(c)];
      for (std::uint64_t n = static_cast<std::uint64_t>(c); Clock::now() < end; ++n) {
        if (bad_every > 0 && n % static_cast<std::uint64_t>(bad_every) == 0) {
          ++result.bad_sent;
          auto r = send_bad(client, n / static_cast<std::uint64_t>(bad_every));
          if (r && (r->status == 200 || (r->status >= 400 && r->status < 500)))
            ++result.bad_answered_4xx;
          else
            ++result.errors[error_name(r)];
          continue;
        }
        httplib::MultipartFormDataItems items = {
            {"image", images[n % images.size()], "image", "application/octet-stream"}};
        for (const auto& label : labels) items.push_back({"label", label, "", ""});
        const auto sent = Clock::now();
        auto r = client.Post("/v1/classify", items);
        if (r && r->status == 200 && r->body.find("\"error\"") == std::string::npos) {
          result.latencies_ms.push_back(
              std::chrono::duration<double, std::milli>(Clock::now() - sent).count());
        } else {
          ++result.errors[error_name(r)];
          if (!r) {
            std::fprintf(stderr, "client %d: %s after %.3f s\n", c, error_name(r).c_str(),
                         std::chrono::duration<double>(Clock::now() - start).count());
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> latencies;
  std::map<std::string, std::uint64_t> errors;
  std::uint64_t error_count = 0, bad_sent = 0, bad_ok = 0;
  for (const auto& r : results) {
    latencies.insert(latencies.end(), r.latencies_ms.begin(), r.latencies_ms.end());
    for (const auto& [status, count] : r.errors) {
      errors[status] += count;
      error_count += count;
    }
    bad_sent += r.bad_sent;
    bad_ok += r.bad_answered_4xx;
  }
  std::sort(latencies.begin(), latencies.end());
  const auto quantile = [&](double q) {
    if (latencies.empty()) return 0.0;
    return latencies[std::min(latencies.size() - 1,
                              static_cast<std::size_t>(q * static_cast<double>(latencies.size())))];
  };
  const nlohmann::json out = {{"clients", clients},
                              {"seconds", elapsed},
                              {"requests", latencies.size()},
                              {"images_per_s", static_cast<double>(latencies.size()) / elapsed},
                              {"errors", error_count},
                              {"errors_by_status", errors},
                              {"bad_sent", bad_sent},
                              {"bad_answered", bad_ok},
                              {"p50_ms", quantile(0.50)},
                              {"p90_ms", quantile(0.90)},
                              {"p99_ms", quantile(0.99)}};
  std::cout << out.dump() << std::endl;
  return error_count == 0 ? 0 : 1;
}
