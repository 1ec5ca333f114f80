// Whether a request's client is still there. cpp-httplib 0.11 does not hand its socket to
// handlers, so the socket is found by the connection's addresses; a handler runs on the thread
// that serves its connection, and the socket stays open until the handler returns.
#pragma once

#include <httplib.h>

#include <functional>

namespace zeroshot::server {

// A probe that answers true once the client has closed or reset the connection (it is asked
// while the request waits in the queue). A connection that cannot be found counts as present.
std::function<bool()> client_gone_probe(const httplib::Request& request);

}  // namespace zeroshot::server
