"""points - the HTTP/1.1 rules that independent conformance suites found
missing (issue 10), as requests with the answer Haywire gives.

Shared by tests/integration/strict.py, which asserts Haywire's answers, and
tests/compare-nginx, which sends the same bytes to nginx and prints both.
Every request is sent to a server with one route, /echo (Haywire: echo.so;
nginx: `return 200`), and nothing on the other paths.

Each entry: (point, name, request bytes, status, ends) where `ends` is True
when the server closes the connection after its answer (framing it cannot
trust, or a coding it will not decode) and False when it goes on.
"""

H = b"Host: x\r\n"

POINTS = [
    # 1. Host = uri-host [ ":" port ] (RFC 9112 section 3.2, RFC 3986
    #    section 3.2.2)
    (1, "Host port not digits",
     b"GET /echo HTTP/1.1\r\nHost: example.com:abc\r\n\r\n", 400, True),
    (1, "Host port followed by a letter",
     b"GET /echo HTTP/1.1\r\nHost: example.com:80x\r\n\r\n", 400, True),
    (1, "Host of a colon and a bad port",
     b"GET /echo HTTP/1.1\r\nHost: :80x\r\n\r\n", 400, True),
    (1, "Host with a second colon",
     b"GET /echo HTTP/1.1\r\nHost: a:1:2\r\n\r\n", 400, True),
    (1, "Host unbalanced IP-literal",
     b"GET /echo HTTP/1.1\r\nHost: [::1\r\n\r\n", 400, True),
    (1, "Host malformed IP-literal",
     b"GET /echo HTTP/1.1\r\nHost: [::1::2]\r\n\r\n", 400, True),
    (1, "Host IP-literal and port",
     b"GET /echo HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", 200, False),
    # 2. Transfer codings (RFC 9112 sections 6.1 and 6.3)
    (2, "gzip before chunked",
     b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip, chunked"
     b"\r\n\r\n0\r\n\r\n", 501, True),
    (2, "gzip before chunked, two field lines",
     b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501, True),
    (2, "chunked not last",
     b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked, gzip"
     b"\r\n\r\n0\r\n\r\n", 400, True),
    (2, "a coding and no chunked",
     b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip\r\n\r\n",
     400, True),
    # 3. Request-target bytes (RFC 9112 section 3.2, RFC 3986 section 2)
    (3, "fragment in the target",
     b"GET /echo#top HTTP/1.1\r\n" + H + b"\r\n", 400, True),
    (3, "backslash in the path",
     b"GET /echo\\x HTTP/1.1\r\n" + H + b"\r\n", 400, True),
    (3, "brace in the query",
     b"GET /echo?q={} HTTP/1.1\r\n" + H + b"\r\n", 400, True),
    (3, "quote in the path",
     b"GET /echo/\"x\" HTTP/1.1\r\n" + H + b"\r\n", 400, True),
    (3, "vertical bar in the query",
     b"GET /echo?a=| HTTP/1.1\r\n" + H + b"\r\n", 400, True),
    (3, "raw 8-bit byte in the path",
     b"GET /echo/\xc3\xa9 HTTP/1.1\r\n" + H + b"\r\n", 400, True),
    (3, "every reserved character RFC 3986 allows",
     b"GET /echo/:@!$&'()*+,;=[]?a=/?:@ HTTP/1.1\r\n" + H + b"\r\n", 200,
     False),
    # 4. An empty list element before chunked (RFC 9110 section 5.6.1.2):
    #    refused on purpose
    (4, "leading empty element before chunked",
     b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: , chunked"
     b"\r\n\r\n0\r\n\r\n", 400, True),
    # 5. (The authority of an absolute-form target is the request's host:
    #    not visible in a status; tests/unit/test_h1_parser.c checks it.)
    (5, "absolute-form with a bad port in its authority",
     b"GET http://x:y/echo HTTP/1.1\r\n" + H + b"\r\n", 400, True),
    # 6. Any method token reaches the modules (RFC 9110 section 9.1); with
    #    no route, a method outside RFC 9110 section 9.3 gets 501
    (6, "QUERY to a route",
     b"QUERY /echo HTTP/1.1\r\n" + H + b"Content-Length: 2\r\n\r\nab", 200,
     False),
    (6, "unknown method to a route",
     b"BREW /echo HTTP/1.1\r\n" + H + b"\r\n", 200, False),
    (6, "unknown method, no route",
     b"BREW /nope HTTP/1.1\r\n" + H + b"\r\n", 501, False),
    (6, "PATCH, no route", b"PATCH /nope HTTP/1.1\r\n" + H + b"\r\n", 501,
     False),
    (6, "GET, no route", b"GET /nope HTTP/1.1\r\n" + H + b"\r\n", 404, False),
]
