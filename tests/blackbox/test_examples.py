"""The shipped examples answer as the README says."""
import os
import unittest

from harness import Server, curl

EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples")


class Hello(unittest.TestCase):
    def test_hello(self):
        with Server(os.path.join(EXAMPLES, "hello")) as server:
            status, headers, body = server.request("GET", "/hello")
            self.assertEqual((status, body), (200, b'{"message":"Hello, World!"}'))
            self.assertEqual(headers["content-type"], "application/json")
            status, _, body = server.request("GET", "/hello/moon")
            self.assertEqual((status, body), (200, b'{"message":"Hello, moon!"}'))
            code, out, err = curl("--http2-prior-knowledge", server.url + "/hello")
            self.assertEqual(out, b'{"message":"Hello, World!"}', err)
            self.assertEqual(server.stop(), 0)


if __name__ == "__main__":
    unittest.main()
