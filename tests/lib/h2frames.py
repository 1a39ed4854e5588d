"""h2frames - HTTP/2 frames and HPACK for Haywire's integration tests
(Python 3, standard library only).

What a test needs to talk HTTP/2 to the server byte by byte, with every
frame visible:

  * frame building (`frame()`, `settings()`, `headers_frames()`...) and the
    constants of RFC 9113 (frame types, flags, error codes, settings);
  * HPACK (RFC 7541): an `Encoder` that writes literal fields without
    indexing and never Huffman (what a test sends stays readable in a
    capture), plus the pieces an attack needs (an indexed reference, a
    literal with incremental indexing); a full `Decoder` (static table,
    dynamic table with size updates, Huffman) for what the server sends;
  * `Client`: a connection to 127.0.0.1 (plain, or TLS with ALPN) that
    sends the preface, answers SETTINGS and PING, keeps the flow-control
    windows both ways (or leaves them alone when a test wants a stall),
    assembles HEADERS + CONTINUATION, and collects each stream's headers,
    body, trailers and reset, and the connection's GOAWAYs.  Every wait has
    a deadline; nothing loops unbounded.

The Huffman code (RFC 7541 Appendix B) is canonical: the codes follow from
the code length of each symbol alone, so the table below lists lengths and
`_build_huffman()` assigns the codes (and checks that they fill the code
space exactly).
"""

import socket
import ssl
import struct
import time

# ---------------------------------------------------------------------------
# RFC 9113 constants

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, \
    WINDOW_UPDATE, CONTINUATION = range(10)
FRAME_NAMES = {DATA: "DATA", HEADERS: "HEADERS", PRIORITY: "PRIORITY",
               RST_STREAM: "RST_STREAM", SETTINGS: "SETTINGS",
               PUSH_PROMISE: "PUSH_PROMISE", PING: "PING", GOAWAY: "GOAWAY",
               WINDOW_UPDATE: "WINDOW_UPDATE", CONTINUATION: "CONTINUATION"}

FLAG_END_STREAM = 0x1
FLAG_ACK = 0x1
FLAG_END_HEADERS = 0x4
FLAG_PADDED = 0x8
FLAG_PRIORITY = 0x20

NO_ERROR = 0x0
PROTOCOL_ERROR = 0x1
INTERNAL_ERROR = 0x2
FLOW_CONTROL_ERROR = 0x3
SETTINGS_TIMEOUT = 0x4
STREAM_CLOSED = 0x5
FRAME_SIZE_ERROR = 0x6
REFUSED_STREAM = 0x7
CANCEL = 0x8
COMPRESSION_ERROR = 0x9
CONNECT_ERROR = 0xa
ENHANCE_YOUR_CALM = 0xb
INADEQUATE_SECURITY = 0xc
HTTP_1_1_REQUIRED = 0xd
ERROR_NAMES = {0: "NO_ERROR", 1: "PROTOCOL_ERROR", 2: "INTERNAL_ERROR",
               3: "FLOW_CONTROL_ERROR", 4: "SETTINGS_TIMEOUT",
               5: "STREAM_CLOSED", 6: "FRAME_SIZE_ERROR",
               7: "REFUSED_STREAM", 8: "CANCEL", 9: "COMPRESSION_ERROR",
               0xa: "CONNECT_ERROR", 0xb: "ENHANCE_YOUR_CALM",
               0xc: "INADEQUATE_SECURITY", 0xd: "HTTP_1_1_REQUIRED"}

SETTINGS_HEADER_TABLE_SIZE = 0x1
SETTINGS_ENABLE_PUSH = 0x2
SETTINGS_MAX_CONCURRENT_STREAMS = 0x3
SETTINGS_INITIAL_WINDOW_SIZE = 0x4
SETTINGS_MAX_FRAME_SIZE = 0x5
SETTINGS_MAX_HEADER_LIST_SIZE = 0x6

DEFAULT_WINDOW = 65535
DEFAULT_MAX_FRAME = 16384
MAX_WINDOW = (1 << 31) - 1
MAX_STREAM_ID = (1 << 31) - 1


def error_name(code):
    return ERROR_NAMES.get(code, "0x%x" % code)


# ---------------------------------------------------------------------------
# Frames

def frame(ftype, flags, sid, payload=b""):
    """One frame: the 9-byte header (RFC 9113 section 4.1) and `payload`."""
    n = len(payload)
    if n >= 1 << 24:
        raise ValueError("frame payload of %d bytes" % n)
    return struct.pack("!BHBBI", n >> 16, n & 0xffff, ftype, flags,
                       sid & 0x7fffffff) + payload


def settings(pairs=(), ack=False):
    """A SETTINGS frame; `pairs` is a dict or (id, value) pairs."""
    if ack:
        return frame(SETTINGS, FLAG_ACK, 0)
    items = pairs.items() if isinstance(pairs, dict) else pairs
    return frame(SETTINGS, 0, 0, b"".join(struct.pack("!HI", k, v)
                                          for k, v in items))


_settings_frame = settings


def parse_settings(payload):
    return [struct.unpack("!HI", payload[i:i + 6])
            for i in range(0, len(payload) - len(payload) % 6, 6)]


def ping(data=b"\0" * 8, ack=False):
    return frame(PING, FLAG_ACK if ack else 0, 0, data)


def rst_stream(sid, code=CANCEL):
    return frame(RST_STREAM, 0, sid, struct.pack("!I", code))


def window_update(sid, increment):
    return frame(WINDOW_UPDATE, 0, sid, struct.pack("!I", increment))


def goaway(last_sid, code=NO_ERROR, debug=b""):
    return frame(GOAWAY, 0, 0, struct.pack("!II", last_sid, code) + debug)


def data(sid, payload, end_stream=False):
    return frame(DATA, FLAG_END_STREAM if end_stream else 0, sid, payload)


def headers_frames(sid, block, end_stream=True, max_frame=DEFAULT_MAX_FRAME):
    """A header block as HEADERS and as many CONTINUATION frames as
    `max_frame` requires."""
    first, rest = block[:max_frame], block[max_frame:]
    flags = (FLAG_END_STREAM if end_stream else 0) | \
        (0 if rest else FLAG_END_HEADERS)
    out = [frame(HEADERS, flags, sid, first)]
    while rest:
        piece, rest = rest[:max_frame], rest[max_frame:]
        out.append(frame(CONTINUATION, 0 if rest else FLAG_END_HEADERS, sid,
                         piece))
    return b"".join(out)


class Frame:
    __slots__ = ("type", "flags", "sid", "payload")

    def __init__(self, ftype, flags, sid, payload):
        self.type, self.flags, self.sid, self.payload = \
            ftype, flags, sid, payload

    @property
    def name(self):
        return FRAME_NAMES.get(self.type, "type%d" % self.type)

    def has(self, flag):
        return bool(self.flags & flag)

    def error_code(self):
        """RST_STREAM's code, GOAWAY's code."""
        if self.type == RST_STREAM:
            return struct.unpack("!I", self.payload[:4])[0]
        if self.type == GOAWAY:
            return struct.unpack("!I", self.payload[4:8])[0]
        return None

    def __repr__(self):
        extra = ""
        if self.type in (RST_STREAM, GOAWAY) and len(self.payload) >= 4:
            extra = " " + error_name(self.error_code() or 0)
        if self.type == GOAWAY and len(self.payload) >= 8:
            extra += " last=%d" % (struct.unpack("!I", self.payload[:4])[0]
                                   & 0x7fffffff)
        return "<%s flags=0x%x sid=%d len=%d%s>" % (
            self.name, self.flags, self.sid, len(self.payload), extra)


# ---------------------------------------------------------------------------
# HPACK: integers and strings (RFC 7541 section 5)

class HpackError(Exception):
    pass


def encode_int(value, prefix_bits, high=0):
    """`value` with an N-bit prefix; `high` holds the bits above it."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([high | value])
    out = bytearray([high | limit])
    value -= limit
    while value >= 128:
        out.append((value & 0x7f) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def decode_int(buf, pos, prefix_bits):
    """(value, next position); a value past 2^32 is an error."""
    if pos >= len(buf):
        raise HpackError("integer past the end of the block")
    limit = (1 << prefix_bits) - 1
    value = buf[pos] & limit
    pos += 1
    if value < limit:
        return value, pos
    shift = 0
    while True:
        if pos >= len(buf):
            raise HpackError("integer past the end of the block")
        b = buf[pos]
        pos += 1
        value += (b & 0x7f) << shift
        shift += 7
        if value >= 1 << 32:
            raise HpackError("integer too large")
        if not b & 0x80:
            return value, pos


# RFC 7541 Appendix B: each symbol's code length.  The code is canonical
# (codes in order of length, then of symbol), so this is the whole table.
_HUFFMAN_LENGTHS = {
    5: b"012aceiost",
    6: b" %-./3456789=A_bdfghlmnpru",
    7: b":BCDEFGHIJKLMNOPQRSTUVWYjkqvwxyz",
    8: b"&*,;XZ",
    10: b"!\"()?",
    11: b"'+|",
    12: b"#>",
    13: b"\x00$@[]~",
    14: b"^}",
    15: b"<`{",
    19: [0x5c, 0xc3, 0xd0],
    20: [0x80, 0x82, 0x83, 0xa2, 0xb8, 0xc2, 0xe0, 0xe2],
    21: [0x99, 0xa1, 0xa7, 0xac, 0xb0, 0xb1, 0xb3, 0xd1, 0xd8, 0xd9, 0xe3,
         0xe5, 0xe6],
    22: [0x81, 0x84, 0x85, 0x86, 0x88, 0x92, 0x9a, 0x9c, 0xa0, 0xa3, 0xa4,
         0xa9, 0xaa, 0xad, 0xb2, 0xb5, 0xb9, 0xba, 0xbb, 0xbd, 0xbe, 0xc4,
         0xc6, 0xe4, 0xe8, 0xe9],
    23: [0x01, 0x87, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8f, 0x93, 0x95, 0x96,
         0x97, 0x98, 0x9b, 0x9d, 0x9e, 0xa5, 0xa6, 0xa8, 0xae, 0xaf, 0xb4,
         0xb6, 0xb7, 0xbc, 0xbf, 0xc5, 0xe7, 0xef],
    24: [0x09, 0x8e, 0x90, 0x91, 0x94, 0x9f, 0xab, 0xce, 0xd7, 0xe1, 0xec,
         0xed],
    25: [0xc7, 0xcf, 0xea, 0xeb],
    26: [0xc0, 0xc1, 0xc8, 0xc9, 0xca, 0xcd, 0xd2, 0xd5, 0xda, 0xdb, 0xee,
         0xf0, 0xf2, 0xf3, 0xff],
    27: [0xcb, 0xcc, 0xd3, 0xd4, 0xd6, 0xdd, 0xde, 0xdf, 0xf1, 0xf4, 0xf5,
         0xf6, 0xf7, 0xf8, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe],
    28: [0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x0b, 0x0c, 0x0e, 0x0f,
         0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x17, 0x18, 0x19, 0x1a, 0x1b,
         0x1c, 0x1d, 0x1e, 0x1f, 0x7f, 0xdc, 0xf9],
    30: [0x0a, 0x0d, 0x16, 256],
}
EOS = 256


def _build_huffman():
    syms = sorted((n, s) for n, ss in _HUFFMAN_LENGTHS.items() for s in ss)
    if sorted(s for _, s in syms) != list(range(257)):
        raise AssertionError("the Huffman table does not list 257 symbols")
    enc, dec = {}, {}
    code, prev = 0, syms[0][0]
    for n, s in syms:
        code <<= n - prev
        prev = n
        enc[s] = (code, n)
        dec[(n, code)] = s
        code += 1
    if code != 1 << prev:  # the last code is all ones: the space is full
        raise AssertionError("the Huffman code lengths do not fill the space")
    return enc, dec


HUFFMAN_CODES, _HUFFMAN_DECODE = _build_huffman()
_HUFFMAN_MIN = min(_HUFFMAN_LENGTHS)


def huffman_encode(raw):
    acc, nbits, out = 0, 0, bytearray()
    for b in raw:
        code, n = HUFFMAN_CODES[b]
        acc = (acc << n) | code
        nbits += n
        while nbits >= 8:
            nbits -= 8
            out.append((acc >> nbits) & 0xff)
        acc &= (1 << nbits) - 1
    if nbits:  # padded with the most significant bits of EOS (all ones)
        out.append(((acc << (8 - nbits)) | ((1 << (8 - nbits)) - 1)) & 0xff)
    return bytes(out)


def huffman_decode(enc):
    out = bytearray()
    code, n = 0, 0
    for byte in enc:
        for i in range(7, -1, -1):
            code = (code << 1) | ((byte >> i) & 1)
            n += 1
            if n < _HUFFMAN_MIN:
                continue
            s = _HUFFMAN_DECODE.get((n, code))
            if s is None:
                if n > 30:
                    raise HpackError("no Huffman code matches")
                continue
            if s == EOS:
                raise HpackError("EOS inside a Huffman string")
            out.append(s)
            code, n = 0, 0
    # What is left must be padding: fewer than 8 bits, all ones.
    if n > 7 or code != (1 << n) - 1:
        raise HpackError("bad Huffman padding (%d bits)" % n)
    return bytes(out)


def encode_str(raw, huffman=False):
    if isinstance(raw, str):
        raw = raw.encode("latin-1")
    if huffman:
        h = huffman_encode(raw)
        return encode_int(len(h), 7, 0x80) + h
    return encode_int(len(raw), 7) + raw


def decode_str(buf, pos):
    if pos >= len(buf):
        raise HpackError("string past the end of the block")
    huff = buf[pos] & 0x80
    n, pos = decode_int(buf, pos, 7)
    if pos + n > len(buf):
        raise HpackError("string of %d bytes past the end of the block" % n)
    raw = bytes(buf[pos:pos + n])
    return (huffman_decode(raw) if huff else raw), pos + n


# RFC 7541 Appendix A.
STATIC_TABLE = [(n.encode(), v.encode()) for n, v in [
    (":authority", ""), (":method", "GET"), (":method", "POST"),
    (":path", "/"), (":path", "/index.html"), (":scheme", "http"),
    (":scheme", "https"), (":status", "200"), (":status", "204"),
    (":status", "206"), (":status", "304"), (":status", "400"),
    (":status", "404"), (":status", "500"), ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"), ("accept-language", ""),
    ("accept-ranges", ""), ("accept", ""),
    ("access-control-allow-origin", ""), ("age", ""), ("allow", ""),
    ("authorization", ""), ("cache-control", ""),
    ("content-disposition", ""), ("content-encoding", ""),
    ("content-language", ""), ("content-length", ""),
    ("content-location", ""), ("content-range", ""), ("content-type", ""),
    ("cookie", ""), ("date", ""), ("etag", ""), ("expect", ""),
    ("expires", ""), ("from", ""), ("host", ""), ("if-match", ""),
    ("if-modified-since", ""), ("if-none-match", ""), ("if-range", ""),
    ("if-unmodified-since", ""), ("last-modified", ""), ("link", ""),
    ("location", ""), ("max-forwards", ""), ("proxy-authenticate", ""),
    ("proxy-authorization", ""), ("range", ""), ("referer", ""),
    ("refresh", ""), ("retry-after", ""), ("server", ""),
    ("set-cookie", ""), ("strict-transport-security", ""),
    ("transfer-encoding", ""), ("user-agent", ""), ("vary", ""),
    ("via", ""), ("www-authenticate", "")]]


def _b(x):
    return x if isinstance(x, bytes) else str(x).encode("latin-1")


class Encoder:
    """What a test sends: literal fields without indexing, new names, no
    Huffman (RFC 7541 section 6.2.2), so the encoder keeps no state.  The
    other representations are here for tests that need them."""

    def encode(self, fields):
        return b"".join(self.literal(n, v) for n, v in fields)

    @staticmethod
    def literal(name, value, huffman=False):
        return b"\x00" + encode_str(_b(name), huffman) + \
            encode_str(_b(value), huffman)

    @staticmethod
    def literal_indexed(name, value):
        """Literal with incremental indexing, new name (section 6.2.1): the
        peer's decoder adds the field to its dynamic table (index 62)."""
        return b"\x40" + encode_str(_b(name)) + encode_str(_b(value))

    @staticmethod
    def indexed(index):
        """An indexed field (section 6.1): one byte for index < 127."""
        return encode_int(index, 7, 0x80)

    @staticmethod
    def table_size_update(size):
        return encode_int(size, 5, 0x20)


class Decoder:
    """A full HPACK decoder: the static and dynamic tables, size updates,
    Huffman strings.  decode() returns [(name bytes, value bytes)]."""

    def __init__(self, max_size=4096):
        self.max_size = max_size      # what SETTINGS allows the peer
        self.size_limit = max_size    # the peer's latest size update
        self.table = []               # newest first
        self.size = 0

    def _evict(self):
        while self.size > self.size_limit and self.table:
            n, v = self.table.pop()
            self.size -= len(n) + len(v) + 32

    def _add(self, name, value):
        self.table.insert(0, (name, value))
        self.size += len(name) + len(value) + 32
        self._evict()

    def _get(self, index):
        if index == 0:
            raise HpackError("index 0")
        if index <= len(STATIC_TABLE):
            return STATIC_TABLE[index - 1]
        i = index - len(STATIC_TABLE) - 1
        if i >= len(self.table):
            raise HpackError("index %d past the dynamic table (%d entries)"
                             % (index, len(self.table)))
        return self.table[i]

    def decode(self, block):
        out, pos, first = [], 0, True
        while pos < len(block):
            b = block[pos]
            if b & 0x80:                       # indexed
                index, pos = decode_int(block, pos, 7)
                out.append(self._get(index))
            elif b & 0xe0 == 0x20:             # dynamic table size update
                if not first and out:
                    raise HpackError("size update after a field")
                size, pos = decode_int(block, pos, 5)
                if size > self.max_size:
                    raise HpackError("size update %d past %d"
                                     % (size, self.max_size))
                self.size_limit = size
                self._evict()
                continue
            else:
                if b & 0xc0 == 0x40:           # incremental indexing
                    prefix, add = 6, True
                else:                          # without / never indexed
                    prefix, add = 4, False
                index, pos = decode_int(block, pos, prefix)
                if index:
                    name = self._get(index)[0]
                else:
                    name, pos = decode_str(block, pos)
                value, pos = decode_str(block, pos)
                if add:
                    self._add(name, value)
                out.append((name, value))
            first = False
        return out


# ---------------------------------------------------------------------------
# A client connection

class ConnectionClosed(Exception):
    pass


class Stream:
    """What the server sent on one stream."""

    def __init__(self, sid):
        self.sid = sid
        self.informational = []   # 1xx field lists
        self.headers = None       # the final response's [(name, value)] str
        self.trailers = None
        self.body = bytearray()
        self.ended = False        # END_STREAM seen
        self.reset = None         # RST_STREAM's error code
        self.data_frames = 0
        self.first_byte_at = None
        self.ended_at = None

    @property
    def done(self):
        return self.ended or self.reset is not None

    @property
    def status(self):
        v = self.header(":status")
        return int(v) if v is not None and v.isdigit() else None

    def header(self, name, default=None):
        for k, v in self.headers or []:
            if k == name:
                return v
        return default

    def header_all(self, name):
        return [v for k, v in self.headers or [] if k == name]

    def names(self):
        return [k for k, _ in self.headers or []]

    def __repr__(self):
        return "<Stream %d status=%s ended=%s reset=%s body=%d bytes %r>" % (
            self.sid, self.status, self.ended,
            None if self.reset is None else error_name(self.reset),
            len(self.body), bytes(self.body[:60]))


class Client:
    """An HTTP/2 client connection to loopback.

        with Client(port) as c:              # preface + SETTINGS sent
            sid = c.request("GET", "/hello")
            s = c.response(sid)              # a Stream, once it ended
            s.status, s.header("content-type"), bytes(s.body)

    `settings`: what the client's SETTINGS says (a dict).  `auto_ack`
    answers the server's SETTINGS and PINGs; `auto_window` gives back every
    DATA byte at once with WINDOW_UPDATE (off: the client's windows only
    shrink, a stall).  `tls`: an ssl.SSLContext (ALPN is the caller's);
    `preface=False` connects and sends nothing.  `rcvbuf` shrinks the
    socket's receive buffer before connecting (a client that does not read
    then fills up quickly).
    """

    def __init__(self, port, host="127.0.0.1", timeout=10.0, settings=None,
                 tls=None, server_hostname=None, preface=True, auto_ack=True,
                 auto_window=True, rcvbuf=None):
        if host not in ("127.0.0.1", "::1"):
            raise ValueError("tests talk to loopback only")
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(fam, socket.SOCK_STREAM)
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(timeout)
        sock.connect((host, port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls is not None:
            sock = tls.wrap_socket(sock, server_hostname=server_hostname)
        self.sock = sock
        self.timeout = timeout
        self.buf = bytearray()
        self.eof = False
        self.reset_by_peer = False
        self.enc = Encoder()
        self.dec = Decoder()
        self.auto_ack = auto_ack
        self.auto_window = auto_window
        self.my_settings = dict(settings or {})
        self.server_settings = None      # the server's first SETTINGS (dict)
        self.server_settings_frames = 0
        self.settings_acks = 0           # ACKs of our SETTINGS
        self.ping_acks = []
        self.goaways = []                # [(last_sid, code, debug, time)]
        self.frames = []                 # every frame received, in order
        self.streams = {}
        self.next_sid = 1
        self.send_conn_window = DEFAULT_WINDOW
        self.send_windows = {}
        self.peer_initial_window = DEFAULT_WINDOW
        self.peer_max_frame = DEFAULT_MAX_FRAME
        self._hdr = None                 # (sid, flags, block) being assembled
        self.hpack_error = None
        if preface:
            self.send(PREFACE + _settings_frame(self.my_settings))

    # -- plumbing -----------------------------------------------------------
    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, raw):
        self.sock.settimeout(self.timeout)
        self.sock.sendall(raw)

    def alpn(self):
        f = getattr(self.sock, "selected_alpn_protocol", None)
        return f() if f else None

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("deadline passed")
        self.sock.settimeout(min(left, self.timeout))
        try:
            d = self.sock.recv(1 << 18)
        except (ConnectionResetError, BrokenPipeError):
            self.reset_by_peer = True
            d = b""
        except ssl.SSLError:
            d = b""
        if not d:
            self.eof = True
            return False
        self.buf += d
        return True

    def read_frame(self, timeout=None):
        """The next frame (processed: windows, ACKs, streams), None at the
        end of the connection; socket.timeout after `timeout`."""
        deadline = time.monotonic() + (self.timeout if timeout is None
                                       else timeout)
        while True:
            if len(self.buf) >= 9:
                n = (self.buf[0] << 16) | (self.buf[1] << 8) | self.buf[2]
                if len(self.buf) >= 9 + n:
                    ftype, flags = self.buf[3], self.buf[4]
                    sid = struct.unpack("!I", self.buf[5:9])[0] & 0x7fffffff
                    f = Frame(ftype, flags, sid, bytes(self.buf[9:9 + n]))
                    del self.buf[:9 + n]
                    self.frames.append(f)
                    self._process(f)
                    return f
            if self.eof or not self._fill(deadline):
                return None

    def stream(self, sid):
        """The Stream of `sid` (made empty if nothing was seen yet)."""
        s = self.streams.get(sid)
        if s is None:
            s = self.streams[sid] = Stream(sid)
        return s

    def _process(self, f):
        if f.type == SETTINGS:
            if f.has(FLAG_ACK):
                self.settings_acks += 1
                return
            pairs = dict(parse_settings(f.payload))
            if self.server_settings is None:
                self.server_settings = pairs
            self.server_settings_frames += 1
            if SETTINGS_INITIAL_WINDOW_SIZE in pairs:
                delta = pairs[SETTINGS_INITIAL_WINDOW_SIZE] - \
                    self.peer_initial_window
                self.peer_initial_window = pairs[SETTINGS_INITIAL_WINDOW_SIZE]
                for k in self.send_windows:
                    self.send_windows[k] += delta
            if SETTINGS_MAX_FRAME_SIZE in pairs:
                self.peer_max_frame = pairs[SETTINGS_MAX_FRAME_SIZE]
            if self.auto_ack:
                self._try_send(settings(ack=True))
        elif f.type == PING:
            if f.has(FLAG_ACK):
                self.ping_acks.append(f.payload)
            elif self.auto_ack:
                self._try_send(ping(f.payload, ack=True))
        elif f.type == WINDOW_UPDATE:
            inc = struct.unpack("!I", f.payload[:4])[0] & 0x7fffffff
            if f.sid == 0:
                self.send_conn_window += inc
            else:
                self.send_windows[f.sid] = self.send_windows.get(
                    f.sid, self.peer_initial_window) + inc
        elif f.type == GOAWAY:
            last, code = struct.unpack("!II", f.payload[:8])
            self.goaways.append((last & 0x7fffffff, code, f.payload[8:],
                                 time.monotonic()))
        elif f.type == RST_STREAM:
            self.stream(f.sid).reset = f.error_code()
        elif f.type == DATA:
            s = self.stream(f.sid)
            body = f.payload
            if f.has(FLAG_PADDED) and body:
                body = body[1:len(body) - body[0]]
            if s.first_byte_at is None:
                s.first_byte_at = time.monotonic()
            s.body += body
            s.data_frames += 1
            if f.has(FLAG_END_STREAM):
                s.ended = True
                s.ended_at = time.monotonic()
            if self.auto_window and f.payload:
                up = window_update(0, len(f.payload))
                if not s.ended:
                    up += window_update(f.sid, len(f.payload))
                self._try_send(up)
        elif f.type in (HEADERS, CONTINUATION):
            self._headers(f)

    def _try_send(self, raw):
        try:
            self.send(raw)
        except OSError:
            pass

    def _headers(self, f):
        if f.type == HEADERS:
            p = f.payload
            if f.has(FLAG_PADDED):
                pad = p[0]
                p = p[1:len(p) - pad]
            if f.has(FLAG_PRIORITY):
                p = p[5:]
            self._hdr = [f.sid, f.flags, bytearray(p)]
        elif self._hdr is not None and self._hdr[0] == f.sid:
            self._hdr[2] += f.payload
        else:
            self.hpack_error = "CONTINUATION without HEADERS on %d" % f.sid
            return
        if not f.has(FLAG_END_HEADERS):
            return
        sid, flags, block = self._hdr
        self._hdr = None
        try:
            fields = [(n.decode("latin-1"), v.decode("latin-1"))
                      for n, v in self.dec.decode(bytes(block))]
        except HpackError as e:
            self.hpack_error = str(e)
            fields = []
        s = self.stream(sid)
        status = dict(fields).get(":status", "")
        if s.headers is None and status[:1] == "1":
            s.informational.append(fields)
        elif s.headers is None:
            s.headers = fields
            if s.first_byte_at is None:
                s.first_byte_at = time.monotonic()
        else:
            s.trailers = fields
        if flags & FLAG_END_STREAM:
            s.ended = True
            s.ended_at = time.monotonic()

    # -- sending requests ----------------------------------------------------
    def new_sid(self):
        sid = self.next_sid
        self.next_sid += 2
        return sid

    def send_headers(self, sid, fields, end_stream=True):
        block = self.enc.encode(fields)
        self.send_windows.setdefault(sid, self.peer_initial_window)
        self.stream(sid)
        self.send(headers_frames(sid, block, end_stream,
                                 min(self.peer_max_frame, DEFAULT_MAX_FRAME)))

    def request(self, method="GET", path="/", authority="localhost",
                scheme="http", headers=(), body=None, end_stream=None,
                sid=None):
        """Sends a request's HEADERS (and its body, if given) on a new
        stream; returns the stream id.  end_stream=False leaves the stream
        open for send_body()."""
        sid = sid or self.new_sid()
        fields = [(":method", method), (":scheme", scheme),
                  (":authority", authority), (":path", path)]
        if authority is None:
            fields.pop(2)
        fields += list(headers)
        if end_stream is None:
            end_stream = True
        self.send_headers(sid, fields, end_stream=end_stream and not body)
        if body:
            self.send_body(sid, body, end_stream=end_stream)
        return sid

    def request_fields(self, method, path, authority="localhost",
                       scheme="http", headers=()):
        return [(":method", method), (":scheme", scheme),
                (":authority", authority), (":path", path)] + list(headers)

    def send_body(self, sid, body, end_stream=True, timeout=None):
        """DATA frames within the server's windows (waits for
        WINDOW_UPDATE as long as `timeout` allows)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        body = memoryview(bytes(body))
        while True:
            st = self.streams.get(sid)
            if st is not None and st.reset is not None:
                return  # the server reset the stream: nothing more to send
            win = min(self.send_conn_window,
                      self.send_windows.get(sid, self.peer_initial_window))
            n = min(len(body), max(win, 0), self.peer_max_frame)
            if n > 0 or (len(body) == 0 and end_stream):
                last = n == len(body)
                self.send(data(sid, bytes(body[:n]), end_stream and last))
                self.send_conn_window -= n
                self.send_windows[sid] = self.send_windows.get(
                    sid, self.peer_initial_window) - n
                body = body[n:]
                if last:
                    return
                continue
            if time.monotonic() >= deadline:
                raise socket.timeout("no window to send %d body bytes"
                                     % len(body))
            try:
                f = self.read_frame(max(0.001, deadline - time.monotonic()))
            except socket.timeout:
                continue  # the deadline is checked above
            if f is None:
                raise ConnectionClosed("closed while sending a body")

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    # -- waiting --------------------------------------------------------------
    def wait(self, pred, timeout=None):
        """Reads frames until pred() holds (True), the connection ends or
        `timeout` passes (False)."""
        deadline = time.monotonic() + (self.timeout if timeout is None
                                       else timeout)
        while not pred():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                if self.read_frame(left) is None:
                    return bool(pred())
            except socket.timeout:
                return bool(pred())
        return True

    def response(self, sid, timeout=None):
        """The stream once it ended or was reset; raises otherwise."""
        if not self.wait(lambda: self.stream(sid).done, timeout):
            raise ConnectionClosed(
                "stream %d not done (%r); connection %s; goaways %r; last "
                "frames %r" % (sid, self.stream(sid),
                               "ended" if self.eof else "open",
                               self.goaways, self.frames[-5:]))
        return self.streams[sid]

    def fetch(self, path, timeout=None, **kw):
        return self.response(self.request(path=path, **kw), timeout)

    def handshake(self, timeout=None):
        """Waits for the server's SETTINGS and its ACK of ours."""
        return self.wait(lambda: self.server_settings is not None and
                         self.settings_acks > 0, timeout)

    def ping_rtt(self, payload=b"h2frames", timeout=None):
        """Sends a PING and waits for its ACK: True if it came."""
        before = len(self.ping_acks)
        self.send(ping(payload))
        return self.wait(lambda: len(self.ping_acks) > before and
                         payload in self.ping_acks[before:], timeout)

    def wait_closed(self, timeout=None):
        """True once the server has closed the connection (reading and
        processing what comes before)."""
        return self.wait(lambda: self.eof, timeout)

    def frames_of(self, ftype, sid=None):
        return [f for f in self.frames
                if f.type == ftype and (sid is None or f.sid == sid)]
