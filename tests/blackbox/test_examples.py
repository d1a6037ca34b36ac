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


class Items(unittest.TestCase):
    """examples/items is the app README.md shows."""

    def test_items(self):
        import json
        with Server(os.path.join(EXAMPLES, "items")) as server:
            self.assertEqual(server.request("GET", "/items/1")[2], b'{"name":"Widget","price":12.5}')
            status, _, body = server.request("GET", "/items/2")
            self.assertEqual((status, json.loads(body)), (404, {"detail": "Item not found"}))
            status, _, body = server.request("GET", "/items/0")
            self.assertEqual((status, json.loads(body)["detail"][0]["type"]), (422, "greater_than_equal"))
            status, headers, body = server.request("POST", "/items", body=b'{"name":"Gadget","price":3,"extra":true}')
            self.assertEqual((status, body, headers["location"]), (201, b'{"name":"Gadget","price":3}', "/items/2"))
            self.assertEqual(server.request("GET", "/items/2")[2], b'{"name":"Gadget","price":3}')
            status, _, body = server.request("POST", "/items", body=b'{"name":"","price":0}')
            self.assertEqual([e["type"] for e in json.loads(body)["detail"]], ["string_too_short", "greater_than"])


if __name__ == "__main__":
    unittest.main()
