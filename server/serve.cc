// `zeroshot serve`: the service's life cycle. Loads the models in the background (ready after),
// serves until SIGTERM or SIGINT, then drains: the listening socket closes, every request already
// accepted is answered (its queued images still run), and serve() returns 0.
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <exception>
#include <thread>

#include "auth.h"
#include "log.h"
#include "options.h"
#include "service.h"
#include "zeroshot/error.h"

namespace zeroshot::server {

int serve(const ServeOptions& options) {
  if (options.repos.empty()) throw Error(ErrorCode::kInvalidArgument, "no model to serve");
  const std::string key = load_api_key(options.api_key_file);
  // SIGTERM and SIGINT are taken by one thread with sigwait: blocked here, before any thread
  // starts, so that every thread inherits the mask. SIGPIPE (a client gone mid-write) is ignored.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  Service service(options, key);
  httplib::Server http;
  const std::size_t threads = options.http_threads;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // SO_REUSEADDR only: cpp-httplib's default adds SO_REUSEPORT, with which a second server on
  // the same port would start without an error and take a share of its connections.
  socket_t listening = INVALID_SOCKET;
  http.set_socket_options([&listening](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listening = sock;
  });
  http.set_payload_max_length(options.max_body_bytes);
  // Keep-alive connections serve any number of requests (the default closes after 5).
  http.set_keep_alive_max_count(1'000'000);
  http.set_read_timeout(30);
  http.set_write_timeout(30);
  service.install(http);

  int port = options.port;
  if (port == 0)
    port = http.bind_to_any_port(options.host);
  else if (!http.bind_to_port(options.host, port))
    port = -1;
  if (port < 0) {
    throw Error(ErrorCode::kIo, "cannot listen on " + options.host + ":" +
                                    std::to_string(options.port) +
                                    ": the address is in use or not local (--host, --port)");
  }
  // cpp-httplib 0.11 listens with a backlog of 5 (a compile-time constant of Debian's build): 64
  // clients connecting at once overflowed it, and some of them lost their first request to a
  // dropped handshake (seen by bench/serve_bench.sh). listen() again only raises the backlog.
  if (listening != INVALID_SOCKET) ::listen(listening, SOMAXCONN);
  log_line({{"event", "listening"},
            {"host", options.host},
            {"port", port},
            {"auth", !key.empty()},
            {"models", options.repos}});

  // stop() before listen has started would be lost: wait for it (it starts right below).
  const auto stop_http = [&http] {
    for (int i = 0; i < 5000 && !http.is_running(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    http.stop();
  };
  std::exception_ptr load_error;
  std::thread loader([&] {
    try {
      service.load();
    } catch (...) {
      load_error = std::current_exception();
      log_line({{"event", "load_failed"}});
      stop_http();
    }
  });
  std::atomic<bool> stopped = false;
  std::thread stopper([&] {
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    if (stopped) return;  // woken below after a stop without a signal
    log_line({{"event", "draining"}, {"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"}});
    service.drain();
    stop_http();
  });
  // Returns once stopped and every connection's thread has finished its request.
  http.listen_after_bind();
  stopped = true;
  // A stop without a signal (a model that failed to load): wake the stopper. A signal it already
  // took leaves this one pending, blocked, harmless.
  pthread_kill(stopper.native_handle(), SIGTERM);
  stopper.join();
  loader.join();
  log_line({{"event", "stopped"}});
  if (load_error) std::rethrow_exception(load_error);
  return 0;
}

}  // namespace zeroshot::server
