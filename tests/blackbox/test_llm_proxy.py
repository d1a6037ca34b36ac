"""examples/llm-proxy (SPEC §7): an OpenAI-compatible chat endpoint that
relays an upstream's tokens as Server-Sent Events while the upstream makes
them. The upstream is examples/llm-proxy/fake_upstream.lua, itself a
moontide app, speaking one token every 0.2 s here; the test checks that the
tokens reach the client spaced in time, over HTTP/1.1 and HTTP/2, not all at
the end."""
import json
import os
import re
import socket
import subprocess
import time
import unittest

from harness import Server

DELAY = 0.2
EXAMPLE = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "llm-proxy"))


class LLMProxy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.upstream = Server(EXAMPLE + "/fake_upstream.lua",
                              env={"FAKE_TOKEN_DELAY": str(DELAY)})
        cls.proxy = Server(EXAMPLE,
                           env={"UPSTREAM_BASE_URL": cls.upstream.url, "UPSTREAM_API_KEY": "test-key"})

    @classmethod
    def tearDownClass(cls):
        cls.proxy.close()
        cls.upstream.close()

    BODY = {"model": "fake", "stream": True, "messages": [{"role": "user", "content": "one two three four"}]}

    def test_tokens_arrive_as_the_upstream_makes_them_over_http1(self):
        body = json.dumps(self.BODY).encode()
        with socket.create_connection(("127.0.0.1", self.proxy.port), timeout=20) as s:
            s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            started, arrivals, raw = time.monotonic(), [], b""
            while True:
                data = s.recv(65536)
                if not data:
                    break
                raw += data
                for token in re.findall(rb'"content":"([^"]+)"', data):
                    arrivals.append((time.monotonic() - started, token.decode()))
        self.assertIn(b"content-type: text/event-stream", raw.lower())
        self.assertEqual("".join(t for _, t in arrivals), "You said: one two three four")
        self.assertIn(b"data: [DONE]\n\n", raw)
        # six tokens, one every 0.2 s: they come over a second, not in one piece at the end
        self.assertGreater(arrivals[-1][0] - arrivals[0][0], 0.6, arrivals)
        self.assertLess(arrivals[0][0], arrivals[-1][0] - 0.6, arrivals)

    def test_tokens_arrive_as_the_upstream_makes_them_over_http2(self):
        with open(os.path.join(self.proxy.dir, "body.json"), "w") as f:
            json.dump(self.BODY, f)
        out = subprocess.run(["nghttp", "-v", "-n", "-H", "content-type: application/json", "-d",
                              os.path.join(self.proxy.dir, "body.json"), f"{self.proxy.url}/v1/chat/completions"],
                             capture_output=True, text=True, timeout=30).stdout
        times = [float(t) for t in re.findall(r"\[\s*([\d.]+)\] recv DATA frame", out)]
        self.assertGreaterEqual(len(times), 6, out)
        self.assertGreater(times[-1] - times[0], 0.6, out)

    def test_the_request_model_is_checked_before_the_upstream_is_called(self):
        status, _, body = self.proxy.request("POST", "/v1/chat/completions", body=json.dumps(
            {"model": "", "messages": [], "temperature": 3}).encode(), headers={"Content-Type": "application/json"})
        self.assertEqual(status, 422)
        self.assertEqual([e["loc"] for e in json.loads(body)["detail"]],
                         [["body", "model"], ["body", "messages"], ["body", "temperature"]])

    def test_without_stream_one_completion(self):
        status, _, body = self.proxy.request("POST", "/v1/chat/completions", body=json.dumps(
            {**self.BODY, "stream": False}).encode(), headers={"Content-Type": "application/json"})
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["choices"][0]["message"]["content"], "You said: one two three four")

    def test_an_unreachable_upstream_is_a_502(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            closed = probe.getsockname()[1]
        with Server(EXAMPLE,
                    env={"UPSTREAM_BASE_URL": f"http://127.0.0.1:{closed}"}) as proxy:
            status, _, body = proxy.request("POST", "/v1/chat/completions", body=json.dumps(self.BODY).encode(),
                                            headers={"Content-Type": "application/json"})
        self.assertEqual(status, 502)
        self.assertIn("upstream unreachable", json.loads(body)["detail"])


if __name__ == "__main__":
    unittest.main()
