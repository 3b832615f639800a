"""A tiny CIFAR-10 archive in the real format (python-pickle batches in a gzipped tar), and a
local HTTP server that serves it with Range support and can cut a response short."""
import hashlib
import http.server
import io
import pickle
import tarfile
import threading

import numpy as np

IMAGES_PER_BATCH = 4


def batch_bytes(seed, n=IMAGES_PER_BATCH):
    rng = np.random.default_rng(seed)
    batch = {b"batch_label": f"batch {seed}".encode(), b"labels": [int(v) for v in rng.integers(0, 10, n)],
             b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
             b"filenames": [f"img_{seed}_{i}.png".encode() for i in range(n)]}
    return pickle.dumps(batch, protocol=2)


def make_archive():
    """Bytes of a .tar.gz laid out as cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        files = {f"data_batch_{i}": batch_bytes(i) for i in range(1, 6)}
        files["test_batch"] = batch_bytes(0)
        files["batches.meta"] = pickle.dumps({b"label_names": [b"airplane"] * 10}, protocol=2)
        for name, payload in files.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return buffer.getvalue()


def md5(data):
    return hashlib.md5(data).hexdigest()


class ArchiveServer:
    """Serve ``payload`` at /cifar-10-python.tar.gz on 127.0.0.1; ``cut_after`` bytes then drop."""

    def __init__(self, payload):
        self.payload, self.cut_after, self.ranges = payload, None, []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path != "/cifar-10-python.tar.gz":
                    self.send_error(404)
                    return
                start = 0
                header = self.headers.get("Range")
                server.ranges.append(header)
                if header:
                    start = int(header.split("=")[1].split("-")[0])
                    if start >= len(server.payload):
                        self.send_error(416)
                        return
                body = server.payload[start:]
                self.send_response(206 if header else 200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.cut_after is not None:
                    body, server.cut_after = body[:server.cut_after], None
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/cifar-10-python.tar.gz"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
