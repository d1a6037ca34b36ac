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


class KeyedApi(unittest.TestCase):
    """examples/keyed-api: an API key, a rate limit per key, shown in /docs."""

    def test_key_limit_and_roles(self):
        import json
        with Server(os.path.join(EXAMPLES, "keyed-api"), workers=2) as server:
            self.assertEqual(server.request("GET", "/health")[0], 200)  # open
            status, headers, body = server.request("GET", "/v1/me")
            self.assertEqual((status, headers["www-authenticate"], json.loads(body)),
                             (401, "APIKey", {"detail": "Not authenticated"}))
            alice = {"X-API-Key": "demo-key-alice"}
            status, headers, body = server.request("GET", "/v1/me", headers=alice)
            self.assertEqual((status, json.loads(body)["name"]), (200, "alice"))
            self.assertEqual(headers["ratelimit-limit"], "15")
            status, _, body = server.request("POST", "/v1/quotes", body=b'{"text":"Hi","author":"me"}', headers=alice)
            self.assertEqual((status, json.loads(body)["author"]), (201, "me"))
            bob = {"X-API-Key": "demo-key-bob"}
            status, _, body = server.request("POST", "/v1/quotes", body=b'{"text":"Hi","author":"me"}', headers=bob)
            self.assertEqual((status, json.loads(body)), (403, {"detail": "This key is read only"}))
            # bob has used 1 of 15; the burst runs out within the next few (5 a second refill meanwhile)
            statuses = [server.request("GET", "/v1/quotes/random", headers=bob)[0] for _ in range(25)]
            self.assertIn(429, statuses)
            self.assertGreaterEqual(statuses.count(200), 14)
            self.assertEqual(statuses[:14], [200] * 14)
            status, headers, _ = server.request("GET", "/v1/me", headers=bob)
            if status == 429:
                self.assertIn("retry-after", headers)
            # alice's quota is her own
            self.assertEqual(server.request("GET", "/v1/me", headers=alice)[0], 200)

    def test_docs_show_the_key_and_the_limits(self):
        import json
        with Server(os.path.join(EXAMPLES, "keyed-api")) as server:
            doc = json.loads(server.request("GET", "/openapi.json")[2])
            self.assertEqual(doc["components"]["securitySchemes"]["ApiKey"]["type"], "apiKey")
            me = doc["paths"]["/v1/me"]["get"]
            self.assertEqual(me["security"], [{"ApiKey": []}])
            self.assertTrue({"401", "429"} <= set(me["responses"]))
            self.assertIn("403", doc["paths"]["/v1/quotes"]["post"]["responses"])
            self.assertNotIn("security", doc["paths"]["/health"]["get"])


if __name__ == "__main__":
    unittest.main()
