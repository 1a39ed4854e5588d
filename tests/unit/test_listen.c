/*
 * test_listen.c - unit tests of the listening sockets (server/listen.c and
 * its platform half) and their hand-off message (server/control.c): a
 * socket opened on 127.0.0.1:0, the "listen <i>" message, and a socket
 * sent with it over an IPC pipe, taken on the other end (hw__listen_take),
 * listened on and accepting a connection: the path every worker takes on
 * Windows, exercised here over a socket pair (Windows runs it between
 * processes; its pipes cannot be made from a socket pair, so it is skipped
 * there).
 */
#include "autoconf.h"

#include <string.h>
#include <uv.h>

#include "control.h"
#include "listen.h"
#include "tap.h"

static uv_pipe_t ends[2];
static uv_tcp_t taken, client, accepted;
static uv_connect_t creq;
static int took = -1, conns, connected = -1;
static char line[64];

static void on_conn(uv_stream_t *s, int status) {
  uv_tcp_init(s->loop, &accepted);
  if (status == 0 && uv_accept(s, (uv_stream_t *)&accepted) == 0)
    conns++;
  uv_close((uv_handle_t *)&accepted, NULL);
  uv_close((uv_handle_t *)s, NULL);
}

static void on_connect(uv_connect_t *r, int status) {
  connected = status;
  uv_close((uv_handle_t *)&client, NULL);
}

static void alloc_cb(uv_handle_t *h, size_t n, uv_buf_t *b) {
  *b = uv_buf_init(line, sizeof(line) - 1);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  struct sockaddr_storage ss;
  int len = sizeof(ss);
  if (n <= 0)
    return;
  line[n - (line[n - 1] == '\n')] = '\0';
  uv_read_stop(s);
  took = hw__listen_take((uv_pipe_t *)s, &taken);
  if (took == 0 && uv_listen((uv_stream_t *)&taken, 8, on_conn) == 0 &&
      uv_tcp_getsockname(&taken, (struct sockaddr *)&ss, &len) == 0) {
    uv_tcp_init(s->loop, &client);
    uv_tcp_connect(&creq, &client, (struct sockaddr *)&ss, on_connect);
  } else {
    uv_close((uv_handle_t *)&taken, NULL);
  }
  uv_close((uv_handle_t *)&ends[0], NULL);
  uv_close((uv_handle_t *)&ends[1], NULL);
}

static void hand_off(uv_loop_t *loop, uv_os_sock_t sock) {
  uv_os_sock_t sp[2];
  uv_tcp_t sent;
  hw__control_msg msg;

  if (uv_socketpair(SOCK_STREAM, 0, sp, 0, 0) != 0) {
    ok(0, "a socket pair");
    return;
  }
  uv_pipe_init(loop, &ends[0], 1);
  uv_pipe_init(loop, &ends[1], 1);
  uv_pipe_open(&ends[0], sp[0]);
  uv_pipe_open(&ends[1], sp[1]);
  uv_tcp_init(loop, &sent);
  ok(uv_tcp_open(&sent, sock) == 0, "the socket in a handle");
  hw__control_send_handle((uv_stream_t *)&ends[0], HW__CONTROL_LISTEN, 0,
                          (uv_stream_t *)&sent);
  uv_read_start((uv_stream_t *)&ends[1], alloc_cb, on_read);
  uv_run(loop, UV_RUN_DEFAULT);
  is_str(line, "listen 0", "the message the socket travels with");
  ok(hw__control_parse(line, &msg) == 0 && msg.kind == HW__CONTROL_LISTEN &&
         msg.id == 0,
     "... parses as a listen message for address 0");
  is_int(took, 0, "the socket is taken on the other end");
  is_int(connected, 0, "a client connects to it");
  is_int(conns, 1, "the taken socket accepts the connection");
  uv_close((uv_handle_t *)&sent, NULL); /* closes the sender's copy */
  uv_run(loop, UV_RUN_DEFAULT);
}

int main(void) {
  uv_loop_t *loop = uv_default_loop();
  hw__config_listen l;
  hw__control_msg msg;
  uv_os_sock_t sock;
  char err[256], text[96];
  int port;

  ok(hw__control_parse("listen 3", &msg) == 0 &&
         msg.kind == HW__CONTROL_LISTEN && msg.id == 3,
     "\"listen 3\" is a message");
  ok(hw__control_parse("listen 3 x", &msg) != 0, "with no text after it");
  ok(hw__listen_parse("127.0.0.1:0", &l, err, sizeof(err)) == 0,
     "127.0.0.1:0 parses");
  ok(hw__listen_open(&l, -1, 8, 0, &sock, err, sizeof(err)) == 0,
     "a socket opens on it");
  port = hw__listen_bound(sock, text, sizeof(text));
  ok(port > 0, "bound to a port the system chose (%s)", text);
#ifdef _WIN32
  (void)hand_off;
  /* (hand_off's 6 tests.) */
  skip(6, "a socket pair is no IPC pipe on Windows: no hand-off to take");
  hw__listen_close(sock);
#else
  hand_off(loop, sock);
#endif
  uv_loop_close(loop);
  return done_testing();
}
