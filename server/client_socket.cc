#include "client_socket.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

namespace zeroshot::server {
namespace {

// The address and port of one side of socket `fd`, as cpp-httplib writes them.
bool endpoint(int fd, bool peer, std::string& address, int& port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  const int rc = peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len)
                      : ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  if (rc != 0) return false;
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    port = ntohs(in->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    port = ntohs(in6->sin6_port);
  } else {
    return false;
  }
  address = text;
  return true;
}

bool is_connection(int fd, const httplib::Request& request) {
  std::string address;
  int port = 0;
  if (!endpoint(fd, /*peer=*/true, address, port) || port != request.remote_port ||
      address != request.remote_addr)
    return false;
  return endpoint(fd, /*peer=*/false, address, port) && port == request.local_port;
}

// The fd of the request's connection, or -1. A keep-alive connection stays on one thread, so the
// last hit of this thread is tried first.
int find_socket(const httplib::Request& request) {
  thread_local int last = -1;
  if (last >= 0 && is_connection(last, request)) return last;
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return -1;
  int found = -1;
  while (const dirent* entry = ::readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0') continue;
    if (is_connection(static_cast<int>(fd), request)) {
      found = static_cast<int>(fd);
      break;
    }
  }
  ::closedir(dir);
  if (found >= 0) last = found;
  return found;
}

}  // namespace

std::function<bool()> client_gone_probe(const httplib::Request& request) {
  const int fd = find_socket(request);
  if (fd < 0) return [] { return false; };
  return [fd] {
    char byte;
    const ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    // 0: the client closed its side; an error other than "nothing to read": reset.
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
  };
}

}  // namespace zeroshot::server
