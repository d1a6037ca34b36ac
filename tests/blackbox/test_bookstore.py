"""examples/bookstore answers as its README says: CRUD on books, authors,
paging defaults, 404s, 422s in FastAPI's shape, 204 on delete."""
import json
import os
import unittest

from harness import Server, run_cli

BOOKSTORE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "bookstore")
LE_GUIN = "6fa459ea-ee8a-3ca4-894e-db77e160355e"
NEW_BOOK = {"title": "The Dispossessed", "author_id": LE_GUIN, "genre": "science-fiction",
            "published": "1974-05-01", "price": {"amount": 11.5}, "tags": ["utopia"], "secret": "dropped"}


class Bookstore(unittest.TestCase):
    def setUp(self):
        self.server = Server(BOOKSTORE)  # a fresh store for each test: the state is in memory

    def tearDown(self):
        self.server.close()

    def call(self, method, path, body=None, headers=None):
        raw = None if body is None else json.dumps(body).encode()
        status, hdrs, data = self.server.request(method, path, body=raw, headers=headers)
        return status, hdrs, (json.loads(data) if data else None)

    def test_check_finds_no_problems(self):
        code, out, err = run_cli("check", BOOKSTORE)
        self.assertEqual(code, 0, out + err)
        self.assertIn("no problems", out)

    def test_list_with_paging_defaults(self):
        status, _, page = self.call("GET", "/books")
        self.assertEqual(status, 200)
        self.assertEqual((page["total"], page["limit"], page["offset"]), (4, 10, 0))
        self.assertEqual([b["id"] for b in page["items"]], [1, 2, 3, 4])
        hobbit = page["items"][0]
        self.assertEqual(list(hobbit), ["title", "author_id", "genre", "isbn", "published", "price", "tags",
                                        "stock", "id"])
        self.assertEqual(hobbit["price"], {"amount": 9.99, "currency": "GBP"})
        self.assertEqual(hobbit["stock"], {"london": 7, "paris": 3})
        self.assertIsNone(page["items"][1]["isbn"])  # absent optional fields are null

    def test_paging_and_filters(self):
        _, _, page = self.call("GET", "/books?limit=2&offset=1")
        self.assertEqual(([b["id"] for b in page["items"]], page["total"], page["limit"]), ([2, 3], 4, 2))
        _, _, page = self.call("GET", "/books?genre=fantasy&q=EARTH")
        self.assertEqual([b["title"] for b in page["items"]], ["A Wizard of Earthsea"])
        self.assertEqual(page["total"], 1)
        status, _, raw = self.server.request("GET", "/books?offset=100")
        self.assertEqual((status, json.loads(raw)["items"]), (200, []))
        self.assertIn(b'"items":[]', raw)  # an empty page is a JSON array, not {}

    def test_paging_limits_are_validated(self):
        status, _, body = self.call("GET", "/books?limit=500&offset=-1&genre=horror")
        self.assertEqual(status, 422)
        self.assertEqual([(e["type"], e["loc"]) for e in body["detail"]], [
            ("less_than_equal", ["query", "limit"]),
            ("greater_than_equal", ["query", "offset"]),
            ("literal_error", ["query", "genre"]),
        ])

    def test_crud_flow(self):
        status, headers, created = self.call("POST", "/books", NEW_BOOK)
        self.assertEqual(status, 201)
        self.assertEqual(headers["location"], "/books/5")
        self.assertEqual(created["id"], 5)
        self.assertEqual(created["price"], {"amount": 11.5, "currency": "EUR"})  # default filled in
        self.assertNotIn("secret", created)  # fields the model does not name are dropped
        self.assertEqual(self.call("GET", "/books/5")[2], created)

        replacement = {"title": "The Dispossessed: An Ambiguous Utopia", "author_id": LE_GUIN,
                       "genre": "science-fiction", "price": {"amount": 12, "currency": "USD"}}
        status, _, replaced = self.call("PUT", "/books/5", replacement)
        self.assertEqual(status, 200)
        self.assertEqual(replaced["title"], replacement["title"])
        self.assertEqual(replaced["id"], 5)
        self.assertIsNone(replaced["published"])  # PUT replaces every field
        self.assertEqual(self.call("GET", "/books")[2]["total"], 5)

        status, headers, raw = self.server.request("DELETE", "/books/5")
        self.assertEqual((status, raw), (204, b""))
        self.assertNotIn("content-type", headers)
        self.assertEqual(self.call("GET", "/books/5")[:3:2], (404, {"detail": "Book not found"}))
        self.assertEqual(self.call("DELETE", "/books/5")[:3:2], (404, {"detail": "Book not found"}))
        self.assertEqual(self.call("GET", "/books")[2]["total"], 4)

    def test_not_found(self):
        self.assertEqual(self.call("GET", "/books/99")[:3:2], (404, {"detail": "Book not found"}))
        self.assertEqual(self.call("PUT", "/books/99", {**NEW_BOOK})[:3:2], (404, {"detail": "Book not found"}))
        unknown_author = {**NEW_BOOK, "author_id": "00000000-0000-0000-0000-000000000000"}
        self.assertEqual(self.call("POST", "/books", unknown_author)[:3:2], (404, {"detail": "Author not found"}))
        self.assertEqual(self.call("GET", "/authors/00000000-0000-0000-0000-000000000000")[:3:2],
                         (404, {"detail": "Author not found"}))

    def test_invalid_book_lists_every_error(self):
        bad = {"title": "", "author_id": "not-a-uuid", "genre": "horror", "isbn": "123",
               "published": "1974-13-01", "price": {"amount": 0}, "tags": ["a", "a"]}
        status, _, body = self.call("POST", "/books", bad)
        self.assertEqual(status, 422)
        detail = body["detail"]
        self.assertEqual([(e["type"], e["loc"]) for e in detail], [
            ("string_too_short", ["body", "title"]),
            ("uuid_parsing", ["body", "author_id"]),
            ("literal_error", ["body", "genre"]),
            ("string_pattern_mismatch", ["body", "isbn"]),
            ("date_parsing", ["body", "published"]),
            ("greater_than", ["body", "price", "amount"]),
            ("unique_items", ["body", "tags"]),
        ])
        self.assertEqual(detail[0], {"type": "string_too_short", "loc": ["body", "title"],
                                     "msg": "String should have at least 1 character", "input": "",
                                     "ctx": {"min_length": 1}})
        self.assertEqual(detail[5], {"type": "greater_than", "loc": ["body", "price", "amount"],
                                     "msg": "Input should be greater than 0", "input": 0, "ctx": {"gt": 0}})
        self.assertEqual(self.call("GET", "/books")[2]["total"], 4)  # nothing was stored

    def test_missing_fields_and_bad_json(self):
        status, _, body = self.call("POST", "/books", {"title": "X"})
        self.assertEqual(status, 422)
        self.assertEqual([(e["type"], e["loc"]) for e in body["detail"]], [
            ("missing", ["body", "author_id"]), ("missing", ["body", "genre"]), ("missing", ["body", "price"])])
        status, _, raw = self.server.request("POST", "/books", body=b'{"title":')
        self.assertEqual((status, json.loads(raw)["detail"][0]["type"]), (422, "json_invalid"))

    def test_path_parameters_are_validated(self):
        status, _, body = self.call("GET", "/books/abc")
        self.assertEqual((status, body["detail"][0]["type"], body["detail"][0]["loc"]),
                         (422, "int_parsing", ["path", "book_id"]))
        status, _, body = self.call("GET", "/books/0")
        self.assertEqual((status, body["detail"][0]["type"]), (422, "greater_than_equal"))
        status, _, body = self.call("GET", "/authors/nope")
        self.assertEqual((status, body["detail"][0]["type"]), (422, "uuid_parsing"))

    def test_header_and_cookie_parameters(self):
        status, headers, _ = self.call("GET", "/books/1", headers={"X-Request-Id": "req-42"})
        self.assertEqual((status, headers["x-request-id"]), (200, "req-42"))
        # without one, the server's own ID stays in the log (the header is the server's to set, not the handler's)
        self.assertNotIn("x-request-id", self.call("GET", "/books/1")[1])
        _, _, books = self.call("GET", "/books/recommended", headers={"Cookie": "favorite_genre=science"})
        self.assertEqual([b["title"] for b in books], ["Cosmos"])
        status, _, raw = self.server.request("GET", "/books/recommended", headers={"Cookie": "favorite_genre=poetry"})
        self.assertEqual((status, raw), (200, b"[]"))
        status, _, body = self.call("GET", "/books/recommended", headers={"Cookie": "favorite_genre=horror"})
        self.assertEqual((status, body["detail"][0]["loc"]), (422, ["cookie", "favorite_genre"]))

    def test_authors(self):
        status, _, authors = self.call("GET", "/authors")
        self.assertEqual(status, 200)
        self.assertEqual([a["name"] for a in authors], ["J. R. R. Tolkien", "Ursula K. Le Guin", "Carl Sagan"])
        self.assertEqual(list(authors[0]), ["id", "name", "email", "born", "bio"])
        _, _, author = self.call("GET", f"/authors/{LE_GUIN}")
        self.assertEqual(author["email"], "leguin@example.com")
        _, _, page = self.call("GET", f"/authors/{LE_GUIN}/books?limit=1")
        self.assertEqual(([b["id"] for b in page["items"]], page["total"]), ([2], 2))

    def test_deprecated_titles(self):
        self.assertEqual(self.call("GET", "/titles")[:3:2],
                         (200, ["The Hobbit", "A Wizard of Earthsea", "The Left Hand of Darkness", "Cosmos"]))


if __name__ == "__main__":
    unittest.main()
